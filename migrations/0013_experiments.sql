-- +goose Up
-- experiment_assignments: the arm of every eligible shopper of a campaign
-- with a holdout, recorded when the issue API first sees the shopper (both
-- arms: control shoppers get no code and exist only here). The arm is a
-- deterministic hash of shop, shopper and campaign salt, so a lost row is
-- reassigned identically. shopper is "customer:<id>" or "email:<lower-cased
-- e-mail>"; outcomes join orders by customer_id or lower(email). level is
-- the discount level served (the campaign's own discount: '').
CREATE TABLE experiment_assignments (
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    campaign_id  BIGINT NOT NULL,
    shopper      TEXT NOT NULL,
    customer_id  BIGINT,
    email        TEXT NOT NULL DEFAULT '',
    arm          TEXT NOT NULL CHECK (arm IN ('treatment', 'control')),
    level        TEXT NOT NULL DEFAULT '',
    partner_id   BIGINT,
    channel      TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT '',
    device       TEXT NOT NULL DEFAULT '',
    assigned_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (shop_id, campaign_id, shopper)
);
CREATE INDEX experiment_assignments_customer_idx ON experiment_assignments (shop_id, customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX experiment_assignments_email_idx ON experiment_assignments (shop_id, email) WHERE email <> '';

-- experiment_settings: what a merchant decides about the readout of a
-- campaign's experiment: the minimum detectable effect (relative), the
-- gross margin used for profit, and the campaigns whose discounts are the
-- other levels (arms) of the same offer.
CREATE TABLE experiment_settings (
    shop_id         BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    campaign_id     BIGINT NOT NULL,
    mde             DOUBLE PRECISION NOT NULL DEFAULT 0.1 CHECK (mde > 0 AND mde <= 10),
    margin          DOUBLE PRECISION NOT NULL DEFAULT 0.5 CHECK (margin > 0 AND margin <= 1),
    arm_campaigns   BIGINT[] NOT NULL DEFAULT '{}',
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (shop_id, campaign_id)
);

-- uplift_models: every uplift model the training job fitted on a shop's
-- experiment data, numbered per shop, with its held-out metrics. active
-- marks the one the app uses: the newest that beat its predecessor on
-- held-out Qini.
CREATE TABLE uplift_models (
    id             BIGSERIAL PRIMARY KEY,
    shop_id        BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    version        INT NOT NULL,
    learner        TEXT NOT NULL,
    data_hash      TEXT NOT NULL,            -- the training data it saw: a rerun on the same data is a no-op
    n_train        INT NOT NULL,
    n_holdout      INT NOT NULL,
    qini           DOUBLE PRECISION,
    auuc           DOUBLE PRECISION,
    uplift_at_30   DOUBLE PRECISION,
    baseline_qini  DOUBLE PRECISION,         -- the active model's Qini on the same held-out rows
    active         BOOLEAN NOT NULL DEFAULT false,
    reason         TEXT NOT NULL DEFAULT '',
    model          JSONB NOT NULL,
    segments       JSONB NOT NULL DEFAULT '{}'::jsonb, -- mean predicted uplift per segment
    trained_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT uplift_models_version_key UNIQUE (shop_id, version)
);
CREATE UNIQUE INDEX uplift_models_active_key ON uplift_models (shop_id) WHERE active;

-- +goose Down
DROP TABLE uplift_models;
DROP TABLE experiment_settings;
DROP TABLE experiment_assignments;
