-- +goose Up
-- fraud_subject_hours: how many orders redeemed each code ('c') and each
-- partner ('p') per clock hour (UTC), by country and by whether the order
-- had the partner's click trail. Scoring a busy subject reads these counts
-- instead of every earlier order, so its cost does not grow with the
-- subject's volume. Counts only: no shopper data, nothing to redact.
CREATE TABLE fraud_subject_hours (
    shop_id  BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    kind     CHAR(1) NOT NULL CHECK (kind IN ('c', 'p')),
    subject  TEXT NOT NULL,
    hour     TIMESTAMPTZ NOT NULL,
    country  TEXT NOT NULL DEFAULT '',
    cold     BOOLEAN NOT NULL DEFAULT false,
    n        INT NOT NULL,
    PRIMARY KEY (shop_id, kind, subject, hour, country, cold)
);

INSERT INTO fraud_subject_hours (shop_id, kind, subject, hour, country, cold, n)
SELECT shop_id, 'c', code, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', country, cold, count(*)
FROM fraud_events WHERE code <> '' GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO fraud_subject_hours (shop_id, kind, subject, hour, country, cold, n)
SELECT shop_id, 'p', partner_id::text, date_trunc('hour', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', country, cold, count(*)
FROM fraud_events WHERE partner_id IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6;

-- +goose Down
DROP TABLE fraud_subject_hours;
