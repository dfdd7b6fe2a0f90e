-- +goose Up
-- api_keys: per-shop keys for server-to-server callers. Only a SHA-256 hash
-- of the key is stored; prefix is the first characters, shown in lists.
CREATE TABLE api_keys (
    id            BIGSERIAL PRIMARY KEY,
    shop_id       BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    name          TEXT NOT NULL DEFAULT '',
    prefix        TEXT NOT NULL,
    key_hash      BYTEA NOT NULL UNIQUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX api_keys_shop_idx ON api_keys (shop_id, id);

-- +goose Down
DROP TABLE api_keys;
