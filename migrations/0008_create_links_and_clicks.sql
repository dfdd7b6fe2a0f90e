-- +goose Up
-- SmartLinks (GET /l/{slug}) and the clicks they record. Clicks are
-- touchpoints: attribution credits an order whose landing URL carries
-- ct_click=<click_id> to the click's link, partner, campaign and channel.

-- links: one shareable link of a partner and/or campaign. slug is global
-- (the public URL names no shop) and unguessable-ish (8 base32 characters).
-- A link is immutable once created: the click path caches it per process.
CREATE TABLE links (
    id           BIGSERIAL PRIMARY KEY,
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    slug         TEXT NOT NULL UNIQUE CHECK (slug ~ '^[0-9a-z]{4,32}$'),
    partner_id   BIGINT REFERENCES partners(id) ON DELETE SET NULL,
    campaign_id  BIGINT REFERENCES campaigns(id) ON DELETE SET NULL,
    channel      TEXT NOT NULL DEFAULT '',
    destination  TEXT NOT NULL DEFAULT '/' CHECK (destination LIKE '/%'),
    utm          JSONB NOT NULL DEFAULT '{}'::jsonb,  -- {"source","medium","campaign","content","term"}
    routing      JSONB NOT NULL DEFAULT '{}'::jsonb,  -- {"countries":{"DE":"/de"},"devices":{"mobile":"/m"},"block_countries":[],"block_devices":[]}
    code_mode    TEXT NOT NULL DEFAULT 'none' CHECK (code_mode IN ('issue', 'vanity', 'none')),
    vanity_code  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX links_shop_idx ON links (shop_id, id);

-- clicks: one row per GET /l/{slug}, written with a single INSERT on the
-- redirect path. click_id ("clk_" + 16 base32 characters) is what travels
-- in the landing URL. outcome says what the click got: code (a code was
-- applied), no_code, blocked (routing or campaign rules), bot, pool_empty.
CREATE TABLE clicks (
    id           BIGSERIAL PRIMARY KEY,
    shop_id      BIGINT NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    click_id     TEXT NOT NULL,
    link_id      BIGINT NOT NULL REFERENCES links(id) ON DELETE CASCADE,
    partner_id   BIGINT,
    campaign_id  BIGINT,
    channel      TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    referrer     TEXT NOT NULL DEFAULT '',
    country      TEXT NOT NULL DEFAULT '',
    device       TEXT NOT NULL DEFAULT '',
    is_bot       BOOLEAN NOT NULL DEFAULT false,
    code         TEXT NOT NULL DEFAULT '',
    outcome      TEXT NOT NULL DEFAULT '',
    destination  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT clicks_shop_click_key UNIQUE (shop_id, click_id)
);
CREATE INDEX clicks_shop_idx ON clicks (shop_id, id);
CREATE INDEX clicks_link_idx ON clicks (link_id, id);
CREATE INDEX clicks_partner_idx ON clicks (shop_id, partner_id, id) WHERE partner_id IS NOT NULL;
CREATE INDEX clicks_created_idx ON clicks (created_at);
CREATE INDEX clicks_ip_idx ON clicks (ip, created_at);

-- +goose Down
DROP TABLE clicks;
DROP TABLE links;
