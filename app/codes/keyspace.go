package codes

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// StoreCodeCap is Shopify's limit of unique discount codes per store
// (shopify-platform.md §4.7).
const StoreCodeCap = 20_000_000

// MaxFillRatio is the largest share of a format's keyspace that the shop's
// codes may occupy after a batch.
//
// 1% is chosen because at that fill:
//   - a guessed code of the right shape is live with probability ≤ 1/100, so a
//     guesser needs about 100 tries per hit, each a visible failed checkout
//     attempt that Shopify rate-limits and the fraud checks see;
//   - the expected number of redraws per code, f/(1−f), stays ≤ 1%, so batch
//     time and ON CONFLICT retries stay linear in the batch size.
//
// In practice the limit only bites on short codes: length 10 holds 8.2e14
// codes, so even the 20M store cap fills 2.4e-8 of it. [KeyspaceError]
// suggests the shortest length that fits.
const MaxFillRatio = 0.01

var (
	// ErrKeyspace is matched (errors.Is) by every *KeyspaceError.
	ErrKeyspace = errors.New("codes: keyspace too small")
	// ErrStoreCap is matched (errors.Is) by every *StoreCapError.
	ErrStoreCap = errors.New("codes: store code cap exceeded")
)

// KeyspaceError says why a batch of codes of one length is refused, with the
// numbers to show the merchant.
type KeyspaceError struct {
	// Length is the random-part length asked for.
	Length int
	// Keyspace is the number of distinct codes of that length (31^Length),
	// saturated at math.MaxUint64 (only lengths ≥ 13 saturate, and those
	// never fail the check).
	Keyspace uint64
	// Requested and Existing are the batch size and the codes already in the
	// shop that were counted as occupying the same keyspace.
	Requested, Existing int64
	// FillRatio is (Existing+Requested)/Keyspace; MaxFillRatio the limit.
	FillRatio, MaxFillRatio float64
	// ExpectedRetries is the expected number of redraws (within the run or
	// as ON CONFLICT hits) needed to make the batch; +Inf when Impossible.
	ExpectedRetries float64
	// Impossible is set when Existing+Requested exceeds Keyspace: the codes
	// cannot be made at any cost.
	Impossible bool
	// SuggestedLength is the shortest length that passes, or 0 if none does.
	SuggestedLength int
}

func (e *KeyspaceError) Error() string {
	s := fmt.Sprintf("codes: %d codes of length %d with %d existing need %.3g%% of a keyspace of %d",
		e.Requested, e.Length, e.Existing, 100*e.FillRatio, e.Keyspace)
	if e.Impossible {
		s += " (more codes than exist)"
	} else {
		s += fmt.Sprintf(" (limit %.3g%%, ~%.0f expected redraws)", 100*e.MaxFillRatio, e.ExpectedRetries)
	}
	if e.SuggestedLength > 0 {
		s += fmt.Sprintf("; use length %d or more", e.SuggestedLength)
	}
	return s
}

// Is makes errors.Is(err, ErrKeyspace) true.
func (e *KeyspaceError) Is(target error) bool { return target == ErrKeyspace }

// StoreCapError says a batch would take the shop past StoreCodeCap.
type StoreCapError struct {
	Requested, Existing int64
	// Cap is StoreCodeCap; Available is how many more codes fit (≥ 0).
	Cap, Available int64
}

func (e *StoreCapError) Error() string {
	return fmt.Sprintf("codes: %d existing + %d requested codes exceed Shopify's cap of %d per store (%d more fit)",
		e.Existing, e.Requested, e.Cap, e.Available)
}

// Is makes errors.Is(err, ErrStoreCap) true.
func (e *StoreCapError) Is(target error) bool { return target == ErrStoreCap }

// keyspaceSize returns 31^length as a float64 and as a uint64 saturated at
// math.MaxUint64.
func keyspaceSize(length int) (float64, uint64) {
	f := math.Pow(radix, float64(length))
	var u uint64 = 1
	for range length {
		hi, lo := bits.Mul64(u, radix)
		if hi != 0 {
			return f, math.MaxUint64
		}
		u = lo
	}
	return f, u
}

// CheckKeyspace refuses, before any work starts, a batch of requested codes of
// format f for a shop that already has existingInShop codes:
//   - with a *StoreCapError when existingInShop+requested > StoreCodeCap;
//   - with a *KeyspaceError when the codes would fill more than MaxFillRatio
//     of the 31^f.Length keyspace, or cannot be made at all.
//
// existingInShop is counted as occupying the same keyspace, which is exact for
// codes of the same prefix and length and conservative otherwise. The check
// symbol and prefix add no codes. The offensive-word filter removes a few
// percent of short keyspaces; the 1% limit leaves ample room for that.
func CheckKeyspace(f Format, requested, existingInShop int64) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if requested < 0 || existingInShop < 0 {
		return fmt.Errorf("codes: negative count (requested %d, existing %d)", requested, existingInShop)
	}
	if requested > StoreCodeCap-existingInShop {
		return &StoreCapError{
			Requested: requested, Existing: existingInShop, Cap: StoreCodeCap,
			Available: max(0, StoreCodeCap-existingInShop),
		}
	}
	if requested == 0 {
		return nil
	}
	total := float64(existingInShop + requested)
	k, ku := keyspaceSize(f.Length)
	fill := total / k
	if fill <= MaxFillRatio {
		return nil
	}
	e := &KeyspaceError{
		Length: f.Length, Keyspace: ku, Requested: requested, Existing: existingInShop,
		FillRatio: fill, MaxFillRatio: MaxFillRatio, Impossible: total > k,
		ExpectedRetries: expectedRetries(k, float64(existingInShop), float64(requested)),
	}
	for l := f.Length + 1; l <= MaxLength; l++ {
		if kl, _ := keyspaceSize(l); total/kl <= MaxFillRatio {
			e.SuggestedLength = l
			break
		}
	}
	return e
}

// expectedRetries is the expected number of extra draws to add r distinct
// codes to a keyspace of k holding e: Σ_{j=e}^{e+r-1} j/(k−j)
// ≈ k·ln((k−e)/(k−e−r)) − r.
func expectedRetries(k, e, r float64) float64 {
	if e+r >= k {
		return math.Inf(1)
	}
	return math.Max(0, -k*math.Log1p(-r/(k-e))-r)
}
