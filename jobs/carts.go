package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/campaign"
	"github.com/coupontrail/coupontrail/app/experiment"
	"github.com/coupontrail/coupontrail/app/outbound"
	"github.com/coupontrail/coupontrail/app/store"
)

// Abandoned-checkout task types.
const (
	// TypeCartCheck runs the abandonment check of one checkout version,
	// scheduled with ProcessAt for the shop's abandonment delay after the
	// checkout was last updated.
	TypeCartCheck = "cart:check"
	// TypeCartSweep runs every check that is due but whose task was lost
	// (Redis down, an enqueue that failed). Periodic, every minute.
	TypeCartSweep = "cart:sweep"
)

// Cart-recovery defaults.
const (
	// DefaultCartCodeTTL is the life of a recovery code when the campaign
	// has no code_ttl_hours.
	DefaultCartCodeTTL = 12 * time.Hour
	cartSweepBatch     = 200
)

func (j *Jobs) registerCartJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeCartCheck, j.handleCartCheck)
	mux.HandleFunc(TypeCartSweep, j.handleCartSweep)
}

func cartPeriodic() []PeriodicTask {
	return []PeriodicTask{
		{Spec: "@every 1m", Task: asynq.NewTask(TypeCartSweep, nil), Opts: []asynq.Option{asynq.Queue(QueueDefault), asynq.Unique(55 * time.Second),
			asynq.MaxRetry(0), asynq.Timeout(5 * time.Minute)}},
	}
}

// AbandonDelay is the shop's abandonment delay (settings key
// abandoned_checkout_delay_minutes, ParseCartSettings; default 60 minutes).
func AbandonDelay(settings json.RawMessage) time.Duration {
	return time.Duration(ParseCartSettings(settings).AbandonedCheckoutDelayMinutes) * time.Minute
}

// CartCheckPayload names one version of one checkout.
type CartCheckPayload struct {
	ShopID  int64  `json:"shop_id"`
	Token   string `json:"token"`
	Version int64  `json:"version"` // checkout_updated_at, Unix nanoseconds
}

// NewCartCheckTask builds the check of r's current version, to run at its
// due time. The task id names the version, so enqueuing the same version
// twice is one task, and a newer version is a new task; the older one finds
// the version moved on and does nothing.
func NewCartCheckTask(r *store.CartRecovery) *asynq.Task {
	v := r.Version.UnixNano()
	b, _ := json.Marshal(CartCheckPayload{ShopID: r.ShopID, Token: r.CheckoutToken, Version: v})
	return asynq.NewTask(TypeCartCheck, b, asynq.Queue(QueueDefault), asynq.MaxRetry(10), asynq.Timeout(time.Minute),
		asynq.TaskID(fmt.Sprintf("cart-check:%d:%s:%d", r.ShopID, r.CheckoutToken, v)), asynq.ProcessAt(r.DueAt))
}

// scheduleCartCheck records the abandonment check of a recorded checkout
// version and enqueues its task. A lost enqueue is caught by cart:sweep.
func (j *Jobs) scheduleCartCheck(ctx context.Context, sh *store.Shop, c *store.Checkout) error {
	due := c.CheckoutUpdatedAt
	if due.Equal(unknownVersion) || due.IsZero() {
		due = j.Now()
	}
	due = due.Add(AbandonDelay(sh.Settings))
	r, changed, err := j.Store.ScheduleCartCheck(ctx, c, due, j.Now())
	if err != nil {
		return err
	}
	if r.Status != store.CartScheduled || j.Client == nil {
		return nil
	}
	if _, err := j.Client.EnqueueContext(ctx, NewCartCheckTask(r)); err != nil && !IsConflict(err) {
		j.Log.WarnContext(ctx, "enqueue cart check (the sweep runs it)", "shop", sh.Domain, "checkout_token", c.Token, "err", err)
	}
	if changed {
		j.Log.DebugContext(ctx, "cart check scheduled", "shop", sh.Domain, "checkout_token", c.Token, "due_at", r.DueAt, "reschedules", r.Reschedules)
	}
	return nil
}

func (j *Jobs) handleCartCheck(ctx context.Context, t *asynq.Task) error {
	var p CartCheckPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ShopID <= 0 || p.Token == "" {
		return fmt.Errorf("%w: cart:check payload: %s", asynq.SkipRetry, t.Payload())
	}
	r, err := j.Store.CartRecoveryByToken(ctx, p.ShopID, p.Token)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.Version.UnixNano() != p.Version {
		return nil // rescheduled: the task of the newer version runs it
	}
	_, err = j.RunCartCheck(ctx, r)
	return err
}

func (j *Jobs) handleCartSweep(ctx context.Context, _ *asynq.Task) error {
	_, err := j.SweepCartChecks(ctx)
	return err
}

// SweepCartChecks runs every scheduled check that is due at j.Now() and
// returns how many it ran. One check's failure does not stop the others.
func (j *Jobs) SweepCartChecks(ctx context.Context) (int, error) {
	due, err := j.Store.DueCartRecoveries(ctx, j.Now(), cartSweepBatch)
	if err != nil {
		return 0, err
	}
	var firstErr error
	n := 0
	for i := range due {
		if _, err := j.RunCartCheck(ctx, &due[i]); err != nil {
			j.Log.WarnContext(ctx, "cart check failed", "shop_id", due[i].ShopID, "checkout_token", due[i].CheckoutToken, "err", err)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		n++
	}
	return n, firstErr
}

// RunCartCheck is the abandonment check of r's version:
//
//  1. not due yet, or no longer scheduled: nothing (the outcome says so);
//  2. an order with the checkout's token exists: completed, nothing sent;
//  3. the first active cart_recovery campaign whose rules pass (targeting
//     rules, cart value threshold, once per shopper per N days) is picked;
//     a shopper in its holdout is recorded as such and gets nothing;
//  4. otherwise a code is issued through store.IssueCode (the issue API's
//     path: a live unique code from the pool, the shopper's existing code
//     when they hold one) with the campaign's TTL (12 h by default), and a
//     signed checkout.recovery_code event carries it with the URL that
//     applies it and returns to the checkout. The Flow action returns the
//     same code (it is the shopper's code of the campaign).
//
// A failure (empty pool, database) leaves the check scheduled; the task
// retry or the sweep runs it again, and a retry after the code was claimed
// gets the same code back.
func (j *Jobs) RunCartCheck(ctx context.Context, r *store.CartRecovery) (*store.CartOutcome, error) {
	now := j.Now()
	if r.Status != store.CartScheduled || r.DueAt.After(now) {
		return nil, nil
	}
	sh, err := j.Store.ShopByID(ctx, r.ShopID)
	if err != nil {
		return nil, err
	}
	finish := func(o store.CartOutcome, evIDs *[]int64, extra func(ctx context.Context) error) (*store.CartOutcome, error) {
		err := j.Store.InTx(ctx, func(ctx context.Context) error {
			ok, err := j.Store.FinishCartRecovery(ctx, r.ID, r.Version, o, now)
			if err != nil || !ok || extra == nil {
				return err
			}
			return extra(ctx)
		})
		if err != nil {
			return nil, err
		}
		if evIDs != nil {
			j.enqueueOutbound(ctx, *evIDs)
		}
		j.Log.InfoContext(ctx, "cart check", "shop", sh.Domain, "checkout_token", r.CheckoutToken, "status", o.Status, "reason", o.Reason)
		return &o, nil
	}
	if !sh.Installed() {
		return finish(store.CartOutcome{Status: store.CartSkipped, Reason: "uninstalled"}, nil, nil)
	}
	done, err := j.Store.CheckoutCompleted(ctx, r.ShopID, r.CheckoutToken)
	if err != nil {
		return nil, err
	}
	if done {
		return finish(store.CartOutcome{Status: store.CartCompleted}, nil, nil)
	}
	if r.CustomerEmail == "" && r.CustomerID == nil {
		return finish(store.CartOutcome{Status: store.CartSkipped, Reason: "no_contact"}, nil, nil)
	}
	camps, err := j.Store.ActiveCartCampaigns(ctx, r.ShopID, now)
	if err != nil {
		return nil, err
	}
	shopper := experiment.ShopperKey(r.CustomerID, r.CustomerEmail)
	reason := "no_campaign"
	var camp *store.Campaign
	var usage campaign.Usage
	for i := range camps {
		c := &camps[i]
		ok, why, u, err := j.cartEligible(ctx, c, r, now)
		if err != nil {
			return nil, err
		}
		if ok {
			camp, usage = c, u
			break
		}
		reason = why
	}
	if camp == nil {
		var cid *int64
		if len(camps) > 0 {
			cid = &camps[0].ID
		}
		return finish(store.CartOutcome{Status: store.CartSkipped, Reason: reason, CampaignID: cid}, nil, nil)
	}
	cid := camp.ID
	if j.cartArm(ctx, camp, shopper, r, now) == experiment.Control {
		return finish(store.CartOutcome{Status: store.CartHoldout, Reason: "holdout", CampaignID: &cid}, nil, nil)
	}
	expires := CartCodeExpiry(camp, now)
	perCustomer := 1
	if usage.CodesPerCustomer != nil && *usage.CodesPerCustomer > 1 {
		perCustomer = *usage.CodesPerCustomer
	}
	res, err := j.Store.IssueCode(ctx, store.IssueParams{ShopID: sh.ID, CampaignID: camp.ID, CustomerID: r.CustomerID,
		CustomerEmail: r.CustomerEmail, PartnerID: camp.PartnerID, ExpiresAt: &expires, PerCustomer: perCustomer,
		OncePerCustomer: usage.OncePerCustomer, Now: now, Event: func(c *store.Code) any { return CodeEventData(c, "") }})
	switch {
	case errors.Is(err, store.ErrShopperRedeemed):
		return finish(store.CartOutcome{Status: store.CartSkipped, Reason: "already_redeemed", CampaignID: &cid}, nil, nil)
	case errors.Is(err, store.ErrPoolEmpty):
		if qerr := EnqueuePoolCheck(ctx, j.Client, camp.ID); qerr != nil && j.Client != nil {
			j.Log.WarnContext(ctx, "pool refill trigger failed", "campaign_id", camp.ID, "err", qerr)
		}
		return nil, fmt.Errorf("jobs: cart check %s: %w", r.CheckoutToken, err)
	case err != nil:
		return nil, err
	}
	j.enqueueOutbound(ctx, res.OutboundIDs)
	code := res.Code
	recoveryURL := j.RecoveryURL(ctx, sh, code.Code, r.CheckoutToken)
	o := store.CartOutcome{Status: store.CartSent, CampaignID: &cid, Code: &code.Code, CodeExpiresAt: code.ExpiresAt, RecoveryURL: recoveryURL}
	var evIDs []int64
	return finish(o, &evIDs, func(ctx context.Context) error {
		data := outbound.CheckoutRecoveryData{CheckoutToken: r.CheckoutToken, Code: code.Code, CampaignID: strconv.FormatInt(camp.ID, 10),
			CustomerEmail: r.CustomerEmail, RecoveryURL: recoveryURL, Currency: r.Currency,
			CartValue: attribution.FormatMinor(r.TotalMinor, r.Currency)}
		if r.CustomerID != nil {
			s := strconv.FormatInt(*r.CustomerID, 10)
			data.CustomerID = &s
		}
		if code.ExpiresAt != nil {
			s := code.ExpiresAt.UTC().Format(time.RFC3339)
			data.ExpiresAt = &s
		}
		ids, err := j.Store.EmitEventAt(ctx, sh.ID, outbound.CheckoutRecoveryCode, data, now)
		if err != nil {
			return err
		}
		evIDs = ids
		if len(ids) == 0 {
			return nil // no endpoint listens: nothing was delivered by webhook
		}
		tok := r.CheckoutToken
		return j.Store.RecordCartTouchpoint(ctx, &store.CartTouchpoint{ShopID: sh.ID, CampaignID: &cid, Channel: store.CartChannelWebhook,
			Code: &code.Code, CheckoutToken: &tok, CustomerEmail: r.CustomerEmail, CustomerID: r.CustomerID, Trigger: "abandoned_checkout",
			ExpiresAt: code.ExpiresAt, CreatedAt: now})
	})
}

// cartArm assigns the checkout's shopper to an arm of the campaign's
// holdout experiment (the experiment package's deterministic assignment,
// the same the issue API uses) and records the assignment for both arms;
// a failed record is logged, the hash still decides.
func (j *Jobs) cartArm(ctx context.Context, camp *store.Campaign, shopper string, r *store.CartRecovery, now time.Time) string {
	if camp.Holdout <= 0 || shopper == "" {
		return experiment.Treatment
	}
	salt := camp.Salt
	if salt == "" {
		salt = strconv.FormatInt(camp.ID, 10)
	}
	arm := experiment.Assign(camp.ShopID, shopper, salt, camp.Holdout)
	err := j.Store.RecordAssignment(ctx, &store.Assignment{ShopID: camp.ShopID, CampaignID: camp.ID, Shopper: shopper, CustomerID: r.CustomerID,
		Email: r.CustomerEmail, Arm: arm, PartnerID: camp.PartnerID, AssignedAt: now})
	if err != nil {
		j.Log.WarnContext(ctx, "record experiment assignment failed", "campaign_id", camp.ID, "arm", arm, "err", err)
	}
	return arm
}

// cartEligible applies a cart-recovery campaign's rules to a checkout.
func (j *Jobs) cartEligible(ctx context.Context, c *store.Campaign, r *store.CartRecovery, now time.Time) (bool, string, campaign.Usage, error) {
	var usage campaign.Usage
	var rules campaign.Rules
	if len(c.Usage) > 0 {
		if err := json.Unmarshal(c.Usage, &usage); err != nil {
			return false, "", usage, fmt.Errorf("campaign %d usage: %w", c.ID, err)
		}
	}
	if len(c.Rules) > 0 {
		if err := json.Unmarshal(c.Rules, &rules); err != nil {
			return false, "", usage, fmt.Errorf("campaign %d rules: %w", c.ID, err)
		}
	}
	req := campaign.Request{}
	if c.PartnerID != nil {
		req.PartnerID = *c.PartnerID
	}
	if v := campaign.Check(rules, req); v != nil {
		return false, "rule_violation", usage, nil
	}
	cfg, err := j.Store.CartConfigOf(ctx, c.ShopID, c.ID)
	if err != nil {
		return false, "", usage, err
	}
	if r.TotalMinor < cfg.MinCartMinor {
		return false, "below_threshold", usage, nil
	}
	if cfg.OncePerDays > 0 {
		seen, err := j.Store.ShopperRecoveredSince(ctx, c.ShopID, c.ID, r.CustomerID, r.CustomerEmail, r.CheckoutToken,
			now.Add(-time.Duration(cfg.OncePerDays)*24*time.Hour))
		if err != nil {
			return false, "", usage, err
		}
		if seen {
			return false, "cooldown", usage, nil
		}
	}
	return true, "", usage, nil
}

// CartCodeExpiry is when a cart-recovery code issued at now expires: the
// campaign's code_ttl_hours (12 h by default), and never after the
// campaign ends.
func CartCodeExpiry(c *store.Campaign, now time.Time) time.Time {
	ttl := DefaultCartCodeTTL
	if c.CodeTTLHours != nil && *c.CodeTTLHours > 0 {
		ttl = time.Duration(*c.CodeTTLHours) * time.Hour
	}
	exp := now.Add(ttl)
	if c.EndsAt != nil && c.EndsAt.Before(exp) {
		exp = *c.EndsAt
	}
	return exp
}

// RecoveryURL is the storefront link that applies code and returns the
// shopper to their checkout: https://{shop}/discount/{CODE}?redirect=<the
// checkout's recovery path>. The shop's base comes from the Admin URL
// template (the shop's own origin in production, the dev store's
// /store/{shop} in development).
func (j *Jobs) RecoveryURL(ctx context.Context, sh *store.Shop, code, token string) string {
	base := "https://" + sh.Domain
	if j.Shops != nil && j.Shops.AdminURL != nil {
		base = strings.TrimRight(j.Shops.AdminURL(sh.Domain), "/")
	}
	redirect := "/checkout"
	if c, err := j.Store.CheckoutByToken(ctx, sh.ID, token); err == nil {
		if p := StorefrontPath(c.AbandonedCheckoutURL, base); p != "" {
			redirect = p
		}
	}
	return base + "/discount/" + url.PathEscape(code) + "?redirect=" + url.QueryEscape(redirect)
}

// StorefrontPath turns an absolute storefront URL into the relative path a
// /discount link may redirect to ("" when it is not usable).
func StorefrontPath(raw, base string) string {
	if raw == "" {
		return ""
	}
	if base != "" && strings.HasPrefix(raw, base+"/") {
		raw = raw[len(base):]
	} else if u, err := url.Parse(raw); err == nil && u.IsAbs() {
		raw = u.RequestURI()
	}
	if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") {
		return ""
	}
	return raw
}
