-- +goose Up
-- orders: the latest known version of every order of a shop, recorded from
-- orders/* webhooks and from reconciliation (source). A version is applied
-- only when its order_updated_at is newer than or equal to the stored one, so
-- late or reordered deliveries never roll an order back. Amounts are in the
-- shop currency's minor units; NULL means "not reported by the source" (the
-- reconciliation summary lacks some of them), never zero.
CREATE TABLE orders (
    id                      BIGSERIAL PRIMARY KEY,
    shop_id                 BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id                BIGINT NOT NULL,            -- Shopify's numeric id (exceeds 2^53)
    admin_graphql_api_id    TEXT NOT NULL DEFAULT '',
    name                    TEXT NOT NULL DEFAULT '',   -- "#1001", display only
    email                   TEXT NOT NULL DEFAULT '',   -- protected customer data
    customer_id             BIGINT,                     -- NULL for guest and many POS orders
    checkout_token          TEXT NOT NULL DEFAULT '',
    currency                TEXT NOT NULL,
    total_minor             BIGINT NOT NULL,
    subtotal_minor          BIGINT,                     -- after discounts, before shipping and tax
    discount_minor          BIGINT,
    shipping_minor          BIGINT,
    current_total_minor     BIGINT,                     -- after refunds and edits
    current_subtotal_minor  BIGINT,
    discount_codes          TEXT[] NOT NULL DEFAULT '{}', -- upper-cased: codes are case-insensitive
    note_attributes         JSONB NOT NULL DEFAULT '[]'::jsonb, -- cart attributes [{name, value}]
    landing_site            TEXT NOT NULL DEFAULT '',
    referring_site          TEXT NOT NULL DEFAULT '',
    browser_ip              TEXT NOT NULL DEFAULT '',
    user_agent              TEXT NOT NULL DEFAULT '',
    source_name             TEXT NOT NULL DEFAULT '',   -- web, pos, shopify_draft_order, ...
    financial_status        TEXT NOT NULL DEFAULT '',
    test                    BOOLEAN NOT NULL DEFAULT false,
    order_created_at        TIMESTAMPTZ NOT NULL,
    order_updated_at        TIMESTAMPTZ NOT NULL,
    cancelled_at            TIMESTAMPTZ,
    cancel_reason           TEXT NOT NULL DEFAULT '',
    refunded_minor          BIGINT NOT NULL DEFAULT 0,  -- sum of refunds.amount_minor, kept in sync
    source                  TEXT NOT NULL CHECK (source IN ('webhook', 'reconcile')), -- who recorded it first
    first_webhook_id        TEXT NOT NULL,
    last_webhook_id         TEXT NOT NULL,              -- the delivery that wrote the current version
    redacted_at             TIMESTAMPTZ,                -- customers/redact erased the personal data
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT orders_shop_order_key UNIQUE (shop_id, order_id)
);
CREATE INDEX orders_checkout_token_idx ON orders (shop_id, checkout_token) WHERE checkout_token <> '';
CREATE INDEX orders_customer_idx ON orders (shop_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX orders_email_idx ON orders (shop_id, lower(email)) WHERE email <> '';
CREATE INDEX orders_created_idx ON orders (shop_id, order_created_at DESC);
CREATE INDEX orders_updated_idx ON orders (shop_id, order_updated_at);

-- refunds: one row per Shopify refund. A refund can arrive before its order
-- (no ordering guarantee between topics), so there is deliberately no foreign
-- key to orders; orders.refunded_minor is recomputed from these rows whenever
-- either side arrives.
CREATE TABLE refunds (
    id                    BIGSERIAL PRIMARY KEY,
    shop_id               BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    refund_id             BIGINT NOT NULL,
    order_id              BIGINT NOT NULL,
    amount_minor          BIGINT NOT NULL,           -- money returned to the buyer (shop currency)
    lines_subtotal_minor  BIGINT NOT NULL DEFAULT 0, -- refunded lines after discounts, before tax: the claw-back base
    currency              TEXT NOT NULL,
    refund_created_at     TIMESTAMPTZ NOT NULL,
    webhook_id            TEXT NOT NULL,             -- the delivery that first recorded it
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT refunds_shop_refund_key UNIQUE (shop_id, refund_id)
);
CREATE INDEX refunds_order_idx ON refunds (shop_id, order_id);

-- checkouts: the abandoned-checkout source, keyed by token (2026-04 removed
-- the id from checkout webhooks). completed_at is set from the checkout
-- payload or as soon as an order with this checkout_token is recorded.
CREATE TABLE checkouts (
    id                      BIGSERIAL PRIMARY KEY,
    shop_id                 BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    token                   TEXT NOT NULL,
    cart_token              TEXT NOT NULL DEFAULT '',
    email                   TEXT NOT NULL DEFAULT '',
    customer_id             BIGINT,
    currency                TEXT NOT NULL,
    total_minor             BIGINT NOT NULL,
    discount_codes          TEXT[] NOT NULL DEFAULT '{}',
    abandoned_checkout_url  TEXT NOT NULL DEFAULT '',
    completed_at            TIMESTAMPTZ,
    order_id                BIGINT,                  -- the order that completed it, when known
    checkout_created_at     TIMESTAMPTZ NOT NULL,
    checkout_updated_at     TIMESTAMPTZ NOT NULL,
    redacted_at             TIMESTAMPTZ,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT checkouts_shop_token_key UNIQUE (shop_id, token)
);
CREATE INDEX checkouts_abandoned_idx ON checkouts (shop_id, checkout_updated_at) WHERE completed_at IS NULL;
CREATE INDEX checkouts_customer_idx ON checkouts (shop_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX checkouts_email_idx ON checkouts (shop_id, lower(email)) WHERE email <> '';

-- reconcile_state: how far order reconciliation has read each shop's orders
-- (by Shopify's updated_at). It only moves forward.
CREATE TABLE reconcile_state (
    shop_id           BIGINT PRIMARY KEY REFERENCES shops(id) ON DELETE CASCADE,
    orders_watermark  TIMESTAMPTZ NOT NULL,
    last_run_at       TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE reconcile_state;
DROP TABLE checkouts;
DROP TABLE refunds;
DROP TABLE orders;
