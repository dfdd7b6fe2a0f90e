// Package attribution owns the rules that turn one order into credit: which
// issued code, SmartLink click and touchpoints it matches, which partner,
// campaign and channel the shop's crediting policy credits, how the order's
// money (gross, net, discount, commission) is divided between credit lines,
// and what happens to that credit afterwards — the hold until the refund
// window closes, pro-rata refunds, reversals, payouts and clawbacks — as a
// state machine whose every step is a ledger entry. It also holds the
// multi-touch report models (first/last touch, linear, position-based,
// time-decay and the exact first-order Markov removal effect), which are
// descriptive and never move money.
//
// Money is always int64 minor units of the shop's currency (shop money, not
// presentment money). Every division of money uses exact integer arithmetic
// with the largest-remainder method, so parts always add up to the whole and
// repeated partial refunds never drift.
//
// The package is pure: standard library only, no I/O, no clock (now is
// passed in), no randomness. It must not import Echo, gorm, asynq or any other
// coupontrail package; the attribution job in jobs/ loads the inputs, calls
// [Attribute], and stores the [Result] and the ledger [Entry] values.
package attribution
