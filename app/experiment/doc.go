// Package experiment is the statistics of holdout experiments: deterministic
// assignment of shoppers to the treatment or control arm ([Assign]), the
// per-arm readout with 95% confidence intervals for the absolute lift
// (Newcombe's hybrid score interval) and the relative lift (delta method on
// the log ratio), incremental orders and revenue, cost per incremental
// order, incremental ROAS, the sample size still needed for a minimum
// detectable effect ([Analyze]), and an always-valid sequential test
// (mixture SPRT with a normal mixing distribution, [Sequential]) so that a
// merchant may look every day without inflating false positives.
//
// It also holds the decision side: Thompson sampling over discount levels
// ([Thompson]) and profit-ranked recommendations ([Recommend]).
//
// It is a pure domain package: standard library and gonum only; randomness
// comes in as a *rand.Rand the caller seeds.
package experiment
