package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/campaign"
	"github.com/coupontrail/coupontrail/app/smartlink"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// SmartLink tuning.
const (
	linkBodyLimit    = 16 << 10
	linkCacheTTL     = 15 * time.Second // how stale a cached link+campaign may be (campaign pauses, uninstalls)
	linkMissTTL      = 5 * time.Second  // unknown slugs are remembered briefly so junk traffic stays off the database
	linkCacheMax     = 50_000           // entries per process before the cache is cleared
	linkSlugAttempts = 5
	clickIssueBudget = time.Second // longest a shopper waits for a personal code before landing without one
	clickFieldMax    = 1000        // user agent and referrer are cut to this many bytes
)

// linkRuntime is the per-process state of the click path: the slug cache
// and the user-agent classifier.
//
// Cache invalidation: links are immutable (there is no update route), so a
// cached link is never wrong; what can change underneath it is its campaign
// (status, dates, rules) and its shop (uninstall), which the cache reflects
// within linkCacheTTL. A route that ever edits or archives links must call
// linkRuntime.forget(slug) on this process; other processes catch up within
// the TTL.
type linkRuntime struct {
	mu    sync.RWMutex
	cache map[string]linkEntry
	cls   *smartlink.Classifier
	rec   *clickRecorder
}

type linkEntry struct {
	t   *linkTarget // nil: no such slug
	exp time.Time
}

// linkTarget is a cached link with its JSON columns decoded.
type linkTarget struct {
	*store.LinkTarget
	utm     smartlink.UTM
	routing smartlink.Routing
	rules   campaign.Rules
	usage   campaign.Usage
}

// newLinkRuntime builds the SmartLink cache and click writers; newApp
// starts it and App.close stops it.
func newLinkRuntime(st *store.Store) *linkRuntime {
	rt := &linkRuntime{cache: map[string]linkEntry{}, cls: smartlink.NewClassifier(0), rec: newClickRecorder(st)}
	rt.rec.start(clickFlushers)
	return rt
}

func (a *App) linkRT() *linkRuntime { return a.links }

// clickRecorder writes clicks with group commit: a request hands its click
// to one of a few flushers and waits for the commit; each flusher takes
// whatever clicks are queued (up to clickBatchMax) and writes them with one
// multi-row INSERT. Under load, one commit serves many clicks, so latency
// stays flat where one commit per click would queue on the WAL flush; at
// low load a batch is a single click and costs what a plain INSERT does.
// A click is answered only after its row is committed, so every redirect
// the shopper got is a recorded click.
type clickRecorder struct {
	st   *store.Store
	ch   chan clickReq
	wg   sync.WaitGroup
	once sync.Once
}

type clickReq struct {
	c    *store.Click
	done chan error
}

// Group-commit tuning.
const (
	clickFlushers  = 4   // concurrent batches (each holds one database connection while it writes)
	clickBatchMax  = 256 // clicks per INSERT
	clickQueue     = 8192
	clickWriteTime = 10 * time.Second
	// clickAsyncCommit would commit click batches without waiting for the
	// WAL flush (see store.InsertClicks): on this class of machine it takes
	// the redirect's p99 at 1,000 req/s from ~25-40 ms to ~7 ms, at the price
	// of losing the last few hundred milliseconds of clicks if PostgreSQL
	// crashes. Clicks decide partner credit, so they stay durable before
	// the redirect.
	clickAsyncCommit = false
)

// newClickRecorder returns a recorder; start runs it.
func newClickRecorder(st *store.Store) *clickRecorder {
	return &clickRecorder{st: st, ch: make(chan clickReq, clickQueue)}
}

// start runs n flushers; stop waits for them after the HTTP server has
// drained, so a request in flight at shutdown still gets its commit.
func (r *clickRecorder) start(n int) {
	for range n {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.flusher()
		}()
	}
}

// stop closes the queue and waits for the last batches.
func (r *clickRecorder) stop() {
	r.once.Do(func() {
		close(r.ch)
		r.wg.Wait()
	})
}

// record queues c and waits for its commit. It does not give up when the
// shopper's request is cancelled: the redirect was decided, so the click
// happened.
func (r *clickRecorder) record(c *store.Click) error {
	q := clickReq{c: c, done: make(chan error, 1)}
	r.ch <- q
	return <-q.done
}

func (r *clickRecorder) flusher() {
	batch := make([]clickReq, 0, clickBatchMax)
	cs := make([]*store.Click, 0, clickBatchMax)
	for first := range r.ch {
		batch = append(batch[:0], first)
	drain:
		for len(batch) < clickBatchMax {
			select {
			case q := <-r.ch:
				batch = append(batch, q)
			default:
				break drain
			}
		}
		cs = cs[:0]
		for _, q := range batch {
			cs = append(cs, q.c)
		}
		ctx, cancel := context.WithTimeout(context.Background(), clickWriteTime)
		errs := r.st.InsertClicks(ctx, cs, clickAsyncCommit)
		cancel()
		for i, q := range batch {
			q.done <- errs[i]
		}
	}
}

// forget drops a slug from this process's cache.
func (rt *linkRuntime) forget(slug string) {
	rt.mu.Lock()
	delete(rt.cache, slug)
	rt.mu.Unlock()
}

// target returns the link behind slug (nil when there is none), from the
// cache when fresh.
func (a *App) linkTarget(ctx context.Context, slug string) (*linkTarget, error) {
	rt := a.linkRT()
	now := time.Now()
	rt.mu.RLock()
	e, ok := rt.cache[slug]
	rt.mu.RUnlock()
	if ok && now.Before(e.exp) {
		return e.t, nil
	}
	lt, err := a.store.LinkForClick(ctx, slug)
	var t *linkTarget
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		t = &linkTarget{LinkTarget: lt}
		if err := json.Unmarshal(lt.Link.UTM, &t.utm); err != nil {
			return nil, fmt.Errorf("link %d utm: %w", lt.Link.ID, err)
		}
		if err := json.Unmarshal(lt.Link.Routing, &t.routing); err != nil {
			return nil, fmt.Errorf("link %d routing: %w", lt.Link.ID, err)
		}
		if k := lt.Campaign; k != nil {
			if len(k.Rules) > 0 {
				if err := json.Unmarshal(k.Rules, &t.rules); err != nil {
					return nil, fmt.Errorf("campaign %d rules: %w", k.ID, err)
				}
			}
			if len(k.Usage) > 0 {
				if err := json.Unmarshal(k.Usage, &t.usage); err != nil {
					return nil, fmt.Errorf("campaign %d usage: %w", k.ID, err)
				}
			}
		}
	}
	ttl := linkCacheTTL
	if t == nil {
		ttl = linkMissTTL
	}
	rt.mu.Lock()
	if len(rt.cache) >= linkCacheMax {
		clear(rt.cache)
	}
	rt.cache[slug] = linkEntry{t: t, exp: now.Add(ttl)}
	rt.mu.Unlock()
	return t, nil
}

// linkNotFoundPage is the answer to an unknown slug: shoppers see a page,
// not JSON.
const linkNotFoundPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Link not found</title>` +
	`<meta name="viewport" content="width=device-width,initial-scale=1"></head><body style="font-family:sans-serif;margin:4em auto;max-width:32em">` +
	`<h1>Link not found</h1><p>This link does not exist or is no longer active.</p></body></html>`

// cut makes a request header safe to store: valid UTF-8 without NULs
// (PostgreSQL refuses both, which would fail the whole click batch), at
// most n bytes, cut on a character boundary.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// smartLink is GET /l/{slug}: public, in front of shoppers. It records the
// click (one INSERT) and answers 302:
//
//   - known bots (crawler list, or no user agent) are recorded with
//     is_bot=true and redirected to the destination without a code;
//   - a visitor the link's routing blocks, or that the campaign's country or
//     device rules exclude, goes to the store's home page without a code;
//   - otherwise the routing picks the destination and the code mode the
//     code: the link's vanity code, or a personal code issued through the
//     issue path (store.IssueCode, as POST /api/v1/codes/issue) with the
//     link's channel and partner; an empty pool, or an issue that takes
//     longer than clickIssueBudget, falls back to the vanity code when the
//     link has one, else no code;
//   - with a code: https://{shop}/discount/{CODE}?redirect={landing}; without:
//     https://{shop}{landing}; landing is the destination with ct_click and
//     the UTM tags.
//
// If the click cannot be recorded the shopper is still redirected (and the
// failure logged): losing a touchpoint is better than losing the sale.
// Unknown or inactive slugs, and links of uninstalled shops, are 404 pages.
func (a *App) smartLink(c echo.Context) error {
	req := c.Request()
	ctx := req.Context()
	slug := strings.ToLower(c.Param("slug"))
	notFound := func() error { return c.HTML(http.StatusNotFound, linkNotFoundPage) }
	if !smartlink.ValidSlug(slug) {
		return notFound()
	}
	t, err := a.linkTarget(ctx, slug)
	if err != nil {
		return err
	}
	if t == nil || !t.Installed {
		return notFound()
	}
	l := &t.Link
	now := a.now()
	ua := cut(req.UserAgent(), clickFieldMax)
	vis := a.linkRT().cls.Classify(ua)
	country := smartlink.Country(req.Header)
	clickID, err := smartlink.NewClickID(a.rand)
	if err != nil {
		return err
	}
	partnerID := l.PartnerID
	if partnerID == nil && t.Campaign != nil {
		partnerID = t.Campaign.PartnerID
	}
	dec := smartlink.Route(t.routing, l.Destination, country, vis.Device)
	if !dec.Blocked && t.Campaign != nil && !vis.Bot {
		// The campaign's country/device rules decide who may come in at all;
		// its other rules only decide whether a code is handed out.
		r := campaign.Rules{Countries: t.rules.Countries, Devices: t.rules.Devices}
		if v := campaign.Check(r, campaign.Request{Country: country, Device: vis.Device}); v != nil {
			dec = smartlink.Decision{Destination: "/", Blocked: true, Reason: v.Detail}
		}
	}
	var code, outcome string
	switch {
	case vis.Bot:
		outcome = store.ClickBot
	case dec.Blocked:
		outcome = store.ClickBlocked
	default:
		code, outcome = a.clickCode(ctx, t, partnerID, country, vis.Device, now)
	}
	landing := smartlink.LandingURL(dec.Destination, clickID, t.utm)
	location := a.shops.AdminURL(t.ShopDomain) + landing
	if code != "" {
		location = a.codeShareURL(t.ShopDomain, code, landing)
	}
	click := store.Click{ShopID: l.ShopID, ClickID: clickID, LinkID: l.ID, PartnerID: partnerID, CampaignID: l.CampaignID, Channel: l.Channel,
		IP: cut(c.RealIP(), 64), UserAgent: ua, Referrer: cut(req.Referer(), clickFieldMax), Country: country, Device: vis.Device,
		IsBot: vis.Bot, Code: code, Outcome: outcome, Destination: landing, CreatedAt: now}
	if err := a.linkRT().rec.record(&click); err != nil {
		a.log.ErrorContext(ctx, "record click failed; redirecting anyway", "link_id", l.ID, "click_id", clickID, "err", err)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer-when-downgrade")
	h.Set("X-Robots-Tag", "noindex")
	return c.Redirect(http.StatusFound, location)
}

// clickCode picks the code a human click gets and the click's outcome.
func (a *App) clickCode(ctx context.Context, t *linkTarget, partnerID *int64, country, device string, now time.Time) (string, string) {
	l := &t.Link
	switch l.CodeMode {
	case store.LinkCodeVanity:
		if l.VanityCode != "" {
			return l.VanityCode, store.ClickCode
		}
		return "", store.ClickNoCode
	case store.LinkCodeIssue:
	default:
		return "", store.ClickNoCode
	}
	fallback := func(outcome string) (string, string) {
		if l.VanityCode != "" {
			return l.VanityCode, store.ClickCode
		}
		return "", outcome
	}
	k := t.Campaign
	if k == nil || k.Status != "active" || now.Before(k.StartsAt) || (k.EndsAt != nil && !now.Before(*k.EndsAt)) {
		return fallback(store.ClickNoCode)
	}
	req := campaign.Request{Country: country, Device: device, Channel: l.Channel, TrafficSource: l.Channel}
	if partnerID != nil {
		req.PartnerID = *partnerID
	}
	if v := campaign.Check(t.rules, req); v != nil {
		return fallback(store.ClickNoCode)
	}
	ictx, cancel := context.WithTimeout(ctx, clickIssueBudget)
	defer cancel()
	res, err := a.store.IssueCode(ictx, store.IssueParams{
		ShopID: l.ShopID, CampaignID: k.ID, Channel: l.Channel, PartnerID: partnerID, ExpiresAt: issueExpiry(k, now),
		PerCustomer: 1, Now: now, Event: func(code *store.Code) any { return jobs.CodeEventData(code, "") },
	})
	switch {
	case errors.Is(err, store.ErrPoolEmpty):
		if qerr := jobs.EnqueuePoolCheck(ctx, a.queue, k.ID); qerr != nil {
			a.log.WarnContext(ctx, "pool refill trigger failed", "campaign_id", k.ID, "err", qerr)
		}
		return fallback(store.ClickPoolEmpty)
	case err != nil:
		a.log.WarnContext(ctx, "issue code for click failed; landing without it", "link_id", l.ID, "campaign_id", k.ID, "err", err)
		return fallback(store.ClickNoCode)
	}
	a.enqueueOutbound(ctx, res.OutboundIDs)
	return res.Code.Code, store.ClickCode
}

// issueExpiry is when a code issued now expires: the campaign's code TTL,
// capped by its end (the discount itself ends then); nil for never.
func issueExpiry(k *store.Campaign, now time.Time) *time.Time {
	var exp *time.Time
	if k.CodeTTLHours != nil && *k.CodeTTLHours > 0 {
		t := now.Add(time.Duration(*k.CodeTTLHours) * time.Hour)
		exp = &t
	}
	if k.EndsAt != nil && (exp == nil || k.EndsAt.Before(*exp)) {
		t := *k.EndsAt
		exp = &t
	}
	return exp
}

// linkJSON is a SmartLink as the API shows it.
type linkJSON struct {
	ID          string          `json:"id"`
	Slug        string          `json:"slug"`
	URL         string          `json:"url"`
	PartnerID   *string         `json:"partner_id"`
	CampaignID  *string         `json:"campaign_id"`
	Channel     string          `json:"channel"`
	Destination string          `json:"destination"`
	CodeMode    string          `json:"code_mode"`
	VanityCode  string          `json:"vanity_code"`
	UTM         json.RawMessage `json:"utm"`
	Routing     json.RawMessage `json:"routing"`
	Status      string          `json:"status"`
	CreatedAt   string          `json:"created_at"`
}

func (a *App) toLinkJSON(l *store.Link) linkJSON {
	return linkJSON{ID: idString(l.ID), Slug: l.Slug, URL: strings.TrimRight(a.cfg.AppURL, "/") + "/l/" + l.Slug, PartnerID: issueOptID(l.PartnerID),
		CampaignID: issueOptID(l.CampaignID), Channel: l.Channel, Destination: l.Destination, CodeMode: l.CodeMode, VanityCode: l.VanityCode,
		UTM: l.UTM, Routing: l.Routing, Status: l.Status, CreatedAt: l.CreatedAt.UTC().Format(time.RFC3339)}
}

// linkIn is the body of POST /api/v1/links.
type linkIn struct {
	PartnerID   issueID           `json:"partner_id"`
	CampaignID  issueID           `json:"campaign_id"`
	Channel     string            `json:"channel"`
	Destination string            `json:"destination"`
	CodeMode    string            `json:"code_mode"`
	VanityCode  string            `json:"vanity_code"`
	UTM         smartlink.UTM     `json:"utm"`
	Routing     smartlink.Routing `json:"routing"`
}

// utmValue makes a name usable as a UTM tag: lower case, runs of anything
// but letters and digits become "-".
func utmValue(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return cut(strings.TrimRight(b.String(), "-"), 100)
}

// createLink is POST /api/v1/links -> 201 {link}. At least one of
// partner_id and campaign_id is required; a campaign with its own partner
// gives the link that partner. code_mode defaults to "vanity" when
// vanity_code is given, else "issue" with a campaign, else "none"; a
// vanity link without vanity_code takes the campaign's vanity code of the
// partner (422 when there is none); an issue link may carry a vanity_code
// too, handed out when the pool is empty. UTM tags default to source = partner
// name (else "coupontrail"), medium = channel (else "smartlink"), campaign =
// campaign name. The link is immutable once created.
func (a *App) createLink(c echo.Context) error {
	ctx := c.Request().Context()
	sh := shopOf(c)
	var in linkIn
	if err := json.NewDecoder(io.LimitReader(c.Request().Body, linkBodyLimit)).Decode(&in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be a JSON object")
	}
	in.Channel = strings.ToLower(strings.TrimSpace(in.Channel))
	in.CodeMode = strings.ToLower(strings.TrimSpace(in.CodeMode))
	in.VanityCode = strings.ToUpper(strings.TrimSpace(in.VanityCode))
	dest, err := smartlink.NormalizeDestination(in.Destination)
	switch {
	case in.PartnerID.bad:
		return errCode(http.StatusUnprocessableEntity, "invalid_partner_id", "partner_id must be a partner id")
	case in.CampaignID.bad:
		return errCode(http.StatusUnprocessableEntity, "invalid_campaign_id", "campaign_id must be a campaign id")
	case !in.PartnerID.set && !in.CampaignID.set:
		return errCode(http.StatusUnprocessableEntity, "invalid", "partner_id or campaign_id is required")
	case in.Channel != "" && !campaign.ValidChannel(in.Channel):
		return errCode(http.StatusUnprocessableEntity, "invalid_channel", "channel must be one of "+strings.Join(campaign.Channels, ", "))
	case err != nil:
		return errCode(http.StatusUnprocessableEntity, "invalid_destination", err.Error())
	case len(in.VanityCode) > 255:
		return errCode(http.StatusUnprocessableEntity, "invalid_vanity_code", "vanity_code is too long")
	}
	if err := in.Routing.Normalize(); err != nil {
		return errCode(http.StatusUnprocessableEntity, "invalid_routing", err.Error())
	}
	var partner *store.Partner
	var camp *store.Campaign
	if id := in.CampaignID.ptr(); id != nil {
		camp, err = a.store.CampaignForIssue(ctx, sh.ID, *id)
		if errors.Is(err, store.ErrNotFound) {
			return errCode(http.StatusUnprocessableEntity, "invalid_campaign_id", "no such campaign")
		}
		if err != nil {
			return err
		}
	}
	partnerID := in.PartnerID.ptr()
	if partnerID == nil && camp != nil && camp.PartnerID != nil {
		partnerID = camp.PartnerID
	}
	if partnerID != nil {
		if camp != nil && camp.PartnerID != nil && *camp.PartnerID != *partnerID {
			return errCode(http.StatusUnprocessableEntity, "invalid_partner_id", "the campaign belongs to another partner")
		}
		partner, err = a.store.PartnerByID(ctx, sh.ID, *partnerID)
		if errors.Is(err, store.ErrNotFound) {
			return errCode(http.StatusUnprocessableEntity, "invalid_partner_id", "no such partner")
		}
		if err != nil {
			return err
		}
	}
	if in.CodeMode == "" {
		switch {
		case in.VanityCode != "":
			in.CodeMode = store.LinkCodeVanity
		case camp != nil:
			in.CodeMode = store.LinkCodeIssue
		default:
			in.CodeMode = store.LinkCodeNone
		}
	}
	switch in.CodeMode {
	case store.LinkCodeIssue:
		if camp == nil {
			return errCode(http.StatusUnprocessableEntity, "invalid_code_mode", "code_mode issue needs a campaign_id")
		}
	case store.LinkCodeVanity:
	case store.LinkCodeNone:
		in.VanityCode = ""
	default:
		return errCode(http.StatusUnprocessableEntity, "invalid_code_mode", "code_mode must be issue, vanity or none")
	}
	if in.VanityCode != "" {
		k, err := a.store.FindCode(ctx, sh.ID, in.VanityCode)
		if errors.Is(err, store.ErrNotFound) || (err == nil && (k.Kind != "vanity" || (camp != nil && k.CampaignID != camp.ID))) {
			return errCode(http.StatusUnprocessableEntity, "invalid_vanity_code", "no such vanity code (of this campaign)")
		}
		if err != nil {
			return err
		}
		in.VanityCode = k.Code
	} else if in.CodeMode == store.LinkCodeVanity {
		if camp == nil {
			return errCode(http.StatusUnprocessableEntity, "invalid_vanity_code", "vanity_code is required without a campaign")
		}
		var pid int64
		if partnerID != nil {
			pid = *partnerID
		}
		in.VanityCode, err = a.store.VanityCodeFor(ctx, sh.ID, camp.ID, pid)
		if errors.Is(err, store.ErrNotFound) {
			return errCode(http.StatusUnprocessableEntity, "invalid_vanity_code", "the campaign has no vanity code for this partner")
		}
		if err != nil {
			return err
		}
	}
	def := smartlink.UTM{Source: "coupontrail", Medium: "smartlink"}
	if partner != nil {
		if v := utmValue(partner.Name); v != "" {
			def.Source = v
		}
	}
	if in.Channel != "" {
		def.Medium = in.Channel
	}
	if camp != nil {
		def.Campaign = utmValue(camp.Name)
	}
	utm := in.UTM.WithDefaults(def)
	for _, v := range []string{utm.Source, utm.Medium, utm.Campaign, utm.Content, utm.Term} {
		if len(v) > 200 {
			return errCode(http.StatusUnprocessableEntity, "invalid_utm", "utm values are at most 200 characters")
		}
	}
	utmJSON, _ := json.Marshal(utm)
	routingJSON, _ := json.Marshal(in.Routing)
	l := &store.Link{ShopID: sh.ID, PartnerID: partnerID, Channel: in.Channel, Destination: dest, UTM: utmJSON, Routing: routingJSON,
		CodeMode: in.CodeMode, VanityCode: in.VanityCode, Status: "active", CreatedAt: a.now()}
	if camp != nil {
		l.CampaignID = &camp.ID
	}
	for attempt := 1; ; attempt++ {
		if l.Slug, err = smartlink.NewSlug(a.rand); err != nil {
			return err
		}
		l.ID = 0
		err = a.store.CreateLink(ctx, l)
		if err == nil || !errors.Is(err, store.ErrConflict) || attempt == linkSlugAttempts {
			break
		}
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a.toLinkJSON(l))
}

// listLinks is GET /api/v1/links?partner_id=&campaign_id= (newest first).
func (a *App) listLinks(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	partnerID, err := queryID(c, "partner_id")
	if err != nil {
		return err
	}
	campaignID, err := queryID(c, "campaign_id")
	if err != nil {
		return err
	}
	ls, err := a.store.ListLinks(c.Request().Context(), store.LinkFilter{ShopID: shopOf(c).ID, PartnerID: partnerID, CampaignID: campaignID,
		BeforeID: before, Limit: limit + 1})
	if err != nil {
		return err
	}
	out := list[linkJSON]{Items: []linkJSON{}}
	for i := range ls {
		if i == limit {
			out.NextCursor = idString(ls[i-1].ID)
			break
		}
		out.Items = append(out.Items, a.toLinkJSON(&ls[i]))
	}
	return c.JSON(http.StatusOK, out)
}

// getLink is GET /api/v1/links/{id}.
func (a *App) getLink(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	l, err := a.store.LinkByID(c.Request().Context(), shopOf(c).ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return errCode(http.StatusNotFound, "link_not_found", "no such link")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.toLinkJSON(l))
}

// clickJSON is one item of GET /api/v1/clicks.
type clickJSON struct {
	ID          string  `json:"id"`
	ClickID     string  `json:"click_id"`
	LinkID      string  `json:"link_id"`
	PartnerID   *string `json:"partner_id"`
	CampaignID  *string `json:"campaign_id"`
	Channel     string  `json:"channel"`
	IP          string  `json:"ip"`
	UserAgent   string  `json:"user_agent"`
	Referrer    string  `json:"referrer"`
	Country     string  `json:"country"`
	Device      string  `json:"device"`
	IsBot       bool    `json:"is_bot"`
	Code        string  `json:"code"`
	Outcome     string  `json:"outcome"`
	Destination string  `json:"destination"`
	CreatedAt   string  `json:"created_at"`
}

// listClicks is GET /api/v1/clicks?link_id=&partner_id= (newest first).
func (a *App) listClicks(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	linkID, err := queryID(c, "link_id")
	if err != nil {
		return err
	}
	partnerID, err := queryID(c, "partner_id")
	if err != nil {
		return err
	}
	cs, err := a.store.ListClicks(c.Request().Context(), store.ClickFilter{ShopID: shopOf(c).ID, LinkID: linkID, PartnerID: partnerID,
		BeforeID: before, Limit: limit + 1})
	if err != nil {
		return err
	}
	out := list[clickJSON]{Items: []clickJSON{}}
	for i := range cs {
		if i == limit {
			out.NextCursor = idString(cs[i-1].ID)
			break
		}
		k := &cs[i]
		out.Items = append(out.Items, clickJSON{ID: idString(k.ID), ClickID: k.ClickID, LinkID: idString(k.LinkID), PartnerID: issueOptID(k.PartnerID),
			CampaignID: issueOptID(k.CampaignID), Channel: k.Channel, IP: k.IP, UserAgent: k.UserAgent, Referrer: k.Referrer, Country: k.Country,
			Device: k.Device, IsBot: k.IsBot, Code: k.Code, Outcome: k.Outcome, Destination: k.Destination, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339)})
	}
	return c.JSON(http.StatusOK, out)
}
