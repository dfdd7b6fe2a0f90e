-- +goose Up
-- internal_code: the one code the campaign's Shopify discount is created
-- with (discountCodeBasicCreate needs a code). It is drawn with the
-- campaign's format, stored before the discount is created so a sync that
-- crashed between Shopify's answer and our commit finds the discount again
-- with codeDiscountNodeByCode instead of creating a second one, and is never
-- issued to anybody.
ALTER TABLE campaigns ADD COLUMN internal_code TEXT CHECK (internal_code = upper(internal_code));
CREATE UNIQUE INDEX campaigns_internal_code_key ON campaigns (shop_id, internal_code) WHERE internal_code IS NOT NULL;
-- the sync sweep: campaigns Shopify has not caught up with
CREATE INDEX campaigns_sync_idx ON campaigns (id) WHERE sync_status = 'pending' OR synced_version < rules_version;

-- +goose Down
DROP INDEX campaigns_sync_idx;
DROP INDEX campaigns_internal_code_key;
ALTER TABLE campaigns DROP COLUMN internal_code;
