-- +goose Up
-- Issue path: one index less to write per claim, one to read for budgets.

-- Every lookup of a shopper's codes matches the email case-insensitively
-- (codes_customer_lower_idx); this one was never used and cost an index
-- entry on every claim.
DROP INDEX codes_customer_idx;

-- usage.budget: the discount already spent by a campaign's conversions.
CREATE INDEX conversions_campaign_idx ON conversions (campaign_id, status) WHERE campaign_id IS NOT NULL;

-- +goose Down
DROP INDEX conversions_campaign_idx;
CREATE INDEX codes_customer_idx ON codes (campaign_id, customer_email) WHERE customer_email IS NOT NULL;
