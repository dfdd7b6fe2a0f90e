-- +goose Up
-- data_exports: what customers/data_request assembled, for the merchant to
-- hand to the customer.
CREATE TABLE data_exports (
    id              BIGSERIAL PRIMARY KEY,
    shop_id         BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    request_id      TEXT NOT NULL,
    customer_email  TEXT NOT NULL DEFAULT '',
    export          JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT data_exports_request_key UNIQUE (shop_id, request_id)
);

-- +goose Down
DROP TABLE data_exports;
