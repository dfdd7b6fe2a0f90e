-- +goose Up
-- shops: one row per myshopify domain, kept across uninstall/reinstall so that
-- a reinstall resumes the shop's settings and history.
CREATE TABLE shops (
    id                        BIGSERIAL PRIMARY KEY,
    domain                    TEXT NOT NULL UNIQUE CHECK (domain ~ '^[a-z0-9][a-z0-9-]*\.myshopify\.com$'),
    name                      TEXT NOT NULL DEFAULT '',
    currency                  TEXT NOT NULL DEFAULT 'USD',
    plan                      TEXT NOT NULL DEFAULT '',
    timezone                  TEXT NOT NULL DEFAULT 'UTC',
    scopes                    TEXT NOT NULL DEFAULT '',
    -- tokens are AES-256-GCM ciphertexts ("v1:<kid>:<base64>"), never plaintext
    access_token_enc          TEXT,
    access_token_expires_at   TIMESTAMPTZ,
    refresh_token_enc         TEXT,
    refresh_token_expires_at  TIMESTAMPTZ,
    token_kind                TEXT NOT NULL DEFAULT '' CHECK (token_kind IN ('', 'offline_expiring', 'offline', 'online')),
    installed_at              TIMESTAMPTZ,
    uninstalled_at            TIMESTAMPTZ,
    settings                  JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- webhook_deliveries: the intake inbox. A delivery is recorded (and committed)
-- before Shopify gets its 200; jobs claim rows by status.
CREATE TABLE webhook_deliveries (
    id            BIGSERIAL PRIMARY KEY,
    shop_domain   TEXT NOT NULL,
    webhook_id    TEXT NOT NULL,
    topic         TEXT NOT NULL,
    api_version   TEXT NOT NULL DEFAULT '',
    event_id      TEXT NOT NULL DEFAULT '',
    triggered_at  TIMESTAMPTZ,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    payload       BYTEA NOT NULL,
    status        TEXT NOT NULL DEFAULT 'received'
                  CHECK (status IN ('received', 'processing', 'processed', 'failed', 'ignored')),
    attempts      INT NOT NULL DEFAULT 0,
    error         TEXT NOT NULL DEFAULT '',
    processed_at  TIMESTAMPTZ,
    CONSTRAINT webhook_deliveries_webhook_id_key UNIQUE (webhook_id)
);
-- Payloads are already-compact JSON; skip TOAST compression on the hot path.
ALTER TABLE webhook_deliveries ALTER COLUMN payload SET STORAGE EXTERNAL;
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (received_at) WHERE status IN ('received', 'processing');
CREATE INDEX webhook_deliveries_shop_topic_idx ON webhook_deliveries (shop_domain, topic, received_at DESC);

-- ledger_entries: the append-only record of every state or amount change.
-- subject_type/subject_id name what changed (a conversion, a payout, a code);
-- cause_type/cause_id name why (webhook, rule, user, job). Later migrations add
-- subject types; balances are derived from these rows alone.
CREATE TABLE ledger_entries (
    id            BIGSERIAL PRIMARY KEY,
    shop_id       BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    subject_type  TEXT NOT NULL,
    subject_id    BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    from_status   TEXT NOT NULL DEFAULT '',
    to_status     TEXT NOT NULL DEFAULT '',
    amount_minor  BIGINT NOT NULL DEFAULT 0,
    currency      TEXT NOT NULL DEFAULT '',
    cause_type    TEXT NOT NULL,
    cause_id      TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT,
    detail        JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT ledger_entries_idem_key UNIQUE (shop_id, idempotency_key)
);
CREATE INDEX ledger_entries_subject_idx ON ledger_entries (shop_id, subject_type, subject_id, id);

-- audit_events: who did what in the admin or API (user, API key, job).
CREATE TABLE audit_events (
    id          BIGSERIAL PRIMARY KEY,
    shop_id     BIGINT REFERENCES shops(id) ON DELETE CASCADE,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    detail      JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_shop_idx ON audit_events (shop_id, created_at DESC);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE ledger_entries;
DROP TABLE webhook_deliveries;
DROP TABLE shops;
