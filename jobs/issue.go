package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/outbound"
	"github.com/coupontrail/coupontrail/app/store"
)

// Issue-pool, code-lifecycle and outbound-webhook task types.
const (
	// TypePoolCheck finds active campaigns whose pool of live, available
	// codes runs low and asks the code-batch engine for a refill. Periodic
	// (every 30 s) over all campaigns, or for one campaign when the issue API
	// found its pool empty.
	TypePoolCheck = "pool:check"
	// TypeCodesExpire expires issued codes past their expiry, removes
	// expired and disabled codes from Shopify and purges old
	// Idempotency-Key records. Periodic, every minute.
	TypeCodesExpire = "codes:expire"
	// TypeOutboundDeliver sends one outbound event to one endpoint.
	TypeOutboundDeliver = "outbound:deliver"
	// TypeOutboundSweep enqueues every outbound event whose attempt is due.
	TypeOutboundSweep = "outbound:sweep"
)

// Tuning of the issue pool and lifecycle jobs.
const (
	// PoolLowWaterMin is the smallest low-water mark of a pool.
	PoolLowWaterMin = 100
	// poolCountCap bounds the counting queries of pool:check.
	poolCountCap = 2_000_000
	// expireChunk is how many codes one expiry transaction handles.
	expireChunk = 500
	// removeChunk is the most redeem codes one discountCodeRedeemCodeBulkDelete takes.
	removeChunk = 250
	// idempotencyTTL is how long an Idempotency-Key answer is replayed.
	idempotencyTTL = 24 * time.Hour
	// outboundLease covers one attempt (timeout plus slack) before another
	// worker may take the event again.
	outboundLease = outbound.Timeout + 20*time.Second
)

// registerIssueJobs adds this feature's task handlers to the mux.
func (j *Jobs) registerIssueJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypePoolCheck, j.handlePoolCheck)
	mux.HandleFunc(TypeCodesExpire, j.handleCodesExpire)
	mux.HandleFunc(TypeOutboundDeliver, j.handleOutboundDeliver)
	mux.HandleFunc(TypeOutboundSweep, j.handleOutboundSweep)
}

// issuePeriodic lists this feature's scheduler entries.
func issuePeriodic() []PeriodicTask {
	return []PeriodicTask{
		{Spec: "@every 30s", Task: asynq.NewTask(TypePoolCheck, nil), Opts: []asynq.Option{asynq.Queue(QueueDefault), asynq.Unique(25 * time.Second), asynq.MaxRetry(0), asynq.Timeout(2 * time.Minute)}},
		{Spec: "@every 1m", Task: asynq.NewTask(TypeCodesExpire, nil), Opts: []asynq.Option{asynq.Queue(QueueDefault), asynq.Unique(55 * time.Second), asynq.MaxRetry(0), asynq.Timeout(5 * time.Minute)}},
		{Spec: "@every 30s", Task: asynq.NewTask(TypeOutboundSweep, nil), Opts: []asynq.Option{asynq.Queue(QueueDefault), asynq.Unique(25 * time.Second), asynq.MaxRetry(0), asynq.Timeout(time.Minute)}},
	}
}

// ---- pool refill ----

// PoolCheckPayload narrows pool:check to one campaign (0: every active one).
type PoolCheckPayload struct {
	CampaignID int64 `json:"campaign_id,omitempty"`
}

// EnqueuePoolCheck asks for a prompt pool check of one campaign (the issue
// API does this when it finds the pool empty). Repeats within 10 s collapse.
func EnqueuePoolCheck(ctx context.Context, c *asynq.Client, campaignID int64) error {
	b, _ := json.Marshal(PoolCheckPayload{CampaignID: campaignID})
	_, err := c.EnqueueContext(ctx, asynq.NewTask(TypePoolCheck, b), asynq.Queue(QueueCritical), asynq.Unique(10*time.Second),
		asynq.MaxRetry(0), asynq.Timeout(time.Minute))
	if IsConflict(err) {
		return nil
	}
	return err
}

// PoolRefiller is how pool:check asks the code-batch engine for count more
// live codes in a campaign's pool.
type PoolRefiller interface {
	RefillPool(ctx context.Context, shopID, campaignID, count int64) error
}

// batchRefiller is the production PoolRefiller: a pool_refill code batch
// through RequestPoolRefill (at most one open per campaign), which
// generates the codes and pushes them into Shopify; they join the pool once
// live.
type batchRefiller struct{ j *Jobs }

func (r batchRefiller) RefillPool(ctx context.Context, shopID, campaignID, count int64) error {
	b, created, err := RequestPoolRefill(ctx, r.j.Store, r.j.Client, shopID, campaignID, count)
	if err != nil {
		return err
	}
	if created {
		r.j.Log.InfoContext(ctx, "pool refill requested", "campaign_id", campaignID, "batch_id", b.ID, "count", count)
	}
	return nil
}

func (j *Jobs) poolRefiller() PoolRefiller { return batchRefiller{j} }

// RefillAmount is the pool policy: the low-water mark is max(100, 2× the
// codes issued in the last hour); below it (counting codes already on their
// way), ask for enough to reach twice the low-water mark, in whole
// discountRedeemCodeBulkAdd calls of 250. Zero means no refill.
func RefillAmount(l store.PoolLevel) int64 {
	low := max(int64(PoolLowWaterMin), 2*l.IssuedLastHour)
	have := l.Available + l.Incoming
	if have >= low {
		return 0
	}
	n := 2*low - have
	return (n + removeChunk - 1) / removeChunk * removeChunk
}

func (j *Jobs) handlePoolCheck(ctx context.Context, t *asynq.Task) error {
	var p PoolCheckPayload
	if len(t.Payload()) > 0 {
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("%w: pool:check payload: %v", asynq.SkipRetry, err)
		}
	}
	return j.CheckPools(ctx, p.CampaignID)
}

// CheckPools measures the pool of every active campaign (or one) and
// requests refills where it runs low. One campaign's failure does not stop
// the others.
//
// Extension point (holdout, a later issue): a campaign's holdout share does
// not change the pool — control shoppers are answered without a code — so
// the refill policy stays RefillAmount; if holdout ever reserves codes, add
// them to the level here.
func (j *Jobs) CheckPools(ctx context.Context, campaignID int64) error {
	now := j.Now()
	levels, err := j.Store.PoolLevels(ctx, now.Add(-time.Hour), campaignID, poolCountCap)
	if err != nil {
		return err
	}
	var firstErr error
	for _, l := range levels {
		n := RefillAmount(l)
		if n == 0 {
			continue
		}
		if err := j.poolRefiller().RefillPool(ctx, l.ShopID, l.CampaignID, n); err != nil {
			j.Log.WarnContext(ctx, "pool refill failed", "campaign_id", l.CampaignID, "count", n, "err", err)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// ---- code lifecycle ----

// CodeEventData is the data of the code.* outbound events for c.
func CodeEventData(c *store.Code, reason string) outbound.CodeData {
	d := outbound.CodeData{Code: c.Code, Status: c.Status, CampaignID: strconv.FormatInt(c.CampaignID, 10), Channel: c.Channel,
		CustomerEmail: c.CustomerEmail, Reason: reason}
	if c.PartnerID != nil {
		s := strconv.FormatInt(*c.PartnerID, 10)
		d.PartnerID = &s
	}
	if c.CustomerID != nil {
		s := strconv.FormatInt(*c.CustomerID, 10)
		d.CustomerID = &s
	}
	ts := func(t *time.Time) *string {
		if t == nil {
			return nil
		}
		s := t.UTC().Format(time.RFC3339)
		return &s
	}
	d.IssuedAt, d.ExpiresAt = ts(c.IssuedAt), ts(c.ExpiresAt)
	return d
}

func (j *Jobs) handleCodesExpire(ctx context.Context, _ *asynq.Task) error {
	return j.ExpireCodes(ctx)
}

// ExpireCodes marks issued codes past their expiry as expired (with a
// code.expired event each, in the same transaction), then removes expired
// and disabled codes from Shopify, then purges old Idempotency-Key records.
// The database changes first: from that moment the app no longer honours
// the code, and the Shopify removal is retried every run until it succeeds.
func (j *Jobs) ExpireCodes(ctx context.Context) error {
	now := j.Now()
	for range 200 { // at most 100,000 codes per run; the next run continues
		var ids []int64
		var n int
		err := j.Store.InTx(ctx, func(ctx context.Context) error {
			ids = ids[:0]
			cs, err := j.Store.ExpireDueCodes(ctx, now, expireChunk)
			if err != nil {
				return err
			}
			n = len(cs)
			for i := range cs {
				out, err := j.Store.EmitEventAt(ctx, cs[i].ShopID, outbound.CodeExpired, CodeEventData(&cs[i], "expired"), now)
				if err != nil {
					return err
				}
				ids = append(ids, out...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		j.enqueueOutbound(ctx, ids)
		if n < expireChunk {
			break
		}
	}
	if err := j.RemoveDeadCodes(ctx); err != nil {
		return err
	}
	if _, err := j.Store.PurgeIssueRequests(ctx, now.Add(-idempotencyTTL)); err != nil {
		return err
	}
	return nil
}

// RemoveDeadCodes deletes expired and disabled unique codes that are still
// live in Shopify with discountCodeRedeemCodeBulkDelete (≤ 250 ids per call,
// through the shop's Admin client and cost limiter) and marks them removed.
// The codes stay row-locked during the call so that disable/enable never
// interleave with it. A campaign whose call fails is skipped until the next
// run.
func (j *Jobs) RemoveDeadCodes(ctx context.Context) error {
	after := int64(0)
	for range 10_000 {
		done := false
		err := j.Store.InTx(ctx, func(ctx context.Context) error {
			dead, err := j.Store.LockCodesToRemove(ctx, after, removeChunk)
			if err != nil {
				return err
			}
			if len(dead) == 0 {
				done = true
				return nil
			}
			camp := dead[0].CampaignID
			after = camp // by default move on to the next campaign
			if dead[0].ID == 0 {
				return nil // held by another worker
			}
			ids := make([]int64, len(dead))
			gids := make([]string, len(dead))
			for i, d := range dead {
				ids[i], gids[i] = d.ID, d.ShopifyCodeID
			}
			if dead[0].DiscountID == "" { // the campaign never reached Shopify: nothing to remove
				return j.Store.MarkCodesRemoved(ctx, ids)
			}
			if j.Shops == nil {
				return errors.New("jobs: remove codes: no Shopify access configured")
			}
			adm, err := j.Shops.Admin(ctx, dead[0].ShopID)
			if err != nil {
				j.Log.WarnContext(ctx, "remove expired codes: no Admin client", "campaign_id", camp, "err", err)
				return nil
			}
			if _, err := adm.DiscountCodeRedeemCodeBulkDelete(ctx, dead[0].DiscountID, gids); err != nil {
				j.Log.WarnContext(ctx, "remove expired codes failed", "campaign_id", camp, "codes", len(gids), "err", err)
				return nil
			}
			if err := j.Store.MarkCodesRemoved(ctx, ids); err != nil {
				return err
			}
			if len(dead) == removeChunk {
				after = camp - 1 // more of this campaign may remain
			}
			return nil
		})
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
	return nil
}

// ---- outbound webhooks ----

// OutboundPayload names one outbound_events row.
type OutboundPayload struct {
	ID int64 `json:"id"`
}

// NewOutboundDeliverTask builds the delivery task of an event row for its
// attempt number attempts+1. The task id includes the attempt, so the
// emitter, the retry and the sweep never queue the same attempt twice.
func NewOutboundDeliverTask(id int64, attempts int) *asynq.Task {
	b, _ := json.Marshal(OutboundPayload{ID: id})
	return asynq.NewTask(TypeOutboundDeliver, b, asynq.Queue(QueueDefault), asynq.MaxRetry(0),
		asynq.Timeout(outbound.Timeout+15*time.Second), asynq.TaskID(fmt.Sprintf("outbound:%d:%d", id, attempts)))
}

// EnqueueOutbound enqueues the first delivery of freshly emitted events
// (the ids store.EmitEvent returned). Call it after the commit; a lost
// enqueue only delays the event until the next outbound:sweep.
func EnqueueOutbound(ctx context.Context, c *asynq.Client, ids []int64) error {
	for _, id := range ids {
		if _, err := c.EnqueueContext(ctx, NewOutboundDeliverTask(id, 0)); err != nil && !IsConflict(err) {
			return err
		}
	}
	return nil
}

func (j *Jobs) enqueueOutbound(ctx context.Context, ids []int64) {
	if len(ids) == 0 || j.Client == nil {
		return
	}
	if err := EnqueueOutbound(ctx, j.Client, ids); err != nil {
		j.Log.WarnContext(ctx, "enqueue outbound events (the sweep retries)", "err", err)
	}
}

func (j *Jobs) handleOutboundDeliver(ctx context.Context, t *asynq.Task) error {
	var p OutboundPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ID <= 0 {
		return fmt.Errorf("%w: outbound:deliver payload: %s", asynq.SkipRetry, t.Payload())
	}
	return j.DeliverOutbound(ctx, p.ID)
}

// DeliverOutbound makes one attempt at event row id if it is pending and
// due: POST the signed envelope to the endpoint with a 10 s timeout; a 2xx
// answer marks it delivered, anything else schedules the next attempt on
// the outbound.Backoff schedule (1m, 5m, 30m, 2h, 6h, 12h, 24h) and, after
// outbound.MaxAttempts attempts, marks it failed. An event that is not due,
// is taken by another worker, or is already finished is left alone, so
// delivery is idempotent per (endpoint, event id).
func (j *Jobs) DeliverOutbound(ctx context.Context, id int64) error {
	now := j.Now()
	d, err := j.Store.ClaimOutboundEvent(ctx, id, now, now.Add(outboundLease))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	finish := func(o store.OutboundOutcome) error {
		_, err := j.Store.FinishOutboundAttempt(ctx, d.ID, d.Attempt, o, j.Now())
		return err
	}
	if !d.EndpointOn {
		return finish(store.OutboundOutcome{Failed: true, Error: "endpoint deleted"})
	}
	if j.Keyring == nil {
		return errors.New("jobs: outbound: no keyring configured")
	}
	secret, err := j.Keyring.DecryptAD(d.SecretEnc, outbound.SecretAD(d.ShopID))
	if err != nil {
		return finish(store.OutboundOutcome{Failed: true, Error: "signing secret does not decrypt: " + err.Error()})
	}
	body, err := outbound.Body(d.EventID, d.Type, d.CreatedAt, d.ShopID, d.Payload)
	if err != nil {
		return finish(store.OutboundOutcome{Failed: true, Error: "render: " + err.Error()})
	}
	status, sendErr := j.postOutbound(ctx, d, secret, body)
	o := store.OutboundOutcome{}
	if status != 0 {
		o.HTTPStatus = &status
	}
	switch {
	case sendErr == nil && outbound.Delivered(status):
		o.Delivered = true
	default:
		o.Error = fmt.Sprintf("HTTP %d", status)
		if sendErr != nil {
			o.Error = sendErr.Error()
		}
		wait, again := outbound.Backoff(d.Attempt)
		if !again {
			o.Failed = true
		} else {
			next := j.Now().Add(wait)
			o.NextAt = &next
		}
	}
	if err := finish(o); err != nil {
		return err
	}
	if o.NextAt != nil && j.Client != nil {
		_, err := j.Client.EnqueueContext(ctx, NewOutboundDeliverTask(d.ID, d.Attempt), asynq.ProcessAt(*o.NextAt))
		if err != nil && !IsConflict(err) {
			j.Log.WarnContext(ctx, "schedule outbound retry (the sweep retries)", "outbound_id", d.ID, "err", err)
		}
	}
	return nil
}

// postOutbound sends one attempt and returns the HTTP status (0 when none
// came back). Redirects are not followed: only a 2xx from the URL itself
// counts.
func (j *Jobs) postOutbound(ctx context.Context, d *store.OutboundDelivery, secret, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, outbound.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "coupontrail-webhooks/1")
	req.Header.Set(outbound.HeaderEvent, d.Type)
	req.Header.Set(outbound.HeaderEventID, d.EventID)
	req.Header.Set(outbound.HeaderAttempt, strconv.Itoa(d.Attempt))
	req.Header.Set(outbound.HeaderSignature, outbound.Sign(secret, j.Now(), body))
	hc := *j.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, nil
}

func (j *Jobs) handleOutboundSweep(ctx context.Context, _ *asynq.Task) error {
	return j.SweepOutbound(ctx)
}

// SweepOutbound enqueues a delivery for every pending event that is due:
// retries whose scheduled task was lost, events whose first enqueue was
// lost, attempts whose worker died. Without a queue client (tests, one-off
// tools) it delivers them inline.
func (j *Jobs) SweepOutbound(ctx context.Context) error {
	due, err := j.Store.DueOutboundEvents(ctx, j.Now(), 1000)
	if err != nil {
		return err
	}
	for _, d := range due {
		if j.Client == nil {
			if err := j.DeliverOutbound(ctx, d.ID); err != nil {
				return err
			}
			continue
		}
		if _, err := j.Client.EnqueueContext(ctx, NewOutboundDeliverTask(d.ID, d.Attempts)); err != nil && !IsConflict(err) {
			return err
		}
	}
	return nil
}
