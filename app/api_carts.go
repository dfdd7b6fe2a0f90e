package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/campaign"
	"github.com/coupontrail/coupontrail/app/experiment"
	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// cartRoutes lists the abandoned-cart routes: the Flow action and the app
// proxy (public, signed by Shopify) and the cart-recovery reports.
func (a *App) cartRoutes(e *echo.Echo, api *echo.Group) {
	// Shopify Flow action "Issue recovery code": X-Shopify-Hmac-Sha256 over the raw body.
	e.POST("/flow/actions/issue-code", a.flowIssueCode)
	// App proxy (/apps/coupontrail/code on the storefront): the signature query parameter.
	e.GET("/proxy/code", a.proxyCode)

	api.GET("/cart-recovery/report", a.cartReport)
	api.GET("/cart-recovery/campaigns/:id/config", a.getCartConfig)
	api.PUT("/cart-recovery/campaigns/:id/config", a.putCartConfig)
}

// Limits of the public cart routes.
const (
	flowBodyLimit      = 64 << 10
	proxyMaxSkew       = 5 * time.Minute
	proxyVisitorPerHr  = 10 // code requests per visitor and hour
	proxyAddressPerHr  = 60 // code requests per client address and hour
	proxyRateKeyPrefix = "coupontrail:proxy-rate:"
)

// ---- Shopify Flow action ----

// flowIn is the body Flow posts to an action's runtime URL. Flow sends
// shopify_domain; shop_domain is accepted as well. checkout_token and
// customer_id are optional properties (a "Customer abandons checkout"
// workflow has both).
type flowIn struct {
	ActionRunID   string `json:"action_run_id"`
	ShopDomain    string `json:"shop_domain"`
	ShopifyDomain string `json:"shopify_domain"`
	Properties    struct {
		CustomerEmail string  `json:"customer_email"`
		CustomerID    issueID `json:"customer_id"`
		CampaignID    issueID `json:"campaign_id"`
		CheckoutToken string  `json:"checkout_token"`
	} `json:"properties"`
}

// flowReturn is the action's return value for later Flow steps. holdout is
// true (and code empty) for a control shopper.
type flowReturn struct {
	Code      string  `json:"code"`
	ExpiresAt *string `json:"expires_at"`
	ShareURL  string  `json:"share_url"`
	Holdout   bool    `json:"holdout,omitempty"`
}

// flowIssueCode is POST /flow/actions/issue-code. Flow counts only 200 as
// success: 200 {"return_value":{"code","expires_at","share_url"}}; a
// re-sent action_run_id gets the first 200 answer again, byte for byte.
// 401 bad signature; 404 unknown shop or campaign; 409 campaign not active;
// 422 missing shopper or run id, or a broken campaign rule (Flow fails the
// step); 503 empty pool (Flow retries).
func (a *App) flowIssueCode(c echo.Context) error {
	ctx := c.Request().Context()
	raw, err := io.ReadAll(io.LimitReader(c.Request().Body, flowBodyLimit+1))
	if err != nil || len(raw) > flowBodyLimit {
		return errCode(http.StatusRequestEntityTooLarge, "payload_too_large", "body is larger than 64 KB")
	}
	if !shopify.VerifyWebhookAny(a.webhookSecrets(), raw, c.Request().Header.Get("X-Shopify-Hmac-Sha256")) {
		return errCode(http.StatusUnauthorized, "invalid_hmac", "the request signature is invalid")
	}
	var in flowIn
	if err := json.Unmarshal(raw, &in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be a JSON object")
	}
	in.ActionRunID = strings.TrimSpace(in.ActionRunID)
	if in.ActionRunID == "" || len(in.ActionRunID) > 255 {
		return errCode(http.StatusUnprocessableEntity, "invalid_action_run_id", "action_run_id is required")
	}
	domain := strings.ToLower(strings.TrimSpace(in.ShopifyDomain))
	if domain == "" {
		domain = strings.ToLower(strings.TrimSpace(in.ShopDomain))
	}
	if !shopify.ValidShopDomain(domain) {
		return errCode(http.StatusUnprocessableEntity, "invalid_shop", "shopify_domain must be a myshopify domain")
	}
	sh, err := a.store.ShopByDomain(ctx, domain)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !sh.Installed()) {
		return errCode(http.StatusNotFound, "shop_not_found", "the app is not installed on this shop")
	}
	if err != nil {
		return err
	}
	if prev, err := a.store.FlowRunAnswer(ctx, sh.ID, in.ActionRunID); err == nil {
		c.Response().Header().Set("Idempotent-Replayed", "true")
		return c.Blob(prev.Status, echo.MIMEApplicationJSON, prev.Body)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	ret, tp, err := a.flowIssue(ctx, c, sh, &in)
	var re *cartRuleError
	if errors.As(err, &re) {
		return ruleViolation(c, re.rule, re.detail)
	}
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]flowReturn{"return_value": *ret})
	if err != nil {
		return err
	}
	var ans *store.FlowRun
	err = a.store.InTx(ctx, func(ctx context.Context) error {
		var first bool
		ans, first, err = a.store.SaveFlowRunAnswer(ctx, sh.ID, in.ActionRunID, store.FlowRun{Status: http.StatusOK, Body: body}, a.now())
		if err != nil || !first {
			return err
		}
		return a.store.RecordCartTouchpoint(ctx, tp)
	})
	if err != nil {
		return err
	}
	return c.Blob(ans.Status, echo.MIMEApplicationJSON, ans.Body)
}

// flowIssue picks the campaign and shopper of a Flow run and returns the
// shopper's code (the abandonment check's code when it already went out).
func (a *App) flowIssue(ctx context.Context, c echo.Context, sh *store.Shop, in *flowIn) (*flowReturn, *store.CartTouchpoint, error) {
	now := a.now()
	p := &in.Properties
	email := strings.ToLower(strings.TrimSpace(p.CustomerEmail))
	if p.CampaignID.bad || p.CustomerID.bad {
		return nil, nil, errCode(http.StatusUnprocessableEntity, "invalid_properties", "campaign_id and customer_id must be ids")
	}
	token := strings.TrimSpace(p.CheckoutToken)
	var rec *store.CartRecovery
	if token != "" {
		r, err := a.store.CartRecoveryByToken(ctx, sh.ID, token)
		switch {
		case err == nil:
			rec = r
			if email == "" {
				email = r.CustomerEmail
			}
			if !p.CustomerID.set && r.CustomerID != nil {
				p.CustomerID = issueID{set: true, v: *r.CustomerID}
			}
		case !errors.Is(err, store.ErrNotFound):
			return nil, nil, err
		}
	}
	camp, err := a.cartCampaign(ctx, sh, p.CampaignID, rec)
	if err != nil {
		return nil, nil, err
	}
	tp := &store.CartTouchpoint{ShopID: sh.ID, CampaignID: &camp.ID, Channel: store.CartChannelFlow, CustomerEmail: email,
		CustomerID: p.CustomerID.ptr(), Trigger: "flow", CreatedAt: now}
	if token != "" {
		tp.CheckoutToken = &token
	}
	shareURL := func(code string) string {
		if token != "" {
			return a.jobs.RecoveryURL(ctx, sh, code, token)
		}
		return a.codeShareURL(sh.Domain, code, "/")
	}
	// The abandonment check already sent this checkout a code of this campaign.
	if rec != nil && rec.Code != nil && rec.CampaignID != nil && *rec.CampaignID == camp.ID {
		if k, err := a.store.FindCode(ctx, sh.ID, *rec.Code); err == nil && k.Status == store.CodeIssued {
			tp.Code, tp.ExpiresAt = &k.Code, k.ExpiresAt
			return &flowReturn{Code: k.Code, ExpiresAt: rfc3339(k.ExpiresAt), ShareURL: shareURL(k.Code)}, tp, nil
		}
	}
	if email == "" && !p.CustomerID.set {
		return nil, nil, errCode(http.StatusUnprocessableEntity, "shopper_required", "properties.customer_email or customer_id is required")
	}
	if email != "" && (len(email) > 254 || !strings.Contains(email, "@")) {
		return nil, nil, errCode(http.StatusUnprocessableEntity, "invalid_customer_email", "customer_email is not an email address")
	}
	if rec != nil && rec.Status == store.CartHoldout && rec.CampaignID != nil && *rec.CampaignID == camp.ID ||
		a.cartControl(camp, p.CustomerID.ptr(), email, "") {
		tp.Holdout = true
		return &flowReturn{Holdout: true}, tp, nil
	}
	code, err := a.issueCartCode(ctx, c, sh, camp, p.CustomerID.ptr(), email)
	if err != nil {
		return nil, nil, err
	}
	tp.Code, tp.ExpiresAt = &code.Code, code.ExpiresAt
	return &flowReturn{Code: code.Code, ExpiresAt: rfc3339(code.ExpiresAt), ShareURL: shareURL(code.Code)}, tp, nil
}

// cartCampaign resolves the campaign of a Flow run or storefront request:
// the one named (it must be the shop's and active), else the checkout's,
// else the shop's first active cart_recovery campaign.
func (a *App) cartCampaign(ctx context.Context, sh *store.Shop, named issueID, rec *store.CartRecovery) (*store.Campaign, error) {
	now := a.now()
	id := int64(0)
	switch {
	case named.set:
		id = named.v
	case rec != nil && rec.CampaignID != nil:
		id = *rec.CampaignID
	default:
		cs, err := a.store.ActiveCartCampaigns(ctx, sh.ID, now)
		if err != nil {
			return nil, err
		}
		if len(cs) == 0 {
			return nil, errCode(http.StatusNotFound, "campaign_not_found", "the shop has no active cart-recovery campaign")
		}
		id = cs[0].ID
	}
	camp, err := a.store.CampaignForIssue(ctx, sh.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errCode(http.StatusNotFound, "campaign_not_found", "no such campaign")
	}
	if err != nil {
		return nil, err
	}
	if camp.Status != "active" || now.Before(camp.StartsAt) || (camp.EndsAt != nil && !now.Before(*camp.EndsAt)) {
		return nil, errCode(http.StatusConflict, "campaign_not_active", "the campaign is not active")
	}
	return camp, nil
}

// issueCartCode issues the shopper's code of a cart campaign through the
// issue API's path (store.IssueCode) under the same rules: targeting rules,
// once per customer, codes per customer, the campaign's TTL (12 h by
// default) and end date.
func (a *App) issueCartCode(ctx context.Context, c echo.Context, sh *store.Shop, camp *store.Campaign, customerID *int64, email string) (*store.Code, error) {
	var usage campaign.Usage
	var rules campaign.Rules
	if len(camp.Usage) > 0 {
		if err := json.Unmarshal(camp.Usage, &usage); err != nil {
			return nil, fmt.Errorf("campaign %d usage: %w", camp.ID, err)
		}
	}
	if len(camp.Rules) > 0 {
		if err := json.Unmarshal(camp.Rules, &rules); err != nil {
			return nil, fmt.Errorf("campaign %d rules: %w", camp.ID, err)
		}
	}
	req := campaign.Request{}
	if camp.PartnerID != nil {
		req.PartnerID = *camp.PartnerID
	}
	if v := campaign.Check(rules, req); v != nil {
		return nil, &cartRuleError{rule: v.Rule, detail: v.Detail}
	}
	perCustomer := 1
	if usage.CodesPerCustomer != nil && *usage.CodesPerCustomer > 1 {
		perCustomer = *usage.CodesPerCustomer
	}
	now := a.now()
	exp := jobs.CartCodeExpiry(camp, now)
	res, err := a.store.IssueCode(ctx, store.IssueParams{ShopID: sh.ID, CampaignID: camp.ID, CustomerID: customerID, CustomerEmail: email,
		PartnerID: camp.PartnerID, ExpiresAt: &exp, PerCustomer: perCustomer, OncePerCustomer: usage.OncePerCustomer, Now: now,
		Event: func(k *store.Code) any { return jobs.CodeEventData(k, "") }})
	switch {
	case errors.Is(err, store.ErrPoolEmpty):
		if qerr := jobs.EnqueuePoolCheck(ctx, a.queue, camp.ID); qerr != nil {
			a.log.WarnContext(ctx, "pool refill trigger failed", "campaign_id", camp.ID, "err", qerr)
		}
		c.Response().Header().Set("Retry-After", issueRetryAfter)
		return nil, errCode(http.StatusServiceUnavailable, "pool_empty", "no code is ready for this campaign; retry shortly")
	case errors.Is(err, store.ErrShopperRedeemed):
		return nil, &cartRuleError{rule: "once_per_customer", detail: "the shopper already redeemed a code of this campaign"}
	case err != nil:
		return nil, err
	}
	a.enqueueOutbound(ctx, res.OutboundIDs)
	return res.Code, nil
}

// cartRuleError is a campaign rule that refuses a cart code.
type cartRuleError struct{ rule, detail string }

func (e *cartRuleError) Error() string { return e.rule + ": " + e.detail }

// cartControl reports whether a shopper is in the control arm of the
// campaign's holdout. Identified shoppers (customer id or email) go through
// the issue API's assignment, which records it in the experiment; an
// anonymous storefront visitor is assigned by the same hash on its visitor
// id, recorded only as an onsite touchpoint (no order could be joined to it
// in the experiment).
func (a *App) cartControl(camp *store.Campaign, customerID *int64, email, visitor string) bool {
	if camp.Holdout <= 0 {
		return false
	}
	if customerID != nil || email != "" {
		in := &issueIn{CustomerEmail: email}
		if customerID != nil {
			in.CustomerID = issueID{set: true, v: *customerID}
		}
		return a.inHoldout(camp, in)
	}
	if visitor == "" {
		return false
	}
	salt := camp.Salt
	if salt == "" {
		salt = idString(camp.ID)
	}
	return experiment.Assign(camp.ShopID, "visitor:"+visitor, salt, camp.Holdout) == experiment.Control
}

// ---- App proxy: storefront triggers ----

var (
	visitorRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)
	triggers  = map[string]bool{"exit_intent": true, "scroll_depth": true, "cart_value": true}
)

// proxyOut is the answer of the storefront code request.
type proxyOut struct {
	Code      string  `json:"code,omitempty"`
	ExpiresAt *string `json:"expires_at,omitempty"`
	ShareURL  string  `json:"share_url,omitempty"`
	Holdout   bool    `json:"holdout,omitempty"`
	Eligible  bool    `json:"eligible"`
	Reason    string  `json:"reason,omitempty"`
}

// verifyProxy checks the app proxy's signature (go-shopify's verifier: hex
// HMAC-SHA256 of the sorted k=v pairs, with every secret in rotation) and
// its timestamp.
func (a *App) verifyProxy(c echo.Context) bool {
	u := c.Request().URL
	ok := false
	for _, s := range a.webhookSecrets() {
		if len(s) > 0 && (goshopify.App{ApiSecret: string(s)}).VerifySignature(u) {
			ok = true
		}
	}
	if !ok {
		return false
	}
	ts, err := strconv.ParseInt(u.Query().Get("timestamp"), 10, 64)
	if err != nil {
		return false
	}
	d := a.now().Sub(time.Unix(ts, 0))
	return d < proxyMaxSkew && d > -proxyMaxSkew
}

// proxyCode is GET /proxy/code, reached from the storefront as
// /apps/coupontrail/code through Shopify's app proxy, which adds shop,
// logged_in_customer_id, path_prefix, timestamp and signature. The theme
// app embed asks it when a trigger fires (trigger=exit_intent|scroll_depth|
// cart_value) with the visitor's id (visitor), the cart value in minor
// units (cart) and optionally campaign_id and redirect. The shop is the
// signed shop parameter only. Answers 200 {"eligible":true,"code",
// "expires_at","share_url"}, {"eligible":false,"holdout":true} for a
// control visitor, {"eligible":false,"reason"} when a rule says no; 401 bad
// signature; 429 rate-limited.
func (a *App) proxyCode(c echo.Context) error {
	ctx := c.Request().Context()
	if !a.verifyProxy(c) {
		return errCode(http.StatusUnauthorized, "invalid_signature", "the proxy signature is invalid")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	q := c.Request().URL.Query()
	domain := strings.ToLower(q.Get("shop"))
	if !shopify.ValidShopDomain(domain) {
		return errCode(http.StatusUnprocessableEntity, "invalid_shop", "shop must be a myshopify domain")
	}
	sh, err := a.store.ShopByDomain(ctx, domain)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !sh.Installed()) {
		return errCode(http.StatusNotFound, "shop_not_found", "the app is not installed on this shop")
	}
	if err != nil {
		return err
	}
	visitor, trigger := q.Get("visitor"), q.Get("trigger")
	if !visitorRE.MatchString(visitor) {
		return errCode(http.StatusUnprocessableEntity, "invalid_visitor", "visitor must be 8 to 64 URL-safe characters")
	}
	if !triggers[trigger] {
		return errCode(http.StatusUnprocessableEntity, "invalid_trigger", "trigger must be exit_intent, scroll_depth or cart_value")
	}
	var cart int64
	if v := q.Get("cart"); v != "" {
		if cart, err = strconv.ParseInt(v, 10, 64); err != nil || cart < 0 {
			return errCode(http.StatusUnprocessableEntity, "invalid_cart", "cart must be the cart value in minor units")
		}
	}
	var named issueID
	if v := q.Get("campaign_id"); v != "" {
		if err := named.UnmarshalJSON([]byte(strconv.Quote(v))); err != nil || named.bad {
			return errCode(http.StatusNotFound, "campaign_not_found", "no such campaign")
		}
	}
	redirect := q.Get("redirect")
	if redirect == "" || !strings.HasPrefix(redirect, "/") || strings.HasPrefix(redirect, "//") || len(redirect) > 500 {
		redirect = "/cart"
	}
	var customerID *int64
	if v := q.Get("logged_in_customer_id"); v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			customerID = &id
		}
	}
	if wait, ok := a.proxyAllowed(ctx, sh.ID, visitor, c.RealIP()); !ok {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return errCode(http.StatusTooManyRequests, "rate_limited", "too many code requests from this visitor")
	}
	camp, err := a.cartCampaign(ctx, sh, named, nil)
	if err != nil {
		var ce *codedError
		if errors.As(err, &ce) && (ce.Status == http.StatusNotFound || ce.Status == http.StatusConflict) {
			return c.JSON(http.StatusOK, proxyOut{Reason: "no_campaign"})
		}
		return err
	}
	now := a.now()
	if prev, err := a.store.VisitorOnsite(ctx, sh.ID, camp.ID, visitor, now); err == nil {
		if prev.Holdout {
			return c.JSON(http.StatusOK, proxyOut{Holdout: true})
		}
		return c.JSON(http.StatusOK, proxyOut{Eligible: true, Code: *prev.Code, ExpiresAt: rfc3339(prev.ExpiresAt),
			ShareURL: a.codeShareURL(sh.Domain, *prev.Code, redirect)})
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	cfg, err := a.store.CartConfigOf(ctx, sh.ID, camp.ID)
	if err != nil {
		return err
	}
	if cart < cfg.MinCartMinor {
		return c.JSON(http.StatusOK, proxyOut{Reason: "below_threshold"})
	}
	tp := &store.CartTouchpoint{ShopID: sh.ID, CampaignID: &camp.ID, Channel: store.CartChannelOnsite, VisitorID: &visitor,
		CustomerID: customerID, Trigger: trigger, CreatedAt: now}
	if a.cartControl(camp, customerID, "", visitor) {
		tp.Holdout = true
		if err := a.store.RecordCartTouchpoint(ctx, tp); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, proxyOut{Holdout: true})
	}
	code, err := a.issueCartCode(ctx, c, sh, camp, customerID, "")
	var re *cartRuleError
	if errors.As(err, &re) {
		return c.JSON(http.StatusOK, proxyOut{Reason: "rule_violation"})
	}
	if err != nil {
		return err
	}
	tp.Code, tp.ExpiresAt = &code.Code, code.ExpiresAt
	if err := a.store.RecordCartTouchpoint(ctx, tp); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, proxyOut{Eligible: true, Code: code.Code, ExpiresAt: rfc3339(code.ExpiresAt),
		ShareURL: a.codeShareURL(sh.Domain, code.Code, redirect)})
}

// proxyAllowed counts one storefront code request of a visitor and of a
// client address in fixed hourly windows (Redis, shared by every replica).
// When Redis is unreachable the request is allowed: the storefront must
// not break, and the per-visitor code reuse still bounds what one visitor
// gets.
func (a *App) proxyAllowed(ctx context.Context, shopID int64, visitor, addr string) (time.Duration, bool) {
	window := a.now().Truncate(time.Hour)
	wait := window.Add(time.Hour).Sub(a.now())
	for _, k := range []struct {
		key   string
		limit int64
	}{
		{fmt.Sprintf("%s%d:v:%s:%d", proxyRateKeyPrefix, shopID, visitor, window.Unix()), proxyVisitorPerHr},
		{fmt.Sprintf("%s%d:a:%s:%d", proxyRateKeyPrefix, shopID, addr, window.Unix()), proxyAddressPerHr},
	} {
		n, err := a.redis.Incr(ctx, k.key).Result()
		if err != nil {
			a.log.WarnContext(ctx, "proxy rate limit unavailable", "err", err)
			return 0, true
		}
		if n == 1 {
			a.redis.Expire(ctx, k.key, 2*time.Hour)
		}
		if n > k.limit {
			return wait, false
		}
	}
	return 0, true
}

// ---- reports and config ----

// cartReportJSON is GET /api/v1/cart-recovery/report. Rates are fractions
// (null when their denominator is 0): recovery_rate = recovered_orders /
// codes_sent, holdout_recovery_rate = holdout_recovered_orders /
// holdout_checkouts, incremental_recovery_rate their difference (null
// without a holdout arm).
type cartReportJSON struct {
	CampaignID              string   `json:"campaign_id"`
	Currency                string   `json:"currency"`
	AbandonedCheckouts      int64    `json:"abandoned_checkouts"`
	CodesSent               int64    `json:"codes_sent"`
	HoldoutCheckouts        int64    `json:"holdout_checkouts"`
	SkippedCheckouts        int64    `json:"skipped_checkouts"`
	RecoveredOrders         int64    `json:"recovered_orders"`
	RecoveredRevenue        string   `json:"recovered_revenue"`
	RecoveryRate            *float64 `json:"recovery_rate"`
	HoldoutRecoveredOrders  int64    `json:"holdout_recovered_orders"`
	HoldoutRecoveryRate     *float64 `json:"holdout_recovery_rate"`
	IncrementalRecoveryRate *float64 `json:"incremental_recovery_rate"`
	RedeemedCodes           int64    `json:"redeemed_codes"`
	AttributedOrders        int64    `json:"attributed_orders"`
	AttributedRevenue       string   `json:"attributed_revenue"`
	OnsiteCodes             int64    `json:"onsite_codes"`
	OnsiteHoldout           int64    `json:"onsite_holdout"`
	FlowDeliveries          int64    `json:"flow_deliveries"`
	WebhookDeliveries       int64    `json:"webhook_deliveries"`
	GeneratedAt             string   `json:"generated_at"`
}

func rate(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

// cartReport is GET /api/v1/cart-recovery/report?campaign_id=.
func (a *App) cartReport(c echo.Context) error {
	id, err := strconv.ParseInt(c.QueryParam("campaign_id"), 10, 64)
	if err != nil || id <= 0 {
		return errCode(http.StatusUnprocessableEntity, "invalid_campaign_id", "campaign_id is required")
	}
	sh := shopOf(c)
	r, err := a.store.CartReportOf(c.Request().Context(), sh.ID, id, a.now())
	if errors.Is(err, store.ErrNotFound) {
		return errCode(http.StatusNotFound, "campaign_not_found", "no such campaign")
	}
	if err != nil {
		return err
	}
	out := cartReportJSON{CampaignID: idString(r.CampaignID), Currency: r.Currency, AbandonedCheckouts: r.Abandoned, CodesSent: r.CodesSent,
		HoldoutCheckouts: r.Holdout, SkippedCheckouts: r.Skipped, RecoveredOrders: r.RecoveredTreated,
		RecoveredRevenue: attribution.FormatMinor(r.RecoveredRevenue, r.Currency), RecoveryRate: rate(r.RecoveredTreated, r.CodesSent),
		HoldoutRecoveredOrders: r.RecoveredHoldout, HoldoutRecoveryRate: rate(r.RecoveredHoldout, r.Holdout),
		RedeemedCodes: r.RedeemedCodes, AttributedOrders: r.AttributedOrders, AttributedRevenue: attribution.FormatMinor(r.RedeemedRevenue, r.Currency),
		OnsiteCodes: r.OnsiteCodes, OnsiteHoldout: r.OnsiteHoldout, FlowDeliveries: r.FlowDeliveries, WebhookDeliveries: r.WebhookDeliveries,
		GeneratedAt: r.ReportedAt.UTC().Format(time.RFC3339)}
	if out.RecoveryRate != nil && out.HoldoutRecoveryRate != nil {
		d := *out.RecoveryRate - *out.HoldoutRecoveryRate
		out.IncrementalRecoveryRate = &d
	}
	return c.JSON(http.StatusOK, out)
}

// cartConfigJSON is a cart-recovery campaign's config.
type cartConfigJSON struct {
	CampaignID   string `json:"campaign_id"`
	MinCartValue string `json:"min_cart_value"`
	Currency     string `json:"currency"`
	OncePerDays  int    `json:"once_per_days"`
}

func (a *App) cartConfigCampaign(c echo.Context) (*store.Shop, int64, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, 0, err
	}
	sh := shopOf(c)
	if _, err := a.store.CampaignForIssue(c.Request().Context(), sh.ID, id); errors.Is(err, store.ErrNotFound) {
		return nil, 0, errCode(http.StatusNotFound, "campaign_not_found", "no such campaign")
	} else if err != nil {
		return nil, 0, err
	}
	return sh, id, nil
}

func (a *App) cartConfigOut(sh *store.Shop, cfg *store.CartConfig) cartConfigJSON {
	return cartConfigJSON{CampaignID: idString(cfg.CampaignID), MinCartValue: attribution.FormatMinor(cfg.MinCartMinor, sh.Currency),
		Currency: sh.Currency, OncePerDays: cfg.OncePerDays}
}

// getCartConfig is GET /api/v1/cart-recovery/campaigns/{id}/config.
func (a *App) getCartConfig(c echo.Context) error {
	sh, id, err := a.cartConfigCampaign(c)
	if err != nil {
		return err
	}
	cfg, err := a.store.CartConfigOf(c.Request().Context(), sh.ID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.cartConfigOut(sh, cfg))
}

// putCartConfig is PUT /api/v1/cart-recovery/campaigns/{id}/config
// {"min_cart_value":"50.00","once_per_days":30}.
func (a *App) putCartConfig(c echo.Context) error {
	sh, id, err := a.cartConfigCampaign(c)
	if err != nil {
		return err
	}
	var in struct {
		MinCartValue *string `json:"min_cart_value"`
		OncePerDays  *int    `json:"once_per_days"`
	}
	if err := json.NewDecoder(io.LimitReader(c.Request().Body, 4<<10)).Decode(&in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be a JSON object")
	}
	cfg, err := a.store.CartConfigOf(c.Request().Context(), sh.ID, id)
	if err != nil {
		return err
	}
	if in.MinCartValue != nil {
		m, err := attribution.ParseMinor(strings.TrimSpace(*in.MinCartValue), sh.Currency)
		if err != nil || m < 0 {
			return errCode(http.StatusUnprocessableEntity, "invalid_min_cart_value", "min_cart_value must be a non-negative decimal amount")
		}
		cfg.MinCartMinor = m
	}
	if in.OncePerDays != nil {
		if *in.OncePerDays < 0 || *in.OncePerDays > 3650 {
			return errCode(http.StatusUnprocessableEntity, "invalid_once_per_days", "once_per_days must be between 0 and 3650")
		}
		cfg.OncePerDays = *in.OncePerDays
	}
	if err := a.store.SetCartConfig(c.Request().Context(), cfg, a.now()); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a.cartConfigOut(sh, cfg))
}
