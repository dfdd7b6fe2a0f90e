package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/campaign"
	"github.com/coupontrail/coupontrail/app/codes"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/shops"
	"github.com/coupontrail/coupontrail/app/store"
)

// Campaign task types.
const (
	// TypeCampaignSync brings a campaign's one Shopify code discount in line
	// with the campaign (create, update, activate, deactivate).
	TypeCampaignSync = "campaign:sync"
	// TypeCampaignSyncSweep re-enqueues syncs that Redis lost or that never
	// ran.
	TypeCampaignSyncSweep = "campaign:sync-sweep"
	// TypeCampaignEndDue ends the campaigns whose ends_at has passed and
	// syncs the end to Shopify like a manual end.
	TypeCampaignEndDue = "campaign:end-due"
)

// errSyncBusy means another worker is syncing the same campaign; the task
// is retried.
var errSyncBusy = errors.New("campaign sync already running")

// CampaignSyncPayload names the campaign and the rules version that asked
// for the sync (the row is the truth; the version only keys the task id).
type CampaignSyncPayload struct {
	ShopID     int64 `json:"shop_id"`
	CampaignID int64 `json:"campaign_id"`
	Version    int   `json:"version"`
}

// NewCampaignSyncTask builds the sync task. Its TaskID is per campaign and
// rules version, so repeated enqueues of the same change dedupe.
func NewCampaignSyncTask(shopID, campaignID int64, version int) (*asynq.Task, error) {
	b, err := json.Marshal(CampaignSyncPayload{ShopID: shopID, CampaignID: campaignID, Version: version})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeCampaignSync, b, asynq.Queue(QueueDefault), asynq.MaxRetry(15), asynq.Timeout(2*time.Minute),
		asynq.TaskID(fmt.Sprintf("campaign:sync:%d:v%d", campaignID, version))), nil
}

// EnqueueCampaignSync enqueues a sync after the change was committed; an
// existing task for the same version counts as success.
func EnqueueCampaignSync(ctx context.Context, c *asynq.Client, shopID, campaignID int64, version int) error {
	t, err := NewCampaignSyncTask(shopID, campaignID, version)
	if err != nil {
		return err
	}
	_, err = c.EnqueueContext(ctx, t)
	if IsConflict(err) {
		return nil
	}
	return err
}

// registerCampaignJobs adds this feature's task handlers to the mux.
func (j *Jobs) registerCampaignJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeCampaignSync, j.handleCampaignSync)
	mux.HandleFunc(TypeCampaignSyncSweep, j.handleCampaignSyncSweep)
	mux.HandleFunc(TypeCampaignEndDue, j.handleCampaignEndDue)
}

// campaignPeriodic lists this feature's scheduler entries.
func campaignPeriodic() []PeriodicTask {
	return []PeriodicTask{{
		Spec: "@every 1m", Task: asynq.NewTask(TypeCampaignSyncSweep, nil),
		Opts: []asynq.Option{asynq.Queue(QueueDefault), asynq.Unique(55 * time.Second), asynq.MaxRetry(0)},
	}, {
		Spec: "@every 1m", Task: asynq.NewTask(TypeCampaignEndDue, nil),
		Opts: []asynq.Option{asynq.Queue(QueueDefault), asynq.Unique(55 * time.Second), asynq.MaxRetry(0)},
	}}
}

func (j *Jobs) handleCampaignEndDue(ctx context.Context, _ *asynq.Task) error {
	_, err := j.EndDueCampaigns(ctx)
	return err
}

// EndDueCampaigns ends every campaign past its ends_at (at j.Now) and
// enqueues its sync, which deactivates the Shopify discount as a manual
// end does; it returns how many it ended. It is idempotent: an ended
// campaign is not selected again, and a sync whose enqueue failed is found
// by the sync sweep (sync pending).
func (j *Jobs) EndDueCampaigns(ctx context.Context) (int, error) {
	n := 0
	for {
		refs, err := j.Store.EndDueCampaigns(ctx, j.Now(), 200)
		if err != nil {
			return n, fmt.Errorf("jobs: end due campaigns: %w", err)
		}
		n += len(refs)
		for _, r := range refs {
			j.Log.InfoContext(ctx, "campaign ended at its ends_at", "shop_id", r.ShopID, "campaign_id", r.ID)
			if err := EnqueueCampaignSync(ctx, j.Client, r.ShopID, r.ID, r.RulesVersion); err != nil {
				j.Log.WarnContext(ctx, "enqueue campaign sync (the sweep retries)", "campaign_id", r.ID, "err", err)
			}
		}
		if len(refs) < 200 {
			return n, nil
		}
	}
}

func (j *Jobs) handleCampaignSyncSweep(ctx context.Context, _ *asynq.Task) error {
	var after int64
	for {
		refs, err := j.Store.CampaignsToSync(ctx, after, 500)
		if err != nil {
			return err
		}
		for _, r := range refs {
			if err := EnqueueCampaignSync(ctx, j.Client, r.ShopID, r.ID, r.RulesVersion); err != nil {
				return fmt.Errorf("jobs: sweep campaign %d: %w", r.ID, err)
			}
			after = r.ID
		}
		if len(refs) < 500 {
			return nil
		}
	}
}

// handleCampaignSync makes Shopify reflect the campaign. It is idempotent
// and safe to run concurrently: an advisory lock serialises syncs of one
// campaign, and the discount is created at most once because its code (the
// campaign's internal code) is stored before the create and looked up with
// codeDiscountNodeByCode first — a crash between Shopify's answer and our
// commit finds the discount instead of creating a second one.
//
// Shopify is called first and the outcome written at the end, so the
// campaign row is locked only for the final update.
func (j *Jobs) handleCampaignSync(ctx context.Context, t *asynq.Task) error {
	var p CampaignSyncPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.CampaignID == 0 {
		return fmt.Errorf("jobs: campaign sync payload: %v: %w", err, asynq.SkipRetry)
	}
	if err := j.ensureInternalCode(ctx, p.ShopID, p.CampaignID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if errors.Is(err, codes.ErrInvalidFormat) {
			return fmt.Errorf("jobs: campaign %d internal code: %v: %w", p.CampaignID, err, asynq.SkipRetry)
		}
		return fmt.Errorf("jobs: campaign %d internal code: %w", p.CampaignID, err)
	}
	var permanent, transient error
	err := j.Store.InTx(ctx, func(ctx context.Context) error {
		ok, err := j.Store.TryLockCampaignSync(ctx, p.CampaignID)
		if err != nil {
			return err
		}
		if !ok {
			transient = errSyncBusy
			return nil
		}
		c, err := j.Store.CampaignByID(ctx, p.ShopID, p.CampaignID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // deleted with its shop
		}
		if err != nil {
			return err
		}
		res, err := j.syncCampaign(ctx, c)
		now := j.Now()
		if res.discountID != "" && (c.ShopifyDiscountID == nil || *c.ShopifyDiscountID != res.discountID) {
			if werr := j.Store.SetCampaignDiscountID(ctx, c.ShopID, c.ID, res.discountID, now); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil:
			return j.Store.MarkCampaignSynced(ctx, c.ShopID, c.ID, c.RulesVersion, now)
		case isPermanentSyncError(err):
			permanent = err
			return j.Store.MarkCampaignSyncFailed(ctx, c.ShopID, c.ID, c.RulesVersion, syncMessage(err), now)
		default:
			transient = err
			return j.Store.NoteCampaignSyncError(ctx, c.ShopID, c.ID, "retrying: "+syncMessage(err))
		}
	})
	switch {
	case err != nil:
		return fmt.Errorf("jobs: campaign %d sync: %w", p.CampaignID, err)
	case permanent != nil:
		j.Log.WarnContext(ctx, "campaign sync failed", "shop_id", p.ShopID, "campaign_id", p.CampaignID, "err", permanent)
		return fmt.Errorf("jobs: campaign %d sync: %v: %w", p.CampaignID, permanent, asynq.SkipRetry)
	case transient != nil:
		return fmt.Errorf("jobs: campaign %d sync: %w", p.CampaignID, transient)
	}
	return nil
}

func isPermanentSyncError(err error) bool {
	var ue *admin.UserErrors
	return errors.As(err, &ue) || errors.Is(err, admin.ErrInvalidInput) ||
		errors.Is(err, shops.ErrNotInstalled) || errors.Is(err, codes.ErrInvalidFormat)
}

// syncMessage is the error as the merchant sees it: Shopify's userErrors
// messages when there are some.
func syncMessage(err error) string {
	var ue *admin.UserErrors
	if errors.As(err, &ue) {
		msgs := make([]string, 0, len(ue.Errors))
		for _, u := range ue.Errors {
			m := u.Message
			if u.Code != "" {
				m = u.Code + ": " + m
			}
			msgs = append(msgs, m)
		}
		return strings.Join(msgs, "; ")
	}
	return err.Error()
}

type syncResult struct {
	discountID string
}

// syncCampaign runs the Shopify calls for c and returns the discount id it
// knows of (also on error, so a created discount is recorded).
func (j *Jobs) syncCampaign(ctx context.Context, c *store.Campaign) (syncResult, error) {
	var res syncResult
	if c.ShopifyDiscountID != nil {
		res.discountID = *c.ShopifyDiscountID
	}
	if c.Status == campaign.StatusDraft {
		return res, nil // nothing goes to Shopify before activation
	}
	if res.discountID == "" && c.Status == campaign.StatusEnded {
		return res, nil // ended before it ever reached Shopify: nothing to end
	}
	spec, err := campaign.SpecOf(storedOf(c))
	if err != nil {
		return res, fmt.Errorf("%w: %v", admin.ErrInvalidInput, err)
	}
	terms := campaign.TermsOf(spec, c.ID)
	cl, err := j.Shops.Admin(ctx, c.ShopID)
	if err != nil {
		return res, err
	}
	// Free-shipping campaigns have their own discount type and mutations;
	// everything else is a basic (amount off) discount.
	create := func(code string) (string, error) {
		if terms.FreeShipping {
			return cl.DiscountCodeFreeShippingCreate(ctx, FreeShippingInput(terms, code))
		}
		return cl.DiscountCodeBasicCreate(ctx, DiscountInput(terms, code))
	}
	update := func() error {
		if terms.FreeShipping {
			return cl.DiscountCodeFreeShippingUpdate(ctx, res.discountID, FreeShippingInput(terms, ""))
		}
		return cl.DiscountCodeBasicUpdate(ctx, res.discountID, DiscountInput(terms, ""))
	}
	created := false
	if res.discountID == "" {
		code, err := j.Store.CampaignInternalCode(ctx, c.ShopID, c.ID)
		if err != nil {
			return res, err
		}
		if code == "" {
			return res, errors.New("campaign has no internal code yet")
		}
		node, err := cl.CodeDiscountNodeByCode(ctx, code)
		switch {
		case err == nil:
			res.discountID = node.ID // created by an earlier run that died before its commit
		case errors.Is(err, admin.ErrNotFound):
			id, err := create(code)
			if err != nil {
				return res, err
			}
			res.discountID, created = id, true
		default:
			return res, err
		}
	}
	switch c.Status {
	case campaign.StatusActive:
		if created {
			return res, nil
		}
		// Activate first: it may move startsAt to now (and clears an end
		// that deactivate set); the update then restores the campaign's
		// window.
		if err := cl.DiscountCodeActivate(ctx, res.discountID); err != nil {
			return res, err
		}
		return res, update()
	default: // paused, ended: keep the terms current, then end the discount now
		if !created {
			if err := update(); err != nil {
				return res, err
			}
		}
		return res, cl.DiscountCodeDeactivate(ctx, res.discountID)
	}
}

// ensureInternalCode draws and stores (committed, before any create) an
// internal code for a campaign that has none — campaigns made before
// migration 0006; the API draws one at creation.
func (j *Jobs) ensureInternalCode(ctx context.Context, shopID, id int64) error {
	code, err := j.Store.CampaignInternalCode(ctx, shopID, id)
	if err != nil || code != "" {
		return err
	}
	c, err := j.Store.CampaignByID(ctx, shopID, id)
	if err != nil {
		return err
	}
	spec, err := campaign.SpecOf(storedOf(c))
	if err != nil {
		return err
	}
	code, err = NewInternalCode(spec.Code, j.Rand)
	if err != nil {
		return err
	}
	return j.Store.SetCampaignInternalCode(ctx, shopID, id, code)
}

// NewInternalCode draws the code a campaign's Shopify discount is created
// with: a random code of the campaign's own format (so it looks like every
// other code of the campaign) that is never issued to anybody. The
// discount exists — and can take redeem codes — before any real code is
// pushed; it is left active, because deactivating it would end the whole
// discount and every code in it. A collision with a later generated code is
// caught like any other: Shopify reports that code TAKEN and the generator
// makes another.
func NewInternalCode(f campaign.CodeFormat, rand io.Reader) (string, error) {
	g := codes.NewGenerator(codes.Format{Prefix: f.Prefix, Length: f.Length, CheckChar: f.CheckChar, Separator: f.Separator, GroupSize: f.GroupSize}, rand)
	code := g.Next()
	if err := g.Err(); err != nil {
		return "", err
	}
	return code, nil
}

// storedOf converts a campaign row for the domain package.
func storedOf(c *store.Campaign) campaign.Stored {
	return campaign.Stored{Name: c.Name, Goal: c.Goal, PartnerID: c.PartnerID, Discount: c.Discount, Code: c.CodeFormat,
		Usage: c.Usage, Rules: c.Rules, StartsAt: c.StartsAt, EndsAt: c.EndsAt, CodeTTLHours: c.CodeTTLHours,
		Holdout: c.Holdout, HoldDays: c.HoldDays}
}

// clearOf is what an update removes in Shopify because the campaign no
// longer has it: the end date, the usage limit, the minimum subtotal.
func clearOf(t campaign.Terms, code string) admin.DiscountClear {
	if code != "" {
		return admin.DiscountClear{} // a create has nothing to remove
	}
	return admin.DiscountClear{EndsAt: t.EndsAt == nil, UsageLimit: t.UsageLimit == nil, MinimumRequirement: t.MinSubtotal == ""}
}

// FreeShippingInput maps free-shipping campaign terms onto the 2026-07
// DiscountCodeFreeShippingInput: shipping is free to every country (the
// app enforces the campaign's countries when it issues codes). code is set
// on create only; an update also removes what the campaign no longer has.
func FreeShippingInput(t campaign.Terms, code string) admin.DiscountCodeFreeShippingInput {
	starts := t.StartsAt
	in := admin.DiscountCodeFreeShippingInput{
		Title: t.Title, Code: code, StartsAt: &starts, EndsAt: t.EndsAt, Context: admin.ContextAll(), Destination: admin.DestinationAll(),
		UsageLimit: t.UsageLimit, AppliesOncePerCustomer: &t.OncePerCustomer,
		CombinesWith: &admin.DiscountCombinesWithInput{OrderDiscounts: t.CombinesWith.OrderDiscounts,
			ProductDiscounts: t.CombinesWith.ProductDiscounts, ShippingDiscounts: t.CombinesWith.ShippingDiscounts},
		Clear: clearOf(t, code),
	}
	if t.MinSubtotal != "" {
		in.MinimumRequirement = &admin.DiscountMinimumRequirementInput{
			Subtotal: &admin.DiscountMinimumSubtotalInput{GreaterThanOrEqualToSubtotal: t.MinSubtotal}}
	}
	return in
}

// DiscountInput maps campaign terms onto the 2026-07 DiscountCodeBasicInput.
// code is set on create only (an update never renames the discount's code,
// and removes what the campaign no longer has: end date, usage limit,
// minimum subtotal). Everyone is eligible (context all): the app enforces
// who gets a code.
func DiscountInput(t campaign.Terms, code string) admin.DiscountCodeBasicInput {
	starts := t.StartsAt
	in := admin.DiscountCodeBasicInput{
		Title: t.Title, Code: code, StartsAt: &starts, EndsAt: t.EndsAt, Context: admin.ContextAll(),
		UsageLimit: t.UsageLimit, AppliesOncePerCustomer: &t.OncePerCustomer,
		CombinesWith: &admin.DiscountCombinesWithInput{OrderDiscounts: t.CombinesWith.OrderDiscounts,
			ProductDiscounts: t.CombinesWith.ProductDiscounts, ShippingDiscounts: t.CombinesWith.ShippingDiscounts},
		Clear: clearOf(t, code),
	}
	value := &admin.DiscountCustomerGetsValueInput{}
	if t.Percentage != nil {
		p := *t.Percentage
		value.Percentage = &p
	} else {
		value.DiscountAmount = &admin.DiscountAmountInput{Amount: t.Amount, AppliesOnEachItem: false}
	}
	items := &admin.DiscountItemsInput{}
	switch {
	case len(t.Products) > 0:
		items.Products = &admin.DiscountProductsInput{ProductsToAdd: gids("Product", t.Products)}
	case len(t.Collections) > 0:
		items.Collections = &admin.DiscountCollectionsInput{Add: gids("Collection", t.Collections)}
	default:
		all := true
		items.All = &all
	}
	in.CustomerGets = &admin.DiscountCustomerGetsInput{Value: value, Items: items}
	if t.MinSubtotal != "" {
		in.MinimumRequirement = &admin.DiscountMinimumRequirementInput{
			Subtotal: &admin.DiscountMinimumSubtotalInput{GreaterThanOrEqualToSubtotal: t.MinSubtotal}}
	}
	return in
}

// gids turns numeric ids into GIDs of kind and keeps GIDs as they are.
func gids(kind string, ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if _, err := strconv.ParseInt(id, 10, 64); err == nil {
			id = "gid://shopify/" + kind + "/" + id
		}
		out = append(out, id)
	}
	return out
}
