package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/campaign"
	"github.com/coupontrail/coupontrail/app/outbound"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/shopify/payload"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// Issue API limits.
const (
	issueBodyLimit     = 16 << 10
	issueMaxTTLHours   = 24 * 366
	issueRetryAfter    = "5" // seconds a client waits after pool_empty
	maxWebhookEnds     = 20  // endpoints per shop
	enablePollDeadline = 20 * time.Second
)

// issueID is an id field that accepts a JSON string ("123"), a number (123),
// a Shopify GID ("gid://shopify/Customer/123") or null.
type issueID struct {
	set bool
	v   int64
	bad bool
}

func (f *issueID) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	f.set = true
	if u, err := strconv.Unquote(s); err == nil {
		s = u
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && strings.HasPrefix(s, "gid://") {
		s = s[i+1:]
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		f.bad = true
		return nil
	}
	f.v = n
	return nil
}

func (f issueID) ptr() *int64 {
	if !f.set || f.bad {
		return nil
	}
	v := f.v
	return &v
}

// issueIn is the body of POST /api/v1/codes/issue. traffic_source and
// redirect are additions to the contract: the traffic_sources rule is
// checked against traffic_source (else the channel), and redirect is the
// storefront path the share link lands on (default "/").
type issueIn struct {
	CampaignID    issueID `json:"campaign_id"`
	CustomerID    issueID `json:"customer_id"`
	CustomerEmail string  `json:"customer_email"`
	Channel       string  `json:"channel"`
	PartnerID     issueID `json:"partner_id"`
	TTLHours      *int    `json:"ttl_hours"`
	Country       string  `json:"country"`
	Device        string  `json:"device"`
	TrafficSource string  `json:"traffic_source"`
	Redirect      string  `json:"redirect"`
}

// normalize trims and folds case, then validates what does not need the
// campaign.
func (in *issueIn) normalize() error {
	in.CustomerEmail = strings.ToLower(strings.TrimSpace(in.CustomerEmail))
	in.Channel = strings.ToLower(strings.TrimSpace(in.Channel))
	in.Country = strings.ToUpper(strings.TrimSpace(in.Country))
	in.Device = strings.ToLower(strings.TrimSpace(in.Device))
	in.TrafficSource = strings.ToLower(strings.TrimSpace(in.TrafficSource))
	in.Redirect = strings.TrimSpace(in.Redirect)
	switch {
	case !in.CampaignID.set:
		return errCode(http.StatusUnprocessableEntity, "invalid_campaign_id", "campaign_id is required")
	case in.CampaignID.bad:
		return errCode(http.StatusNotFound, "campaign_not_found", "no such campaign")
	case in.CustomerID.bad:
		return errCode(http.StatusUnprocessableEntity, "invalid_customer_id", "customer_id must be a positive integer id")
	case in.PartnerID.bad:
		return errCode(http.StatusUnprocessableEntity, "invalid_partner_id", "partner_id must be a partner id")
	case in.CustomerEmail != "" && (len(in.CustomerEmail) > 254 || !strings.Contains(in.CustomerEmail, "@")):
		return errCode(http.StatusUnprocessableEntity, "invalid_customer_email", "customer_email is not an email address")
	case in.Channel != "" && !campaign.ValidChannel(in.Channel):
		return errCode(http.StatusUnprocessableEntity, "invalid_channel", "channel must be one of "+strings.Join(campaign.Channels, ", "))
	case in.TTLHours != nil && (*in.TTLHours < 1 || *in.TTLHours > issueMaxTTLHours):
		return errCode(http.StatusUnprocessableEntity, "invalid_ttl_hours", fmt.Sprintf("ttl_hours must be between 1 and %d", issueMaxTTLHours))
	case in.Country != "" && (len(in.Country) != 2 || strings.Trim(in.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != ""):
		return errCode(http.StatusUnprocessableEntity, "invalid_country", "country must be an ISO 3166-1 alpha-2 code")
	case len(in.Device) > 50 || len(in.TrafficSource) > 100:
		return errCode(http.StatusUnprocessableEntity, "invalid", "device or traffic_source is too long")
	case in.Redirect != "" && (!strings.HasPrefix(in.Redirect, "/") || strings.HasPrefix(in.Redirect, "//") || len(in.Redirect) > 2000):
		return errCode(http.StatusUnprocessableEntity, "invalid_redirect", "redirect must be a storefront path starting with /")
	}
	if in.Redirect == "" {
		in.Redirect = "/"
	}
	return nil
}

// hash identifies the request for Idempotency-Key: the normalized fields,
// so a re-sent body that differs only in spacing or case still replays.
func (in *issueIn) hash() []byte {
	ttl := -1
	if in.TTLHours != nil {
		ttl = *in.TTLHours
	}
	h := sha256.New()
	fmt.Fprintf(h, "%d|%v|%d|%q|%q|%v|%d|%d|%q|%q|%q|%q", in.CampaignID.v, in.CustomerID.set, in.CustomerID.v, in.CustomerEmail, in.Channel,
		in.PartnerID.set, in.PartnerID.v, ttl, in.Country, in.Device, in.TrafficSource, in.Redirect)
	return h.Sum(nil)
}

// issuedJSON is the answer of POST /api/v1/codes/issue. reused is an
// addition: true when the shopper's existing code came back (status 200).
type issuedJSON struct {
	Code       string  `json:"code"`
	ExpiresAt  *string `json:"expires_at"`
	ShareURL   string  `json:"share_url"`
	CampaignID string  `json:"campaign_id"`
	PartnerID  *string `json:"partner_id"`
	Channel    string  `json:"channel"`
	Reused     bool    `json:"reused"`
	// Level is the discount level the bandit chose for a multi-arm
	// campaign (e.g. "15%"); campaign_id is then that level's campaign.
	Level string `json:"level,omitempty"`
}

// issueOptID renders an optional id as an optional string.
func issueOptID(id *int64) *string {
	if id == nil {
		return nil
	}
	s := idString(*id)
	return &s
}

// codeShareURL is the storefront link that applies code and lands on
// redirect: https://{shop}/discount/{CODE}?redirect=%2F. It is built on the
// shop's base from SHOPIFY_ADMIN_URL_TEMPLATE, which is the shop's own
// origin in production and the dev store's /store/{shop} in development
// (the dev store serves /store/{shop}/discount/{code} there).
func (a *App) codeShareURL(domain, code, redirect string) string {
	if redirect == "" {
		redirect = "/"
	}
	return a.shops.AdminURL(domain) + "/discount/" + url.PathEscape(code) + "?redirect=" + url.QueryEscape(redirect)
}

// ruleViolation answers 422 with the broken rule named in the error body
// ({"error":{"code":"rule_violation","message","rule"}}).
func ruleViolation(c echo.Context, rule, detail string) error {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Rule    string `json:"rule"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message, body.Error.Rule = "rule_violation", rule+": "+detail, rule
	return c.JSON(http.StatusUnprocessableEntity, body)
}

// issueCode is POST /api/v1/codes/issue: one code of the campaign that
// nobody else holds, from the pool of codes already live in Shopify.
//
//   - 201: a code was claimed for this request;
//   - 200: the same shopper (customer_id, or email case-insensitively) asked
//     before and holds usage.codes_per_customer (default 1) unexpired codes:
//     the newest comes back ("reused": true);
//   - Idempotency-Key: the first 2xx answer is replayed byte for byte for 24 h;
//     the same key with another request is 422 idempotency_key_reused;
//   - 404 campaign_not_found, 409 campaign_not_active (draft, paused, ended or
//     outside its dates), 422 rule_violation with the rule (countries,
//     devices, traffic_sources, channels, partner_only, customer_segment,
//     once_per_customer), 409 total_cap_reached / budget_exhausted (usage
//     total_cap and budget, see issueLimits), 503 pool_empty with
//     Retry-After (a refill is requested at once).
func (a *App) issueCode(c echo.Context) error {
	ctx := c.Request().Context()
	sh := shopOf(c)
	now := a.now()
	raw, err := io.ReadAll(io.LimitReader(c.Request().Body, issueBodyLimit+1))
	if err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body could not be read")
	}
	if len(raw) > issueBodyLimit {
		return errCode(http.StatusRequestEntityTooLarge, "payload_too_large", "body is larger than 16 KB")
	}
	var in issueIn
	if err := json.Unmarshal(raw, &in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be a JSON object")
	}
	if err := in.normalize(); err != nil {
		return err
	}
	key := strings.TrimSpace(c.Request().Header.Get("Idempotency-Key"))
	if len(key) > 255 {
		return errCode(http.StatusBadRequest, "invalid_idempotency_key", "Idempotency-Key is longer than 255 characters")
	}
	hash := in.hash()
	if key != "" { // fast path: a replay touches nothing else
		prev, err := a.store.IdempotentIssue(ctx, sh.ID, key)
		switch {
		case err == nil:
			return replayIssue(c, prev.RequestHash, hash, prev.Status, prev.Body)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	camp, err := a.store.CampaignForIssue(ctx, sh.ID, in.CampaignID.v)
	if errors.Is(err, store.ErrNotFound) {
		return errCode(http.StatusNotFound, "campaign_not_found", "no such campaign")
	}
	if err != nil {
		return err
	}
	if camp.Status != "active" {
		return errCode(http.StatusConflict, "campaign_not_active", "the campaign is "+camp.Status)
	}
	if now.Before(camp.StartsAt) {
		return errCode(http.StatusConflict, "campaign_not_active", "the campaign starts at "+camp.StartsAt.UTC().Format(time.RFC3339))
	}
	if camp.EndsAt != nil && !now.Before(*camp.EndsAt) {
		return errCode(http.StatusConflict, "campaign_not_active", "the campaign ended at "+camp.EndsAt.UTC().Format(time.RFC3339))
	}
	var usage campaign.Usage
	var rules campaign.Rules
	if len(camp.Usage) > 0 {
		if err := json.Unmarshal(camp.Usage, &usage); err != nil {
			return fmt.Errorf("campaign %d usage: %w", camp.ID, err)
		}
	}
	if len(camp.Rules) > 0 {
		if err := json.Unmarshal(camp.Rules, &rules); err != nil {
			return fmt.Errorf("campaign %d rules: %w", camp.ID, err)
		}
	}
	partnerID := in.PartnerID.ptr()
	if partnerID != nil {
		if camp.PartnerID != nil && *camp.PartnerID != *partnerID {
			return ruleViolation(c, "partner_only", "the campaign belongs to another partner")
		}
		if _, err := a.store.PartnerByID(ctx, sh.ID, *partnerID); errors.Is(err, store.ErrNotFound) {
			return errCode(http.StatusUnprocessableEntity, "invalid_partner_id", "no such partner")
		} else if err != nil {
			return err
		}
	} else if camp.PartnerID != nil {
		partnerID = camp.PartnerID // the campaign's own partner
	}
	req := campaign.Request{Country: in.Country, Device: in.Device, TrafficSource: in.TrafficSource, Channel: in.Channel}
	if req.TrafficSource == "" {
		req.TrafficSource = in.Channel
	}
	if partnerID != nil {
		req.PartnerID = *partnerID
	}
	if v := campaign.Check(rules, req); v != nil {
		return ruleViolation(c, v.Rule, v.Detail)
	}
	hold := a.issueArm(camp, &in)
	if hold.control {
		return c.JSON(http.StatusOK, map[string]bool{"holdout": true})
	}
	// The rules and the holdout were the requested campaign's; the code,
	// its expiry and its usage limits are those of the level the bandit
	// chose (the requested campaign itself without a bandit).
	issueCamp := camp
	if hold.level != nil && hold.level.ID != camp.ID {
		issueCamp = hold.level
		usage = campaign.Usage{}
		if len(issueCamp.Usage) > 0 {
			if err := json.Unmarshal(issueCamp.Usage, &usage); err != nil {
				return fmt.Errorf("campaign %d usage: %w", issueCamp.ID, err)
			}
		}
	}
	var expires *time.Time
	ttl := in.TTLHours
	if ttl == nil {
		ttl = issueCamp.CodeTTLHours
	}
	if ttl != nil && *ttl > 0 {
		t := now.Add(time.Duration(*ttl) * time.Hour)
		expires = &t
	}
	if issueCamp.EndsAt != nil && (expires == nil || issueCamp.EndsAt.Before(*expires)) {
		t := *issueCamp.EndsAt // the discount itself ends then
		expires = &t
	}
	perCustomer := 1
	if usage.CodesPerCustomer != nil && *usage.CodesPerCustomer > 1 {
		perCustomer = *usage.CodesPerCustomer
	}
	totalCap, budget, err := issueLimits(issueCamp, usage, sh.Currency)
	if err != nil {
		return err
	}
	res, err := a.store.IssueCode(ctx, store.IssueParams{
		ShopID: sh.ID, CampaignID: issueCamp.ID, CustomerID: in.CustomerID.ptr(), CustomerEmail: in.CustomerEmail, Channel: in.Channel,
		PartnerID: partnerID, ExpiresAt: expires, PerCustomer: perCustomer, OncePerCustomer: usage.OncePerCustomer,
		IdempotencyKey: key, RequestHash: hash, Now: now, TotalCap: totalCap, Budget: budget,
		Render: func(code *store.Code, reused bool) (int, []byte, error) {
			status := http.StatusCreated
			if reused {
				status = http.StatusOK
			}
			b, err := json.Marshal(issuedJSON{Code: code.Code, ExpiresAt: rfc3339(code.ExpiresAt), ShareURL: a.codeShareURL(sh.Domain, code.Code, in.Redirect),
				CampaignID: idString(code.CampaignID), PartnerID: issueOptID(code.PartnerID), Channel: code.Channel, Reused: reused, Level: hold.label})
			return status, b, err
		},
		Event: func(code *store.Code) any { return jobs.CodeEventData(code, "") },
	})
	switch {
	case errors.Is(err, store.ErrPoolEmpty):
		if qerr := jobs.EnqueuePoolCheck(ctx, a.queue, issueCamp.ID); qerr != nil {
			a.log.WarnContext(ctx, "pool refill trigger failed", "campaign_id", issueCamp.ID, "err", qerr)
		}
		c.Response().Header().Set("Retry-After", issueRetryAfter)
		return errCode(http.StatusServiceUnavailable, "pool_empty", "no code is ready for this campaign; retry shortly")
	case errors.Is(err, store.ErrShopperRedeemed):
		return ruleViolation(c, "once_per_customer", "the shopper already redeemed a code of this campaign")
	case errors.Is(err, store.ErrTotalCapReached):
		return errCode(http.StatusConflict, "total_cap_reached", fmt.Sprintf("the campaign has issued its %d codes (usage.total_cap)", *totalCap))
	case errors.Is(err, store.ErrBudgetExhausted):
		return errCode(http.StatusConflict, "budget_exhausted", "the campaign's budget ("+string(*usage.Budget)+") is spent or committed to codes already issued")
	case errors.Is(err, store.ErrIdempotencyMismatch):
		return errCode(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key was used with a different request")
	case err != nil:
		return err
	}
	a.enqueueOutbound(ctx, res.OutboundIDs)
	return c.Blob(res.Status, echo.MIMEApplicationJSON, res.Body)
}

// issueLimits turns usage.total_cap and usage.budget into the store's
// limits. The budget is in the shop currency; a fixed-amount campaign's
// codes are each expected to cost their amount (store.IssueBudget has the
// rule).
func issueLimits(camp *store.Campaign, usage campaign.Usage, currency string) (*int64, *store.IssueBudget, error) {
	var totalCap *int64
	if usage.TotalCap != nil {
		n := int64(*usage.TotalCap)
		totalCap = &n
	}
	if usage.Budget == nil || *usage.Budget == "" {
		return totalCap, nil, nil
	}
	limit, err := payload.ParseMinor(string(*usage.Budget), currency)
	if err != nil {
		return nil, nil, fmt.Errorf("campaign %d budget: %w", camp.ID, err)
	}
	b := &store.IssueBudget{LimitMinor: limit}
	var d campaign.Discount
	if len(camp.Discount) > 0 && json.Unmarshal(camp.Discount, &d) == nil && d.Type == campaign.DiscountFixedAmount {
		if v, err := payload.ParseMinor(string(d.Value), currency); err == nil {
			b.PerCodeMinor = v
		}
	}
	return totalCap, b, nil
}

func replayIssue(c echo.Context, stored, hash []byte, status int, body []byte) error {
	if !bytes.Equal(stored, hash) {
		return errCode(http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key was used with a different request")
	}
	c.Response().Header().Set("Idempotent-Replayed", "true")
	return c.Blob(status, echo.MIMEApplicationJSON, body)
}

// enqueueOutbound hands freshly emitted events to the workers after the
// commit; a failure only delays them until outbound:sweep.
func (a *App) enqueueOutbound(ctx context.Context, ids []int64) {
	if len(ids) == 0 {
		return
	}
	if err := jobs.EnqueueOutbound(ctx, a.queue, ids); err != nil {
		a.log.WarnContext(ctx, "enqueue outbound events (the sweep retries)", "err", err)
	}
}

// codeDetailJSON is GET /api/v1/codes/{code} and the answer of disable and
// enable: the fields of a GET /api/v1/codes item and more.
type codeDetailJSON struct {
	Code           string  `json:"code"`
	Status         string  `json:"status"`
	Kind           string  `json:"kind"`
	CampaignID     string  `json:"campaign_id"`
	PartnerID      *string `json:"partner_id"`
	Channel        string  `json:"channel"`
	CustomerID     *string `json:"customer_id"`
	CustomerEmail  *string `json:"customer_email"`
	IssuedAt       *string `json:"issued_at"`
	ExpiresAt      *string `json:"expires_at"`
	RedeemedAt     *string `json:"redeemed_at"`
	DisabledReason string  `json:"disabled_reason"`
	ShopifyState   string  `json:"shopify_state"`
	Uses           int     `json:"uses"`
	UsageCap       *int    `json:"usage_cap"`
	ShareURL       string  `json:"share_url"`
}

func (a *App) toCodeDetail(domain string, k *store.Code) codeDetailJSON {
	return codeDetailJSON{Code: k.Code, Status: k.Status, Kind: k.Kind, CampaignID: idString(k.CampaignID), PartnerID: issueOptID(k.PartnerID),
		Channel: k.Channel, CustomerID: issueOptID(k.CustomerID), CustomerEmail: k.CustomerEmail, IssuedAt: rfc3339(k.IssuedAt),
		ExpiresAt: rfc3339(k.ExpiresAt), RedeemedAt: rfc3339(k.RedeemedAt), DisabledReason: k.DisabledReason, ShopifyState: k.ShopifyState,
		Uses: k.Uses, UsageCap: k.UsageCap, ShareURL: a.codeShareURL(domain, k.Code, "/")}
}

func (a *App) getCode(c echo.Context) error {
	sh := shopOf(c)
	k, err := a.store.FindCode(c.Request().Context(), sh.ID, c.Param("code"))
	if errors.Is(err, store.ErrNotFound) {
		return errCode(http.StatusNotFound, "code_not_found", "no such code")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.toCodeDetail(sh.Domain, k))
}

// shopifyFailure answers a Shopify call that failed while disabling or
// enabling a code (the change is rolled back).
func shopifyFailure(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	return errCode(http.StatusBadGateway, "shopify_error", op+": "+err.Error())
}

// disableCode is POST /api/v1/codes/{code}/disable {"reason"}: the code is
// no longer honoured (status disabled, code.disabled event) and leaves
// Shopify — a unique code's redeem code is deleted
// (discountCodeRedeemCodeBulkDelete); a vanity code's own discount is
// deactivated. If the unique code's removal fails the code is still
// disabled and codes:expire retries the removal. Disabling a disabled code
// is a no-op (200); a redeemed or expired one is 409.
func (a *App) disableCode(c echo.Context) error {
	ctx := c.Request().Context()
	sh := shopOf(c)
	var in struct {
		Reason string `json:"reason"`
	}
	if c.Request().ContentLength != 0 {
		if err := json.NewDecoder(io.LimitReader(c.Request().Body, issueBodyLimit)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
			return errCode(http.StatusBadRequest, "invalid_json", "body must be JSON")
		}
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if len(in.Reason) > 500 {
		return errCode(http.StatusUnprocessableEntity, "invalid_reason", "reason is longer than 500 characters")
	}
	if in.Reason == "" {
		in.Reason = "disabled"
	}
	var out *store.Code
	var evIDs []int64
	err := a.store.InTx(ctx, func(ctx context.Context) error {
		k, err := a.store.LockCode(ctx, sh.ID, c.Param("code"))
		if err != nil {
			return err
		}
		switch k.Status {
		case store.CodeDisabled:
			out = k
			return nil
		case store.CodeRedeemed, store.CodeExpired:
			return errCode(http.StatusConflict, "code_not_active", "the code is "+k.Status)
		}
		ch := store.CodeChange{Status: store.CodeDisabled, DisabledReason: in.Reason}
		if err := a.codeOutOfShopify(ctx, sh.ID, k, &ch); err != nil {
			return err
		}
		if out, err = a.store.UpdateCodeState(ctx, k.ID, ch); err != nil {
			return err
		}
		evIDs, err = a.store.EmitEventAt(ctx, sh.ID, outbound.CodeDisabled, jobs.CodeEventData(out, in.Reason), a.now())
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return errCode(http.StatusNotFound, "code_not_found", "no such code")
	}
	if err != nil {
		return err
	}
	a.enqueueOutbound(ctx, evIDs)
	return c.JSON(http.StatusOK, a.toCodeDetail(sh.Domain, out))
}

// codeOutOfShopify makes a code unredeemable in Shopify for disable.
func (a *App) codeOutOfShopify(ctx context.Context, shopID int64, k *store.Code, ch *store.CodeChange) error {
	if k.Kind == "vanity" {
		if k.ShopifyDiscountID == nil || k.ShopifyState != store.ShopifyLive {
			return nil
		}
		adm, err := a.shops.Admin(ctx, shopID)
		if err != nil {
			return shopifyFailure("Admin API", err)
		}
		if err := adm.DiscountCodeDeactivate(ctx, *k.ShopifyDiscountID); err != nil {
			return shopifyFailure("discountCodeDeactivate", err)
		}
		return nil
	}
	if k.ShopifyState != store.ShopifyLive || k.ShopifyCodeID == nil {
		return nil // not in Shopify (yet): if a push makes it live, codes:expire removes it
	}
	discountID, err := a.store.CampaignDiscountID(ctx, k.CampaignID)
	if err != nil || discountID == "" {
		return err
	}
	adm, err := a.shops.Admin(ctx, shopID)
	if err == nil {
		_, err = adm.DiscountCodeRedeemCodeBulkDelete(ctx, discountID, []string{*k.ShopifyCodeID})
	}
	if err != nil { // still disabled here; the removal is retried by codes:expire
		a.log.WarnContext(ctx, "remove disabled code from Shopify failed; will retry", "code_id", k.ID, "err", err)
		return nil
	}
	ch.ShopifyState = store.ShopifyRemoved
	return nil
}

// enableCode is POST /api/v1/codes/{code}/enable: a disabled code returns
// to what it was (issued when it had been issued, else available; expired
// when its expiry passed meanwhile) and back into Shopify — a unique code is
// re-added with discountRedeemCodeBulkAdd and the bulk creation polled until
// it is live; a vanity code's discount is activated. Emits code.enabled.
// Enabling an active code is a no-op (200).
func (a *App) enableCode(c echo.Context) error {
	ctx := c.Request().Context()
	sh := shopOf(c)
	now := a.now()
	var out *store.Code
	var evIDs []int64
	err := a.store.InTx(ctx, func(ctx context.Context) error {
		k, err := a.store.LockCode(ctx, sh.ID, c.Param("code"))
		if err != nil {
			return err
		}
		switch k.Status {
		case store.CodeAvailable, store.CodeIssued:
			out = k
			return nil
		case store.CodeDisabled:
		default:
			return errCode(http.StatusConflict, "code_not_disabled", "the code is "+k.Status)
		}
		ch := store.CodeChange{Status: store.CodeAvailable}
		if k.IssuedAt != nil {
			ch.Status = store.CodeIssued
			if k.ExpiresAt != nil && !k.ExpiresAt.After(now) {
				ch.Status = store.CodeExpired // it expired while disabled: stays out of Shopify
			}
		}
		if ch.Status != store.CodeExpired {
			if err := a.codeIntoShopify(ctx, sh.ID, k, &ch); err != nil {
				return err
			}
		}
		if out, err = a.store.UpdateCodeState(ctx, k.ID, ch); err != nil {
			return err
		}
		typ := outbound.CodeEnabled
		if ch.Status == store.CodeExpired {
			typ = outbound.CodeExpired
		}
		evIDs, err = a.store.EmitEventAt(ctx, sh.ID, typ, jobs.CodeEventData(out, ""), now)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return errCode(http.StatusNotFound, "code_not_found", "no such code")
	}
	if err != nil {
		return err
	}
	a.enqueueOutbound(ctx, evIDs)
	return c.JSON(http.StatusOK, a.toCodeDetail(sh.Domain, out))
}

// codeIntoShopify makes a disabled code redeemable in Shopify again.
func (a *App) codeIntoShopify(ctx context.Context, shopID int64, k *store.Code, ch *store.CodeChange) error {
	if k.Kind == "vanity" {
		if k.ShopifyDiscountID == nil || k.ShopifyState != store.ShopifyLive {
			return nil
		}
		adm, err := a.shops.Admin(ctx, shopID)
		if err != nil {
			return shopifyFailure("Admin API", err)
		}
		if err := adm.DiscountCodeActivate(ctx, *k.ShopifyDiscountID); err != nil {
			return shopifyFailure("discountCodeActivate", err)
		}
		return nil
	}
	if k.ShopifyState != store.ShopifyRemoved {
		return nil // still live (its removal had failed) or never pushed
	}
	discountID, err := a.store.CampaignDiscountID(ctx, k.CampaignID)
	if err != nil {
		return err
	}
	if discountID == "" {
		return errCode(http.StatusConflict, "campaign_not_synced", "the campaign has no Shopify discount")
	}
	adm, err := a.shops.Admin(ctx, shopID)
	if err != nil {
		return shopifyFailure("Admin API", err)
	}
	bulkID, err := adm.DiscountRedeemCodeBulkAdd(ctx, discountID, []string{k.Code})
	if err != nil {
		return shopifyFailure("discountRedeemCodeBulkAdd", err)
	}
	bc, err := pollBulkCreation(ctx, adm, bulkID)
	if err != nil {
		return shopifyFailure("discountRedeemCodeBulkCreation", err)
	}
	for _, r := range bc.Codes {
		if strings.EqualFold(r.Code, k.Code) && r.RedeemCodeID != "" {
			id := r.RedeemCodeID
			ch.ShopifyState, ch.ShopifyCodeID = store.ShopifyLive, &id
			return nil
		}
	}
	msg := "Shopify did not create the code"
	for _, r := range bc.Codes {
		for _, e := range r.Errors {
			msg += ": " + e.Message
		}
	}
	return errCode(http.StatusBadGateway, "shopify_rejected", msg)
}

// pollBulkCreation waits for a bulk creation to finish (100 ms, doubling to
// 2 s, for at most enablePollDeadline).
func pollBulkCreation(ctx context.Context, adm *admin.Client, id string) (*admin.BulkCreation, error) {
	ctx, cancel := context.WithTimeout(ctx, enablePollDeadline)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		bc, err := adm.DiscountRedeemCodeBulkCreation(ctx, id)
		if err != nil {
			return nil, err
		}
		if bc.Done {
			return bc, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// webhookEndpointJSON is one outbound webhook endpoint; secret appears only
// in the answer that created it.
type webhookEndpointJSON struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Active    bool     `json:"active"`
	Secret    string   `json:"secret,omitempty"`
	CreatedAt string   `json:"created_at"`
}

func toWebhookEndpointJSON(e *store.WebhookEndpoint) webhookEndpointJSON {
	ev := []string(e.Events)
	if ev == nil {
		ev = []string{}
	}
	return webhookEndpointJSON{ID: idString(e.ID), URL: e.URL, Events: ev, Active: e.Active, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339)}
}

func (a *App) listWebhookEndpoints(c echo.Context) error {
	es, err := a.store.ListWebhookEndpoints(c.Request().Context(), shopOf(c).ID)
	if err != nil {
		return err
	}
	out := list[webhookEndpointJSON]{Items: []webhookEndpointJSON{}}
	for i := range es {
		out.Items = append(out.Items, toWebhookEndpointJSON(&es[i]))
	}
	return c.JSON(http.StatusOK, out)
}

// createWebhookEndpoint is POST /api/v1/webhook-endpoints {"url","events"}
// -> 201 with the signing secret, shown this once and stored encrypted. An
// empty events list subscribes to every event type.
func (a *App) createWebhookEndpoint(c echo.Context) error {
	ctx := c.Request().Context()
	sh := shopOf(c)
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	if err := json.NewDecoder(io.LimitReader(c.Request().Body, issueBodyLimit)).Decode(&in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be JSON")
	}
	in.URL = strings.TrimSpace(in.URL)
	if err := outbound.ValidateURL(in.URL); err != nil {
		return errCode(http.StatusUnprocessableEntity, "invalid_url", err.Error())
	}
	if err := outbound.ValidateTypes(in.Events); err != nil {
		return errCode(http.StatusUnprocessableEntity, "invalid_events", err.Error())
	}
	n, err := a.store.CountWebhookEndpoints(ctx, sh.ID)
	if err != nil {
		return err
	}
	if n >= maxWebhookEnds {
		return errCode(http.StatusUnprocessableEntity, "too_many_endpoints", fmt.Sprintf("a shop may have at most %d endpoints", maxWebhookEnds))
	}
	secret, err := outbound.NewSecret(a.rand)
	if err != nil {
		return err
	}
	enc, err := a.keyring.EncryptAD([]byte(secret), outbound.SecretAD(sh.ID))
	if err != nil {
		return err
	}
	e := &store.WebhookEndpoint{ShopID: sh.ID, URL: in.URL, SecretEnc: enc, Events: store.StringArray(in.Events), CreatedAt: a.now(), UpdatedAt: a.now()}
	if err := a.store.CreateWebhookEndpoint(ctx, e); err != nil {
		return err
	}
	out := toWebhookEndpointJSON(e)
	out.Secret = secret
	return c.JSON(http.StatusCreated, out)
}

func (a *App) deleteWebhookEndpoint(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.store.DeleteWebhookEndpoint(c.Request().Context(), shopOf(c).ID, id, a.now()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// outboundEventJSON is one item of GET /api/v1/outbound-events.
type outboundEventJSON struct {
	ID            string          `json:"id"`
	EventID       string          `json:"event_id"`
	Type          string          `json:"type"`
	EndpointID    string          `json:"endpoint_id"`
	Status        string          `json:"status"`
	Attempts      int             `json:"attempts"`
	LastStatus    *int            `json:"last_status"`
	LastError     string          `json:"last_error"`
	CreatedAt     string          `json:"created_at"`
	NextAttemptAt string          `json:"next_attempt_at"`
	DeliveredAt   *string         `json:"delivered_at"`
	Payload       json.RawMessage `json:"payload"` // the event's data, as delivered in the envelope's "data"
}

// listOutboundEvents is GET /api/v1/outbound-events?status=&type=&endpoint_id=.
func (a *App) listOutboundEvents(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	st := c.QueryParam("status")
	switch st {
	case "", store.OutboundPending, store.OutboundDelivered, store.OutboundFailed:
	default:
		return errCode(http.StatusBadRequest, "invalid_status", "status must be pending, delivered or failed")
	}
	var endpointID int64
	if v := c.QueryParam("endpoint_id"); v != "" {
		if endpointID, err = strconv.ParseInt(v, 10, 64); err != nil || endpointID <= 0 {
			return errCode(http.StatusBadRequest, "invalid_endpoint_id", "endpoint_id must be an endpoint id")
		}
	}
	es, err := a.store.ListOutboundEvents(c.Request().Context(), store.OutboundFilter{ShopID: shopOf(c).ID, Status: st, Type: c.QueryParam("type"),
		EndpointID: endpointID, BeforeID: before, Limit: limit + 1})
	if err != nil {
		return err
	}
	out := list[outboundEventJSON]{Items: []outboundEventJSON{}}
	for i := range es {
		if i == limit {
			out.NextCursor = idString(es[i-1].ID)
			break
		}
		e := &es[i]
		j := outboundEventJSON{ID: idString(e.ID), EventID: e.EventID, Type: e.Type, EndpointID: idString(e.EndpointID), Status: e.Status,
			Attempts: e.Attempts, LastStatus: e.LastStatus, LastError: e.LastError, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339),
			DeliveredAt: rfc3339(e.DeliveredAt), Payload: e.Payload, NextAttemptAt: e.NextAttemptAt.UTC().Format(time.RFC3339)}
		out.Items = append(out.Items, j)
	}
	return c.JSON(http.StatusOK, out)
}
