-- +goose Up
-- partners: affiliates, influencers and agencies a shop pays commission to.
CREATE TABLE partners (
    id                     BIGSERIAL PRIMARY KEY,
    shop_id                BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    kind                   TEXT NOT NULL CHECK (kind IN ('affiliate', 'influencer', 'agency')),
    email                  TEXT NOT NULL DEFAULT '',
    customer_id            BIGINT,
    commission_percent     NUMERIC(6,3),          -- percent of net attributed revenue
    commission_fixed_minor BIGINT,                -- or a fixed amount per conversion
    payout_details         JSONB NOT NULL DEFAULT '{}'::jsonb,
    status                 TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (commission_percent IS NULL OR commission_fixed_minor IS NULL)
);
CREATE INDEX partners_shop_idx ON partners (shop_id, id);

-- campaigns: one Shopify code discount each (shopify_discount_id), with the
-- rules Shopify enforces (discount, usage) and the ones the app enforces
-- (targeting rules, holdout). JSON columns hold the API's shapes verbatim.
CREATE TABLE campaigns (
    id                   BIGSERIAL PRIMARY KEY,
    shop_id              BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    goal                 TEXT NOT NULL CHECK (goal IN ('acquisition', 'retention', 'cart_recovery', 'win_back', 'partner')),
    status               TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'ended')),
    partner_id           BIGINT REFERENCES partners(id) ON DELETE SET NULL,
    discount             JSONB NOT NULL,         -- {"type","value","min_subtotal","products","collections","combines_with"}
    code_format          JSONB NOT NULL,         -- {"prefix","length","check_char"}
    usage                JSONB NOT NULL,         -- {"single_use","once_per_customer","total_cap","budget","codes_per_customer"}
    rules                JSONB NOT NULL DEFAULT '{}'::jsonb, -- {"countries","devices","traffic_sources","channels","partner_only","customer_segment"}
    starts_at            TIMESTAMPTZ NOT NULL,
    ends_at              TIMESTAMPTZ,
    code_ttl_hours       INT,
    holdout              NUMERIC(5,4) NOT NULL DEFAULT 0 CHECK (holdout >= 0 AND holdout < 1),
    hold_days            INT,
    salt                 TEXT NOT NULL,          -- holdout assignment salt
    shopify_discount_id  TEXT,                   -- gid://shopify/DiscountCodeNode/...
    sync_status          TEXT NOT NULL DEFAULT 'pending' CHECK (sync_status IN ('pending', 'synced', 'failed')),
    sync_error           TEXT NOT NULL DEFAULT '',
    rules_version        INT NOT NULL DEFAULT 1, -- bumped on every change that Shopify must learn
    synced_version       INT NOT NULL DEFAULT 0,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_shop_idx ON campaigns (shop_id, id);
CREATE INDEX campaigns_shop_status_idx ON campaigns (shop_id, status, id);

-- code_batches: one generation request (millions of codes), resumable.
CREATE TABLE code_batches (
    id          BIGSERIAL PRIMARY KEY,
    shop_id     BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    campaign_id BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    partner_id  BIGINT REFERENCES partners(id) ON DELETE SET NULL,
    channel     TEXT NOT NULL DEFAULT '',
    purpose     TEXT NOT NULL DEFAULT 'stock' CHECK (purpose IN ('stock', 'pool_refill', 'import')),
    requested   BIGINT NOT NULL CHECK (requested >= 0),
    generated   BIGINT NOT NULL DEFAULT 0,
    pushed      BIGINT NOT NULL DEFAULT 0,
    failed      BIGINT NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'generating', 'pushing', 'done', 'failed')),
    error       TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX code_batches_shop_idx ON code_batches (shop_id, id);

-- codes: every code the app knows, upper-cased, unique per shop.
-- Lifecycle: available -> issued -> redeemed | expired | disabled.
-- shopify_state tracks the push: pending -> pushing (in a bulk creation) ->
-- live | failed; only live codes are ever handed out.
-- No foreign keys here on purpose: codes are written millions at a time and
-- the per-row FK triggers cost more than half of the insert. The store only
-- writes codes for a campaign and batch it has just read in the same shop,
-- and shop/redact deletes a shop's codes explicitly.
CREATE TABLE codes (
    id                BIGSERIAL PRIMARY KEY,
    shop_id           BIGINT NOT NULL,
    campaign_id       BIGINT NOT NULL,
    batch_id          BIGINT,
    code              TEXT NOT NULL CHECK (code = upper(code)),
    kind              TEXT NOT NULL DEFAULT 'unique' CHECK (kind IN ('unique', 'vanity')),
    status            TEXT NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'issued', 'redeemed', 'expired', 'disabled')),
    partner_id        BIGINT,
    channel           TEXT NOT NULL DEFAULT '',
    customer_id       BIGINT,
    customer_email    TEXT,
    usage_cap         INT,                       -- vanity codes: multi-use with a cap
    uses              INT NOT NULL DEFAULT 0,
    issued_at         TIMESTAMPTZ,
    expires_at        TIMESTAMPTZ,
    redeemed_at       TIMESTAMPTZ,
    disabled_reason   TEXT NOT NULL DEFAULT '',
    shopify_state     TEXT NOT NULL DEFAULT 'pending' CHECK (shopify_state IN ('pending', 'pushing', 'live', 'failed', 'removed')),
    shopify_discount_id TEXT,                    -- vanity codes have their own discount
    shopify_code_id   TEXT,                      -- gid://shopify/DiscountRedeemCode/...
    push_id           BIGINT,                    -- the code_pushes row that carried it
    push_error        TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT codes_shop_code_key UNIQUE (shop_id, code)
);
-- the issue pool: live, available codes of a campaign
CREATE INDEX codes_pool_idx ON codes (campaign_id, id) WHERE status = 'available' AND shopify_state = 'live' AND kind = 'unique';
CREATE INDEX codes_customer_idx ON codes (campaign_id, customer_email) WHERE customer_email IS NOT NULL;
CREATE INDEX codes_customer_id_idx ON codes (campaign_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX codes_expiry_idx ON codes (expires_at) WHERE status = 'issued' AND expires_at IS NOT NULL;
-- codes inside one bulk creation, looked up when it completes
CREATE INDEX codes_pushing_idx ON codes (push_id) WHERE shopify_state = 'pushing';
-- listing a campaign's codes (every query also filters by shop_id) and the
-- push queue (pending codes of a campaign, walked in id order from a cursor).
-- Batch progress lives in code_batches, so no per-batch or per-state index
-- is kept: every index costs each of the millions of generated rows.
CREATE INDEX codes_list_idx ON codes (campaign_id, id);

-- code_pushes: one discountRedeemCodeBulkAdd call (<= 250 codes) and its
-- asynchronous bulk creation, so a crash mid-push resumes by polling the
-- same bulk creation instead of pushing the codes again.
CREATE TABLE code_pushes (
    id                BIGSERIAL PRIMARY KEY,
    shop_id           BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    campaign_id       BIGINT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    bulk_creation_id  TEXT,                      -- set once Shopify accepted the call
    codes_count       INT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'sending' CHECK (status IN ('sending', 'running', 'done', 'failed')),
    imported          INT NOT NULL DEFAULT 0,
    failed            INT NOT NULL DEFAULT 0,
    error             TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX code_pushes_open_idx ON code_pushes (campaign_id, id) WHERE status IN ('sending', 'running');

-- issue_requests: Idempotency-Key replay for POST /api/v1/codes/issue.
CREATE TABLE issue_requests (
    shop_id          BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    idempotency_key  TEXT NOT NULL,
    request_hash     BYTEA NOT NULL,
    status           INT NOT NULL,
    response         JSONB NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (shop_id, idempotency_key)
);

-- webhook_endpoints and outbound_events: signed outbound webhooks a shop
-- subscribes to (code.issued, code.expired, code.disabled, ...).
CREATE TABLE webhook_endpoints (
    id          BIGSERIAL PRIMARY KEY,
    shop_id     BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    secret_enc  TEXT NOT NULL,                   -- signing secret, encrypted at rest
    events      TEXT[] NOT NULL DEFAULT '{}',    -- empty: every event
    active      BOOLEAN NOT NULL DEFAULT true,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoints_shop_idx ON webhook_endpoints (shop_id, id);

CREATE TABLE outbound_events (
    id           BIGSERIAL PRIMARY KEY,
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    endpoint_id  BIGINT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id     TEXT NOT NULL,                  -- one id per event, the same for every endpoint and retry
    type         TEXT NOT NULL,
    payload      JSONB NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_status  INT,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at TIMESTAMPTZ,
    CONSTRAINT outbound_events_once UNIQUE (endpoint_id, event_id)
);
CREATE INDEX outbound_events_due_idx ON outbound_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbound_events_shop_idx ON outbound_events (shop_id, id);

-- +goose Down
DROP TABLE outbound_events;
DROP TABLE webhook_endpoints;
DROP TABLE issue_requests;
DROP TABLE code_pushes;
DROP TABLE codes;
DROP TABLE code_batches;
DROP TABLE campaigns;
DROP TABLE partners;
