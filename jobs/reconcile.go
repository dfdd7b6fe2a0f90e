package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/shops"
	"github.com/coupontrail/coupontrail/app/store"
)

// Order reconciliation catches the order webhooks Shopify never delivered
// (delivery is not guaranteed, §2.4): every 15 minutes it reads each
// installed shop's orders updated since its watermark through the Admin API
// and records every version the app has not seen as a synthetic orders/updated
// delivery in the inbox. Those deliveries go through the same pipeline as
// webhooks (one row per webhook id, processed exactly once in the row's
// transaction), so a reconciled order and a late webhook converge.
const (
	// TypeOrdersReconcileAll fans out one TypeOrdersReconcile per installed shop.
	TypeOrdersReconcileAll = "orders:reconcile-all"
	// TypeOrdersReconcile reconciles one shop's orders.
	TypeOrdersReconcile = "orders:reconcile"
)

// ReconcileWebhookPrefix starts the webhook id of every delivery that
// reconciliation records: "reconcile:<order id>:<updated_at unix nanos>".
// Shopify's own webhook ids are UUIDs, so the two never collide, and the same
// order version reconciled twice gets the same id (recorded once).
const ReconcileWebhookPrefix = "reconcile:"

const (
	// reconcileEvery is the period of TypeOrdersReconcileAll and the window
	// of the per-shop task ids.
	reconcileEvery = 15 * time.Minute
	// reconcileOverlap re-reads a margin before the watermark: Shopify's
	// search index lags writes, so an order updated just before the last
	// run may only show up now. Known versions are skipped, so the overlap
	// costs API points, not duplicates.
	reconcileOverlap = 10 * time.Minute
	// reconcileFirstLookback bounds the first run of a shop (no watermark
	// yet): from its install, but at most this far back.
	reconcileFirstLookback = 7 * 24 * time.Hour
	// reconcileMaxLookback is what read_orders can see.
	reconcileMaxLookback = 60 * 24 * time.Hour
	// reconcileTopic is the topic of the synthetic deliveries.
	reconcileTopic = "orders/updated"
)

// OrdersReconcilePayload names the shop to reconcile.
type OrdersReconcilePayload struct {
	ShopID int64 `json:"shop_id"`
}

// NewOrdersReconcileTask builds the task that reconciles one shop's orders.
func NewOrdersReconcileTask(shopID int64) (*asynq.Task, error) {
	b, err := json.Marshal(OrdersReconcilePayload{ShopID: shopID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeOrdersReconcile, b, asynq.Queue(QueueLow), asynq.MaxRetry(5), asynq.Timeout(10*time.Minute)), nil
}

// ReconcileTaskID is the task id of a shop's reconciliation in the window
// holding at: at most one per shop and window, whoever enqueues it.
func ReconcileTaskID(shopID int64, at time.Time) string {
	return fmt.Sprintf("orders:reconcile:%d:%d", shopID, at.UTC().Truncate(reconcileEvery).Unix())
}

// ReconcileWebhookID is the webhook id of the synthetic delivery for one
// order version.
func ReconcileWebhookID(orderID int64, updatedAt time.Time) string {
	return ReconcileWebhookPrefix + strconv.FormatInt(orderID, 10) + ":" + strconv.FormatInt(updatedAt.UnixNano(), 10)
}

// IsReconcileDelivery reports whether d was recorded by reconciliation rather
// than delivered by Shopify.
func IsReconcileDelivery(d *store.Delivery) bool {
	return strings.HasPrefix(d.WebhookID, ReconcileWebhookPrefix)
}

func (j *Jobs) handleOrdersReconcileAll(ctx context.Context, _ *asynq.Task) error {
	_, err := j.EnqueueReconciles(ctx)
	return err
}

// EnqueueReconciles enqueues one TypeOrdersReconcile per installed shop for
// the current window and returns how many it handed out. A task already
// enqueued for the shop and window counts as done.
func (j *Jobs) EnqueueReconciles(ctx context.Context) (int, error) {
	list, err := j.Store.InstalledShops(ctx)
	if err != nil {
		return 0, err
	}
	now := j.Now()
	n := 0
	var firstErr error
	for _, sh := range list {
		t, err := NewOrdersReconcileTask(sh.ID)
		if err != nil {
			return n, err
		}
		_, err = j.Client.EnqueueContext(ctx, t, asynq.TaskID(ReconcileTaskID(sh.ID, now)))
		if err != nil && !IsConflict(err) {
			// Keep going: one failure must not starve the other shops.
			if firstErr == nil {
				firstErr = fmt.Errorf("enqueue reconcile of shop %d: %w", sh.ID, err)
			}
			continue
		}
		n++
	}
	return n, firstErr
}

func (j *Jobs) handleOrdersReconcile(ctx context.Context, t *asynq.Task) error {
	var p OrdersReconcilePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ShopID == 0 {
		return fmt.Errorf("%w: bad %s payload %q", asynq.SkipRetry, t.Type(), t.Payload())
	}
	_, err := j.ReconcileShop(ctx, p.ShopID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err) // the shop was redacted since
	}
	return err
}

// ReconcileResult says what one shop's reconciliation did.
type ReconcileResult struct {
	// Fetched counts the order summaries read from the Admin API.
	Fetched int
	// Recorded counts the new synthetic deliveries, Known the versions the
	// app already had (or had already recorded a delivery for).
	Recorded, Known int
	// Watermark is the shop's watermark after the run.
	Watermark time.Time
	// Skipped is set when the shop is not installed: nothing was read.
	Skipped bool
}

// ReconcileShop reads the shop's orders updated since its watermark (minus
// reconcileOverlap) and records a synthetic orders/updated delivery for every
// order version the app has not seen, enqueued like a webhook. The watermark
// advances page by page to the newest updated_at read, only after that
// page's deliveries are committed, so a crash re-reads rather than skips.
// Uninstalled shops are skipped.
func (j *Jobs) ReconcileShop(ctx context.Context, shopID int64) (ReconcileResult, error) {
	var res ReconcileResult
	sh, err := j.Store.ShopByID(ctx, shopID)
	if err != nil {
		return res, err
	}
	if !sh.Installed() {
		res.Skipped = true
		return res, nil
	}
	if j.Shops == nil {
		return res, fmt.Errorf("%w: reconcile needs Deps.Shops", asynq.SkipRetry)
	}
	now := j.Now()
	watermark, err := j.reconcileStart(ctx, sh, now)
	if err != nil {
		return res, err
	}
	res.Watermark = watermark
	c, err := j.Shops.Admin(ctx, shopID)
	if errors.Is(err, shops.ErrNotInstalled) {
		res.Skipped = true
		return res, nil
	}
	if err != nil {
		return res, err
	}
	since := watermark.Add(-reconcileOverlap)
	if floor := now.Add(-reconcileMaxLookback); since.Before(floor) {
		since = floor
	}
	after := ""
	for {
		page, err := c.Orders(ctx, since, after)
		if err != nil {
			return res, fmt.Errorf("reconcile shop %d: %w", shopID, err)
		}
		res.Fetched += len(page.Orders)
		rec, known, err := j.recordReconciled(ctx, sh, page.Orders, now)
		if err != nil {
			return res, err
		}
		res.Recorded += rec
		res.Known += known
		for _, o := range page.Orders {
			if o.UpdatedAt.After(res.Watermark) {
				res.Watermark = o.UpdatedAt
			}
		}
		if err := j.Store.AdvanceReconcileWatermark(ctx, shopID, res.Watermark, now); err != nil {
			return res, err
		}
		if !page.HasNextPage || page.EndCursor == "" || len(page.Orders) == 0 {
			break
		}
		after = page.EndCursor
	}
	if res.Recorded > 0 {
		j.Log.InfoContext(ctx, "orders reconciled", "shop", sh.Domain, "fetched", res.Fetched, "recorded", res.Recorded,
			"known", res.Known, "watermark", res.Watermark)
	}
	return res, nil
}

// reconcileStart returns where the shop's reconciliation resumes: its
// watermark, or on the first run its install time bounded by
// reconcileFirstLookback.
func (j *Jobs) reconcileStart(ctx context.Context, sh *store.Shop, now time.Time) (time.Time, error) {
	st, err := j.Store.ReconcileStateOf(ctx, sh.ID)
	if err == nil {
		return st.OrdersWatermark, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return time.Time{}, err
	}
	start := now.Add(-reconcileFirstLookback)
	if sh.InstalledAt != nil && sh.InstalledAt.After(start) {
		start = *sh.InstalledAt
	}
	return start, nil
}

// recordReconciled records a synthetic delivery for each summary whose
// version is newer than the stored order, enqueues the new ones and returns
// how many it recorded and how many were known.
func (j *Jobs) recordReconciled(ctx context.Context, sh *store.Shop, page []admin.OrderSummary, now time.Time) (recorded, known int, err error) {
	ids := make([]int64, 0, len(page))
	for _, o := range page {
		ids = append(ids, o.LegacyResourceID)
	}
	versions, err := j.Store.KnownOrderVersions(ctx, sh.ID, ids)
	if err != nil {
		return 0, 0, err
	}
	apiVersion := j.Shops.APIVersion
	if apiVersion == "" {
		apiVersion = admin.DefaultAPIVersion
	}
	var batch []store.NewDelivery
	for _, o := range page {
		if o.LegacyResourceID == 0 {
			j.Log.WarnContext(ctx, "reconcile: order without legacyResourceId", "shop", sh.Domain, "gid", o.ID)
			continue
		}
		// PostgreSQL keeps microseconds; Shopify sends whole seconds.
		at := o.UpdatedAt.UTC().Truncate(time.Microsecond)
		if v, ok := versions[o.LegacyResourceID]; ok && !v.Before(at) {
			known++
			continue
		}
		body, err := ReconcileOrderPayload(o)
		if err != nil {
			return recorded, known, err
		}
		batch = append(batch, store.NewDelivery{
			ShopDomain: sh.Domain, WebhookID: ReconcileWebhookID(o.LegacyResourceID, o.UpdatedAt), Topic: reconcileTopic,
			APIVersion: apiVersion, TriggeredAt: &at, ReceivedAt: now, Payload: body,
		})
	}
	if len(batch) == 0 {
		return 0, known, nil
	}
	res, err := j.Store.InsertDeliveries(ctx, batch)
	if err != nil {
		return 0, known, err
	}
	var fresh []int64
	for _, r := range res {
		if r.Duplicate {
			known++ // recorded by an earlier run; processed or swept from the inbox
			continue
		}
		fresh = append(fresh, r.ID)
	}
	for i := 0; i < len(fresh); i += 100 {
		ids := fresh[i:min(i+100, len(fresh))]
		taskID := fmt.Sprintf("reconcile:%d-%d", ids[0], ids[len(ids)-1])
		if err := EnqueueDeliveries(ctx, j.Client, ids, asynq.TaskID(taskID)); err != nil {
			// The rows are committed: the sweeper hands them out within a minute.
			j.Log.WarnContext(ctx, "reconcile: enqueue deliveries", "shop", sh.Domain, "count", len(ids), "err", err)
		}
	}
	return len(fresh), known, nil
}

// reconcileMoney is one REST *_set bag, shop side only.
type reconcileMoney struct {
	ShopMoney struct {
		Amount       string `json:"amount"`
		CurrencyCode string `json:"currency_code"`
	} `json:"shop_money"`
}

// reconcileOrder is the REST-shaped order reconciliation records for a
// summary: what payload.ParseOrder reads, with a "source":"reconcile" marker
// for people reading the inbox.
//
// The Admin summary (admin.OrderSummary) lacks fields a webhook carries:
// email, customer, checkout_token, subtotal_price, total_discounts, shipping,
// discount-code amounts, landing_site, referring_site, client_details,
// note_attributes, line items and refunds. They are absent here, and the
// store keeps the values a webhook recorded for them (OrderSourceReconcile);
// an order known only through reconciliation has them empty or NULL.
type reconcileOrder struct {
	ID                   int64            `json:"id"`
	AdminGraphQLAPIID    string           `json:"admin_graphql_api_id,omitempty"`
	Name                 string           `json:"name,omitempty"`
	CreatedAt            time.Time        `json:"created_at"`
	UpdatedAt            time.Time        `json:"updated_at"`
	CancelledAt          *time.Time       `json:"cancelled_at"`
	Test                 bool             `json:"test"`
	FinancialStatus      string           `json:"financial_status,omitempty"`
	SourceName           string           `json:"source_name,omitempty"`
	Currency             string           `json:"currency"`
	TotalPrice           string           `json:"total_price,omitempty"`
	TotalPriceSet        *reconcileMoney  `json:"total_price_set,omitempty"`
	CurrentTotalPrice    string           `json:"current_total_price,omitempty"`
	CurrentTotalPriceSet *reconcileMoney  `json:"current_total_price_set,omitempty"`
	CurrentSubtotalPrice string           `json:"current_subtotal_price,omitempty"`
	CurrentSubtotalSet   *reconcileMoney  `json:"current_subtotal_price_set,omitempty"`
	DiscountCodes        []map[string]any `json:"discount_codes"`
	Source               string           `json:"source"`
}

// ReconcileOrderPayload renders an Admin order summary as the REST order JSON
// an orders/updated webhook would carry, as far as the summary allows.
func ReconcileOrderPayload(o admin.OrderSummary) ([]byte, error) {
	money := func(m admin.MoneyV2) (string, *reconcileMoney) {
		if m.Amount == "" {
			return "", nil
		}
		var r reconcileMoney
		r.ShopMoney.Amount = m.Amount
		r.ShopMoney.CurrencyCode = firstNonEmpty(m.CurrencyCode, o.CurrencyCode)
		return m.Amount, &r
	}
	r := reconcileOrder{
		ID: o.LegacyResourceID, AdminGraphQLAPIID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt,
		CancelledAt: o.CancelledAt, Test: o.Test, SourceName: o.SourceName, Currency: o.CurrencyCode,
		// displayFinancialStatus is the REST financial_status upper-cased
		// (PAID, PARTIALLY_REFUNDED, ...).
		FinancialStatus: strings.ToLower(o.DisplayFinancialStatus),
		DiscountCodes:   []map[string]any{},
		Source:          store.OrderSourceReconcile,
	}
	r.TotalPrice, r.TotalPriceSet = money(o.TotalPrice)
	r.CurrentTotalPrice, r.CurrentTotalPriceSet = money(o.CurrentTotalPrice)
	r.CurrentSubtotalPrice, r.CurrentSubtotalSet = money(o.CurrentSubtotalPrice)
	for _, c := range o.DiscountCodes {
		r.DiscountCodes = append(r.DiscountCodes, map[string]any{"code": c})
	}
	return json.Marshal(r)
}

// registerOrderJobs adds the reconciliation task types to mux.
func (j *Jobs) registerOrderJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeOrdersReconcileAll, j.handleOrdersReconcileAll)
	mux.HandleFunc(TypeOrdersReconcile, j.handleOrdersReconcile)
}

// ordersPeriodic schedules the fan-out every reconcileEvery; Unique keeps one
// per period across scheduler replicas.
func ordersPeriodic() []PeriodicTask {
	return []PeriodicTask{{
		Spec: "@every 15m", Task: asynq.NewTask(TypeOrdersReconcileAll, nil),
		Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(reconcileEvery - time.Minute), asynq.MaxRetry(2), asynq.Timeout(5 * time.Minute)},
	}}
}
