-- +goose Up
-- No statement filters on these documents (they are read with their row),
-- so the planner needs no statistics about them: ANALYZE, which the worker
-- runs as tables grow, skips them (half of its time on conversions went to
-- comparing these values). Conversions that outgrow a page compress their
-- documents with lz4 where the server has it (cheaper than the default
-- pglz, which showed in the attribution profile).
ALTER TABLE conversions ALTER COLUMN evidence SET STATISTICS 0, ALTER COLUMN lines SET STATISTICS 0,
    ALTER COLUMN path SET STATISTICS 0, ALTER COLUMN fraud SET STATISTICS 0, ALTER COLUMN applied_refunds SET STATISTICS 0;
ALTER TABLE orders ALTER COLUMN note_attributes SET STATISTICS 0;
ALTER TABLE ledger_entries ALTER COLUMN detail SET STATISTICS 0;
ALTER TABLE webhook_deliveries ALTER COLUMN payload SET STATISTICS 0;
-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE conversions ALTER COLUMN evidence SET COMPRESSION lz4, ALTER COLUMN lines SET COMPRESSION lz4,
        ALTER COLUMN path SET COMPRESSION lz4, ALTER COLUMN fraud SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR undefined_object THEN
    NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
ALTER TABLE conversions ALTER COLUMN evidence SET COMPRESSION DEFAULT, ALTER COLUMN lines SET COMPRESSION DEFAULT,
    ALTER COLUMN path SET COMPRESSION DEFAULT, ALTER COLUMN fraud SET COMPRESSION DEFAULT;
ALTER TABLE conversions ALTER COLUMN evidence SET STATISTICS -1, ALTER COLUMN lines SET STATISTICS -1,
    ALTER COLUMN path SET STATISTICS -1, ALTER COLUMN fraud SET STATISTICS -1, ALTER COLUMN applied_refunds SET STATISTICS -1;
ALTER TABLE orders ALTER COLUMN note_attributes SET STATISTICS -1;
ALTER TABLE ledger_entries ALTER COLUMN detail SET STATISTICS -1;
ALTER TABLE webhook_deliveries ALTER COLUMN payload SET STATISTICS -1;
