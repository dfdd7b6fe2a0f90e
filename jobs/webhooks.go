package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/shopify/payload"
	"github.com/coupontrail/coupontrail/app/store"
)

// maxDeliveryAttempts bounds how often one delivery is tried before it is
// marked failed and shown to the operator.
const maxDeliveryAttempts = 10

// ErrMalformed marks a payload that is signed but cannot be used; the delivery
// is marked failed with the reason and never retried.
var ErrMalformed = errors.New("malformed payload")

// errIgnore marks a delivery the app has nothing to do with.
var errIgnore = errors.New("ignored")

// TopicHandler processes one delivery inside the transaction carried by ctx.
// Returning nil marks it processed, ErrMalformed (wrapped) failed; any other
// error rolls the work back and retries.
type TopicHandler func(ctx context.Context, d *store.Delivery) error

func (j *Jobs) handleWebhookProcess(ctx context.Context, t *asynq.Task) error {
	var p WebhookProcessPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	if len(p.DeliveryIDs) > 1 && j.processTogether(ctx, p.DeliveryIDs) {
		return nil
	}
	var firstErr error
	for _, id := range p.DeliveryIDs {
		if err := j.ProcessDelivery(ctx, id); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// batchTopics are the topics whose deliveries may share one transaction:
// they only write orders, refunds and attribution, never the shop row
// (which a batch reads once).
var batchTopics = map[string]bool{
	"orders/create": true, "orders/paid": true, "orders/updated": true, "orders/cancelled": true, "refunds/create": true,
}

// processTogether processes a task's deliveries in one transaction: one
// lock statement, one status update and one commit for all of them, the
// shop and its partners read once. The outcome is the one each delivery
// would get on its own (the work commits with its delivery's status, or
// not at all). It reports false, with nothing written, when the deliveries
// must go one by one instead: a topic outside batchTopics, or any delivery
// failing (malformed, a database error, a deadlock with another batch) —
// ProcessDelivery then records each failure on its own.
func (j *Jobs) processTogether(ctx context.Context, ids []int64) bool {
	var done []store.DeliveryResult
	err := j.Store.InTx(ctx, func(ctx context.Context) error {
		ds, err := j.Store.LockPendingDeliveries(ctx, ids)
		if err != nil {
			return err
		}
		for i := range ds {
			if !batchTopics[ds[i].Topic] {
				return errNotBatchable
			}
		}
		if len(ds) == 0 {
			return nil
		}
		if err := j.Store.ForDeliveryWork(ctx, true); err != nil {
			return err
		}
		ctx = withBatchMemo(ctx)
		if err := j.prepareBatch(ctx, ds); err != nil {
			return err
		}
		done = make([]store.DeliveryResult, 0, len(ds))
		for i := range ds {
			d := &ds[i]
			herr := j.topics[d.Topic](ctx, d)
			switch {
			case herr == nil:
				done = append(done, store.DeliveryResult{ID: d.ID, Topic: d.Topic, Status: store.DeliveryProcessed})
			case errors.Is(herr, errIgnore):
				done = append(done, store.DeliveryResult{ID: d.ID, Topic: d.Topic, Status: store.DeliveryIgnored, Error: herr.Error()})
			default:
				return herr
			}
		}
		return j.Store.FinishDeliveries(ctx, done, j.Now())
	})
	if err != nil {
		if !errors.Is(err, errNotBatchable) {
			j.Log.DebugContext(ctx, "delivery batch falls back to one by one", "count", len(ids), "err", err)
		}
		return false
	}
	if j.Metrics != nil {
		for _, r := range done {
			j.Metrics.WebhookOutcomes.WithLabelValues(r.Topic, r.Status).Inc()
		}
	}
	return true
}

var errNotBatchable = errors.New("deliveries cannot share a transaction")

// batchMemo holds what the deliveries of one batch transaction read alike.
type batchMemo struct {
	shops    map[string]*store.Shop
	partners map[int64][]store.PartnerCommission
	// newOrders are the orders this batch recorded for the first time:
	// they cannot have a conversion yet (one is only ever created for a
	// recorded order, and orders are never deleted but with their shop).
	newOrders map[[2]int64]freshOrder
	// orders and refunds are the batch's payloads, parsed once by
	// prepareBatch, by delivery id; each is used by its handler once.
	orders  map[int64]*payload.Order
	refunds map[int64]*payload.Refund
	// recorded are the order versions prepareBatch recorded, by delivery.
	recorded map[int64]recorded
}

// prepareBatch parses the batch's order and refund payloads and takes the
// locks of every order they touch in one statement (the handlers would take
// them one by one). Then it records, in one statement, the new versions of
// the orders that only one delivery of the batch touches (orders/create,
// paid or updated, without embedded refunds): their handlers attribute them
// as recorded. Attribution reads no order but its own, so recording them
// before attributing any gives what one by one gives. A payload that does
// not parse, or a shop the app does not know, is left to its handler to
// report.
func (j *Jobs) prepareBatch(ctx context.Context, ds []store.Delivery) error {
	m := memoOf(ctx)
	touches := make(map[[2]int64]int, len(ds)) // deliveries per (shop, order)
	var rows []recorded                        // order versions to record, by delivery
	for i := range ds {
		d := &ds[i]
		sh, err := j.shopFor(ctx, d)
		switch {
		case errors.Is(err, errIgnore):
			continue
		case err != nil:
			return err
		}
		if d.Topic == "refunds/create" {
			if rf, err := payload.ParseRefund(d.Payload); err == nil {
				m.refunds[d.ID] = rf
				touches[[2]int64{sh.ID, rf.OrderID}]++
			}
			continue
		}
		o, err := payload.ParseOrder(d.Payload)
		if err != nil {
			continue
		}
		m.orders[d.ID] = o
		touches[[2]int64{sh.ID, o.ID}]++
		if d.Topic == "orders/cancelled" || len(o.Refunds) > 0 {
			continue
		}
		if row, err := orderRow(sh, o, d); err == nil {
			rows = append(rows, recorded{delivery: d.ID, row: row})
		}
	}
	if err := j.Store.LockOrders(ctx, slices.Collect(maps.Keys(touches))); err != nil {
		return err
	}
	rows = slices.DeleteFunc(rows, func(r recorded) bool { return touches[[2]int64{r.row.ShopID, r.row.OrderID}] > 1 })
	if len(rows) < 2 {
		return nil // one statement either way
	}
	once := make([]*store.Order, len(rows))
	for i, r := range rows {
		once[i] = r.row
	}
	recs, err := j.Store.RecordOrders(ctx, once, j.Now())
	if err != nil {
		return err
	}
	for i, r := range rows {
		r.rec = recs[i]
		m.recorded[r.delivery] = r
	}
	return nil
}

// recorded is an order version prepareBatch recorded for its delivery.
type recorded struct {
	delivery int64
	row      *store.Order
	rec      store.OrderRecorded
}

// takeRecorded returns (once) what prepareBatch recorded for delivery id.
func (m *batchMemo) takeRecorded(id int64) (recorded, bool) {
	if m == nil {
		return recorded{}, false
	}
	r, ok := m.recorded[id]
	delete(m.recorded, id)
	return r, ok
}

// parsedOrder is the delivery's order payload, parsed by its batch or now.
func parsedOrder(ctx context.Context, d *store.Delivery) (*payload.Order, error) {
	var m map[int64]*payload.Order
	if b := memoOf(ctx); b != nil {
		m = b.orders
	}
	return takeParsed(m, d, payload.ParseOrder)
}

// parsedRefund is the delivery's refund payload, parsed by its batch or now.
func parsedRefund(ctx context.Context, d *store.Delivery) (*payload.Refund, error) {
	var m map[int64]*payload.Refund
	if b := memoOf(ctx); b != nil {
		m = b.refunds
	}
	return takeParsed(m, d, payload.ParseRefund)
}

// takeParsed takes the delivery's payload out of m (each is used once), or
// parses it when m does not hold it.
func takeParsed[T any](m map[int64]*T, d *store.Delivery, parse func([]byte) (*T, error)) (*T, error) {
	if v, ok := m[d.ID]; ok {
		delete(m, d.ID)
		return v, nil
	}
	return parse(d.Payload)
}

// freshOrder is what recording a new order told about it.
type freshOrder struct {
	// row is the order as stored, when nothing changed it since (nil:
	// read it again).
	row *store.Order
	// noRefunds: no refund of the order was recorded.
	noRefunds bool
}

type batchMemoKey struct{}

func withBatchMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, batchMemoKey{}, &batchMemo{shops: map[string]*store.Shop{}, partners: map[int64][]store.PartnerCommission{},
		newOrders: map[[2]int64]freshOrder{}, orders: map[int64]*payload.Order{}, refunds: map[int64]*payload.Refund{},
		recorded: map[int64]recorded{}})
}

func memoOf(ctx context.Context) *batchMemo {
	m, _ := ctx.Value(batchMemoKey{}).(*batchMemo)
	return m
}

// ProcessDelivery processes one recorded delivery exactly once: the row lock,
// the topic's work and the final status commit in one transaction.
func (j *Jobs) ProcessDelivery(ctx context.Context, id int64) error {
	var topic string
	var status string
	err := j.Store.InTx(ctx, func(ctx context.Context) error {
		d, err := j.Store.LockPendingDelivery(ctx, id)
		if err != nil {
			return err
		}
		// The work and the delivery's status commit together, so a commit
		// lost in a database crash loses both and the sweeper redoes the
		// delivery: processing need not wait for the WAL flush (the intake's
		// commit, which Shopify's 200 depends on, still does).
		if err := j.Store.ForDeliveryWork(ctx, batchTopics[d.Topic]); err != nil {
			return err
		}
		topic = d.Topic
		h, ok := j.topics[d.Topic]
		if !ok {
			status = store.DeliveryIgnored
			return j.Store.FinishDelivery(ctx, id, store.DeliveryIgnored, "no handler for topic "+d.Topic, j.Now())
		}
		herr := h(ctx, d)
		switch {
		case herr == nil:
			status = store.DeliveryProcessed
			return j.Store.FinishDelivery(ctx, id, store.DeliveryProcessed, "", j.Now())
		case errors.Is(herr, errIgnore):
			status = store.DeliveryIgnored
			return j.Store.FinishDelivery(ctx, id, store.DeliveryIgnored, herr.Error(), j.Now())
		case errors.Is(herr, ErrMalformed):
			status = store.DeliveryFailed
			return malformedError{herr}
		default:
			return herr
		}
	})
	var me malformedError
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		return nil // done already, or another worker holds it
	case errors.As(err, &me):
		// The work rolled back; record the failure on its own.
		if ferr := j.Store.FinishDelivery(ctx, id, store.DeliveryFailed, me.err.Error(), j.Now()); ferr != nil {
			return ferr
		}
		j.Log.WarnContext(ctx, "webhook payload rejected", "delivery_id", id, "topic", topic, "err", me.err)
	default:
		if aerr := j.Store.RecordDeliveryAttempt(ctx, id, err.Error(), maxDeliveryAttempts, j.Now()); aerr != nil {
			j.Log.ErrorContext(ctx, "record delivery attempt", "delivery_id", id, "err", aerr)
		}
		if j.Metrics != nil {
			j.Metrics.WebhookOutcomes.WithLabelValues(topic, "retry").Inc()
		}
		return fmt.Errorf("process delivery %d (%s): %w", id, topic, err)
	}
	if j.Metrics != nil && status != "" {
		j.Metrics.WebhookOutcomes.WithLabelValues(topic, status).Inc()
	}
	return nil
}

type malformedError struct{ err error }

func (m malformedError) Error() string { return m.err.Error() }

// handleWebhookSweep re-enqueues deliveries that were recorded but never
// processed (Redis was down at intake, or a worker died mid-job).
func (j *Jobs) handleWebhookSweep(ctx context.Context, _ *asynq.Task) error {
	_, err := j.SweepDeliveries(ctx, SweepInterval())
	return err
}

// SweepInterval is how often the webhook sweeper runs and how long a
// delivery must have waited before it hands it out again:
// WEBHOOK_SWEEP_INTERVAL (a Go duration, 1s to 10m), else 30s. Shorter means
// faster recovery after a Redis loss or a dead worker, at the cost of
// enqueueing some deliveries twice while a backlog drains (harmless: the row
// lock decides).
func SweepInterval() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("WEBHOOK_SWEEP_INTERVAL")); err == nil && d >= time.Second && d <= 10*time.Minute {
		return d.Truncate(time.Second)
	}
	return 30 * time.Second
}

func webhookSweepPeriodic() PeriodicTask {
	iv := SweepInterval()
	return PeriodicTask{Spec: "@every " + iv.String(), Task: asynq.NewTask(TypeWebhookSweep, nil),
		Opts: []asynq.Option{asynq.Queue(QueueCritical), asynq.Unique(max(iv*5/6, time.Second)), asynq.MaxRetry(0)}}
}

// sweepChunk is how many deliveries one sweep task carries: small enough
// that a large backlog spreads over every worker.
const sweepChunk = 20

// SweepDeliveries enqueues processing for deliveries waiting longer than
// minAge and returns how many it handed out.
func (j *Jobs) SweepDeliveries(ctx context.Context, minAge time.Duration) (int, error) {
	total := 0
	var after int64
	for {
		ids, err := j.Store.StaleDeliveries(ctx, j.Now().Add(-minAge), after, 5000)
		if err != nil {
			return total, err
		}
		for i := 0; i < len(ids); i += sweepChunk {
			batch := ids[i:min(i+sweepChunk, len(ids))]
			taskID := fmt.Sprintf("sweep:%d-%d", batch[0], batch[len(batch)-1])
			if err := EnqueueDeliveries(ctx, j.Client, batch, asynq.TaskID(taskID)); err != nil {
				return total, err
			}
			total += len(batch)
		}
		if len(ids) < 5000 {
			return total, nil
		}
		after = ids[len(ids)-1]
	}
}
