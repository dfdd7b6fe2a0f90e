-- +goose Up
-- The conversions trigger refreshes a customer's lifetime value on every
-- attributed order. Its lookup matched both kinds of customer key in one
-- statement, which no single plan serves well: it was planned again on
-- every call, and a guest's key (the md5 of the lower-cased e-mail) had no
-- index, so each guest order read all of the shop's guest orders.
CREATE INDEX orders_guest_email_md5_idx ON orders (shop_id, md5(lower(email))) WHERE customer_id IS NULL AND email <> '';

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

    -- One statement per kind of key: each has a plan that reads its own
    -- index, so the plan is prepared once per session, not every call.
    IF left(p_key, 2) = 'c:' THEN
        WITH mine AS (
            SELECT c.* FROM orders o JOIN conversions c ON c.shop_id = o.shop_id AND c.order_id = o.order_id
            WHERE o.shop_id = p_shop AND c.status <> 'rejected' AND o.customer_id = substr(p_key, 3)::bigint
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
    ELSE
        WITH mine AS (
            SELECT c.* FROM orders o JOIN conversions c ON c.shop_id = o.shop_id AND c.order_id = o.order_id
            WHERE o.shop_id = p_shop AND c.status <> 'rejected' AND o.customer_id IS NULL AND o.email <> '' AND md5(lower(o.email)) = substr(p_key, 3)
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
    END IF;
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

-- +goose Down
DROP INDEX orders_guest_email_md5_idx;

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
