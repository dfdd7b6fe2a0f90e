package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/codes"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/store"
)

// Code task types.
const (
	// TypeCodesGenerate streams a batch's codes into PostgreSQL, then
	// enqueues TypeCodesPush.
	TypeCodesGenerate = "codes:generate"
	// TypeCodesPush adds a batch's pending codes to the campaign's Shopify
	// discount (discountRedeemCodeBulkAdd) and records what became live.
	TypeCodesPush = "codes:push"
	// TypeCodesSweep re-enqueues batches whose task was lost.
	TypeCodesSweep = "codes:sweep"
)

// Tuning of the code pipeline.
const (
	// generateWriters is how many COPY transactions run at once while one
	// generator feeds them.
	generateWriters = 2
	// PushConcurrency is how many bulk creations one push job keeps in
	// flight, so the wait for Shopify's background work overlaps and the
	// shop's cost bucket, not latency, bounds the rate.
	PushConcurrency = 8
	// pushSlice bounds one run of the push job; the rest continues in a
	// follow-up task so a shutdown never loses much and no task runs for
	// days on a standard-plan shop.
	pushSlice = 15 * time.Minute
	// staleBatchAfter is how long an unfinished batch may sit unchanged
	// before the sweeper enqueues its next step again.
	staleBatchAfter = 2 * time.Minute
)

// CodeBatchPayload carries only the batch id; the row is the truth.
type CodeBatchPayload struct {
	BatchID int64 `json:"batch_id"`
	// Slice numbers push continuations so each has its own task id.
	Slice int `json:"slice,omitempty"`
}

// NewCodeGenerateTask builds the generation task of a batch. Its task id is
// derived from the batch, so enqueuing it twice is harmless.
func NewCodeGenerateTask(batchID int64) (*asynq.Task, error) {
	b, err := json.Marshal(CodeBatchPayload{BatchID: batchID})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeCodesGenerate, b, asynq.Queue(QueueDefault), asynq.MaxRetry(10), asynq.Timeout(time.Hour),
		asynq.TaskID("codes:generate:"+strconv.FormatInt(batchID, 10))), nil
}

// NewCodePushTask builds push slice `slice` of a batch.
func NewCodePushTask(batchID int64, slice int) (*asynq.Task, error) {
	b, err := json.Marshal(CodeBatchPayload{BatchID: batchID, Slice: slice})
	if err != nil {
		return nil, err
	}
	// MaxRetry is generous: a push waits (by retrying) for the campaign sync
	// to create the Shopify discount, and backs off while another worker
	// holds the batch.
	return asynq.NewTask(TypeCodesPush, b, asynq.Queue(QueueDefault), asynq.MaxRetry(40), asynq.Timeout(pushSlice+5*time.Minute),
		asynq.TaskID(fmt.Sprintf("codes:push:%d:%d", batchID, slice))), nil
}

// EnqueueCodeBatch enqueues the generation of a recorded batch (which then
// chains to the push). Call it after the transaction that recorded the batch
// commits; the sweeper re-enqueues it if this is lost.
func EnqueueCodeBatch(ctx context.Context, c *asynq.Client, batchID int64) error {
	t, err := NewCodeGenerateTask(batchID)
	if err != nil {
		return err
	}
	_, err = c.EnqueueContext(ctx, t)
	if IsConflict(err) {
		return nil
	}
	return err
}

// EnqueueCodePush enqueues push slice `slice` of a batch.
func EnqueueCodePush(ctx context.Context, c *asynq.Client, batchID int64, slice int, opts ...asynq.Option) error {
	t, err := NewCodePushTask(batchID, slice)
	if err != nil {
		return err
	}
	_, err = c.EnqueueContext(ctx, t, opts...)
	if IsConflict(err) {
		return nil
	}
	return err
}

// RequestPoolRefill makes sure campaign campaignID of shop shopID has a
// pool_refill batch of count codes on its way into Shopify: it returns the
// open refill batch if there is one (created false), else records a new one
// after the keyspace and store-cap check and enqueues it. The issue API calls
// it when the pool runs low; the codes become claimable once live.
func RequestPoolRefill(ctx context.Context, st *store.Store, c *asynq.Client, shopID, campaignID, count int64) (b *store.CodeBatch, created bool, err error) {
	if b, err := st.OpenRefillBatch(ctx, campaignID); err == nil {
		return b, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, false, err
	}
	camp, err := st.CodeCampaign(ctx, shopID, campaignID)
	if err != nil {
		return nil, false, err
	}
	f, err := CampaignCodeFormat(camp)
	if err != nil {
		return nil, false, err
	}
	b = &store.CodeBatch{ShopID: shopID, CampaignID: campaignID, PartnerID: camp.PartnerID, Purpose: store.BatchPurposePoolRefill, Requested: count}
	if err := st.CreateCodeBatch(ctx, b, func(existing int64) error { return codes.CheckKeyspace(f, count, existing) }); err != nil {
		return nil, false, err
	}
	if err := EnqueueCodeBatch(ctx, c, b.ID); err != nil {
		return b, true, fmt.Errorf("jobs: enqueue refill batch %d (the sweeper retries): %w", b.ID, err)
	}
	return b, true, nil
}

// CampaignCodeFormat reads the campaign's code_format JSON
// ({"prefix","length","check_char"}) as a codes.Format; length defaults to 10.
func CampaignCodeFormat(c *store.Campaign) (codes.Format, error) {
	f := codes.Format{Length: 10}
	if len(c.CodeFormat) > 0 {
		if err := json.Unmarshal(c.CodeFormat, &f); err != nil {
			return f, fmt.Errorf("campaign %d code format: %w", c.ID, err)
		}
	}
	if f.Length == 0 {
		f.Length = 10
	}
	f.Prefix = codes.Normalize(f.Prefix)
	return f, f.Validate()
}

// registerCodeJobs adds this feature's task handlers to the mux.
func (j *Jobs) registerCodeJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeCodesGenerate, j.handleCodesGenerate)
	mux.HandleFunc(TypeCodesPush, j.handleCodesPush)
	mux.HandleFunc(TypeCodesSweep, j.handleCodesSweep)
}

// codePeriodic lists this feature's scheduler entries.
func codePeriodic() []PeriodicTask {
	return []PeriodicTask{{Spec: "@every 1m", Task: asynq.NewTask(TypeCodesSweep, nil),
		Opts: []asynq.Option{asynq.Queue(QueueLow), asynq.Unique(50 * time.Second), asynq.MaxRetry(0)}}}
}

func decodeBatchPayload(t *asynq.Task) (CodeBatchPayload, error) {
	var p CodeBatchPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.BatchID <= 0 {
		return p, fmt.Errorf("%s: bad payload %q: %w", t.Type(), t.Payload(), asynq.SkipRetry)
	}
	return p, nil
}

// errBatchBusy is returned (and retried) while another worker holds a batch.
var errBatchBusy = errors.New("code batch is being worked on by another worker")

func (j *Jobs) handleCodesGenerate(ctx context.Context, t *asynq.Task) error {
	p, err := decodeBatchPayload(t)
	if err != nil {
		return err
	}
	return j.GenerateCodeBatch(ctx, p.BatchID)
}

// GenerateCodeBatch streams the missing codes of batch batchID into
// PostgreSQL and hands the batch to the push. It is resumable: it counts
// what the database already holds for the batch and makes only the rest, so
// a retry never over-generates. Memory is flat: one generator (≈1.5 bytes
// per code of Bloom filter) and a few 10,000-code buffers.
func (j *Jobs) GenerateCodeBatch(ctx context.Context, batchID int64) error {
	b, err := j.Store.CodeBatch(ctx, batchID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted with its campaign or shop
	}
	if err != nil {
		return err
	}
	switch b.Status {
	case store.BatchDone, store.BatchFailed:
		return nil
	case store.BatchPushing:
		return EnqueueCodePush(ctx, j.Client, b.ID, 0)
	}
	unlock, ok, err := j.Store.TryLockCodeBatch(ctx, b.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errBatchBusy
	}
	defer unlock()
	camp, err := j.Store.CodeCampaign(ctx, b.ShopID, b.CampaignID)
	if err != nil {
		return err
	}
	if _, err := j.Store.SetCodeBatchStatus(ctx, b.ID, []string{store.BatchQueued}, store.BatchGenerating, ""); err != nil {
		return err
	}
	have, err := j.Store.SyncBatchGenerated(ctx, b.ID)
	if err != nil {
		return err
	}
	if b.Purpose != store.BatchPurposeImport {
		f, err := CampaignCodeFormat(camp)
		if err != nil {
			_, _ = j.Store.SetCodeBatchStatus(ctx, b.ID, nil, store.BatchFailed, err.Error())
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		// Codes that already exist in the shop are skipped by ON CONFLICT;
		// each round makes up the difference. More than a few rounds
		// means the keyspace is (nearly) full.
		for round := 0; have < b.Requested && round < 8; round++ {
			if err := j.generateRound(ctx, b, f, b.Requested-have); err != nil {
				if errors.Is(err, codes.ErrExhausted) {
					break
				}
				return err
			}
			if have, err = j.Store.SyncBatchGenerated(ctx, b.ID); err != nil {
				return err
			}
		}
		if have < b.Requested {
			msg := fmt.Sprintf("made %d of %d codes: the format's keyspace is too full for more", have, b.Requested)
			_, _ = j.Store.SetCodeBatchStatus(ctx, b.ID, nil, store.BatchFailed, msg)
			return fmt.Errorf("batch %d: %s: %w", b.ID, msg, asynq.SkipRetry)
		}
	}
	if _, err := j.Store.SetCodeBatchStatus(ctx, b.ID, []string{store.BatchQueued, store.BatchGenerating}, store.BatchPushing, ""); err != nil {
		return err
	}
	// The batch row now says pushing; if this enqueue is lost the sweeper
	// enqueues the push.
	return EnqueueCodePush(ctx, j.Client, b.ID, 0)
}

// generateRound streams n new codes into the database: the generator runs on
// this goroutine and generateWriters COPY transactions drain its batches.
func (j *Jobs) generateRound(ctx context.Context, b *store.CodeBatch, f codes.Format, n int64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type chunk struct {
		buf  []byte
		refs [][]byte
	}
	free := make(chan *chunk, generateWriters+1)
	for range generateWriters + 1 {
		free <- &chunk{}
	}
	work := make(chan *chunk)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for range generateWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				ins, err := j.Store.InsertBatchCodes(ctx, b, c.refs)
				if err != nil {
					fail(fmt.Errorf("batch %d: persist codes: %w", b.ID, err))
				} else if j.Metrics != nil {
					j.Metrics.CodesGenerated.WithLabelValues(b.Purpose).Add(float64(ins))
				}
				free <- c
			}
		}()
	}
	gen := codes.NewGenerator(f, j.Rand)
	err := gen.Stream(ctx, n, func(batch [][]byte) error {
		var c *chunk
		select {
		case c = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		// The generator reuses its buffers: copy into the chunk's own.
		c.buf, c.refs = c.buf[:0], c.refs[:0]
		for _, code := range batch {
			c.buf = append(c.buf, code...)
		}
		off := 0
		for _, code := range batch {
			c.refs = append(c.refs, c.buf[off:off+len(code):off+len(code)])
			off += len(code)
		}
		select {
		case work <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return err
}

func (j *Jobs) handleCodesPush(ctx context.Context, t *asynq.Task) error {
	p, err := decodeBatchPayload(t)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(pushSlice)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-2*time.Minute).Before(deadline) {
		deadline = dl.Add(-2 * time.Minute)
	}
	more, err := j.PushCodeBatch(ctx, p.BatchID, PushOptions{Until: deadline})
	if err != nil {
		return err
	}
	if more {
		return EnqueueCodePush(ctx, j.Client, p.BatchID, p.Slice+1)
	}
	return nil
}

// PushOptions tunes PushCodeBatch.
type PushOptions struct {
	// Concurrency is the number of bulk creations in flight (default
	// PushConcurrency).
	Concurrency int
	// Until stops claiming new chunks at this time (zero: never); the
	// caller continues later.
	Until time.Time
	// PollInterval is the first wait before polling a bulk creation
	// (default 100 ms, doubling up to 5 s).
	PollInterval time.Duration
}

// errNoDiscount is retried: the campaign sync job has not created the
// campaign's Shopify discount yet.
var errNoDiscount = errors.New("the campaign has no Shopify discount yet (waiting for the campaign sync)")

// PushCodeBatch pushes the pending codes of batch batchID to the campaign's
// Shopify discount, 250 per discountRedeemCodeBulkAdd, with opts.Concurrency
// bulk creations in flight through the shop's shared cost limiter, and
// reports whether work is left (opts.Until reached).
//
// Exactly once: each chunk is recorded as a code_pushes row and its codes
// marked 'pushing' before the call; the bulk creation id is stored once
// Shopify accepts it. On a re-run, a 'running' push is polled, never sent
// again; a 'sending' push (the call may or may not have reached Shopify) is
// resolved by looking its codes up in Shopify first: codes found on the
// campaign's discount are live, codes found elsewhere failed, and only codes
// Shopify does not know go back to pending.
func (j *Jobs) PushCodeBatch(ctx context.Context, batchID int64, opts PushOptions) (more bool, err error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = PushConcurrency
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	b, err := j.Store.CodeBatch(ctx, batchID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch b.Status {
	case store.BatchDone, store.BatchFailed:
		return false, nil
	case store.BatchQueued, store.BatchGenerating:
		return false, EnqueueCodeBatch(ctx, j.Client, b.ID)
	}
	unlock, ok, err := j.Store.TryLockCodeBatch(ctx, b.ID)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, errBatchBusy
	}
	defer unlock()
	discountID, err := j.Store.CampaignShopifyDiscountID(ctx, b.CampaignID)
	if err != nil {
		return false, err
	}
	if discountID == "" {
		_ = j.Store.NoteCodeBatch(ctx, b.ID, errNoDiscount.Error())
		return false, fmt.Errorf("batch %d: %w", b.ID, errNoDiscount)
	}
	client, err := j.Shops.Admin(ctx, b.ShopID)
	if err != nil {
		return false, err
	}
	pu := &pusher{j: j, b: b, client: client, discountID: discountID, opts: opts}

	open, err := j.Store.OpenCodePushes(ctx, b)
	if err != nil {
		return false, err
	}
	if err := pu.parallel(ctx, len(open), func(ctx context.Context, i int) error { return pu.resume(ctx, &open[i]) }); err != nil {
		return false, err
	}
	var stopped atomic.Bool
	// floor is the highest code id claimed in this run: later claims start
	// above it instead of stepping over the index entries of every code
	// already pushed (quadratic on big batches). A code sent back to
	// pending resets it to 0.
	err = pu.parallel(ctx, opts.Concurrency, func(ctx context.Context, _ int) error {
		for {
			if !opts.Until.IsZero() && time.Now().After(opts.Until) {
				stopped.Store(true)
				return nil
			}
			p, codes, err := j.Store.ClaimCodePush(ctx, b, pu.floor.Load(), admin.MaxInputItems)
			if errors.Is(err, store.ErrNotFound) && pu.floor.Swap(0) != 0 {
				continue // look again from the start once
			}
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			last := codes[len(codes)-1].ID
			for cur := pu.floor.Load(); last > cur && !pu.floor.CompareAndSwap(cur, last); cur = pu.floor.Load() {
			}
			if err := pu.send(ctx, p, codes); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return false, err
	}
	done, err := j.Store.FinishCodeBatchPush(ctx, b)
	if err != nil || done {
		return false, err
	}
	// Stopped at opts.Until, or codes are still in flight: continue later.
	return true, nil
}

// pusher is one push job's state.
type pusher struct {
	j          *Jobs
	b          *store.CodeBatch
	client     *admin.Client
	discountID string
	opts       PushOptions
	floor      atomic.Int64
}

// parallel runs fn(i) for i in [0,n) on at most opts.Concurrency goroutines
// and returns the first error (cancelling the others).
func (pu *pusher) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, pu.opts.Concurrency)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// send calls discountRedeemCodeBulkAdd for a claimed push, retrying
// throttles itself (the call did not run), then polls it to the end.
func (pu *pusher) send(ctx context.Context, p *store.CodePush, cs []store.PushCode) error {
	list := make([]string, len(cs))
	for i, c := range cs {
		list[i] = c.Code
	}
	for {
		bulkID, err := pu.client.DiscountRedeemCodeBulkAdd(ctx, pu.discountID, list)
		var te *admin.ThrottledError
		switch {
		case err == nil:
			if err := pu.j.Store.SetPushRunning(ctx, p.ID, bulkID); err != nil {
				return err
			}
			return pu.poll(ctx, p.ID, bulkID, cs)
		case errors.As(err, &te) && ctx.Err() == nil:
			// THROTTLED: Shopify did not run the mutation, so sending the
			// same push again is safe. Wait what it asked and retry.
			if err := sleepCtx(ctx, max(te.RetryAfter, time.Second)); err != nil {
				return err
			}
		case errors.Is(err, admin.ErrOutcomeUnknown):
			// 5xx or network error on the mutation: it may have been
			// applied. Look the codes up before sending any again.
			return pu.reconcile(ctx, p.ID, cs, err.Error())
		default:
			// The push stays 'sending'; the retry of this job reconciles it.
			return fmt.Errorf("batch %d push %d: %w", pu.b.ID, p.ID, err)
		}
	}
}

// resume finishes a push left open by an earlier run.
func (pu *pusher) resume(ctx context.Context, p *store.CodePush) error {
	cs, err := pu.j.Store.PushCodes(ctx, p.ID)
	if err != nil {
		return err
	}
	if p.Status == store.PushRunning && p.BulkCreationID != nil {
		return pu.poll(ctx, p.ID, *p.BulkCreationID, cs)
	}
	return pu.reconcile(ctx, p.ID, cs, "resumed after an interrupted send")
}

// poll waits for bulk creation bulkID to finish, then records its per-code
// results.
func (pu *pusher) poll(ctx context.Context, pushID int64, bulkID string, cs []store.PushCode) error {
	wait := pu.opts.PollInterval
	for {
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, 5*time.Second)
		st, err := pu.bulkStatus(ctx, bulkID)
		if err != nil {
			if errors.Is(err, admin.ErrNotFound) {
				// Shopify no longer knows the bulk creation: reconcile by
				// looking the codes up.
				return pu.reconcile(ctx, pushID, cs, err.Error())
			}
			var te *admin.ThrottledError
			var he *admin.HTTPError
			if ctx.Err() == nil && (errors.As(err, &te) || errors.As(err, &he) && he.StatusCode >= 500) {
				continue // a query: polling again is always safe
			}
			return err
		}
		if !st.done {
			continue
		}
		results, err := pu.bulkResults(ctx, bulkID, st.failed > 0)
		if err != nil {
			var te *admin.ThrottledError
			if errors.As(err, &te) && ctx.Err() == nil {
				continue
			}
			return err
		}
		return pu.record(ctx, pushID, cs, results)
	}
}

type bulkState struct {
	done   bool
	failed int
}

const pushStatusQuery = `query CodePushStatus($id: ID!) {
  discountRedeemCodeBulkCreation(id: $id) { id done importedCount failedCount }
}`

// bulkStatus polls only the counters (cost 1).
func (pu *pusher) bulkStatus(ctx context.Context, id string) (bulkState, error) {
	var out struct {
		B *struct {
			Done        bool `json:"done"`
			FailedCount int  `json:"failedCount"`
		} `json:"discountRedeemCodeBulkCreation"`
	}
	if err := pu.client.DoCost(ctx, 1, pushStatusQuery, map[string]any{"id": id}, &out); err != nil {
		return bulkState{}, err
	}
	if out.B == nil {
		return bulkState{}, fmt.Errorf("bulk creation %s: %w", id, admin.ErrNotFound)
	}
	return bulkState{done: out.B.Done, failed: out.B.FailedCount}, nil
}

// The per-code results cost one point per code for the redeem code id; the
// errors object (another point per code) is asked for only when some failed.
const (
	pushResultsQuery = `query CodePushResults($id: ID!, $after: String) {
  discountRedeemCodeBulkCreation(id: $id) {
    codes(first: 250, after: $after) { nodes { code discountRedeemCode { id } } pageInfo { hasNextPage endCursor } }
  }
}`
	pushResultsErrorsQuery = `query CodePushResultsErrors($id: ID!, $after: String) {
  discountRedeemCodeBulkCreation(id: $id) {
    codes(first: 250, after: $after) { nodes { code discountRedeemCode { id } errors { message } } pageInfo { hasNextPage endCursor } }
  }
}`
)

type bulkResult struct {
	gid string
	err string
}

// bulkResults reads the per-code outcome of a finished bulk creation.
func (pu *pusher) bulkResults(ctx context.Context, id string, withErrors bool) (map[string]bulkResult, error) {
	q, cost := pushResultsQuery, 3+250
	if withErrors {
		q, cost = pushResultsErrorsQuery, 3+2*250
	}
	out := map[string]bulkResult{}
	var after *string
	for range 100 {
		var page struct {
			B *struct {
				Codes struct {
					Nodes []struct {
						Code string `json:"code"`
						RC   *struct {
							ID string `json:"id"`
						} `json:"discountRedeemCode"`
						Errors []struct {
							Message string `json:"message"`
						} `json:"errors"`
					} `json:"nodes"`
					PageInfo struct {
						HasNextPage bool   `json:"hasNextPage"`
						EndCursor   string `json:"endCursor"`
					} `json:"pageInfo"`
				} `json:"codes"`
			} `json:"discountRedeemCodeBulkCreation"`
		}
		if err := pu.client.DoCost(ctx, cost, q, map[string]any{"id": id, "after": after}, &page); err != nil {
			return nil, err
		}
		if page.B == nil {
			return nil, fmt.Errorf("bulk creation %s: %w", id, admin.ErrNotFound)
		}
		for _, n := range page.B.Codes.Nodes {
			r := bulkResult{}
			if n.RC != nil {
				r.gid = n.RC.ID
			}
			msgs := make([]string, 0, len(n.Errors))
			for _, e := range n.Errors {
				msgs = append(msgs, e.Message)
			}
			r.err = strings.Join(msgs, "; ")
			if r.gid == "" && r.err == "" {
				r.err = "not created"
			}
			out[codes.Normalize(n.Code)] = r
		}
		if !page.B.Codes.PageInfo.HasNextPage {
			break
		}
		cur := page.B.Codes.PageInfo.EndCursor
		after = &cur
	}
	return out, nil
}

// record turns per-code results into outcomes. A code refused as not unique
// may be ours from an earlier attempt whose answer was lost: it is looked up
// and counted live when it is on the campaign's discount.
func (pu *pusher) record(ctx context.Context, pushID int64, cs []store.PushCode, results map[string]bulkResult) error {
	outs := make([]store.PushOutcome, 0, len(cs))
	var dups []store.PushCode
	for _, c := range cs {
		r, ok := results[c.Code]
		switch {
		case !ok:
			outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStatePending})
		case r.gid != "":
			outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStateLive, ShopifyCodeID: r.gid})
		case strings.Contains(r.err, "must be unique") && !strings.Contains(r.err, "within"):
			dups = append(dups, c)
		default:
			outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStateFailed, Error: r.err})
		}
	}
	if len(dups) > 0 {
		found, err := pu.lookup(ctx, dups)
		if err != nil {
			return err
		}
		for _, c := range dups {
			switch d := found[c.Code]; {
			case d == pu.discountID:
				outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStateLive})
			case d == "":
				// Gone again (deleted between the push and the lookup).
				outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStatePending})
			default:
				outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStateFailed,
					Error: "TAKEN: the code belongs to another discount (" + d + ")"})
			}
		}
	}
	return pu.finish(ctx, pushID, outs, "")
}

// reconcile resolves a push whose send may or may not have reached Shopify,
// without sending anything: codes on the campaign's discount are live,
// codes on another discount failed, unknown codes go back to pending.
func (pu *pusher) reconcile(ctx context.Context, pushID int64, cs []store.PushCode, why string) error {
	found, err := pu.lookup(ctx, cs)
	if err != nil {
		return err
	}
	outs := make([]store.PushOutcome, 0, len(cs))
	for _, c := range cs {
		switch d := found[c.Code]; {
		case d == pu.discountID:
			outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStateLive})
		case d == "":
			outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStatePending})
		default:
			outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStateFailed,
				Error: "TAKEN: the code belongs to another discount (" + d + ")"})
		}
	}
	return pu.finish(ctx, pushID, outs, why)
}

func (pu *pusher) finish(ctx context.Context, pushID int64, outs []store.PushOutcome, why string) error {
	t, err := pu.j.Store.FinishCodePush(ctx, pu.b.ID, pushID, outs, why)
	if err != nil {
		return err
	}
	if t.Retry > 0 {
		pu.floor.Store(0) // codes below the floor are pending again
	}
	if m := pu.j.Metrics; m != nil {
		m.CodesPushed.WithLabelValues("live").Add(float64(t.Live))
		m.CodesPushed.WithLabelValues("failed").Add(float64(t.Failed))
		m.CodesPushed.WithLabelValues("retried").Add(float64(t.Retry))
	}
	return nil
}

// lookup finds which discount holds each code (codeDiscountNodeByCode,
// case-insensitive), up to 250 aliased lookups per request at one point
// each. A code no discount has maps to "".
func (pu *pusher) lookup(ctx context.Context, cs []store.PushCode) (map[string]string, error) {
	found := make(map[string]string, len(cs))
	for start := 0; start < len(cs); start += admin.MaxInputItems {
		part := cs[start:min(len(cs), start+admin.MaxInputItems)]
		var q strings.Builder
		q.WriteString("query CodeLookup(")
		vars := make(map[string]any, len(part))
		for i := range part {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "$c%d: String!", i)
			vars["c"+strconv.Itoa(i)] = part[i].Code
		}
		q.WriteString(") {")
		for i := range part {
			fmt.Fprintf(&q, " c%d: codeDiscountNodeByCode(code: $c%d) { id }", i, i)
		}
		q.WriteString(" }")
		var out map[string]*struct {
			ID string `json:"id"`
		}
		for {
			err := pu.client.DoCost(ctx, len(part), q.String(), vars, &out)
			var te *admin.ThrottledError
			if errors.As(err, &te) && ctx.Err() == nil {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("batch %d: look codes up: %w", pu.b.ID, err)
			}
			break
		}
		for i, c := range part {
			if n := out["c"+strconv.Itoa(i)]; n != nil {
				found[c.Code] = n.ID
			}
		}
	}
	return found, nil
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sweepSlice is the slice number of push tasks the sweeper enqueues: one
// fixed task id per batch, so a batch waiting (by retries) for its campaign's
// Shopify discount never collects more than one sweeper task.
const sweepSlice = -1

// handleCodesSweep re-enqueues the next step of batches whose row has not
// moved for staleBatchAfter: a task lost between commit and enqueue, or a
// worker that died. Duplicates are harmless (task ids, the batch lock).
func (j *Jobs) handleCodesSweep(ctx context.Context, _ *asynq.Task) error {
	bs, err := j.Store.StaleCodeBatches(ctx, j.Now().Add(-staleBatchAfter), 500)
	if err != nil {
		return err
	}
	for _, b := range bs {
		var err error
		if b.Status == store.BatchPushing {
			err = EnqueueCodePush(ctx, j.Client, b.ID, sweepSlice)
		} else {
			err = EnqueueCodeBatch(ctx, j.Client, b.ID)
		}
		if err != nil {
			j.Log.WarnContext(ctx, "code batch sweep: enqueue failed", "batch_id", b.ID, "err", err)
		}
	}
	return nil
}
