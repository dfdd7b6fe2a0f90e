package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/store"
)

// Attribution turns recorded orders into conversions, in the transaction of
// the delivery that recorded them (orderEvent, orderCancelled and
// refundCreated call AttributeOrder), so a conversion commits atomically with
// its delivery and a replayed delivery finds its work done.
//
// AttributeOrder converges whatever the delivery order: it works from the
// stored rows (the order's newest version and every refund recorded for it,
// including refunds that arrived before the order), never from the payload
// at hand. The conversion is created once per order (UNIQUE(shop_id,
// order_id) under the order's advisory lock); refunds are applied once each
// (their ids are kept in applied_refunds) and a cancellation once (a
// reversed conversion ignores further ones). Every change writes ledger
// entries whose idempotency keys name the conversion, the event and the
// line, so a replay writes nothing.
//
// Orders without a matched code or click become outcome-only conversions
// (rule organic or unattributed, no partner, zero commission): they follow
// the same hold and status life as any other, but carry no money for
// partners and never reach a statement. Incrementality needs every order.
//
// Order edits after attribution are not followed: the credit is computed
// from the order version seen first, and later money changes arrive as
// refunds. Re-attribution (POST /api/v1/attribution/rerun) recomputes it.

// Task types of the hold release.
const (
	TypeConversionRelease      = "conversion:release"
	TypeConversionReleaseSweep = "conversion:release-sweep"
)

// Ledger causes.
const (
	causeHoldElapsed = "rule:hold_elapsed"
)

// releaseSweepBatch bounds one sweep pass; the sweep loops until done.
const releaseSweepBatch = 500

func (j *Jobs) registerAttributionJobs(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeConversionRelease, j.handleConversionRelease)
	mux.HandleFunc(TypeConversionReleaseSweep, j.handleConversionReleaseSweep)
}

// attributionPeriodic schedules the release sweep, the safety net of the
// per-conversion ProcessAt tasks: Postgres decides what is due, not Redis.
func attributionPeriodic() []PeriodicTask {
	return []PeriodicTask{{
		Spec: "@every 5m", Task: asynq.NewTask(TypeConversionReleaseSweep, nil),
		Opts: []asynq.Option{asynq.Queue(QueueDefault), asynq.Unique(4 * time.Minute), asynq.MaxRetry(2), asynq.Timeout(4 * time.Minute)},
	}}
}

// ConversionReleasePayload names the conversion a release task approves.
type ConversionReleasePayload struct {
	ShopID       int64 `json:"shop_id"`
	ConversionID int64 `json:"conversion_id"`
}

// NewConversionReleaseTask builds the release task of a conversion, due at
// its hold_until. Its TaskID names the conversion and version so a replay
// conflicts (which counts as success).
func NewConversionReleaseTask(shopID, id int64, version int, at time.Time) (*asynq.Task, []asynq.Option, error) {
	b, err := json.Marshal(ConversionReleasePayload{ShopID: shopID, ConversionID: id})
	if err != nil {
		return nil, nil, err
	}
	return asynq.NewTask(TypeConversionRelease, b, asynq.MaxRetry(10), asynq.Timeout(time.Minute)), []asynq.Option{
		asynq.Queue(QueueDefault), asynq.ProcessAt(at), asynq.TaskID(fmt.Sprintf("conversion:release:%d:%d", id, version)),
	}, nil
}

func (j *Jobs) handleConversionRelease(ctx context.Context, t *asynq.Task) error {
	var p ConversionReleasePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	_, err := j.ReleaseConversion(ctx, p.ShopID, p.ConversionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // rolled back or the shop is gone: nothing to release
	}
	return err
}

func (j *Jobs) handleConversionReleaseSweep(ctx context.Context, _ *asynq.Task) error {
	_, err := j.SweepReleases(ctx)
	return err
}

// SweepReleases approves every held conversion whose hold is over (as of
// j.Now) and reports how many it approved.
func (j *Jobs) SweepReleases(ctx context.Context) (int, error) {
	n := 0
	for {
		refs, err := j.Store.DueConversions(ctx, j.Now(), releaseSweepBatch)
		if err != nil {
			return n, err
		}
		progressed := false
		for _, r := range refs {
			ok, err := j.ReleaseConversion(ctx, r.ShopID, r.ID)
			if err != nil {
				return n, err
			}
			if ok {
				n++
				progressed = true
			}
		}
		if len(refs) < releaseSweepBatch || !progressed {
			return n, nil
		}
	}
}

// ReleaseConversion approves a held conversion whose hold is over; it
// reports whether it did. A conversion still in its hold, or no longer held,
// is left alone.
func (j *Jobs) ReleaseConversion(ctx context.Context, shopID, id int64) (bool, error) {
	released := false
	err := j.Store.InTx(ctx, func(ctx context.Context) error {
		row, err := j.Store.ConversionByID(ctx, shopID, id, true)
		if err != nil {
			return err
		}
		if (row.Status == store.ConversionHeld || row.Status == store.ConversionReversed) && !j.Now().Before(row.HoldUntil) {
			// The fraud layer re-scores with hindsight first; it may hold
			// the conversion for review or reject it (a reversed one is
			// re-scored for the record only).
			if block, err := j.reviewAtRelease(ctx, row); err != nil || block {
				return err
			}
		}
		dom, err := toDomain(row)
		if err != nil {
			return err
		}
		n, entries, err := dom.Release(j.Now(), causeHoldElapsed)
		if errors.Is(err, attribution.ErrNotDue) || len(entries) == 0 {
			return nil
		}
		if err != nil {
			return err
		}
		released = true
		return j.saveConversion(ctx, row, n, entries, "approve", attribution.ReasonHoldElapsed)
	})
	return released, err
}

// TransitionConversion applies a merchant's action ("approve", "reject" or
// "pay") to a conversion with a reason; actor names who ("user:42",
// "api_key:7", "statement:3"). A transition the status does not allow is an
// *attribution.TransitionError.
func (j *Jobs) TransitionConversion(ctx context.Context, shopID, id int64, action, reason, actor string) (*store.Conversion, error) {
	var out *store.Conversion
	err := j.Store.InTx(ctx, func(ctx context.Context) error {
		row, err := j.Store.ConversionByID(ctx, shopID, id, true)
		if err != nil {
			return err
		}
		dom, err := toDomain(row)
		if err != nil {
			return err
		}
		var n attribution.Conversion
		var entries []attribution.Entry
		switch action {
		case "approve":
			if overturned, ok := fraudOverturn(row, dom, reasonOr(reason, "approved"), actor); ok {
				n, entries = overturned.n, overturned.entries
				break
			}
			n, entries, err = dom.Approve(reasonOr(reason, "approved"), actor)
		case "reject":
			n, entries, err = dom.Reject(reasonOr(reason, "rejected"), actor)
		case "pay":
			n, entries, err = dom.Pay(actor)
		default:
			return fmt.Errorf("jobs: unknown conversion action %q", action)
		}
		if err != nil {
			return err
		}
		out = row
		if len(entries) == 0 {
			return nil
		}
		return j.saveConversion(ctx, row, n, entries, action, reason)
	})
	return out, err
}

func reasonOr(r, def string) string {
	if strings.TrimSpace(r) == "" {
		return def
	}
	return r
}

// AttributeOrder brings an order's conversion up to date with what is
// recorded about the order: it creates the conversion the first time (and
// records the code redemptions), applies every recorded refund not applied
// yet and the cancellation. It does nothing when the order is not recorded
// yet (a refund before its order: the order's arrival applies it). cause
// names the delivery ("webhook:<id>"). It joins the caller's transaction.
func (j *Jobs) AttributeOrder(ctx context.Context, sh *store.Shop, orderID int64, cause string) error {
	var schedule *store.Conversion
	err := j.Store.InTx(ctx, func(ctx context.Context) error {
		if err := j.Store.LockOrder(ctx, sh.ID, orderID); err != nil {
			return err
		}
		// An order this batch recorded just now has no conversion yet, and
		// may come with its stored row and refund count (used once: the
		// conversion created below is there for a later delivery).
		fresh, isNew := freshOrder{}, false
		if m, key := memoOf(ctx), [2]int64{sh.ID, orderID}; m != nil {
			if fresh, isNew = m.newOrders[key]; isNew {
				delete(m.newOrders, key)
			}
		}
		o := fresh.row
		if o == nil {
			var err error
			o, err = j.Store.OrderByID(ctx, sh.ID, orderID)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		var row *store.Conversion
		var err error
		if isNew {
			err = store.ErrNotFound
		} else {
			row, err = j.Store.ConversionByOrder(ctx, sh.ID, orderID, true)
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			if row, err = j.createConversion(ctx, sh, o, cause); err != nil {
				return err
			}
			if row.Status == store.ConversionHeld {
				schedule = row
			}
		case err != nil:
			return err
		}
		dom, err := toDomain(row)
		if err != nil {
			return err
		}
		var refunds []store.Refund
		if !isNew || !fresh.noRefunds {
			if refunds, err = j.Store.RefundsForOrder(ctx, sh.ID, orderID); err != nil {
				return err
			}
		}
		applied := map[int64]bool{}
		for _, id := range row.AppliedRefunds {
			applied[id] = true
		}
		for _, r := range refunds {
			if applied[r.RefundID] {
				continue
			}
			// The conversion's net is the order's subtotal after discounts
			// (no shipping or tax), so the refund is taken on the same basis:
			// the refunded lines' subtotal; an amount-only refund (no lines)
			// counts by its amount, capped at what is left.
			base := r.LinesSubtotalMinor
			if base <= 0 {
				base = r.AmountMinor
			}
			n, entries := dom.Refund(base, "webhook:"+r.WebhookID)
			row.AppliedRefunds = append(row.AppliedRefunds, r.RefundID)
			if err := j.saveConversion(ctx, row, n, entries, "refund:"+strconv.FormatInt(r.RefundID, 10), ""); err != nil {
				return err
			}
			dom = n
		}
		if len(refunds) > 0 {
			if err := j.Store.MarkFraudRefunded(ctx, sh.ID, orderID); err != nil {
				return err
			}
		}
		if o.CancelledAt != nil && dom.Status != attribution.StatusReversed {
			n, entries := dom.Cancel(reasonOr(o.CancelReason, attribution.ReasonCancelled), cause)
			if len(entries) > 0 || n.Status != dom.Status {
				if err := j.saveConversion(ctx, row, n, entries, "cancel", o.CancelReason); err != nil {
					return err
				}
			}
		}
		if !o.OrderUpdatedAt.After(row.OrderVersion) {
			return nil
		}
		// A newer order version: follow an edit of its amounts (subtotal,
		// discounts) by re-attributing a conversion whose money is not
		// settled yet; otherwise just remember the version.
		row.OrderVersion, row.OrderName, row.UpdatedAt = o.OrderUpdatedAt, o.Name, j.Now()
		gross, net, disc := orderAmounts(o)
		edited := gross != row.OriginalGross || net != row.OrderNetMinor || disc != row.OriginalDisc
		if edited && (row.Status == store.ConversionHeld || row.Status == store.ConversionApproved) {
			pol, err := j.PolicyWithPartners(ctx, sh.ID, ParseAttributionSettings(sh.Settings).Policy)
			if err != nil {
				return err
			}
			tag := "edit:" + strconv.FormatInt(o.OrderUpdatedAt.UnixNano(), 10)
			_, _, _, changed, err := j.reattribute(ctx, sh, row, o, pol, cause, tag, true)
			if err != nil || changed {
				return err
			}
		}
		return j.Store.UpdateConversion(ctx, row)
	})
	if err != nil {
		return err
	}
	if schedule != nil {
		j.scheduleRelease(ctx, schedule)
	}
	return nil
}

// scheduleRelease enqueues the conversion's release at hold_until. It runs
// before the delivery's transaction commits (the handlers cannot hook the
// commit), which is safe: the task only asks Postgres, so a task whose
// transaction rolled back finds nothing to release, and a lost enqueue is
// covered by the sweep.
func (j *Jobs) scheduleRelease(ctx context.Context, c *store.Conversion) {
	if j.Client == nil {
		return
	}
	t, opts, err := NewConversionReleaseTask(c.ShopID, c.ID, c.Version, c.HoldUntil)
	if err == nil {
		_, err = j.Client.EnqueueContext(ctx, t, opts...)
	}
	if err != nil && !IsConflict(err) {
		j.Log.WarnContext(ctx, "schedule conversion release", "shop_id", c.ShopID, "conversion_id", c.ID, "err", err)
	}
}

// createConversion attributes o and inserts its conversion, its ledger
// entries and the code redemptions.
func (j *Jobs) createConversion(ctx context.Context, sh *store.Shop, o *store.Order, cause string) (*store.Conversion, error) {
	set := ParseAttributionSettings(sh.Settings)
	pol, err := j.PolicyWithPartners(ctx, sh.ID, set.Policy)
	if err != nil {
		return nil, err
	}
	in, err := j.attributionInputs(ctx, sh, o, pol)
	if err != nil {
		return nil, err
	}
	now := j.Now()
	res := attribution.Attribute(in.Order, in.Codes, in.Clicks, in.Touchpoints, pol, now)
	hold := attribution.HoldUntil(o.OrderCreatedAt, set.HoldDays, in.holdDaysFor(res))
	dom, entries := attribution.NewConversion("", res, hold, cause)
	row := &store.Conversion{
		ShopID: sh.ID, OrderID: o.OrderID, OrderName: o.Name, OrderCreatedAt: o.OrderCreatedAt, OrderVersion: o.OrderUpdatedAt,
		Currency: o.Currency, AttributedAt: now, CreatedAt: now, UpdatedAt: now,
	}
	if err := fillFromResult(row, res); err != nil {
		return nil, err
	}
	if err := fillFromDomain(row, dom, now); err != nil {
		return nil, err
	}
	fraudAct, fraudEvent, err := j.scoreAtAttribution(ctx, sh, o, row, in.codeRows)
	if err != nil {
		return nil, err
	}
	first := make([]store.FirstEntry, 0, len(entries))
	for _, e := range entries {
		if e.To == attribution.BucketClawback {
			return nil, fmt.Errorf("jobs: a new conversion of order %d has a clawback entry", o.OrderID)
		}
		l, err := ledgerParts(e, "attributed")
		if err != nil {
			return nil, err
		}
		first = append(first, store.FirstEntry{Kind: l.kind, FromStatus: string(e.From), ToStatus: string(e.To),
			AmountMinor: e.Amounts.Commission, CauseType: l.causeType, CauseID: l.causeID, KeySuffix: l.keySuffix, Detail: l.detail})
	}
	if err := j.Store.InsertAttributed(ctx, row, first, fraudEvent); err != nil {
		return nil, err
	}
	if err := j.Store.RedeemCodes(ctx, sh.ID, row.Codes, o.OrderCreatedAt); err != nil {
		return nil, err
	}
	if err := fraudAct(ctx); err != nil {
		return nil, err
	}
	return row, nil
}

// fillFromResult copies the attribution of res onto row: the main credited
// line (the largest share; the first on a tie), the rule, the evidence, the
// touch path and the flags for the fraud layer.
func fillFromResult(row *store.Conversion, res attribution.Result) error {
	row.Attributed, row.Policy, row.Rule = res.Attributed, string(res.Policy), string(res.Rule)
	row.CampaignID, row.PartnerID, row.Channel, row.Code, row.ClickID = nil, nil, "", "", ""
	best := -1
	for i, l := range res.Lines {
		if best < 0 || l.Share > res.Lines[best].Share {
			best = i
		}
	}
	if best >= 0 {
		l := res.Lines[best]
		row.CampaignID, row.PartnerID = parseIDPtr(l.CampaignID), parseIDPtr(l.PartnerID)
		row.Channel, row.Code, row.ClickID = l.Channel, l.Code, l.ClickID
	}
	row.Codes = nil
	for _, c := range res.Evidence.Codes {
		if c.Matched {
			row.Codes = append(row.Codes, c.Code)
		}
	}
	var err error
	if row.Evidence, err = json.Marshal(res.Evidence); err != nil {
		return err
	}
	path := res.Path
	if path == nil {
		path = []attribution.Touchpoint{}
	}
	if row.Path, err = json.Marshal(path); err != nil {
		return err
	}
	row.Fraud, err = json.Marshal(fraudFromFlags(res.Flags))
	return err
}

// FraudJSON is conversions.fraud: the fraud layer scores and acts later;
// attribution fills the reasons it observed (second redemption, wrong
// shopper, usage cap).
type FraudJSON struct {
	Score   float64       `json:"score"`
	Action  string        `json:"action"`
	Reasons []FraudReason `json:"reasons"`
}

// FraudReason is one observation.
type FraudReason struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

func fraudFromFlags(flags []attribution.Flag) FraudJSON {
	f := FraudJSON{Action: "none", Reasons: []FraudReason{}}
	for _, fl := range flags {
		d := fl.Detail
		if fl.Code != "" && !strings.Contains(d, fl.Code) {
			d = fl.Code + ": " + d
		}
		f.Reasons = append(f.Reasons, FraudReason{Kind: string(fl.Kind), Detail: d})
	}
	return f
}

func parseIDPtr(s string) *int64 {
	if s == "" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	return &v
}

func idStr(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}

// toDomain rebuilds the attribution package's view of a stored conversion.
func toDomain(c *store.Conversion) (attribution.Conversion, error) {
	var lines []attribution.Line
	if err := json.Unmarshal(c.Lines, &lines); err != nil {
		return attribution.Conversion{}, fmt.Errorf("jobs: conversion %d lines: %w", c.ID, err)
	}
	return attribution.Conversion{
		ID: strconv.FormatInt(c.ID, 10), OrderID: strconv.FormatInt(c.OrderID, 10), Currency: c.Currency,
		Status: attribution.Status(c.Status), HoldUntil: c.HoldUntil, OrderNet: c.OrderNetMinor, Refunded: c.RefundedMinor, Lines: lines,
	}, nil
}

// fillFromDomain copies a conversion's status, lines and amounts onto row,
// stamping the time of a status change.
func fillFromDomain(row *store.Conversion, d attribution.Conversion, now time.Time) error {
	lines := d.Lines
	if lines == nil {
		lines = []attribution.Line{}
	}
	b, err := json.Marshal(lines)
	if err != nil {
		return err
	}
	row.Lines = b
	if row.Status != string(d.Status) {
		t := now
		switch d.Status {
		case attribution.StatusApproved:
			row.ApprovedAt = &t
		case attribution.StatusRejected:
			row.RejectedAt = &t
		case attribution.StatusReversed:
			row.ReversedAt = &t
		case attribution.StatusPaid:
			row.PaidAt = &t
		}
	}
	row.Status = string(d.Status)
	row.HoldUntil = d.HoldUntil
	row.OrderNetMinor, row.RefundedMinor = d.OrderNet, d.Refunded
	var cur, orig attribution.Amounts
	for _, l := range d.Lines {
		cur, orig = cur.Add(l.Amounts), orig.Add(l.Original)
	}
	row.GrossMinor, row.NetMinor, row.DiscountMinor, row.CommissionMinor = cur.Gross, cur.Net, cur.Discount, cur.Commission
	row.OriginalGross, row.OriginalNet, row.OriginalDisc, row.OriginalComm = orig.Gross, orig.Net, orig.Discount, orig.Commission
	return nil
}

// saveConversion writes the conversion's new state and its ledger entries.
// tag names the event in the idempotency keys ("approve", "refund:<id>").
func (j *Jobs) saveConversion(ctx context.Context, row *store.Conversion, n attribution.Conversion, entries []attribution.Entry, tag, reason string) error {
	now := j.Now()
	statusChanged := row.Status != string(n.Status)
	if err := fillFromDomain(row, n, now); err != nil {
		return err
	}
	if statusChanged && reason != "" {
		row.StatusReason = reason
	}
	row.UpdatedAt = now
	if err := j.writeLedger(ctx, row, entries, tag, now); err != nil {
		return err
	}
	return j.Store.UpdateConversion(ctx, row)
}

// LedgerDetail is the detail document of a conversion ledger entry: the four
// amounts moved (amount_minor holds the commission, what partners are paid).
type LedgerDetail struct {
	Line      int                 `json:"line"`
	PartnerID string              `json:"partner_id,omitempty"`
	Amounts   attribution.Amounts `json:"amounts"`
	Reason    string              `json:"reason"`
}

// writeLedger appends entries for row; money refunded after payout also
// becomes a clawback for the partner's next statement.
func (j *Jobs) writeLedger(ctx context.Context, row *store.Conversion, entries []attribution.Entry, tag string, now time.Time) error {
	for _, e := range entries {
		l, err := ledgerParts(e, tag)
		if err != nil {
			return err
		}
		key := "conv:" + strconv.FormatInt(row.ID, 10) + l.keySuffix
		written, err := j.Store.AppendLedger(ctx, &store.LedgerEntry{
			ShopID: row.ShopID, SubjectType: store.SubjectConversion, SubjectID: row.ID, Kind: l.kind,
			FromStatus: string(e.From), ToStatus: string(e.To), AmountMinor: e.Amounts.Commission, Currency: row.Currency,
			CauseType: l.causeType, CauseID: l.causeID, IdempotencyKey: &key, Detail: l.detail, CreatedAt: now,
		})
		if err != nil {
			return err
		}
		if written && e.To == attribution.BucketClawback {
			row.ClawbackMinor += e.Amounts.Commission
			if pid := parseIDPtr(e.PartnerID); pid != nil && e.Amounts.Commission > 0 {
				if err := j.Store.AddClawback(ctx, &store.Clawback{ShopID: row.ShopID, PartnerID: *pid, ConversionID: row.ID,
					OrderID: row.OrderID, AmountMinor: e.Amounts.Commission, Currency: row.Currency, IdempotencyKey: key, CreatedAt: now}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ledgerRow is what a conversion's ledger entry is made of, whatever the
// conversion's id: its kind (the tag's first part), the idempotency key
// after "conv:<id>" (":<tag>:<line>"), the detail document and the cause.
type ledgerRow struct {
	kind, keySuffix, causeType, causeID string
	detail                              json.RawMessage
}

func ledgerParts(e attribution.Entry, tag string) (ledgerRow, error) {
	kind, _, _ := strings.Cut(tag, ":")
	detail, err := json.Marshal(LedgerDetail{Line: e.Line, PartnerID: e.PartnerID, Amounts: e.Amounts, Reason: e.Reason})
	if err != nil {
		return ledgerRow{}, err
	}
	ct, cid, _ := strings.Cut(e.Cause, ":")
	if ct == "" {
		ct = "system"
	}
	return ledgerRow{kind: kind, keySuffix: ":" + tag + ":" + strconv.Itoa(e.Line), causeType: ct, causeID: cid, detail: detail}, nil
}

// AttributionSettings are the shop settings attribution reads.
type AttributionSettings struct {
	Policy   attribution.Policy
	HoldDays *int
}

// PolicyJSON is a crediting policy as settings and the rerun API carry it:
// either a bare string ("coupon_wins") or this object.
type PolicyJSON struct {
	Kind       string            `json:"kind"`
	WindowDays *int              `json:"window_days,omitempty"`
	Overrides  map[string]string `json:"overrides,omitempty"`
	Fallback   string            `json:"fallback,omitempty"`
	Split      *struct {
		Mode         string `json:"mode"`
		CouponWeight int64  `json:"coupon_weight"`
		ClickWeight  int64  `json:"click_weight"`
	} `json:"split,omitempty"`
}

// UnmarshalJSON accepts a bare policy name too.
func (p *PolicyJSON) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = PolicyJSON{Kind: s}
		return nil
	}
	type plain PolicyJSON
	var q plain
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	*p = PolicyJSON(q)
	return nil
}

// Apply overlays p onto pol.
func (p PolicyJSON) Apply(pol attribution.Policy) attribution.Policy {
	if p.Kind != "" {
		pol.Kind = attribution.PolicyKind(p.Kind)
	}
	if p.WindowDays != nil {
		pol.WindowDays = *p.WindowDays
	}
	if len(p.Overrides) > 0 {
		pol.Overrides = map[string]attribution.PolicyKind{}
		for k, v := range p.Overrides {
			pol.Overrides[k] = attribution.PolicyKind(v)
		}
	}
	if p.Fallback != "" {
		pol.Fallback = attribution.PolicyKind(p.Fallback)
	}
	if p.Split != nil {
		pol.Split = attribution.SplitRule{Mode: attribution.SplitMode(p.Split.Mode), CouponWeight: p.Split.CouponWeight, ClickWeight: p.Split.ClickWeight}
	}
	return pol
}

// ParseAttributionSettings reads crediting_policy, attribution_window_days
// and hold_days from a shop's settings; missing or malformed values take the
// defaults (coupon_wins, 30, 30): a bad settings document must not stop
// orders from being attributed.
func ParseAttributionSettings(raw json.RawMessage) AttributionSettings {
	var s struct {
		Policy     *PolicyJSON `json:"crediting_policy"`
		WindowDays *int        `json:"attribution_window_days"`
		HoldDays   *int        `json:"hold_days"`
	}
	_ = json.Unmarshal(raw, &s)
	out := AttributionSettings{Policy: attribution.Policy{Kind: attribution.CouponWins, WindowDays: attribution.DefaultWindowDays}}
	if s.Policy != nil {
		out.Policy = s.Policy.Apply(out.Policy)
	}
	if s.WindowDays != nil && *s.WindowDays > 0 && *s.WindowDays <= 365 {
		out.Policy.WindowDays = *s.WindowDays
	}
	if out.Policy.Validate() != nil {
		out.Policy = attribution.Policy{Kind: attribution.CouponWins, WindowDays: out.Policy.WindowDays}
		if out.Policy.Validate() != nil {
			out.Policy.WindowDays = attribution.DefaultWindowDays
		}
	}
	out.HoldDays = s.HoldDays
	return out
}

// attributionInput is what Attribute needs for one order, plus the hold
// overrides of the campaigns involved.
type attributionInput struct {
	Order       attribution.Order
	Codes       []attribution.IssuedCode
	Clicks      []attribution.Click
	Touchpoints []attribution.Touchpoint
	holdDays    map[string]*int // campaign id -> hold_days
	codeRows    []store.AttributionCode
}

// holdDaysFor returns the hold override of the credited campaign with the
// largest share (nil: the shop's).
func (in attributionInput) holdDaysFor(res attribution.Result) *int {
	var best *attribution.Line
	for i := range res.Lines {
		if best == nil || res.Lines[i].Share > best.Share {
			best = &res.Lines[i]
		}
	}
	if best == nil || best.CampaignID == "" {
		return nil
	}
	return in.holdDays[best.CampaignID]
}

// ClickIDFromLanding returns the SmartLink click id a landing URL carries
// (also inside a /discount/CODE?redirect= link).
func ClickIDFromLanding(landing string) string {
	u, err := url.Parse(strings.TrimSpace(landing))
	if err != nil || landing == "" {
		return ""
	}
	q := u.Query()
	if id := q.Get(attribution.ClickParam); id != "" {
		return strings.TrimSpace(id)
	}
	if r := q.Get("redirect"); r != "" {
		if ru, err := url.Parse(r); err == nil {
			return strings.TrimSpace(ru.Query().Get(attribution.ClickParam))
		}
	}
	return ""
}

// orderAmounts returns an order's gross (before discounts), net (subtotal
// after discounts, no shipping or tax) and discount in shop money.
func orderAmounts(o *store.Order) (gross, net, discount int64) {
	switch {
	case o.SubtotalMinor != nil:
		net = *o.SubtotalMinor
	case o.ShippingMinor != nil:
		net = o.TotalMinor - *o.ShippingMinor
	default:
		net = o.TotalMinor
	}
	if o.DiscountMinor != nil {
		discount = *o.DiscountMinor
	}
	return net + discount, net, discount
}

// attributionInputs gathers the order's codes, click and the shopper's
// touchpoints, all scoped to the shop.
func (j *Jobs) attributionInputs(ctx context.Context, sh *store.Shop, o *store.Order, pol attribution.Policy) (attributionInput, error) {
	in := attributionInput{holdDays: map[string]*int{}}
	gross, net, disc := orderAmounts(o)
	in.Order = attribution.Order{
		ID: strconv.FormatInt(o.OrderID, 10), Currency: o.Currency, CreatedAt: o.OrderCreatedAt,
		GrossMinor: gross, NetMinor: net, DiscountMinor: disc, DiscountCodes: o.DiscountCodes,
		LandingURL: o.LandingSite, ReferringSite: o.ReferringSite, CustomerEmail: o.Email, CheckoutToken: o.CheckoutToken,
	}
	if o.CustomerID != nil {
		in.Order.CustomerID = strconv.FormatInt(*o.CustomerID, 10)
	}
	codes, issued, err := j.Store.OrderCodes(ctx, store.OrderCodesQuery{
		ShopID: sh.ID, Values: o.DiscountCodes, Order: o.OrderID,
		CustomerID: o.CustomerID, Email: o.Email, From: o.OrderCreatedAt.Add(-pol.Window()), To: o.OrderCreatedAt.Add(attribution.ClockSkew),
	})
	if err != nil {
		return in, err
	}
	in.codeRows = codes
	for _, c := range codes {
		ic := issuedCode(c)
		prior, err := c.PriorOrders()
		if err != nil {
			return in, err
		}
		for _, id := range prior {
			ic.PriorRedemptions = append(ic.PriorRedemptions, strconv.FormatInt(id, 10))
		}
		in.Codes = append(in.Codes, ic)
		in.holdDays[ic.CampaignID] = c.CampaignHoldDays
	}
	if id := ClickIDFromLanding(o.LandingSite); id != "" {
		cl, err := j.Store.ClickByClickID(ctx, sh.ID, id)
		switch {
		case err == nil && !cl.IsBot:
			in.Clicks = append(in.Clicks, attribution.Click{
				ID: cl.ClickID, At: cl.CreatedAt, PartnerID: idStr(cl.PartnerID), CampaignID: idStr(cl.CampaignID),
				Channel: cl.Channel, IP: cl.IP, UserAgent: cl.UserAgent, Device: cl.Device, Country: cl.Country,
			})
			if cl.CampaignID != nil {
				if _, ok := in.holdDays[idStr(cl.CampaignID)]; !ok {
					hd, err := j.Store.CampaignHoldDays(ctx, sh.ID, *cl.CampaignID)
					if err != nil {
						return in, err
					}
					in.holdDays[idStr(cl.CampaignID)] = hd
				}
			}
		case err == nil, errors.Is(err, store.ErrNotFound):
		default:
			return in, err
		}
	}
	for _, c := range issued {
		ic := issuedCode(c)
		in.Touchpoints = append(in.Touchpoints, attribution.Touchpoint{
			Kind: attribution.TouchCodeIssued, At: ic.IssuedAt, Channel: ic.Channel, PartnerID: ic.PartnerID, CampaignID: ic.CampaignID, Ref: ic.Code,
		})
	}
	sort.SliceStable(in.Touchpoints, func(a, b int) bool { return in.Touchpoints[a].At.Before(in.Touchpoints[b].At) })
	return in, nil
}

// PolicyWithPartners attaches the shop's partner commission rules to pol.
func (j *Jobs) PolicyWithPartners(ctx context.Context, shopID int64, pol attribution.Policy) (attribution.Policy, error) {
	m := memoOf(ctx)
	ps, ok := []store.PartnerCommission(nil), false
	if m != nil {
		ps, ok = m.partners[shopID]
	}
	if !ok {
		var err error
		if ps, err = j.Store.PartnerCommissions(ctx, shopID); err != nil {
			return pol, err
		}
		if m != nil {
			m.partners[shopID] = ps
		}
	}
	pol.Partners = make(map[string]attribution.Partner, len(ps))
	for _, p := range ps {
		var c attribution.Commission
		if p.CommissionPercent != nil {
			c.PercentBP = attribution.PercentToBP(*p.CommissionPercent)
		}
		if p.CommissionFixedMinor != nil {
			c.FixedMinor = *p.CommissionFixedMinor
		}
		id := strconv.FormatInt(p.ID, 10)
		pol.Partners[id] = attribution.Partner{ID: id, Name: p.Name, Commission: c}
	}
	return pol, nil
}

func issuedCode(c store.AttributionCode) attribution.IssuedCode {
	ic := attribution.IssuedCode{
		Code: c.Code, CampaignID: strconv.FormatInt(c.CampaignID, 10), PartnerID: idStr(c.PartnerID), Channel: c.Channel,
		Kind: attribution.CodeKind(c.Kind),
	}
	if ic.PartnerID == "" {
		ic.PartnerID = idStr(c.CampaignPartnerID)
	}
	if c.CustomerID != nil {
		ic.IssuedToID = strconv.FormatInt(*c.CustomerID, 10)
	}
	if c.CustomerEmail != nil {
		ic.IssuedToEmail = *c.CustomerEmail
	}
	if c.IssuedAt != nil {
		ic.IssuedAt = *c.IssuedAt
	}
	if c.UsageCap != nil {
		ic.UsageCap = *c.UsageCap
	}
	return ic
}

// LedgerCheck is the answer of GET /api/v1/ledger/check.
type LedgerCheck struct {
	OK         bool             `json:"ok"`
	Checked    int              `json:"checked"`
	Entries    int              `json:"entries"`
	Mismatches []LedgerMismatch `json:"mismatches"`
}

// LedgerMismatch is one conversion whose stored amounts differ from what its
// ledger entries add up to.
type LedgerMismatch struct {
	ConversionID string `json:"conversion_id"`
	OrderID      string `json:"order_id"`
	Field        string `json:"field"`
	Ledger       int64  `json:"ledger"`
	Stored       int64  `json:"stored"`
}

// EntriesFromLedger turns stored conversion ledger rows back into the
// attribution package's entries (from their detail documents).
func EntriesFromLedger(rows []store.LedgerEntry) ([]attribution.Entry, error) {
	out := make([]attribution.Entry, 0, len(rows))
	for _, r := range rows {
		var d LedgerDetail
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			return nil, fmt.Errorf("jobs: ledger entry %d detail: %w", r.ID, err)
		}
		out = append(out, attribution.Entry{
			ConversionID: strconv.FormatInt(r.SubjectID, 10), Line: d.Line, PartnerID: d.PartnerID,
			From: attribution.Status(r.FromStatus), To: attribution.Status(r.ToStatus), Amounts: d.Amounts, Reason: d.Reason,
			Cause: r.CauseType + ":" + r.CauseID,
		})
	}
	return out, nil
}

// CheckLedger recomputes every conversion's amounts of a shop from its
// ledger entries alone (attribution.Balance) and compares them with the
// conversions table: the bucket of the conversion's status holds its current
// amounts, all buckets together its original amounts, and the clawback
// bucket its clawback. Entries of unknown conversions are mismatches too.
func (j *Jobs) CheckLedger(ctx context.Context, shopID int64) (LedgerCheck, error) {
	out := LedgerCheck{Mismatches: []LedgerMismatch{}}
	convs, err := j.Store.ListConversions(ctx, store.ConversionFilter{ShopID: shopID, Ascending: true})
	if err != nil {
		return out, err
	}
	rows, err := j.Store.ConversionLedger(ctx, shopID, 0)
	if err != nil {
		return out, err
	}
	entries, err := EntriesFromLedger(rows)
	if err != nil {
		return out, err
	}
	out.Entries = len(entries)
	by := map[string][]attribution.Entry{}
	for _, e := range entries {
		by[e.ConversionID] = append(by[e.ConversionID], e)
	}
	for i := range convs {
		c := &convs[i]
		id := strconv.FormatInt(c.ID, 10)
		b := attribution.Balance(by[id])
		delete(by, id)
		out.Checked++
		var all attribution.Amounts
		for k, v := range b {
			if k != attribution.BucketNone {
				all = all.Add(v)
			}
		}
		// The bucket of the status holds the current amounts; a reversed
		// conversion has none left, so what must be empty then is every
		// live bucket (StatusReversed holds what refunds took).
		cur := b[attribution.Status(c.Status)]
		if c.Status == store.ConversionReversed {
			cur = attribution.Amounts{}
			for k, v := range b {
				if k != attribution.BucketNone && k != attribution.StatusReversed && k != attribution.BucketClawback {
					cur = cur.Add(v)
				}
			}
		}
		add := func(field string, ledger, stored int64) {
			if ledger != stored {
				out.Mismatches = append(out.Mismatches, LedgerMismatch{ConversionID: id, OrderID: strconv.FormatInt(c.OrderID, 10),
					Field: field, Ledger: ledger, Stored: stored})
			}
		}
		add("gross", cur.Gross, c.GrossMinor)
		add("net", cur.Net, c.NetMinor)
		add("discount", cur.Discount, c.DiscountMinor)
		add("commission", cur.Commission, c.CommissionMinor)
		add("original_gross", all.Gross, c.OriginalGross)
		add("original_net", all.Net, c.OriginalNet)
		add("original_discount", all.Discount, c.OriginalDisc)
		add("original_commission", all.Commission, c.OriginalComm)
		add("clawback", b[attribution.BucketClawback].Commission, c.ClawbackMinor)
	}
	for id, es := range by {
		if len(es) > 0 {
			out.Mismatches = append(out.Mismatches, LedgerMismatch{ConversionID: id, Field: "conversion_missing"})
		}
	}
	sort.Slice(out.Mismatches, func(a, b int) bool { return out.Mismatches[a].ConversionID < out.Mismatches[b].ConversionID })
	out.OK = len(out.Mismatches) == 0
	return out, nil
}

// PayStatement marks an open statement paid: each conversion on it that is
// approved becomes paid (ledger entries caused by actor), lines whose
// conversion changed since the statement was built (refunded, reversed) are
// corrected to what is owed now, and the totals follow. Paying a paid
// statement changes nothing.
func (j *Jobs) PayStatement(ctx context.Context, shopID, id int64, actor string) (*store.Statement, error) {
	err := j.Store.InTx(ctx, func(ctx context.Context) error {
		st, err := j.Store.StatementByID(ctx, shopID, id, true)
		if err != nil {
			return err
		}
		if st.Status == "paid" {
			return nil
		}
		lines, err := j.Store.StatementLines(ctx, shopID, id)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if l.Kind != "conversion" {
				continue
			}
			row, err := j.Store.ConversionByID(ctx, shopID, l.ConversionID, true)
			if err != nil {
				return err
			}
			dom, err := toDomain(row)
			if err != nil {
				return err
			}
			owed := int64(0)
			if (dom.Status == attribution.StatusApproved || dom.Status == attribution.StatusPaid) && l.Line < len(dom.Lines) {
				owed = dom.Lines[l.Line].Amounts.Commission
			}
			if owed != l.AmountMinor {
				if err := j.Store.SetStatementLineAmount(ctx, shopID, l.ID, owed); err != nil {
					return err
				}
			}
			if dom.Status != attribution.StatusApproved {
				continue
			}
			n, entries, err := dom.Pay(actor)
			if err != nil {
				return err
			}
			row.StatementID = &id
			if err := j.saveConversion(ctx, row, n, entries, "pay", "statement "+strconv.FormatInt(id, 10)); err != nil {
				return err
			}
		}
		return j.Store.MarkStatementPaid(ctx, shopID, id, actor, j.Now())
	})
	if err != nil {
		return nil, err
	}
	return j.Store.StatementByID(ctx, shopID, id, false)
}

// RerunResult is the change re-attribution makes (or would make).
type RerunResult struct {
	DryRun    bool          `json:"dry_run"`
	Policy    string        `json:"policy"`
	Orders    int           `json:"orders"`
	Changed   int           `json:"changed"`
	Skipped   int           `json:"skipped"` // rejected, reversed or paid: their money is settled
	ByPartner []CreditDelta `json:"by_partner"`
	ByChannel []CreditDelta `json:"by_channel"`
	Changes   []RerunChange `json:"changes"`
}

// CreditDelta is the credit of one partner or channel before and after, in
// minor units.
type CreditDelta struct {
	Key              string `json:"key"`
	BeforeNet        int64  `json:"before_net_minor"`
	AfterNet         int64  `json:"after_net_minor"`
	BeforeCommission int64  `json:"before_commission_minor"`
	AfterCommission  int64  `json:"after_commission_minor"`
}

// RerunChange is one conversion whose credit changes.
type RerunChange struct {
	ConversionID string `json:"conversion_id"`
	OrderID      string `json:"order_id"`
	BeforeRule   string `json:"before_rule"`
	AfterRule    string `json:"after_rule"`
	BeforeParty  string `json:"before_partner_id"`
	AfterParty   string `json:"after_partner_id"`
}

func lineKey(ls []attribution.Line) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "%s|%s|%s|%s|%s|%d|%+v|%+v;", l.PartnerID, l.CampaignID, l.Channel, l.Code, l.ClickID, l.Share, l.Amounts, l.Original)
	}
	return b.String()
}

// Rerun re-attributes the shop's held and approved conversions of orders
// created in [from, to) under the shop's policy overlaid with override (nil:
// the shop's as is). A dry run only reports the change in credit per partner
// and channel; otherwise each changed conversion moves its old amounts out
// of its buckets and the new ones in, as ledger entries caused by actor.
// Rejected, reversed and paid conversions are skipped. Refunds already
// applied are re-applied to the new credit (cumulatively, which gives the
// same amounts as applying them one by one).
func (j *Jobs) Rerun(ctx context.Context, sh *store.Shop, from, to time.Time, override *PolicyJSON, dryRun bool, actor string) (RerunResult, error) {
	set := ParseAttributionSettings(sh.Settings)
	pol := set.Policy
	if override != nil {
		pol = override.Apply(pol)
	}
	out := RerunResult{DryRun: dryRun, Policy: string(pol.Kind), ByPartner: []CreditDelta{}, ByChannel: []CreditDelta{}, Changes: []RerunChange{}}
	if err := pol.Validate(); err != nil {
		return out, err
	}
	pol, err := j.PolicyWithPartners(ctx, sh.ID, pol)
	if err != nil {
		return out, err
	}
	convs, err := j.Store.ListConversions(ctx, store.ConversionFilter{ShopID: sh.ID, From: from, To: to, Ascending: true})
	if err != nil {
		return out, err
	}
	partners, channels := map[string]*CreditDelta{}, map[string]*CreditDelta{}
	acc := func(m map[string]*CreditDelta, k string, before bool, a attribution.Amounts) {
		if k == "" {
			k = "none"
		}
		d := m[k]
		if d == nil {
			d = &CreditDelta{Key: k}
			m[k] = d
		}
		if before {
			d.BeforeNet += a.Net
			d.BeforeCommission += a.Commission
		} else {
			d.AfterNet += a.Net
			d.AfterCommission += a.Commission
		}
	}
	for i := range convs {
		c := convs[i]
		if c.Status != store.ConversionHeld && c.Status != store.ConversionApproved {
			out.Skipped++
			continue
		}
		out.Orders++
		err := j.Store.InTx(ctx, func(ctx context.Context) error {
			if err := j.Store.LockOrder(ctx, sh.ID, c.OrderID); err != nil {
				return err
			}
			row, err := j.Store.ConversionByID(ctx, sh.ID, c.ID, true)
			if err != nil {
				return err
			}
			o, err := j.Store.OrderByID(ctx, sh.ID, c.OrderID)
			if err != nil {
				return err
			}
			beforeRule, beforeParty := row.Rule, idStr(row.PartnerID)
			old, n, res, changed, err := j.reattribute(ctx, sh, row, o, pol, actor, fmt.Sprintf("rerun:%d", row.Version), !dryRun)
			if err != nil {
				return err
			}
			for _, l := range old.Lines {
				acc(partners, l.PartnerID, true, l.Amounts)
				acc(channels, l.Channel, true, l.Amounts)
			}
			for _, l := range n.Lines {
				acc(partners, l.PartnerID, false, l.Amounts)
				acc(channels, l.Channel, false, l.Amounts)
			}
			if !changed {
				return nil
			}
			out.Changed++
			out.Changes = append(out.Changes, RerunChange{ConversionID: old.ID, OrderID: old.OrderID, BeforeRule: beforeRule,
				AfterRule: string(res.Rule), BeforeParty: beforeParty, AfterParty: mainPartner(res)})
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	flatten := func(m map[string]*CreditDelta) []CreditDelta {
		out := []CreditDelta{}
		for _, d := range m {
			out = append(out, *d)
		}
		sort.Slice(out, func(a, b int) bool { return out[a].Key < out[b].Key })
		return out
	}
	out.ByPartner, out.ByChannel = flatten(partners), flatten(channels)
	return out, nil
}

func mainPartner(res attribution.Result) string {
	best := -1
	for i, l := range res.Lines {
		if best < 0 || l.Share > res.Lines[best].Share {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return res.Lines[best].PartnerID
}

// ModelsResult is credit per channel under the report models beside the
// crediting policy (conversions credited, fractional).
type ModelsResult struct {
	Policy      string                        `json:"policy"`
	Conversions int                           `json:"conversions"`
	Models      map[string]attribution.Credit `json:"models"`
	MarkovError string                        `json:"markov_error,omitempty"`
	Removal     map[string]float64            `json:"markov_removal_effects,omitempty"`
}

// TimeDecayHalfLife is the half-life of the time-decay report model.
const TimeDecayHalfLife = 7 * 24 * time.Hour

// Models computes the report models over the shop's conversions of orders
// created in [from, to): each conversion's touch path (recorded at
// attribution) labelled by channel. The crediting policy column is the
// credit the money followed: each line's share of its conversion.
func (j *Jobs) Models(ctx context.Context, sh *store.Shop, from, to time.Time) (ModelsResult, error) {
	out := ModelsResult{Policy: string(ParseAttributionSettings(sh.Settings).Policy.Kind), Models: map[string]attribution.Credit{}}
	convs, err := j.Store.ListConversions(ctx, store.ConversionFilter{ShopID: sh.ID, From: from, To: to, Ascending: true})
	if err != nil {
		return out, err
	}
	policy := attribution.Credit{}
	var paths []attribution.Path
	for _, c := range convs {
		if c.Status == store.ConversionRejected || c.Status == store.ConversionReversed {
			continue
		}
		out.Conversions++
		var tps []attribution.Touchpoint
		_ = json.Unmarshal(c.Path, &tps)
		if p := attribution.PathFromTouchpoints(tps, c.OrderCreatedAt, float64(c.NetMinor), nil); len(p.Channels) > 0 {
			paths = append(paths, p)
		}
		if c.Attributed {
			var lines []attribution.Line
			_ = json.Unmarshal(c.Lines, &lines)
			for _, l := range lines {
				ch := l.Channel
				if ch == "" {
					ch = "other"
				}
				policy[ch] += float64(l.Share) / attribution.TotalShare
			}
		}
	}
	out.Models["crediting_policy"] = policy
	out.Models["last_touch"] = attribution.LastTouch(paths)
	out.Models["first_touch"] = attribution.FirstTouch(paths)
	out.Models["linear"] = attribution.Linear(paths)
	out.Models["position_based"] = attribution.PositionBased(paths)
	out.Models["time_decay"] = attribution.TimeDecay(paths, TimeDecayHalfLife)
	if len(paths) > 0 {
		m, err := attribution.Markov(paths)
		if err != nil {
			out.MarkovError = err.Error()
		} else {
			out.Models["markov"] = m.Conversions
			out.Removal = m.Removal
		}
	} else {
		out.Models["markov"] = attribution.Credit{}
	}
	return out, nil
}

// reattribute recomputes the credit of a held or approved conversion from
// order o under pol, re-applying the refunds already applied (cumulatively,
// which gives the same amounts as one by one) and keeping the status. When
// the lines change and apply is set, the old amounts move out of their
// buckets and the new ones in (ledger entries tagged tag, caused by cause)
// and the row is updated; otherwise nothing is written.
func (j *Jobs) reattribute(ctx context.Context, sh *store.Shop, row *store.Conversion, o *store.Order, pol attribution.Policy,
	cause, tag string, apply bool) (old, n attribution.Conversion, res attribution.Result, changed bool, err error) {
	old, err = toDomain(row)
	if err != nil {
		return
	}
	in, err := j.attributionInputs(ctx, sh, o, pol)
	if err != nil {
		return
	}
	res = attribution.Attribute(in.Order, in.Codes, in.Clicks, in.Touchpoints, pol, j.Now())
	n, _ = attribution.NewConversion(old.ID, res, old.HoldUntil, cause)
	if old.Refunded > 0 {
		n, _ = n.Refund(old.Refunded, cause)
	}
	n.Status = old.Status
	if lineKey(old.Lines) == lineKey(n.Lines) {
		return
	}
	changed = true
	if !apply {
		return
	}
	var outE, inE, outR, inR []attribution.Entry
	for li, l := range old.Lines {
		outE = append(outE, attribution.Entry{ConversionID: old.ID, Line: li, PartnerID: l.PartnerID, From: old.Status,
			To: attribution.BucketNone, Amounts: l.Amounts, Reason: "reattributed", Cause: cause})
		if r := l.Original.Sub(l.Amounts); !r.IsZero() {
			outR = append(outR, attribution.Entry{ConversionID: old.ID, Line: li, PartnerID: l.PartnerID, From: attribution.StatusReversed,
				To: attribution.BucketNone, Amounts: r, Reason: "reattributed", Cause: cause})
		}
	}
	for li, l := range n.Lines {
		inE = append(inE, attribution.Entry{ConversionID: old.ID, Line: li, PartnerID: l.PartnerID, From: attribution.BucketNone,
			To: n.Status, Amounts: l.Amounts, Reason: "reattributed: " + string(l.Rule), Cause: cause})
		if r := l.Original.Sub(l.Amounts); !r.IsZero() {
			inR = append(inR, attribution.Entry{ConversionID: old.ID, Line: li, PartnerID: l.PartnerID, From: attribution.BucketNone,
				To: attribution.StatusReversed, Amounts: r, Reason: "reattributed", Cause: cause})
		}
	}
	now := j.Now()
	for _, part := range []struct {
		tag string
		es  []attribution.Entry
	}{{tag + ":out", outE}, {tag + ":out-reversed", outR}, {tag + ":in", inE}, {tag + ":in-reversed", inR}} {
		if err = j.writeLedger(ctx, row, part.es, part.tag, now); err != nil {
			return
		}
	}
	if err = fillFromResult(row, res); err != nil {
		return
	}
	if err = fillFromDomain(row, n, now); err != nil {
		return
	}
	row.AttributedAt, row.UpdatedAt = now, now
	err = j.Store.UpdateConversion(ctx, row)
	return
}
