-- +goose Up
-- Attribution gathers the codes issued to an order's shopper (by customer id
-- or e-mail) in the attribution window, for every order. The existing
-- indexes lead with the campaign, so that lookup read every code of the shop
-- and every code issued in the window in any shop. Pool codes have neither
-- column set, so these partial indexes cost nothing at generation.
CREATE INDEX codes_shop_customer_idx ON codes (shop_id, customer_id, issued_at) WHERE customer_id IS NOT NULL;
CREATE INDEX codes_shop_email_idx ON codes (shop_id, lower(customer_email), issued_at) WHERE customer_email IS NOT NULL;

-- +goose Down
DROP INDEX codes_shop_email_idx;
DROP INDEX codes_shop_customer_idx;
