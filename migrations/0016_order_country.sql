-- +goose Up
-- The order's shipping (else billing) country: fraud scoring's "one code
-- seen across many countries" evidence needs it.
ALTER TABLE orders ADD COLUMN country TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE orders DROP COLUMN country;
