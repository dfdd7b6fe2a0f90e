package uplift

import "sort"

// SplitMix64 is the standard SplitMix64 generator (Steele, Lea & Flood 2014),
// the one random source of this package: the holdout split, the noise-floor
// scorings and the learners' subsampling all draw from a SplitMix64 seeded by
// the caller. It implements math/rand/v2's Source. It is not safe for
// concurrent use.
type SplitMix64 struct{ state uint64 }

// NewSplitMix64 returns a generator whose state starts at seed.
func NewSplitMix64(seed uint64) *SplitMix64 { return &SplitMix64{state: seed} }

// Uint64 returns the next output: state += 0x9E3779B97F4A7C15, then the
// SplitMix64 finaliser of the new state.
func (s *SplitMix64) Uint64() uint64 {
	s.state += 0x9E3779B97F4A7C15
	z := s.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Float64 returns a uniform number in [0, 1) built from the top 53 bits of
// the next output.
func (s *SplitMix64) Float64() float64 { return float64(s.Uint64()>>11) * 0x1p-53 }

// Split is the reference holdout split of n rows: row i gets the i-th output
// of SplitMix64(seed), rows are sorted by (output, i) ascending and the first
// floor(holdout·n) of them are the holdout; the rest are the training rows.
// Both slices are returned in ascending row order (file order).
func Split(n int, seed uint64, holdout float64) (train, hold []int) {
	rng := NewSplitMix64(seed)
	keys := make([]uint64, n)
	idx := make([]int, n)
	for i := range keys {
		keys[i] = rng.Uint64()
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		ka, kb := keys[idx[a]], keys[idx[b]]
		if ka != kb {
			return ka < kb
		}
		return idx[a] < idx[b]
	})
	nh := int(holdout * float64(n))
	hold = append([]int(nil), idx[:nh]...)
	train = append([]int(nil), idx[nh:]...)
	sort.Ints(hold)
	sort.Ints(train)
	return train, hold
}
