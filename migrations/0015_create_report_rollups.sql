-- +goose Up
-- Reporting rollups, maintained incrementally so reports read a few thousand
-- pre-aggregated rows instead of millions of conversions.
--
-- Design: a trigger on conversions writes *deltas* (the old row's
-- contribution negated, the new row's added) into append-only delta tables in
-- the same transaction as the conversion change, and a periodic job
-- (reports:fold, every few seconds) folds them into the rollup tables. Reads
-- sum the rollup and the not-yet-folded deltas, so a new conversion is in the
-- reports as soon as its transaction commits. Appending deltas instead of
-- upserting the rollup row in the trigger means concurrent attribution jobs
-- never wait on (or deadlock over) a hot rollup row such as today's row of a
-- busy campaign; only the folding job updates rollup rows, in one statement
-- per batch, so a reader sees a batch either entirely as deltas or entirely
-- folded.
--
-- Days are UTC calendar days of the order's creation time. campaign_id and
-- partner_id are 0 when the conversion has none (organic / unattributed).
-- Money is in minor units of currency. "rejected" conversions count only in
-- rejected_orders and fraud_flagged, never in revenue, cost or orders.

-- report_daily: one row per shop, day, campaign, partner, channel, currency.
CREATE TABLE report_daily (
    shop_id          BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    day              DATE NOT NULL,
    campaign_id      BIGINT NOT NULL DEFAULT 0,
    partner_id       BIGINT NOT NULL DEFAULT 0,
    channel          TEXT NOT NULL DEFAULT '',
    currency         TEXT NOT NULL,
    orders           BIGINT NOT NULL DEFAULT 0,  -- conversions not rejected
    attributed       BIGINT NOT NULL DEFAULT 0,  -- of which credited to a code or click
    redemptions      BIGINT NOT NULL DEFAULT 0,  -- matched codes
    gross_minor      BIGINT NOT NULL DEFAULT 0,
    net_minor        BIGINT NOT NULL DEFAULT 0,
    discount_minor   BIGINT NOT NULL DEFAULT 0,
    commission_minor BIGINT NOT NULL DEFAULT 0,
    held_minor       BIGINT NOT NULL DEFAULT 0,  -- net revenue by status
    approved_minor   BIGINT NOT NULL DEFAULT 0,  -- approved and paid
    reversed_minor   BIGINT NOT NULL DEFAULT 0,  -- original net of reversed conversions
    held_orders      BIGINT NOT NULL DEFAULT 0,
    approved_orders  BIGINT NOT NULL DEFAULT 0,
    reversed_orders  BIGINT NOT NULL DEFAULT 0,
    rejected_orders  BIGINT NOT NULL DEFAULT 0,
    fraud_flagged    BIGINT NOT NULL DEFAULT 0,  -- fraud action (or shadow would_action) flag, hold or reject
    PRIMARY KEY (shop_id, day, campaign_id, partner_id, channel, currency)
);

-- Filters of the time series and summaries (one campaign, partner or
-- channel over a range of days).
CREATE INDEX report_daily_campaign_idx ON report_daily (shop_id, campaign_id, day);
CREATE INDEX report_daily_partner_idx ON report_daily (shop_id, partner_id, day);
CREATE INDEX report_daily_channel_idx ON report_daily (shop_id, channel, day);

-- report_monthly: report_daily summed per calendar month (month = its first
-- day), so a summary over a year reads twelve months of groups plus the
-- days at its edges instead of 365 days of groups.
CREATE TABLE report_monthly (LIKE report_daily INCLUDING DEFAULTS);
ALTER TABLE report_monthly RENAME COLUMN day TO month;
ALTER TABLE report_monthly ADD PRIMARY KEY (shop_id, month, campaign_id, partner_id, channel, currency);
ALTER TABLE report_monthly ADD FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;

-- report_days: report_daily summed per day over every campaign, partner and
-- channel (the unfiltered time series and the dashboard tiles).
CREATE TABLE report_days (LIKE report_daily INCLUDING DEFAULTS);
ALTER TABLE report_days DROP COLUMN campaign_id, DROP COLUMN partner_id, DROP COLUMN channel;
ALTER TABLE report_days ADD PRIMARY KEY (shop_id, day, currency);
ALTER TABLE report_days ADD FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;

-- report_dim_days and report_dim_months: report_daily summed per single
-- dimension (dim campaign, partner or channel; key the id, 0 for none, or
-- the channel) per day and per month: a summary by partner over a month
-- reads ~200 rows a day instead of every campaign x partner x channel, and a
-- time series of one campaign, partner or channel reads one row a day.
CREATE TABLE report_dim_days (LIKE report_days INCLUDING DEFAULTS);
ALTER TABLE report_dim_days ADD COLUMN dim TEXT NOT NULL, ADD COLUMN key TEXT NOT NULL;
ALTER TABLE report_dim_days ADD PRIMARY KEY (shop_id, dim, key, day, currency);
ALTER TABLE report_dim_days ADD FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;
CREATE INDEX report_dim_days_day_idx ON report_dim_days (shop_id, dim, day);
CREATE TABLE report_dim_months (LIKE report_dim_days INCLUDING DEFAULTS);
ALTER TABLE report_dim_months RENAME COLUMN day TO month;
ALTER TABLE report_dim_months ADD PRIMARY KEY (shop_id, dim, key, month, currency);
ALTER TABLE report_dim_months ADD FOREIGN KEY (shop_id) REFERENCES shops(id) ON DELETE CASCADE;
CREATE INDEX report_dim_months_month_idx ON report_dim_months (shop_id, dim, month);

-- report_daily_deltas: changes not yet folded into report_daily (and the
-- other rollups above).
CREATE TABLE report_daily_deltas (
    id               BIGSERIAL PRIMARY KEY,
    shop_id          BIGINT NOT NULL,
    day              DATE NOT NULL,
    campaign_id      BIGINT NOT NULL DEFAULT 0,
    partner_id       BIGINT NOT NULL DEFAULT 0,
    channel          TEXT NOT NULL DEFAULT '',
    currency         TEXT NOT NULL,
    orders           BIGINT NOT NULL DEFAULT 0,
    attributed       BIGINT NOT NULL DEFAULT 0,
    redemptions      BIGINT NOT NULL DEFAULT 0,
    gross_minor      BIGINT NOT NULL DEFAULT 0,
    net_minor        BIGINT NOT NULL DEFAULT 0,
    discount_minor   BIGINT NOT NULL DEFAULT 0,
    commission_minor BIGINT NOT NULL DEFAULT 0,
    held_minor       BIGINT NOT NULL DEFAULT 0,
    approved_minor   BIGINT NOT NULL DEFAULT 0,
    reversed_minor   BIGINT NOT NULL DEFAULT 0,
    held_orders      BIGINT NOT NULL DEFAULT 0,
    approved_orders  BIGINT NOT NULL DEFAULT 0,
    reversed_orders  BIGINT NOT NULL DEFAULT 0,
    rejected_orders  BIGINT NOT NULL DEFAULT 0,
    fraud_flagged    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX report_daily_deltas_shop_idx ON report_daily_deltas (shop_id, day);

-- report_customers: one row per customer (customer id, else e-mail) with an
-- attributed conversion: the acquisition cohort (campaign, partner, channel
-- of the first attributed order) and the net revenue of the customer's
-- orders within 30/90/365 days of that first order. Recomputed for the one
-- customer whenever one of the customer's conversions changes.
CREATE TABLE report_customers (
    shop_id          BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    customer_key     TEXT NOT NULL,
    first_order_at   TIMESTAMPTZ NOT NULL,
    campaign_id      BIGINT NOT NULL DEFAULT 0,
    partner_id       BIGINT NOT NULL DEFAULT 0,
    channel          TEXT NOT NULL DEFAULT '',
    currency         TEXT NOT NULL,
    ltv_30_minor     BIGINT NOT NULL DEFAULT 0,
    ltv_90_minor     BIGINT NOT NULL DEFAULT 0,
    ltv_365_minor    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, customer_key)
);

-- report_cohorts: sums of report_customers per dimension (campaign, partner,
-- channel) and key; report_cohort_deltas are its unfolded changes.
CREATE TABLE report_cohorts (
    shop_id        BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    dim            TEXT NOT NULL CHECK (dim IN ('campaign', 'partner', 'channel')),
    key            TEXT NOT NULL,
    currency       TEXT NOT NULL,
    customers      BIGINT NOT NULL DEFAULT 0,
    ltv_30_minor   BIGINT NOT NULL DEFAULT 0,
    ltv_90_minor   BIGINT NOT NULL DEFAULT 0,
    ltv_365_minor  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, dim, key, currency)
);
CREATE TABLE report_cohort_deltas (
    id             BIGSERIAL PRIMARY KEY,
    shop_id        BIGINT NOT NULL,
    dim            TEXT NOT NULL,
    key            TEXT NOT NULL,
    currency       TEXT NOT NULL,
    customers      BIGINT NOT NULL DEFAULT 0,
    ltv_30_minor   BIGINT NOT NULL DEFAULT 0,
    ltv_90_minor   BIGINT NOT NULL DEFAULT 0,
    ltv_365_minor  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX report_cohort_deltas_shop_idx ON report_cohort_deltas (shop_id, dim);

-- +goose StatementBegin
-- report_daily_delta writes one conversion's contribution (sign +1 or -1).
CREATE FUNCTION report_daily_delta(c conversions, sign INT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    live   INT := CASE WHEN c.status = 'rejected' THEN 0 ELSE 1 END;
    -- Flagged: the fraud layer acted (flag, hold, reject) or, in shadow
    -- mode, would have.
    flag   INT := CASE WHEN c.fraud->>'action' IN ('flag', 'hold', 'reject')
                        OR (c.fraud->>'action' = 'shadow' AND c.fraud->>'would_action' IN ('flag', 'hold', 'reject')) THEN 1 ELSE 0 END;
BEGIN
    INSERT INTO report_daily_deltas (shop_id, day, campaign_id, partner_id, channel, currency, orders, attributed, redemptions,
        gross_minor, net_minor, discount_minor, commission_minor, held_minor, approved_minor, reversed_minor,
        held_orders, approved_orders, reversed_orders, rejected_orders, fraud_flagged)
    VALUES (c.shop_id, (c.order_created_at AT TIME ZONE 'UTC')::date, COALESCE(c.campaign_id, 0), COALESCE(c.partner_id, 0),
        c.channel, c.currency,
        sign * live, sign * live * c.attributed::int, sign * live * cardinality(c.codes),
        sign * live * c.gross_minor, sign * live * c.net_minor, sign * live * c.discount_minor, sign * live * c.commission_minor,
        sign * CASE WHEN c.status = 'held' THEN c.net_minor ELSE 0 END,
        sign * CASE WHEN c.status IN ('approved', 'paid') THEN c.net_minor ELSE 0 END,
        sign * CASE WHEN c.status = 'reversed' THEN c.original_net_minor ELSE 0 END,
        sign * (c.status = 'held')::int, sign * (c.status IN ('approved', 'paid'))::int,
        sign * (c.status = 'reversed')::int, sign * (c.status = 'rejected')::int, sign * flag);
END
$$;

-- report_customer_key names the customer of an order: "c:<customer id>",
-- else "e:<md5 of lower(email)>" (no e-mail stored here), else NULL (guest
-- without e-mail: no cohort).
CREATE FUNCTION report_customer_key(p_shop BIGINT, p_order BIGINT) RETURNS TEXT LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN o.customer_id IS NOT NULL THEN 'c:' || o.customer_id
                WHEN o.email <> '' THEN 'e:' || md5(lower(o.email)) END
    FROM orders o WHERE o.shop_id = p_shop AND o.order_id = p_order
$$;

-- report_refresh_customer recomputes one customer's report_customers row from
-- the customer's conversions and writes the cohort deltas of the change.
CREATE FUNCTION report_refresh_customer(p_shop BIGINT, p_key TEXT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    old_row report_customers%ROWTYPE;
    new_row report_customers%ROWTYPE;
    found_old BOOLEAN;
    found_new BOOLEAN := false;
BEGIN
    -- Two orders of one customer attributed at once must not both count the
    -- customer into its cohort: serialize per customer. Later statements of
    -- this function see what the other transaction committed.
    PERFORM pg_advisory_xact_lock(hashtextextended('report_customer:' || p_shop || ':' || p_key, 0));
    -- The shop is being erased (its rows cascade): nothing to keep.
    IF NOT EXISTS (SELECT 1 FROM shops WHERE id = p_shop) THEN
        RETURN;
    END IF;
    SELECT * INTO old_row FROM report_customers WHERE shop_id = p_shop AND customer_key = p_key FOR UPDATE;
    found_old := FOUND;

    WITH mine AS (
        SELECT c.* FROM orders o JOIN conversions c ON c.shop_id = o.shop_id AND c.order_id = o.order_id
        WHERE o.shop_id = p_shop AND c.status <> 'rejected' AND (
            (left(p_key, 2) = 'c:' AND o.customer_id = substr(p_key, 3)::bigint) OR
            (left(p_key, 2) = 'e:' AND o.customer_id IS NULL AND o.email <> '' AND md5(lower(o.email)) = substr(p_key, 3)))
    ), first AS (
        SELECT order_created_at, campaign_id, partner_id, channel, currency FROM mine WHERE attributed
        ORDER BY order_created_at, id LIMIT 1
    )
    SELECT p_shop, p_key, f.order_created_at, COALESCE(f.campaign_id, 0), COALESCE(f.partner_id, 0), f.channel, f.currency,
        COALESCE(sum(m.net_minor) FILTER (WHERE m.order_created_at < f.order_created_at + interval '30 days'), 0),
        COALESCE(sum(m.net_minor) FILTER (WHERE m.order_created_at < f.order_created_at + interval '90 days'), 0),
        COALESCE(sum(m.net_minor) FILTER (WHERE m.order_created_at < f.order_created_at + interval '365 days'), 0)
    INTO new_row
    FROM first f LEFT JOIN mine m ON m.order_created_at >= f.order_created_at AND m.currency = f.currency
    GROUP BY f.order_created_at, f.campaign_id, f.partner_id, f.channel, f.currency;
    found_new := FOUND AND new_row.first_order_at IS NOT NULL;

    IF found_old THEN
        INSERT INTO report_cohort_deltas (shop_id, dim, key, currency, customers, ltv_30_minor, ltv_90_minor, ltv_365_minor)
        SELECT p_shop, d.dim, d.key, old_row.currency, -1, -old_row.ltv_30_minor, -old_row.ltv_90_minor, -old_row.ltv_365_minor
        FROM (VALUES ('campaign', old_row.campaign_id::text), ('partner', old_row.partner_id::text), ('channel', old_row.channel)) d(dim, key);
    END IF;
    IF found_new THEN
        INSERT INTO report_customers VALUES (new_row.*)
        ON CONFLICT (shop_id, customer_key) DO UPDATE SET first_order_at = EXCLUDED.first_order_at, campaign_id = EXCLUDED.campaign_id,
            partner_id = EXCLUDED.partner_id, channel = EXCLUDED.channel, currency = EXCLUDED.currency,
            ltv_30_minor = EXCLUDED.ltv_30_minor, ltv_90_minor = EXCLUDED.ltv_90_minor, ltv_365_minor = EXCLUDED.ltv_365_minor;
        INSERT INTO report_cohort_deltas (shop_id, dim, key, currency, customers, ltv_30_minor, ltv_90_minor, ltv_365_minor)
        SELECT p_shop, d.dim, d.key, new_row.currency, 1, new_row.ltv_30_minor, new_row.ltv_90_minor, new_row.ltv_365_minor
        FROM (VALUES ('campaign', new_row.campaign_id::text), ('partner', new_row.partner_id::text), ('channel', new_row.channel)) d(dim, key);
    ELSIF found_old THEN
        DELETE FROM report_customers WHERE shop_id = p_shop AND customer_key = p_key;
    END IF;
END
$$;

CREATE FUNCTION report_conversions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k_old TEXT;
    k_new TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Columns that reports do not read (evidence, path, hold_until,
        -- version, ...) change often; skip those updates.
        IF (OLD.status, OLD.attributed, OLD.campaign_id, OLD.partner_id, OLD.channel, OLD.currency, OLD.codes,
            OLD.gross_minor, OLD.net_minor, OLD.discount_minor, OLD.commission_minor, OLD.original_net_minor,
            OLD.order_created_at, OLD.fraud->>'action', OLD.fraud->>'would_action')
           IS NOT DISTINCT FROM
           (NEW.status, NEW.attributed, NEW.campaign_id, NEW.partner_id, NEW.channel, NEW.currency, NEW.codes,
            NEW.gross_minor, NEW.net_minor, NEW.discount_minor, NEW.commission_minor, NEW.original_net_minor,
            NEW.order_created_at, NEW.fraud->>'action', NEW.fraud->>'would_action') THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM report_daily_delta(OLD, -1);
        k_old := report_customer_key(OLD.shop_id, OLD.order_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM report_daily_delta(NEW, 1);
        k_new := report_customer_key(NEW.shop_id, NEW.order_id);
    END IF;
    IF k_old IS NOT NULL AND k_old IS DISTINCT FROM k_new THEN
        PERFORM report_refresh_customer(OLD.shop_id, k_old);
    END IF;
    IF k_new IS NOT NULL THEN
        PERFORM report_refresh_customer(NEW.shop_id, k_new);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER conversions_reports AFTER INSERT OR UPDATE OR DELETE ON conversions
    FOR EACH ROW EXECUTE FUNCTION report_conversions_changed();

-- partner_page_links: signed, revocable links to a partner's read-only page
-- (GET /p/{token}). Only the SHA-256 of the token is stored.
CREATE TABLE partner_page_links (
    id            BIGSERIAL PRIMARY KEY,
    shop_id       BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    partner_id    BIGINT NOT NULL REFERENCES partners(id) ON DELETE CASCADE,
    token_hash    BYTEA NOT NULL UNIQUE,
    hint          TEXT NOT NULL DEFAULT '',   -- last characters of the token, to tell links apart
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ
);
CREATE INDEX partner_page_links_partner_idx ON partner_page_links (shop_id, partner_id, id);

-- +goose Down
DROP TABLE partner_page_links;
DROP TRIGGER conversions_reports ON conversions;
DROP FUNCTION report_conversions_changed();
DROP FUNCTION report_refresh_customer(BIGINT, TEXT);
DROP FUNCTION report_customer_key(BIGINT, BIGINT);
DROP FUNCTION report_daily_delta(conversions, INT);
DROP TABLE report_cohort_deltas;
DROP TABLE report_cohorts;
DROP TABLE report_customers;
DROP TABLE report_daily_deltas;
DROP TABLE report_dim_months;
DROP TABLE report_dim_days;
DROP TABLE report_days;
DROP TABLE report_monthly;
DROP TABLE report_daily;
