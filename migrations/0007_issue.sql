-- +goose Up
-- The issue API, code lifecycle and outbound webhooks.

-- body: the exact bytes of the first answer, replayed byte for byte for a
-- repeated Idempotency-Key (JSONB in response normalizes whitespace and key
-- order, so it cannot be replayed as-is).
ALTER TABLE issue_requests ADD COLUMN body BYTEA;
CREATE INDEX issue_requests_created_idx ON issue_requests (created_at);

-- the same shopper asking again: email is matched case-insensitively
CREATE INDEX codes_customer_lower_idx ON codes (campaign_id, lower(customer_email)) WHERE customer_email IS NOT NULL;
-- pool:check's issue rate (codes issued in the last hour)
CREATE INDEX codes_issued_at_idx ON codes (campaign_id, issued_at) WHERE issued_at IS NOT NULL;
-- codes the app no longer honours that are still redeemable in Shopify:
-- the lifecycle job removes them (discountCodeRedeemCodeBulkDelete)
CREATE INDEX codes_unsync_idx ON codes (campaign_id, id)
    WHERE shopify_state = 'live' AND status IN ('expired', 'disabled') AND kind = 'unique';

-- outbound events of one event id, and the endpoint list of a shop
CREATE INDEX outbound_events_event_idx ON outbound_events (event_id);
CREATE INDEX webhook_endpoints_active_idx ON webhook_endpoints (shop_id) WHERE active;

-- +goose Down
DROP INDEX webhook_endpoints_active_idx;
DROP INDEX outbound_events_event_idx;
DROP INDEX codes_unsync_idx;
DROP INDEX codes_issued_at_idx;
DROP INDEX codes_customer_lower_idx;
DROP INDEX issue_requests_created_idx;
ALTER TABLE issue_requests DROP COLUMN body;
