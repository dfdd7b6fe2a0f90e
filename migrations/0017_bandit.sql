-- +goose Up
-- bandit_snapshots: what the issue API's bandit decides on for a campaign
-- with discount-level arms (experiment_settings.arm_campaigns), refreshed
-- every few minutes by the bandit:refresh job so the issue path reads one
-- row instead of aggregating assignments and orders per request. counts is
-- experiment.BanditCounts (per segment "channel|device" and "all": control
-- and per-level treated shoppers, converters, orders, revenue, discount);
-- levels is the merchant's view of each level (traffic share, expected
-- profit per shopper, probability of losing money, selection share).
CREATE TABLE bandit_snapshots (
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    campaign_id  BIGINT NOT NULL,
    counts       JSONB NOT NULL,
    levels       JSONB NOT NULL DEFAULT '[]'::jsonb,
    computed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (shop_id, campaign_id)
);

-- bandit_retirements: levels of a campaign the bandit stopped serving
-- because they lose money, with the numbers that decided it. level is the
-- level's campaign id as text (as in experiment_assignments.level). A
-- retirement is permanent: the merchant starts a new level (campaign) to
-- try again.
CREATE TABLE bandit_retirements (
    shop_id                      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    campaign_id                  BIGINT NOT NULL,
    level                        TEXT NOT NULL,
    retired_at                   TIMESTAMPTZ NOT NULL,
    reason                       TEXT NOT NULL,
    expected_profit_per_shopper  DOUBLE PRECISION NOT NULL, -- minor units
    p_loss                       DOUBLE PRECISION NOT NULL,
    shoppers                     BIGINT NOT NULL,
    PRIMARY KEY (shop_id, campaign_id, level)
);

-- +goose Down
DROP TABLE bandit_retirements;
DROP TABLE bandit_snapshots;
