package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Link code modes: what a SmartLink click gets.
const (
	LinkCodeIssue  = "issue"  // a personal code per (human) click, through IssueCode
	LinkCodeVanity = "vanity" // the link's fixed vanity code
	LinkCodeNone   = "none"   // no code: the click is only a touchpoint
)

// Click outcomes, recorded on each click row.
const (
	ClickCode      = "code"       // a code was put on the redirect
	ClickNoCode    = "no_code"    // the link hands out no code (or the campaign cannot)
	ClickBlocked   = "blocked"    // routing or campaign rules: sent home without a code
	ClickBot       = "bot"        // a known bot: recorded, redirected, no code
	ClickPoolEmpty = "pool_empty" // issue mode found no code ready
)

// Link is one SmartLink (table links). Links are immutable once created,
// which lets the click path cache them per process.
type Link struct {
	ID          int64 `gorm:"primaryKey"`
	ShopID      int64
	Slug        string
	PartnerID   *int64
	CampaignID  *int64
	Channel     string
	Destination string
	UTM         json.RawMessage `gorm:"column:utm;type:jsonb"`
	Routing     json.RawMessage `gorm:"type:jsonb"`
	CodeMode    string
	VanityCode  string
	Status      string
	CreatedAt   time.Time
}

// TableName pins the table.
func (Link) TableName() string { return "links" }

// Click is one recorded GET /l/{slug} (table clicks).
type Click struct {
	ID          int64 `gorm:"primaryKey"`
	ShopID      int64
	ClickID     string
	LinkID      int64
	PartnerID   *int64
	CampaignID  *int64
	Channel     string
	IP          string `gorm:"column:ip"`
	UserAgent   string
	Referrer    string
	Country     string
	Device      string
	IsBot       bool
	Code        string
	Outcome     string
	Destination string
	CreatedAt   time.Time
}

// TableName pins the table.
func (Click) TableName() string { return "clicks" }

// CreateLink inserts a link; a taken slug is ErrConflict (the caller draws
// another).
func (s *Store) CreateLink(ctx context.Context, l *Link) error {
	if len(l.UTM) == 0 {
		l.UTM = json.RawMessage(`{}`)
	}
	if len(l.Routing) == 0 {
		l.Routing = json.RawMessage(`{}`)
	}
	if l.Status == "" {
		l.Status = "active"
	}
	if err := s.conn(ctx).Create(l).Error; err != nil {
		return fmt.Errorf("store: create link: %w", TranslateError(err))
	}
	return nil
}

// LinkByID returns one of the shop's links, or ErrNotFound.
func (s *Store) LinkByID(ctx context.Context, shopID, id int64) (*Link, error) {
	var l Link
	if err := s.conn(ctx).Where("shop_id = ? AND id = ?", shopID, id).Take(&l).Error; err != nil {
		return nil, fmt.Errorf("store: link %d: %w", id, TranslateError(err))
	}
	return &l, nil
}

// LinkFilter selects a page of a shop's links, newest first.
type LinkFilter struct {
	ShopID     int64
	PartnerID  int64 // 0: any
	CampaignID int64 // 0: any
	BeforeID   int64 // keyset cursor: ids below this one
	Limit      int
}

// ListLinks lists a shop's links, newest first.
func (s *Store) ListLinks(ctx context.Context, f LinkFilter) ([]Link, error) {
	q := s.conn(ctx).Where("shop_id = ?", f.ShopID)
	if f.PartnerID > 0 {
		q = q.Where("partner_id = ?", f.PartnerID)
	}
	if f.CampaignID > 0 {
		q = q.Where("campaign_id = ?", f.CampaignID)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []Link
	if err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: list links: %w", TranslateError(err))
	}
	return out, nil
}

// LinkTarget is what the click path needs of a link: the link, its shop's
// domain, whether the shop is installed, and the link's campaign (nil when
// it has none).
type LinkTarget struct {
	Link       Link
	ShopDomain string
	Installed  bool
	Campaign   *Campaign
}

// LinkForClick loads the active link with this slug, its shop and its
// campaign in one round trip (pgx), or ErrNotFound. The campaign carries
// the fields CampaignForIssue loads.
func (s *Store) LinkForClick(ctx context.Context, slug string) (*LinkTarget, error) {
	var t LinkTarget
	l := &t.Link
	var cID *int64
	var cName, cStatus, cSalt *string
	var cPartner *int64
	var cUsage, cRules []byte
	var cStarts, cEnds *time.Time
	var cTTL *int
	var cHoldout *float64
	var cDiscount *string
	err := s.pool.QueryRow(ctx, `SELECT l.id, l.shop_id, l.slug, l.partner_id, l.campaign_id, l.channel, l.destination, l.utm, l.routing,
			l.code_mode, l.vanity_code, l.status, l.created_at, sh.domain, sh.installed_at IS NOT NULL AND sh.uninstalled_at IS NULL,
			k.id, k.name, k.status, k.partner_id, k.usage, k.rules, k.starts_at, k.ends_at, k.code_ttl_hours, k.holdout::float8, k.salt, k.shopify_discount_id
		FROM links l JOIN shops sh ON sh.id = l.shop_id LEFT JOIN campaigns k ON k.id = l.campaign_id AND k.shop_id = l.shop_id
		WHERE l.slug = $1 AND l.status = 'active'`, slug).Scan(&l.ID, &l.ShopID, &l.Slug, &l.PartnerID, &l.CampaignID, &l.Channel,
		&l.Destination, &l.UTM, &l.Routing, &l.CodeMode, &l.VanityCode, &l.Status, &l.CreatedAt, &t.ShopDomain, &t.Installed,
		&cID, &cName, &cStatus, &cPartner, &cUsage, &cRules, &cStarts, &cEnds, &cTTL, &cHoldout, &cSalt, &cDiscount)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: link %q: %w", slug, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: link %q: %w", slug, TranslateError(err))
	}
	if cID != nil {
		t.Campaign = &Campaign{ID: *cID, ShopID: l.ShopID, Name: *cName, Status: *cStatus, PartnerID: cPartner, Usage: cUsage, Rules: cRules,
			StartsAt: *cStarts, EndsAt: cEnds, CodeTTLHours: cTTL, Holdout: *cHoldout, Salt: *cSalt, ShopifyDiscountID: cDiscount}
	}
	return &t, nil
}

// InsertClick records one click with a single INSERT on the pool (no
// transaction: it is the redirect's hot path) and sets c.ID.
func (s *Store) InsertClick(ctx context.Context, c *Click) error {
	err := s.pool.QueryRow(ctx, `INSERT INTO clicks (shop_id, click_id, link_id, partner_id, campaign_id, channel, ip, user_agent, referrer,
			country, device, is_bot, code, outcome, destination, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		c.ShopID, c.ClickID, c.LinkID, c.PartnerID, c.CampaignID, c.Channel, c.IP, c.UserAgent, c.Referrer, c.Country, c.Device, c.IsBot,
		c.Code, c.Outcome, c.Destination, c.CreatedAt).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("store: insert click: %w", TranslateError(err))
	}
	return nil
}

// insertClicksSQL writes a batch of clicks from one array per column: one
// SQL text for every batch size, so the prepared statement is reused.
const insertClicksSQL = `INSERT INTO clicks (shop_id, click_id, link_id, partner_id, campaign_id, channel, ip, user_agent, referrer,
		country, device, is_bot, code, outcome, destination, created_at)
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[],
		$10::text[], $11::text[], $12::bool[], $13::text[], $14::text[], $15::text[], $16::timestamptz[])
	RETURNING id, click_id`

// InsertClicks records several clicks with one INSERT in one round trip and
// one commit for the batch (group commit) and sets their ids. If the batch
// fails it is retried row by row (durably), so one bad row (a repeated
// click id) fails alone; the returned slice holds each click's error.
//
// asyncCommit runs the batch with synchronous_commit = off: the commit
// returns before its WAL is flushed to disk. The data stays consistent and
// an app crash loses nothing, but a crash of PostgreSQL itself can lose the
// clicks of the last few hundred milliseconds (at most 3 x
// wal_writer_delay). The SmartLink redirect uses it because the WAL flush
// is most of its latency and a click is a touchpoint, not money; codes and
// orders, which attribution credits deterministically, are always durable.
func (s *Store) InsertClicks(ctx context.Context, cs []*Click, asyncCommit bool) []error {
	errs := make([]error, len(cs))
	if len(cs) == 0 {
		return errs
	}
	n := len(cs)
	shop, link := make([]int64, n), make([]int64, n)
	partner, camp := make([]*int64, n), make([]*int64, n)
	clickID, channel, ip, ua, ref, country, device, code, outcome, dest := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	bot := make([]bool, n)
	at := make([]time.Time, n)
	for i, c := range cs {
		shop[i], clickID[i], link[i], partner[i], camp[i], channel[i], ip[i], ua[i], ref[i] = c.ShopID, c.ClickID, c.LinkID, c.PartnerID,
			c.CampaignID, c.Channel, c.IP, c.UserAgent, c.Referrer
		country[i], device[i], bot[i], code[i], outcome[i], dest[i], at[i] = c.Country, c.Device, c.IsBot, c.Code, c.Outcome, c.Destination, c.CreatedAt
	}
	ids := make(map[string]int64, n)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if asyncCommit {
		b.Queue("SET LOCAL synchronous_commit = off")
	}
	b.Queue(insertClicksSQL, shop, clickID, link, partner, camp, channel, ip, ua, ref, country, device, bot, code, outcome, dest, at).Query(
		func(rows pgx.Rows) error {
			var id int64
			var cid string
			_, err := pgx.ForEachRow(rows, []any{&id, &cid}, func() error { ids[cid] = id; return nil })
			return err
		})
	b.Queue("COMMIT")
	// On failure the transaction is left aborted; pgxpool destroys a
	// connection released outside an idle transaction, so none leaks.
	err := s.pool.SendBatch(ctx, b).Close()
	if err == nil {
		for _, c := range cs {
			c.ID = ids[c.ClickID]
		}
		return errs
	}
	if len(cs) == 1 {
		errs[0] = fmt.Errorf("store: insert click: %w", TranslateError(err))
		return errs
	}
	for i, c := range cs { // the batch failed as a whole: find the bad rows
		errs[i] = s.InsertClick(ctx, c)
	}
	return errs
}

// ClickFilter selects a page of a shop's clicks, newest first.
type ClickFilter struct {
	ShopID    int64
	LinkID    int64 // 0: any
	PartnerID int64 // 0: any
	BeforeID  int64 // keyset cursor: ids below this one
	Limit     int
}

// ListClicks lists a shop's clicks, newest first.
func (s *Store) ListClicks(ctx context.Context, f ClickFilter) ([]Click, error) {
	q := s.conn(ctx).Where("shop_id = ?", f.ShopID)
	if f.LinkID > 0 {
		q = q.Where("link_id = ?", f.LinkID)
	}
	if f.PartnerID > 0 {
		q = q.Where("partner_id = ?", f.PartnerID)
	}
	if f.BeforeID > 0 {
		q = q.Where("id < ?", f.BeforeID)
	}
	var out []Click
	if err := q.Order("id DESC").Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("store: list clicks: %w", TranslateError(err))
	}
	return out, nil
}

// CountClicks counts clicks of a link (all of them when linkID is 0) since
// a time; the load harness uses it to verify every click was recorded.
func (s *Store) CountClicks(ctx context.Context, linkID int64, since time.Time) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM clicks WHERE ($1::bigint = 0 OR link_id = $1) AND created_at >= $2`, linkID, since).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count clicks: %w", TranslateError(err))
	}
	return n, nil
}

// VanityCodeFor returns the text of a live vanity code of the shop's
// campaign, preferring the partner's own (partnerID 0: any partner), or
// ErrNotFound. A link in vanity mode without an explicit code uses it.
func (s *Store) VanityCodeFor(ctx context.Context, shopID, campaignID, partnerID int64) (string, error) {
	var out []string
	err := s.conn(ctx).Raw(`SELECT code FROM codes WHERE shop_id = ? AND campaign_id = ? AND kind = 'vanity' AND status IN ('available', 'issued')
		AND (? = 0 OR partner_id = ?) ORDER BY id LIMIT 1`, shopID, campaignID, partnerID, partnerID).Scan(&out).Error
	if err != nil {
		return "", fmt.Errorf("store: vanity code: %w", TranslateError(err))
	}
	if len(out) == 0 {
		return "", fmt.Errorf("store: vanity code: %w", ErrNotFound)
	}
	return out[0], nil
}
