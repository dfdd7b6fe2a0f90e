// Package uplift measures the incremental effect of a campaign (a coupon, an
// e-mail) from a randomised experiment. It loads an experiment from any CSV
// ([LoadCSV]), splits it deterministically ([Split]), encodes features on the
// training rows ([FitEncoder]), fits an uplift [Model] chosen by name from a
// [Registry] — the reference logistic T-learner, a GAM-style T-learner that
// beats it on Hillstrom, an X-learner and a boosted-tree T-learner — and
// scores it on the holdout with scikit-uplift 0.5 compatible metrics
// ([QiniCoefficient], [NormalizedAUUC], [UpliftAtK]), each next to its
// random-score noise floor ([Evaluate], [EvaluateSeeds]).
//
// The package reproduces the Hillstrom reference procedure of
// shared/docs/UPLIFT-REFERENCE.md to 12 decimals (SplitMix64 split,
// train-fitted z-scoring, L2 logistic regression by Newton–Raphson), which the
// tests run as a conformance check. (Multi-touch attribution models live in
// package attribution.)
//
// It is a pure domain package: standard library plus gonum for linear
// algebra. It must not import Echo, gorm, asynq or anything in app/. Every
// source of randomness is a caller-seeded [SplitMix64]; there are no
// package-level mutable variables.
//
// Numbers from different uplift libraries use different definitions and are
// not comparable; outputs therefore name their convention ([MetricConvention]).
package uplift
