package attribution

import (
	"errors"
	"fmt"
	"time"
)

// DefaultHoldDays is the refund window a conversion is held for when neither
// the shop nor the campaign sets one.
const DefaultHoldDays = 30

// HoldUntil returns when a conversion of an order created at createdAt
// leaves the hold: the campaign's hold days if set, else the shop's, else
// DefaultHoldDays. Days are calendar days in createdAt's location (AddDate),
// so a shop-local time keeps its wall clock across DST; negative days count
// as zero (approve as soon as the job runs).
func HoldUntil(createdAt time.Time, shopHoldDays, campaignHoldDays *int) time.Time {
	d := DefaultHoldDays
	switch {
	case campaignHoldDays != nil:
		d = *campaignHoldDays
	case shopHoldDays != nil:
		d = *shopHoldDays
	}
	return createdAt.AddDate(0, 0, max(d, 0))
}

// Status is a conversion's status, and also names the ledger bucket that
// holds the money of conversions in that status.
type Status string

// Conversion statuses (PRODUCT.md §12).
const (
	StatusHeld     Status = "held"
	StatusApproved Status = "approved"
	StatusRejected Status = "rejected"
	StatusReversed Status = "reversed"
	StatusPaid     Status = "paid"
)

// Ledger buckets that are not statuses.
const (
	// BucketNone is where a conversion's money comes from when it is
	// created; Balance does not report it.
	BucketNone Status = ""
	// BucketClawback holds money refunded after it was paid: the partner
	// owes it back on the next statement.
	BucketClawback Status = "clawback"
)

// Ledger reasons.
const (
	ReasonAttributed  = "attributed"
	ReasonHoldElapsed = "hold_elapsed"
	ReasonRefund      = "refund"
	ReasonFullRefund  = "full_refund"
	ReasonCancelled   = "cancelled"
	ReasonPaid        = "paid"
)

// Entry is one ledger delta: Amounts (never negative) moved from one bucket
// to another for one line of one conversion, with the reason and the cause
// (webhook id, rule, user) that made it.
type Entry struct {
	ConversionID string
	Line         int
	PartnerID    string
	From, To     Status
	Amounts      Amounts
	Reason       string
	Cause        string
}

// Balance replays entries into the amount each bucket holds. Filtered to one
// conversion (or line, or partner) it reproduces that conversion's amounts:
// the bucket of its status holds its current amounts, BucketClawback what was
// refunded after payout, StatusReversed what was refunded before, and all
// buckets together its original amounts.
func Balance(entries []Entry) map[Status]Amounts {
	b := make(map[Status]Amounts)
	for _, e := range entries {
		if e.From != BucketNone {
			b[e.From] = b[e.From].Sub(e.Amounts)
		}
		b[e.To] = b[e.To].Add(e.Amounts)
	}
	return b
}

// Conversion is the credit of one order as it moves through its life.
// Its methods are pure: they return the next Conversion and the ledger
// entries that get there, and never modify the receiver.
//
//	held --approve/release--> approved --pay--> paid
//	held --reject--> rejected
//	held | approved | paid --full refund/cancel--> reversed (from paid: a clawback)
//
// Partial refunds keep the status and move the lost amounts to
// StatusReversed (or to BucketClawback once paid).
type Conversion struct {
	ID        string
	OrderID   string
	Currency  string
	Status    Status
	HoldUntil time.Time
	// OrderNet is the order's net at attribution, the denominator of
	// pro-rata refunds.
	OrderNet int64
	// Refunded is the cumulative refunded net, capped at OrderNet.
	Refunded int64
	Lines    []Line
}

// Amounts returns the conversion's current amounts.
func (c Conversion) Amounts() Amounts {
	var a Amounts
	for _, l := range c.Lines {
		a = a.Add(l.Amounts)
	}
	return a
}

// TransitionError is an action a conversion's status does not allow (the
// API answers 409).
type TransitionError struct {
	From   Status
	Action string
}

// Error implements error.
func (e *TransitionError) Error() string {
	return fmt.Sprintf("attribution: cannot %s a %s conversion", e.Action, e.From)
}

// ErrNotDue is returned by Release before the hold is over.
var ErrNotDue = errors.New("attribution: hold not over yet")

// NewConversion starts a held conversion from an attribution result; each
// line's amounts enter the held bucket.
func NewConversion(id string, r Result, holdUntil time.Time, cause string) (Conversion, []Entry) {
	c := Conversion{
		ID: id, OrderID: r.OrderID, Currency: r.Currency, Status: StatusHeld, HoldUntil: holdUntil,
		OrderNet: r.Totals.Net, Lines: append([]Line(nil), r.Lines...),
	}
	entries := make([]Entry, len(c.Lines))
	for i, l := range c.Lines {
		entries[i] = c.entry(i, BucketNone, StatusHeld, l.Amounts, ReasonAttributed+": "+string(l.Rule), cause)
	}
	return c, entries
}

func (c Conversion) entry(i int, from, to Status, a Amounts, reason, cause string) Entry {
	return Entry{ConversionID: c.ID, Line: i, PartnerID: c.Lines[i].PartnerID, From: from, To: to, Amounts: a, Reason: reason, Cause: cause}
}

// move changes status, moving every line's current amounts along.
func (c Conversion) move(to Status, reason, cause string) (Conversion, []Entry) {
	entries := make([]Entry, len(c.Lines))
	for i, l := range c.Lines {
		entries[i] = c.entry(i, c.Status, to, l.Amounts, reason, cause)
	}
	c.Lines = append([]Line(nil), c.Lines...)
	c.Status = to
	return c, entries
}

// Approve approves a held conversion (a merchant approving early, with a
// reason). Approving an approved conversion changes nothing: clients retry.
func (c Conversion) Approve(reason, cause string) (Conversion, []Entry, error) {
	switch c.Status {
	case StatusHeld:
		n, e := c.move(StatusApproved, reason, cause)
		return n, e, nil
	case StatusApproved:
		return c, nil, nil
	}
	return c, nil, &TransitionError{From: c.Status, Action: "approve"}
}

// Release is the scheduled approval when the hold is over: it approves a
// held conversion whose HoldUntil is not after now, returns ErrNotDue for one
// still in its hold, and does nothing for a conversion that already left the
// hold (approved early, rejected, reversed, paid), so a late or repeated
// task is harmless.
func (c Conversion) Release(now time.Time, cause string) (Conversion, []Entry, error) {
	if c.Status != StatusHeld {
		return c, nil, nil
	}
	if now.Before(c.HoldUntil) {
		return c, nil, ErrNotDue
	}
	n, e := c.move(StatusApproved, ReasonHoldElapsed, cause)
	return n, e, nil
}

// Reject rejects a held conversion (merchant or fraud rule, with a reason).
func (c Conversion) Reject(reason, cause string) (Conversion, []Entry, error) {
	switch c.Status {
	case StatusHeld:
		n, e := c.move(StatusRejected, reason, cause)
		return n, e, nil
	case StatusRejected:
		return c, nil, nil
	}
	return c, nil, &TransitionError{From: c.Status, Action: "reject"}
}

// Pay marks an approved conversion paid (its statement was paid).
func (c Conversion) Pay(cause string) (Conversion, []Entry, error) {
	switch c.Status {
	case StatusApproved:
		n, e := c.move(StatusPaid, ReasonPaid, cause)
		return n, e, nil
	case StatusPaid:
		return c, nil, nil
	}
	return c, nil, &TransitionError{From: c.Status, Action: "pay"}
}

// lostTo is where refunded money goes from the current status.
func (c Conversion) lostTo() Status {
	if c.Status == StatusPaid {
		return BucketClawback
	}
	return StatusReversed
}

// Refund applies a refund of refundMinor (see ApplyRefund). Held, approved
// and paid conversions that are fully refunded become reversed; before that,
// the lost amounts move to StatusReversed, or to BucketClawback when the
// conversion was already paid. A rejected conversion keeps its status (it
// earns nothing either way) but its amounts shrink too, so revenue reports
// stay right. A reversed conversion ignores further refunds.
func (c Conversion) Refund(refundMinor int64, cause string) (Conversion, []Entry) {
	if c.Status == StatusReversed || refundMinor <= 0 {
		return c, nil
	}
	r := ApplyRefund(c.Lines, refundMinor, c.OrderNet)
	reason := ReasonRefund
	if r.Full {
		reason = ReasonFullRefund
	}
	statusChange := r.Full && c.Status != StatusRejected
	var entries []Entry
	for i, d := range r.Deltas {
		if !d.IsZero() || statusChange { // a status change is always on the ledger
			entries = append(entries, c.entry(i, c.Status, c.lostTo(), d, reason, cause))
		}
	}
	c.Lines, c.Refunded = r.Lines, r.Refunded
	if statusChange {
		c.Status = StatusReversed
	}
	return c, entries
}

// Cancel reverses a conversion whose order was cancelled: everything left
// moves out (to BucketClawback if it was paid) and the status becomes
// reversed; a rejected conversion stays rejected with zero amounts.
// Cancelling a reversed conversion changes nothing.
func (c Conversion) Cancel(reason, cause string) (Conversion, []Entry) {
	if c.Status == StatusReversed {
		return c, nil
	}
	if reason == "" {
		reason = ReasonCancelled
	}
	var entries []Entry
	lines := make([]Line, len(c.Lines))
	for i, l := range c.Lines {
		if !l.Amounts.IsZero() || c.Status != StatusRejected {
			entries = append(entries, c.entry(i, c.Status, c.lostTo(), l.Amounts, reason, cause))
		}
		l.Amounts = Amounts{}
		lines[i] = l
	}
	c.Lines, c.Refunded = lines, c.OrderNet
	if c.Status != StatusRejected {
		c.Status = StatusReversed
	}
	return c, entries
}
