// Package fraud owns coupon-abuse detection for coupontrail (PRODUCT.md §9):
// the signals that look at one order together with its code, its click trail
// and aggregates of the shop's history ([Inputs]), the way they are combined
// into a 0–100 score with explained reasons and an action chosen by the
// shop's thresholds ([Score], [Config], [Assessment]), the grouping of flagged
// orders into incidents so that merchants get one alert per leaked code or
// misbehaving partner rather than one per order ([Group]), and a labelled
// traffic simulator that measures all of it ([Simulate]).
//
// Signals are pure functions: they read an [Inputs] and return a [Reason]
// (with its evidence) or nothing. They never touch a database, the network or
// the clock; the caller supplies "now" through the order's timestamp and the
// history through [Aggregates], which the store computes with SQL and which
// [Tracker] defines precisely in memory (the simulator uses it, so the
// definitions the test measures are the definitions production must mirror).
//
// When to score: once when attribution creates the conversion (the
// aggregates as of the order), and again when its hold ends, before it is
// approved for payout ([Tracker.Review]): by then the partner's refunds are
// known and the code's redemptions around the order can be seen on both
// sides, so a refund farm, or the first orders of a leak, are caught before
// anyone is paid. Shadow mode records what either pass would have done.
//
// Combining: each reason carries a probability that the order is abusive given
// that signal alone (its Weight). Reasons are combined with a noisy-OR,
// score = 100 × (1 − Π(1 − wᵢ)), so independent weak evidence adds up while a
// single strong signal is enough on its own. The weights are set so that the
// signals that are weak on their own (a code's redemption velocity, many
// clicks from one IP, a single datacenter address) can never flag an order
// alone at the default thresholds; see signals.go for each weight and why.
// They are hand-set and checked against the simulator, not fitted to real
// labels — when merchants' verdicts accumulate they should be re-fitted.
//
// It is a pure domain package: standard library only. It must not import
// Echo, gorm, asynq or any other coupontrail package; randomness (the
// simulator) comes from a caller-supplied seed.
package fraud
