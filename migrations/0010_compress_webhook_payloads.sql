-- +goose Up
-- Payloads (6-15 KB of JSON) compress about 4x with lz4, which is cheap to
-- compute and cuts the TOAST chunks and WAL written before each webhook is
-- acknowledged. Compression needs EXTENDED storage (0001 chose EXTERNAL).
-- Servers built without lz4 keep the default (pglz).
ALTER TABLE webhook_deliveries ALTER COLUMN payload SET STORAGE EXTENDED;
-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE webhook_deliveries ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR undefined_object THEN
    NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE webhook_deliveries ALTER COLUMN payload SET COMPRESSION DEFAULT;
ALTER TABLE webhook_deliveries ALTER COLUMN payload SET STORAGE EXTERNAL;
