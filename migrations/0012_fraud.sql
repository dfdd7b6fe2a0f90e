-- +goose Up
-- fraud_events: what the fraud layer saw of each scored order — the facts
-- its aggregates are computed from (PRODUCT.md §9). One row per order,
-- written when attribution scores the order; refunded is set when a refund
-- of the order is applied. cold is a partner-credited order without a click
-- trail; prefix is the order IP's /24 (IPv4) or /48 (IPv6).
CREATE TABLE fraud_events (
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id     BIGINT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    code         TEXT NOT NULL DEFAULT '',
    partner_id   BIGINT,
    ip           TEXT NOT NULL DEFAULT '',
    prefix       TEXT NOT NULL DEFAULT '',
    device       TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT '',
    cold         BOOLEAN NOT NULL DEFAULT false,
    click_id     TEXT NOT NULL DEFAULT '',
    customer_id  TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    refunded     BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (shop_id, order_id)
);
CREATE INDEX fraud_events_code_idx ON fraud_events (shop_id, code, at) WHERE code <> '';
CREATE INDEX fraud_events_partner_idx ON fraud_events (shop_id, partner_id, at) WHERE partner_id IS NOT NULL;
CREATE INDEX fraud_events_click_idx ON fraud_events (shop_id, click_id) WHERE click_id <> '';
CREATE INDEX fraud_events_prefix_idx ON fraud_events (shop_id, prefix, at) WHERE prefix <> '';

-- fraud_refund_counts: orders and refunded orders per partner (partner_id 0
-- is the whole shop), kept as counters so the refund-rate signal costs one
-- indexed read per order.
-- Each counter is split over 32 shards (by order id) so concurrent
-- attributions of one shop do not queue on one row lock until they commit;
-- readers sum the shards.
CREATE TABLE fraud_refund_counts (
    shop_id     BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    partner_id  BIGINT NOT NULL,
    shard       SMALLINT NOT NULL DEFAULT 0,
    orders      BIGINT NOT NULL DEFAULT 0,
    refunded    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, partner_id, shard)
);

-- fraud_incidents: one alert per incident — orders flagged for the same kind
-- of abuse by the same actor (key: "code:X", "partner:N", "prefix:P") close
-- together in time (app/fraud.IncidentGap). actions records what was done
-- about it (a leaked code disabled, a fresh code issued).
CREATE TABLE fraud_incidents (
    id          BIGSERIAL PRIMARY KEY,
    shop_id     BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    partner_id  BIGINT,
    code        TEXT NOT NULL DEFAULT '',
    order_ids   BIGINT[] NOT NULL DEFAULT '{}',
    orders      INT NOT NULL DEFAULT 0,
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL,
    max_score   INT NOT NULL DEFAULT 0,
    evidence    JSONB NOT NULL DEFAULT '{}'::jsonb,
    actions     JSONB NOT NULL DEFAULT '[]'::jsonb,
    shadow      BOOLEAN NOT NULL DEFAULT false,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX fraud_incidents_shop_idx ON fraud_incidents (shop_id, id);
CREATE INDEX fraud_incidents_key_idx ON fraud_incidents (shop_id, kind, key, last_seen);

-- partner_events: the partner's record — what happened to the partner
-- (a leaked code disabled, a fresh code issued, a fraud incident), newest
-- last; GET /api/v1/partners/{id}/events lists them.
CREATE TABLE partner_events (
    id          BIGSERIAL PRIMARY KEY,
    shop_id     BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    partner_id  BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    detail      JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX partner_events_partner_idx ON partner_events (shop_id, partner_id, id);

-- The click-flood signal counts one shop's clicks per IP in an hour.
CREATE INDEX clicks_shop_ip_idx ON clicks (shop_id, ip, created_at);

-- +goose Down
DROP INDEX IF EXISTS clicks_shop_ip_idx;
DROP TABLE partner_events;
DROP TABLE fraud_incidents;
DROP TABLE fraud_refund_counts;
DROP TABLE fraud_events;
