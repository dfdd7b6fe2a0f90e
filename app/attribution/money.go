package attribution

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
)

// TotalShare is a whole credit in basis points: the shares of a result's
// lines always sum to it.
const TotalShare = 10000

// Amounts is the money of one credit line, one conversion or one ledger move,
// in minor units of the shop's currency.
type Amounts struct {
	Gross      int64 `json:"gross"`
	Net        int64 `json:"net"`
	Discount   int64 `json:"discount"`
	Commission int64 `json:"commission"`
}

// Add returns a+b.
func (a Amounts) Add(b Amounts) Amounts {
	return Amounts{a.Gross + b.Gross, a.Net + b.Net, a.Discount + b.Discount, a.Commission + b.Commission}
}

// Sub returns a-b.
func (a Amounts) Sub(b Amounts) Amounts {
	return Amounts{a.Gross - b.Gross, a.Net - b.Net, a.Discount - b.Discount, a.Commission - b.Commission}
}

// IsZero reports whether every amount is zero.
func (a Amounts) IsZero() bool { return a == Amounts{} }

// Commission is a partner's commission rule: PercentBP basis points
// (hundredths of a percent: 1000 is 10%) of the net revenue credited to the
// partner, and/or FixedMinor minor units per conversion. Both may be set;
// they add up. The zero value earns nothing.
type Commission struct {
	PercentBP  int64
	FixedMinor int64
}

// PercentToBP converts a percentage as the API carries it (12.5 for 12.5%)
// to basis points, rounding to the nearest basis point.
func PercentToBP(percent float64) int64 { return int64(math.Round(percent * 100)) }

// For returns the commission earned on a credit line with net revenue net
// and share share (basis points of the whole conversion). The percent part is
// rounded half up to the minor unit; the fixed part is scaled by the share
// (a half-credited conversion earns half the fee), also rounded half up, so a
// whole credit earns exactly FixedMinor. A negative net earns no percent.
func (c Commission) For(net, share int64) int64 {
	var out int64
	if c.PercentBP > 0 && net > 0 {
		out += mulDivRound(net, c.PercentBP, TotalShare)
	}
	if c.FixedMinor > 0 && share > 0 {
		out += mulDivRound(c.FixedMinor, share, TotalShare)
	}
	return out
}

// mulDivRound returns a*b/c rounded half up, for a, b >= 0 and c > 0, with a
// 128-bit intermediate so large amounts cannot overflow.
func mulDivRound(a, b, c int64) int64 {
	q, r := mulDivRem(uint64(a), uint64(b), uint64(c))
	if 2*r >= uint64(c) {
		q++
	}
	return int64(q)
}

// mulDivRem returns floor(a*b/c) and its remainder; a*b/c must fit in 64
// bits, which holds whenever b <= c.
func mulDivRem(a, b, c uint64) (q, r uint64) {
	hi, lo := bits.Mul64(a, b)
	return bits.Div64(hi, lo, c)
}

// Split divides total into len(weights) integer parts proportional to
// weights with the largest-remainder (Hamilton) method: every part is its
// exact quota rounded down or up, and the parts sum to total exactly. Ties
// go to the earlier index, so the result is deterministic. Negative weights
// count as zero; if all weights are zero the parts are equal. A negative
// total is split as its absolute value and negated.
func Split(total int64, weights []int64) []int64 {
	n := len(weights)
	parts := make([]int64, n)
	if n == 0 || total == 0 {
		return parts
	}
	neg := total < 0
	t := uint64(total)
	if neg {
		t = uint64(-total)
	}
	var sum uint64
	for _, w := range weights {
		if w > 0 {
			sum += uint64(w)
		}
	}
	w := func(i int) uint64 {
		if sum == 0 {
			return 1
		}
		if weights[i] < 0 {
			return 0
		}
		return uint64(weights[i])
	}
	den := sum
	if den == 0 {
		den = uint64(n)
	}
	var small [8]uint64
	rem := small[:0]
	if n > len(small) {
		rem = make([]uint64, 0, n)
	}
	var given uint64
	for i := range n {
		q, r := mulDivRem(t, w(i), den)
		parts[i] = int64(q)
		rem = append(rem, r)
		given += q
	}
	if left := t - given; left > 0 {
		var small [8]int
		idx := small[:0]
		if n > len(small) {
			idx = make([]int, 0, n)
		}
		for i := range n {
			idx = append(idx, i)
		}
		sort.SliceStable(idx, func(a, b int) bool { return rem[idx[a]] > rem[idx[b]] })
		for k := uint64(0); k < left; k++ {
			parts[idx[k]]++
		}
	}
	if neg {
		for i := range parts {
			parts[i] = -parts[i]
		}
	}
	return parts
}

// splitCapped is Split with each part capped at caps[i] (caps sum to at least
// total). Hamilton apportionment is not monotone (the Alabama paradox: a
// smaller total can give one part one unit more), so a refund could raise a
// line by a minor unit; capping at the line's current amount and handing the
// excess to lines still below their cap keeps every line non-increasing
// while the parts still sum to total and stay within a unit of their quota.
func splitCapped(total int64, weights, caps []int64) []int64 {
	parts := Split(total, weights)
	var excess int64
	for i := range parts {
		if parts[i] > caps[i] {
			excess += parts[i] - caps[i]
			parts[i] = caps[i]
		}
	}
	for excess > 0 {
		moved := false
		for i := range parts {
			if excess > 0 && parts[i] < caps[i] {
				parts[i]++
				excess--
				moved = true
			}
		}
		if !moved {
			break // caps sum below total: cannot happen for refunds
		}
	}
	return parts
}

// CurrencyDigits returns the number of minor-unit digits of an ISO 4217
// currency as Shopify uses it: 0 for JPY, KRW, VND and the like, 3 for
// BHD, KWD and the like, 2 otherwise.
func CurrencyDigits(currency string) int {
	switch strings.ToUpper(currency) {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF",
		"UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	}
	return 2
}

// ErrAmount is returned by ParseMinor for a malformed amount.
var ErrAmount = errors.New("attribution: invalid amount")

// ParseMinor parses a decimal amount in currency ("45.00", "1000" for JPY)
// into minor units. Trailing zeros beyond the currency's digits are accepted
// ("1000.0" JPY); any other extra precision is an error rather than silently
// rounded money.
func ParseMinor(amount, currency string) (int64, error) {
	s := strings.TrimSpace(amount)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("%w: %q", ErrAmount, amount)
	}
	digits := CurrencyDigits(currency)
	if len(frac) > digits {
		if strings.Trim(frac[digits:], "0") != "" {
			return 0, fmt.Errorf("%w: %q has more than %d decimals for %s", ErrAmount, amount, digits, currency)
		}
		frac = frac[:digits]
	}
	frac += strings.Repeat("0", digits-len(frac))
	if whole == "" {
		whole = "0"
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%w: %q", ErrAmount, amount)
		}
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q: %v", ErrAmount, amount, err)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// FormatMinor formats minor units of currency as a decimal string with the
// currency's digits ("45.00", "1000" for JPY), the API's money format.
func FormatMinor(minor int64, currency string) string {
	digits := CurrencyDigits(currency)
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-minor)
	}
	s := strconv.FormatUint(u, 10)
	if digits == 0 {
		return sign + s
	}
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	return sign + s[:len(s)-digits] + "." + s[len(s)-digits:]
}
