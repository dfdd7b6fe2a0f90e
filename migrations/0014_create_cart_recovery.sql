-- +goose Up
-- cart_recovery_configs: what a cart-recovery campaign adds to the campaign
-- itself: the cart value a checkout (or a storefront cart) must reach, and
-- how often one shopper may receive a recovery code. A campaign without a
-- row uses the defaults (no threshold, once per 30 days).
CREATE TABLE cart_recovery_configs (
    campaign_id      BIGINT PRIMARY KEY REFERENCES campaigns(id) ON DELETE CASCADE,
    shop_id          BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    min_cart_minor   BIGINT NOT NULL DEFAULT 0 CHECK (min_cart_minor >= 0),
    once_per_days    INT NOT NULL DEFAULT 30 CHECK (once_per_days >= 0),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX cart_recovery_configs_shop_idx ON cart_recovery_configs (shop_id);

-- cart_recoveries: one abandonment check per checkout (keyed like checkouts,
-- by token). version is the checkout version (checkout_updated_at) the check
-- was scheduled for: a newer version moves due_at and version, and a task
-- scheduled for an older version finds a mismatch and does nothing.
-- status: scheduled -> completed (an order came first) | sent (a code went
-- out) | holdout (control shopper: no code, the assignment is this row) |
-- skipped (reason: no_campaign, below_threshold, cooldown, no_contact,
-- rule_violation, already_redeemed).
CREATE TABLE cart_recoveries (
    id               BIGSERIAL PRIMARY KEY,
    shop_id          BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    checkout_token   TEXT NOT NULL,
    version          TIMESTAMPTZ NOT NULL,
    due_at           TIMESTAMPTZ NOT NULL,
    status           TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'completed', 'sent', 'holdout', 'skipped')),
    reason           TEXT NOT NULL DEFAULT '',
    campaign_id      BIGINT REFERENCES campaigns(id) ON DELETE SET NULL,
    customer_email   TEXT NOT NULL DEFAULT '',
    customer_id      BIGINT,
    currency         TEXT NOT NULL DEFAULT '',
    total_minor      BIGINT NOT NULL DEFAULT 0,
    code             TEXT,
    code_expires_at  TIMESTAMPTZ,
    recovery_url     TEXT NOT NULL DEFAULT '',
    reschedules      INT NOT NULL DEFAULT 0,
    checked_at       TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT cart_recoveries_shop_token_key UNIQUE (shop_id, checkout_token)
);
CREATE INDEX cart_recoveries_due_idx ON cart_recoveries (due_at) WHERE status = 'scheduled';
CREATE INDEX cart_recoveries_campaign_idx ON cart_recoveries (campaign_id) WHERE campaign_id IS NOT NULL;
CREATE INDEX cart_recoveries_email_idx ON cart_recoveries (shop_id, lower(customer_email), checked_at) WHERE status = 'sent';

-- cart_touchpoints: every time a cart-recovery code reached (or was
-- withheld from) a shopper, by channel: flow (the Flow action returned it),
-- webhook (a checkout.recovery_code event), onsite (the storefront
-- trigger). holdout rows record a control assignment on the storefront.
CREATE TABLE cart_touchpoints (
    id               BIGSERIAL PRIMARY KEY,
    shop_id          BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    campaign_id      BIGINT REFERENCES campaigns(id) ON DELETE SET NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('flow', 'webhook', 'onsite')),
    code             TEXT,
    holdout          BOOLEAN NOT NULL DEFAULT false,
    checkout_token   TEXT,
    visitor_id       TEXT,
    customer_email   TEXT NOT NULL DEFAULT '',
    customer_id      BIGINT,
    trigger          TEXT NOT NULL DEFAULT '',
    expires_at       TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX cart_touchpoints_campaign_idx ON cart_touchpoints (campaign_id, channel);
CREATE INDEX cart_touchpoints_visitor_idx ON cart_touchpoints (shop_id, campaign_id, visitor_id, created_at DESC) WHERE visitor_id IS NOT NULL;

-- flow_action_runs: the answer given to each Flow action run, so a re-sent
-- action_run_id gets the same answer.
CREATE TABLE flow_action_runs (
    shop_id          BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    action_run_id    TEXT NOT NULL,
    status           INT NOT NULL,
    body             BYTEA NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, action_run_id)
);

-- +goose Down
DROP TABLE flow_action_runs;
DROP TABLE cart_touchpoints;
DROP TABLE cart_recoveries;
DROP TABLE cart_recovery_configs;
