// Package webhooks receives Shopify webhooks: it verifies the HMAC over the
// raw body, records the delivery in the PostgreSQL inbox, enqueues processing
// and answers. It never calls Shopify and never processes a payload itself.
//
// Intake uses group commit: concurrent deliveries are gathered into one
// multi-row insert and one transaction, each request is answered 200 only
// after the commit that holds its row, and one queue task carries the ids of
// a whole batch. Enqueueing happens after the answer and off the request
// path; if Redis is down the rows stay "received" and the sweeper hands them
// out later, so a delivery that got 200 is never lost.
package webhooks

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/metrics"
	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/store"
)

// Recorder persists a batch of deliveries in one commit.
type Recorder interface {
	InsertDeliveries(ctx context.Context, ds []store.NewDelivery) ([]store.InsertedDelivery, error)
}

// Enqueuer hands a batch of recorded delivery ids to the workers.
type Enqueuer func(ctx context.Context, ids []int64) error

// Options configures an Intake.
type Options struct {
	Secrets   [][]byte // current secret first, then previous ones during rotation
	BodyLimit int64
	Recorder  Recorder
	Enqueue   Enqueuer
	Log       *slog.Logger
	Metrics   *metrics.Metrics
	Now       func() time.Time
	// Flushers is how many batches may commit at once; MaxBatch bounds a batch.
	Flushers int
	MaxBatch int
}

// Intake is the webhook receiver.
type Intake struct {
	o       Options
	reqs    chan *pending
	enqueue chan []int64
	wg      sync.WaitGroup
	enqWG   sync.WaitGroup
	once    sync.Once
	// bodies recycles request buffers once their batch has committed: at
	// thousands of 6-15 KB deliveries a second they are most of the garbage.
	bodies sync.Pool
}

type pending struct {
	d    store.NewDelivery
	done chan result
}

type result struct {
	ins store.InsertedDelivery
	err error
}

// New starts an Intake's flushers; Close stops them.
func New(o Options) *Intake {
	if o.Flushers <= 0 {
		// One committer gathers the largest batches; measured best on 2
		// cores (see the closing notes of the intake benchmark).
		o.Flushers = 1
		if v, err := strconv.Atoi(os.Getenv("WEBHOOK_FLUSHERS")); err == nil && v > 0 {
			o.Flushers = v
		}
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 128
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = 1 << 20
	}
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	in := &Intake{o: o, reqs: make(chan *pending, 4096), enqueue: make(chan []int64, 1024)}
	for i := 0; i < o.Flushers; i++ {
		in.wg.Add(1)
		go in.flusher()
	}
	in.enqWG.Add(1)
	go in.enqueuer()
	return in
}

// Close waits for queued deliveries to commit, then stops. Call it after the
// HTTP server has stopped accepting requests.
func (in *Intake) Close() {
	in.once.Do(func() {
		close(in.reqs)
		in.wg.Wait()
		close(in.enqueue)
		in.enqWG.Wait()
	})
}

// Handle is the echo handler for POST /webhooks.
func (in *Intake) Handle(c echo.Context) error {
	r := c.Request()
	topic := r.Header.Get("X-Shopify-Topic")
	body, err := in.readBody(c.Response(), r, in.o.BodyLimit)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			in.count(topic, "too_large")
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "webhook body exceeds the limit")
		}
		return echo.NewHTTPError(http.StatusBadRequest, "cannot read body")
	}
	// Verify before anything else; never reveal the expected value.
	if !shopify.VerifyWebhookAny(in.o.Secrets, body, r.Header.Get("X-Shopify-Hmac-Sha256")) {
		in.putBuf(body)
		in.count(topic, "bad_hmac")
		return echo.NewHTTPError(http.StatusUnauthorized, "invalid webhook signature")
	}
	shop := strings.ToLower(r.Header.Get("X-Shopify-Shop-Domain"))
	webhookID := r.Header.Get("X-Shopify-Webhook-Id")
	if topic == "" || webhookID == "" || !shopify.ValidShopDomain(shop) {
		in.count(topic, "bad_headers")
		return echo.NewHTTPError(http.StatusBadRequest, "missing X-Shopify-Topic, X-Shopify-Webhook-Id or a valid X-Shopify-Shop-Domain")
	}
	d := store.NewDelivery{
		ShopDomain: shop, WebhookID: webhookID, Topic: topic,
		APIVersion: r.Header.Get("X-Shopify-API-Version"), EventID: r.Header.Get("X-Shopify-Event-Id"),
		ReceivedAt: in.o.Now(), Payload: body,
	}
	if ts := r.Header.Get("X-Shopify-Triggered-At"); ts != "" {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			d.TriggeredAt = &t
		}
	}
	res, err := in.Submit(r.Context(), d)
	if err != nil {
		in.count(topic, "error")
		in.o.Log.ErrorContext(r.Context(), "webhook not recorded", "topic", topic, "shop", shop, "webhook_id", webhookID, "err", err)
		// Not acknowledged: Shopify delivers it again.
		return echo.NewHTTPError(http.StatusServiceUnavailable, "delivery not recorded, retry later")
	}
	if res.Duplicate {
		in.count(topic, "duplicate")
	} else {
		in.count(topic, "recorded")
	}
	return c.NoContent(http.StatusOK)
}

// Submit records one delivery through the group committer and returns once
// its batch has committed (or failed).
func (in *Intake) Submit(ctx context.Context, d store.NewDelivery) (store.InsertedDelivery, error) {
	p := &pending{d: d, done: make(chan result, 1)}
	select {
	case in.reqs <- p:
	case <-ctx.Done():
		return store.InsertedDelivery{}, ctx.Err()
	}
	// Wait for the commit even if the client goes away: the row may already
	// be durable and the batch must not be abandoned half-answered.
	r := <-p.done
	return r.ins, r.err
}

func (in *Intake) flusher() {
	defer in.wg.Done()
	batch := make([]*pending, 0, in.o.MaxBatch)
	ds := make([]store.NewDelivery, 0, in.o.MaxBatch)
	for first := range in.reqs {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < in.o.MaxBatch {
			select {
			case p, ok := <-in.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		ds = ds[:0]
		for _, p := range batch {
			ds = append(ds, p.d)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		res, err := in.o.Recorder.InsertDeliveries(ctx, ds)
		cancel()
		if in.o.Metrics != nil {
			in.o.Metrics.WebhookBatchSize.Observe(float64(len(batch)))
			in.o.Metrics.WebhookCommit.Observe(time.Since(start).Seconds())
		}
		var ids []int64
		for i, p := range batch {
			if err != nil {
				p.done <- result{err: err}
				continue
			}
			p.done <- result{ins: res[i]}
			if !res[i].Duplicate {
				ids = append(ids, res[i].ID)
			}
		}
		for _, p := range batch {
			in.putBuf(p.d.Payload)
		}
		if len(ids) > 0 {
			select {
			case in.enqueue <- ids:
			default:
				// Enqueue backlog full (Redis slow or down): the sweeper
				// picks these rows up from PostgreSQL.
				in.o.Log.Warn("enqueue backlog full, leaving deliveries to the sweeper", "count", len(ids))
			}
		}
	}
}

// taskChunk is how many recorded deliveries one queue task carries.
const taskChunk = 8

func (in *Intake) enqueuer() {
	defer in.enqWG.Done()
	var downUntil time.Time
	for ids := range in.enqueue {
		if time.Now().Before(downUntil) {
			continue // Redis was just down; the sweeper re-drains
		}
		var err error
		// One task per chunk, not per batch: a worker runs a task's
		// deliveries one after another, so a batch of 128 in one task would
		// keep the last of them waiting for the 127 before it while other
		// workers idle.
		for i := 0; i < len(ids) && err == nil; i += taskChunk {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = in.o.Enqueue(ctx, ids[i:min(i+taskChunk, len(ids))])
			cancel()
		}
		if err != nil {
			downUntil = time.Now().Add(2 * time.Second)
			in.o.Log.Warn("enqueue failed, deliveries left to the sweeper", "count", len(ids), "err", err)
		}
	}
}

func (in *Intake) count(topic, outcome string) {
	if in.o.Metrics != nil {
		if topic == "" {
			topic = "unknown"
		}
		in.o.Metrics.WebhooksReceived.WithLabelValues(topic, outcome).Inc()
	}
}

func (in *Intake) getBuf(n int64) []byte {
	bp, _ := in.bodies.Get().(*[]byte)
	if bp == nil {
		return make([]byte, 0, max(n, 16<<10))
	}
	if int64(cap(*bp)) < n {
		return make([]byte, 0, n)
	}
	return (*bp)[:0]
}

func (in *Intake) putBuf(b []byte) {
	if cap(b) > 64<<10 {
		return
	}
	b = b[:0]
	in.bodies.Put(&b)
}

func (in *Intake) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	n := r.ContentLength
	if n <= 0 || n > limit {
		n = 16 << 10
	}
	buf := in.getBuf(n + 1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
