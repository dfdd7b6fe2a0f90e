-- +goose Up
-- conversions: the credit of one order (unique per shop and order), as the
-- attribution job computed it and as refunds, cancellations, the hold and
-- payouts moved it since. Every change of status or amount is also a
-- ledger_entries row (subject_type 'conversion'); GET /api/v1/ledger/check
-- recomputes these columns from the ledger alone.
--
-- Orders without a code or click are conversions too ("outcomes"): rule
-- organic or unattributed, no partner, zero commission, status held and then
-- approved like any other, because incrementality needs every order. They
-- never reach a statement (no partner).
--
-- Amounts are minor units of the shop currency. *_minor are the current
-- amounts (after refunds), original_*_minor what was credited at
-- attribution; lines is the attribution.Line list (per credited party) whose
-- sums these columns are.
CREATE TABLE conversions (
    id                        BIGSERIAL PRIMARY KEY,
    shop_id                   BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    order_id                  BIGINT NOT NULL,
    order_name                TEXT NOT NULL DEFAULT '',
    order_created_at          TIMESTAMPTZ NOT NULL,
    order_version             TIMESTAMPTZ NOT NULL,          -- orders.order_updated_at last attributed
    status                    TEXT NOT NULL CHECK (status IN ('held', 'approved', 'rejected', 'reversed', 'paid')),
    status_reason             TEXT NOT NULL DEFAULT '',
    attributed                BOOLEAN NOT NULL DEFAULT false, -- a code or click was credited
    policy                    TEXT NOT NULL DEFAULT '',
    rule                      TEXT NOT NULL,
    campaign_id               BIGINT,
    partner_id                BIGINT,
    channel                   TEXT NOT NULL DEFAULT '',
    code                      TEXT NOT NULL DEFAULT '',
    click_id                  TEXT NOT NULL DEFAULT '',
    codes                     TEXT[] NOT NULL DEFAULT '{}',  -- every matched code (redemptions)
    currency                  TEXT NOT NULL,
    gross_minor               BIGINT NOT NULL DEFAULT 0,
    net_minor                 BIGINT NOT NULL DEFAULT 0,
    discount_minor            BIGINT NOT NULL DEFAULT 0,
    commission_minor          BIGINT NOT NULL DEFAULT 0,
    original_gross_minor      BIGINT NOT NULL DEFAULT 0,
    original_net_minor        BIGINT NOT NULL DEFAULT 0,
    original_discount_minor   BIGINT NOT NULL DEFAULT 0,
    original_commission_minor BIGINT NOT NULL DEFAULT 0,
    order_net_minor           BIGINT NOT NULL DEFAULT 0,     -- denominator of pro-rata refunds
    refunded_minor            BIGINT NOT NULL DEFAULT 0,     -- cumulative refunded net
    clawback_minor            BIGINT NOT NULL DEFAULT 0,     -- commission refunded after payout
    applied_refunds           JSONB NOT NULL DEFAULT '[]'::jsonb, -- refund ids already applied
    hold_until                TIMESTAMPTZ NOT NULL,
    evidence                  JSONB NOT NULL DEFAULT '{}'::jsonb,
    lines                     JSONB NOT NULL DEFAULT '[]'::jsonb,
    path                      JSONB NOT NULL DEFAULT '[]'::jsonb, -- touches in the window (report models)
    fraud                     JSONB NOT NULL DEFAULT '{}'::jsonb, -- {"score","action","reasons":[{"kind","detail"}]}
    attributed_at             TIMESTAMPTZ NOT NULL,
    approved_at               TIMESTAMPTZ,
    rejected_at               TIMESTAMPTZ,
    reversed_at               TIMESTAMPTZ,
    paid_at                   TIMESTAMPTZ,
    statement_id              BIGINT,
    version                   INT NOT NULL DEFAULT 1,        -- bumped on every change
    created_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT conversions_shop_order_key UNIQUE (shop_id, order_id)
);
CREATE INDEX conversions_shop_idx ON conversions (shop_id, id);
CREATE INDEX conversions_held_idx ON conversions (hold_until) WHERE status = 'held';
CREATE INDEX conversions_partner_idx ON conversions (shop_id, partner_id, status) WHERE partner_id IS NOT NULL;
CREATE INDEX conversions_created_idx ON conversions (shop_id, order_created_at);
CREATE INDEX conversions_codes_idx ON conversions USING gin (codes);

-- statements: one payout statement per partner, period and currency.
-- Creating statements for a period again returns the same rows.
CREATE TABLE statements (
    id                BIGSERIAL PRIMARY KEY,
    shop_id           BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    partner_id        BIGINT NOT NULL,
    period_start      TIMESTAMPTZ NOT NULL,
    period_end        TIMESTAMPTZ NOT NULL,
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid')),
    conversions       INT NOT NULL DEFAULT 0,
    commission_minor  BIGINT NOT NULL DEFAULT 0,
    clawback_minor    BIGINT NOT NULL DEFAULT 0,
    total_minor       BIGINT NOT NULL DEFAULT 0,  -- commission − clawbacks
    paid_at           TIMESTAMPTZ,
    paid_by           TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT statements_period_key UNIQUE (shop_id, partner_id, period_start, period_end, currency)
);
CREATE INDEX statements_shop_idx ON statements (shop_id, id);

-- statement_lines: what a statement pays (a conversion's line credited to
-- the partner) or takes back (a clawback). A conversion line and a clawback
-- are each on at most one statement.
CREATE TABLE statement_lines (
    id             BIGSERIAL PRIMARY KEY,
    shop_id        BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    statement_id   BIGINT NOT NULL REFERENCES statements(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('conversion', 'clawback')),
    conversion_id  BIGINT NOT NULL,
    line           INT NOT NULL DEFAULT 0,
    clawback_id    BIGINT,
    order_id       BIGINT NOT NULL,
    order_name     TEXT NOT NULL DEFAULT '',
    amount_minor   BIGINT NOT NULL                 -- commission (clawbacks positive; subtracted)
);
CREATE UNIQUE INDEX statement_lines_conv_key ON statement_lines (shop_id, conversion_id, line) WHERE kind = 'conversion';
CREATE UNIQUE INDEX statement_lines_claw_key ON statement_lines (clawback_id) WHERE kind = 'clawback';
CREATE INDEX statement_lines_stmt_idx ON statement_lines (statement_id, id);

-- clawbacks: commission refunded after the conversion was paid; it goes on
-- the partner's next statement (statement_id set then).
CREATE TABLE clawbacks (
    id               BIGSERIAL PRIMARY KEY,
    shop_id          BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    partner_id       BIGINT NOT NULL,
    conversion_id    BIGINT NOT NULL,
    order_id         BIGINT NOT NULL,
    amount_minor     BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    statement_id     BIGINT,
    created_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT clawbacks_idem_key UNIQUE (shop_id, idempotency_key)
);
CREATE INDEX clawbacks_open_idx ON clawbacks (shop_id, partner_id) WHERE statement_id IS NULL;

-- +goose Down
DROP TABLE clawbacks;
DROP TABLE statement_lines;
DROP TABLE statements;
DROP TABLE conversions;
