package jobs

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/devstore"
	"github.com/coupontrail/coupontrail/app/secrets"
	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/shopify/payload"
	"github.com/coupontrail/coupontrail/app/shops"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

// testClock is a settable clock shared by the dev store and the app, so
// order versions (whole seconds) can be told apart without sleeping.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type reconcileEnv struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	dev   *devstore.Store
	j     *Jobs
	mux   *asynq.ServeMux
	insp  *asynq.Inspector
	clock *testClock
	sh    *store.Shop
}

const (
	recShop   = "recon.myshopify.com"
	recKey    = "recon-key"
	recSecret = "recon-secret"
)

// newReconcileEnv starts an in-process dev store whose webhooks go nowhere
// (AppURL is a closed port, so every delivery fails), installs recShop in the
// app through token exchange, and builds Jobs with a shops.Service that
// reaches the dev store's Admin API.
func newReconcileEnv(t *testing.T) *reconcileEnv {
	t.Helper()
	ctx := context.Background()
	st, _ := storetest.New(t)
	redisURL := storetest.RedisDB(t)
	ropt, err := RedisOpt(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	insp := asynq.NewInspector(ropt)
	t.Cleanup(func() { _ = client.Close(); _ = insp.Close() })

	clock := &testClock{t: time.Now().UTC().Truncate(time.Second)}
	log := slog.New(slog.DiscardHandler)
	dev := devstore.New(devstore.Config{APIKey: recKey, APISecret: recSecret, AppURL: "http://127.0.0.1:1",
		Now: clock.Now, Logger: log, RetryScale: 1e-4, BulkDelay: 1})
	srv := httptest.NewServer(dev)
	dev.SetBaseURL(srv.URL)
	t.Cleanup(func() { srv.Close(); dev.Close() })
	if err := dev.CreateShop(recShop, devstore.PlanStandard); err != nil {
		t.Fatal(err)
	}

	var key [32]byte
	_, _ = rand.Read(key[:])
	kr, err := secrets.ParseKeyring(base64.StdEncoding.EncodeToString(key[:]))
	if err != nil {
		t.Fatal(err)
	}
	adminURL := shopify.AdminURLFunc(srv.URL + "/store/{shop}")
	svc := &shops.Service{
		Store: st, Keyring: kr, AdminURL: adminURL, APIVersion: admin.DefaultAPIVersion, HTTPClient: srv.Client(), Log: log, Now: clock.Now,
		Tokens:  &shopify.TokenClient{APIKey: recKey, APISecret: recSecret, HTTP: srv.Client(), AdminURL: adminURL, Now: clock.Now},
		Limiter: admin.NewMemoryLimiter(),
	}
	tok, err := dev.MintSessionToken(recShop, "1")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := svc.InstallWithSessionToken(ctx, recShop, tok)
	if err != nil {
		t.Fatal(err)
	}
	j := New(Deps{Store: st, Client: client, Shops: svc, Log: log, Now: clock.Now})
	return &reconcileEnv{t: t, ctx: ctx, st: st, dev: dev, j: j, mux: j.NewMux(), insp: insp, clock: clock, sh: sh}
}

// createOrder creates an order at the dev store (its webhooks are never
// delivered) and returns its id and its webhook body.
func (e *reconcileEnv) createOrder(email, price string) (int64, []byte) {
	e.t.Helper()
	o, err := e.dev.CreateOrder(recShop, devstore.OrderInput{Email: email, LandingSite: "/?ref=acme",
		LineItems: []devstore.LineItemInput{{Title: "Mug", Price: price, Quantity: 2}}})
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := json.Marshal(o)
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := payload.ParseOrder(b)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ID, b
}

// drain runs every pending task of queue through the app's mux, as a worker
// would, until the queue is empty, and returns how many tasks ran.
func (e *reconcileEnv) drain(queue string) int {
	e.t.Helper()
	n := 0
	for range 100 {
		tasks, err := e.insp.ListPendingTasks(queue)
		if err != nil || len(tasks) == 0 {
			return n
		}
		for _, ti := range tasks {
			if err := e.mux.ProcessTask(e.ctx, asynq.NewTask(ti.Type, ti.Payload)); err != nil {
				e.t.Fatalf("task %s: %v", ti.Type, err)
			}
			if err := e.insp.DeleteTask(queue, ti.ID); err != nil {
				e.t.Fatal(err)
			}
			n++
		}
	}
	e.t.Fatal("queue never drained")
	return n
}

func (e *reconcileEnv) deliveryCount() int {
	e.t.Helper()
	list, err := e.st.ListDeliveries(e.ctx, store.DeliveryFilter{ShopDomain: recShop, Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list)
}

func (e *reconcileEnv) orders() []store.Order {
	e.t.Helper()
	list, err := e.st.OrdersUpdatedSince(e.ctx, e.sh.ID, time.Time{}, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// TestReconcileRecordsUndeliveredOrdersOnce: orders whose webhooks never
// arrived are pulled through the Admin API, go through the webhook pipeline
// and appear exactly once; a second run finds nothing new; a later change to
// one of them is picked up as a new version.
func TestReconcileRecordsUndeliveredOrdersOnce(t *testing.T) {
	e := newReconcileEnv(t)
	delivered, body := e.createOrder("seen@example.com", "10.00")
	// This one's webhook did arrive: the app already has it at this version.
	oe := &orderEnv{t: t, st: e.st, j: e.j, sh: e.sh}
	oe.ok("orders/create", body)
	e.clock.Advance(time.Second)
	missedA, _ := e.createOrder("a@example.com", "12.50")
	e.clock.Advance(time.Second)
	missedB, _ := e.createOrder("b@example.com", "1999.99")
	e.clock.Advance(time.Minute)

	res, err := e.j.ReconcileShop(e.ctx, e.sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fetched != 3 || res.Recorded != 2 || res.Known != 1 {
		t.Fatalf("first run %+v, want fetched 3 recorded 2 known 1", res)
	}
	if ran := e.drain(QueueCritical); ran == 0 {
		t.Fatal("no webhook:process task enqueued")
	}
	got := e.orders()
	if len(got) != 3 {
		t.Fatalf("%d orders, want 3", len(got))
	}
	byID := map[int64]store.Order{}
	for _, o := range got {
		byID[o.OrderID] = o
	}
	if o := byID[delivered]; o.Source != store.OrderSourceWebhook || o.Email != "seen@example.com" {
		t.Fatalf("webhook order changed by reconcile: %+v", o)
	}
	a, b := byID[missedA], byID[missedB]
	if a.Source != store.OrderSourceReconcile || a.TotalMinor != 2500 || i64(a.CurrentTotalMinor) != 2500 || a.FinancialStatus != "paid" ||
		a.Name == "" || a.AdminGraphQLAPIID == "" || a.Currency != "USD" {
		t.Fatalf("reconciled order A %+v", a)
	}
	if b.TotalMinor != 399998 || b.FirstWebhookID != ReconcileWebhookID(missedB, b.OrderUpdatedAt) {
		t.Fatalf("reconciled order B total=%d first=%s", b.TotalMinor, b.FirstWebhookID)
	}
	ds, _ := e.st.ListDeliveries(e.ctx, store.DeliveryFilter{ShopDomain: recShop, Topic: "orders/updated"})
	for _, d := range ds {
		if d.Status != store.DeliveryProcessed {
			t.Fatalf("reconcile delivery %s is %s (%s)", d.WebhookID, d.Status, d.Error)
		}
	}
	st, err := e.st.ReconcileStateOf(e.ctx, e.sh.ID)
	if err != nil || !st.OrdersWatermark.Equal(b.OrderUpdatedAt) {
		t.Fatalf("watermark %+v %v, want %s", st, err, b.OrderUpdatedAt)
	}

	// Run again: nothing new, no new delivery, no new task.
	before := e.deliveryCount()
	e.clock.Advance(time.Minute)
	res, err = e.j.ReconcileShop(e.ctx, e.sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recorded != 0 || res.Known != 3 {
		t.Fatalf("second run %+v", res)
	}
	if n := e.drain(QueueCritical); n != 0 || e.deliveryCount() != before || len(e.orders()) != 3 {
		t.Fatalf("second run changed things: tasks %d deliveries %d->%d", n, before, e.deliveryCount())
	}

	// A refund at the store (webhooks lost again) is a new version of A.
	e.clock.Advance(time.Minute)
	if _, err := e.dev.CreateRefund(recShop, missedA, devstore.RefundInput{Amount: "5.00"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	res, err = e.j.ReconcileShop(e.ctx, e.sh.ID)
	if err != nil || res.Recorded != 1 {
		t.Fatalf("after refund %+v %v", res, err)
	}
	e.drain(QueueCritical)
	a2 := oe.order(missedA)
	if i64(a2.CurrentTotalMinor) != 2000 || a2.FinancialStatus != "partially_refunded" || !a2.OrderUpdatedAt.After(a.OrderUpdatedAt) {
		t.Fatalf("new version not applied: %+v", a2)
	}
	if len(e.orders()) != 3 {
		t.Fatal("new version made a new row")
	}
}

// TestReconcileAllFansOutPerShopAndWindow: the periodic task enqueues one
// orders:reconcile per installed shop and window; a repeat in the same
// window is absorbed; uninstalled shops get none and are skipped.
func TestReconcileAllFansOutPerShopAndWindow(t *testing.T) {
	e := newReconcileEnv(t)
	gone, err := e.st.InstallShop(e.ctx, "gone.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.MarkUninstalled(e.ctx, gone.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.mux.ProcessTask(e.ctx, asynq.NewTask(TypeOrdersReconcileAll, nil)); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := e.insp.ListPendingTasks(QueueLow)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Type != TypeOrdersReconcile || tasks[0].ID != ReconcileTaskID(e.sh.ID, e.clock.Now()) {
		t.Fatalf("tasks %+v", tasks)
	}
	// the next window gets its own task
	e.clock.Advance(reconcileEvery)
	if n, err := e.j.EnqueueReconciles(e.ctx); err != nil || n != 1 {
		t.Fatalf("next window: %d %v", n, err)
	}
	if tasks, _ := e.insp.ListPendingTasks(QueueLow); len(tasks) != 2 {
		t.Fatalf("%d tasks after the next window, want 2", len(tasks))
	}
	e.createOrder("x@example.com", "3.00")
	e.clock.Advance(time.Second)
	if n := e.drain(QueueLow); n != 2 {
		t.Fatalf("ran %d reconcile tasks", n)
	}
	e.drain(QueueCritical)
	if n := len(e.orders()); n != 1 {
		t.Fatalf("%d orders after two reconciles, want 1", n)
	}
	res, err := e.j.ReconcileShop(e.ctx, gone.ID)
	if err != nil || !res.Skipped {
		t.Fatalf("uninstalled shop: %+v %v", res, err)
	}
}

// TestReconcilePayloadParses: the synthetic body is what ParseOrder reads,
// with the summary's exact id and amounts.
func TestReconcilePayloadParses(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 9, 2, 10, 0, 0, 0, time.UTC)
	b, err := ReconcileOrderPayload(admin.OrderSummary{ID: "gid://shopify/Order/9007199254740993", LegacyResourceID: 9007199254740993,
		Name: "#1001", CreatedAt: at.Add(-time.Hour), UpdatedAt: at, DisplayFinancialStatus: "PARTIALLY_REFUNDED", SourceName: "web",
		CurrencyCode: "JPY", DiscountCodes: []string{"acme-7k3f"}, TotalPrice: admin.MoneyV2{Amount: "1999.0", CurrencyCode: "JPY"},
		CurrentTotalPrice: admin.MoneyV2{Amount: "1500.0", CurrencyCode: "JPY"}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := payload.ParseOrder(b)
	if err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	total, _ := o.TotalMinor()
	cur, _ := o.CurrentTotalMinor()
	if o.ID != 9007199254740993 || total != 1999 || cur != 1500 || o.FinancialStatus != "partially_refunded" ||
		o.DiscountCodes[0].Code != "acme-7k3f" || !o.UpdatedAt.Equal(at) {
		t.Fatalf("parsed %+v", o)
	}
	var marker struct {
		Source string `json:"source"`
	}
	if json.Unmarshal(b, &marker); marker.Source != "reconcile" {
		t.Fatalf("no source marker: %s", b)
	}
	if got := ReconcileWebhookID(9007199254740993, at); got != "reconcile:9007199254740993:"+strconv.FormatInt(at.UnixNano(), 10) {
		t.Fatal(got)
	}
	if !IsReconcileDelivery(&store.Delivery{WebhookID: ReconcileWebhookID(1, at)}) || IsReconcileDelivery(&store.Delivery{WebhookID: "b8f0c2e1-uuid"}) {
		t.Fatal("IsReconcileDelivery")
	}
}
