-- +goose Up
-- The conversions trigger recomputed the customer's lifetime-value row in the
-- attributing transaction: a PL/pgSQL function of half a dozen statements
-- (a lock, the customer's orders and conversions, the row, its cohort
-- deltas) for every order, most of the trigger's cost. The trigger now
-- writes the conversion's one delta row (two on an update), naming the
-- order's customer in it; the reports fold refreshes the customers its
-- deltas name, set-based, in the transaction that folds them, and a cohort
-- read first refreshes the customers its shop's pending deltas name, so a
-- cohort is as current as before when it is read.
ALTER TABLE report_daily_deltas ADD COLUMN customer_key TEXT;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_conversions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
    -- The old row's contribution negated, the new row's added, in one
    -- statement. Rejected conversions count only in rejected_orders and
    -- fraud_flagged. The customer is "c:<customer id>", else "e:<md5 of
    -- lower(email)>", else none (a guest without e-mail has no cohort).
    INSERT INTO report_daily_deltas (shop_id, day, campaign_id, partner_id, channel, currency, orders, attributed, redemptions,
        gross_minor, net_minor, discount_minor, commission_minor, held_minor, approved_minor, reversed_minor,
        held_orders, approved_orders, reversed_orders, rejected_orders, fraud_flagged, customer_key)
    SELECT c.shop_id, (c.order_created_at AT TIME ZONE 'UTC')::date, COALESCE(c.campaign_id, 0), COALESCE(c.partner_id, 0),
        c.channel, c.currency,
        x.live, x.live * c.attributed::int, x.live * cardinality(c.codes),
        x.live * c.gross_minor, x.live * c.net_minor, x.live * c.discount_minor, x.live * c.commission_minor,
        c.sign * CASE WHEN c.status = 'held' THEN c.net_minor ELSE 0 END,
        c.sign * CASE WHEN c.status IN ('approved', 'paid') THEN c.net_minor ELSE 0 END,
        c.sign * CASE WHEN c.status = 'reversed' THEN c.original_net_minor ELSE 0 END,
        c.sign * (c.status = 'held')::int, c.sign * (c.status IN ('approved', 'paid'))::int,
        c.sign * (c.status = 'reversed')::int, c.sign * (c.status = 'rejected')::int, c.sign * x.flagged,
        (SELECT CASE WHEN o.customer_id IS NOT NULL THEN 'c:' || o.customer_id WHEN o.email <> '' THEN 'e:' || md5(lower(o.email)) END
         FROM orders o WHERE o.shop_id = c.shop_id AND o.order_id = c.order_id)
    FROM (SELECT (OLD).*, -1 AS sign WHERE TG_OP <> 'INSERT'
          UNION ALL
          SELECT (NEW).*, 1 AS sign WHERE TG_OP <> 'DELETE') c
    CROSS JOIN LATERAL (SELECT CASE WHEN c.status = 'rejected' THEN 0 ELSE c.sign END AS live,
        -- Flagged: the fraud layer acted (flag, hold, reject) or, in
        -- shadow mode, would have.
        CASE WHEN c.fraud->>'action' IN ('flag', 'hold', 'reject')
              OR (c.fraud->>'action' = 'shadow' AND c.fraud->>'would_action' IN ('flag', 'hold', 'reject')) THEN 1 ELSE 0 END AS flagged) x;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

DROP FUNCTION report_refresh_customer(BIGINT, TEXT);
DROP FUNCTION report_customer_key(BIGINT, BIGINT);
DROP FUNCTION report_daily_delta(conversions, INT);

-- +goose Down
-- The row-by-row functions of 0015 (with 0020's customer lookup) come back.
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

CREATE OR REPLACE FUNCTION report_conversions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_refresh_customer(p_shop BIGINT, p_key TEXT) RETURNS void LANGUAGE plpgsql AS $$
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
-- +goose StatementEnd

-- The customers the pending deltas name are refreshed the old way first.
SELECT report_refresh_customer(shop_id, customer_key)
FROM (SELECT DISTINCT shop_id, customer_key FROM report_daily_deltas WHERE customer_key IS NOT NULL ORDER BY 1, 2) k;
ALTER TABLE report_daily_deltas DROP COLUMN customer_key;
