package codes

import (
	"errors"
	"fmt"
	"strings"
)

// Alphabet is the set of symbols the random part of a code is drawn from, in
// index order.
//
// It leaves out 0/O and 1/I/L, which are confused when codes are read aloud,
// printed on cards or typed from a screenshot. U and V are kept on purpose:
//   - 31 is prime, which is what makes the check character (see [Format.CheckChar])
//     provably catch every single substitution and every adjacent
//     transposition with a plain weighted sum; dropping U would leave 30.
//   - U/V are rarely confused in the sans-serif faces codes are shown in, and the
//     usual reason to drop U (accidental obscenities) is handled by the word
//     filter instead, which also folds V onto U.
//
// Each symbol carries log2(31) ≈ 4.95 bits, so 10 symbols give ≈ 8.2e14 codes.
const Alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// radix is len(Alphabet); it must stay prime (see Alphabet).
const radix = 31

// Limits on a [Format]. Shopify allows codes up to 255 characters
// (shopify-platform.md §4.7); these bounds are far tighter because codes are
// typed by people and travel in the /discount/{code} URL path.
const (
	// MinLength is the shortest random part. Four symbols (923,521 codes) is
	// only fit for tiny batches; CheckKeyspace decides what a batch needs.
	MinLength = 4
	// MaxLength is the longest random part (≈158 bits, far beyond any need).
	MaxLength = 32
	// MaxPrefixLength bounds Format.Prefix.
	MaxPrefixLength = 20
	// MaxCodeLength is Shopify's maximum code length; imports are checked
	// against it.
	MaxCodeLength = 255
)

// Format describes how the codes of one campaign look:
//
//	Prefix + Separator + random part (Length symbols) [+ check symbol]
//
// with the random part and check symbol optionally split into groups of
// GroupSize symbols joined by Separator, e.g. "SPR-7K3F-9Q2M". The JSON
// names match the campaign API's "code" object (PRODUCT.md §12).
type Format struct {
	// Prefix is a fixed, merchant-chosen start such as "SPR". Upper-case
	// A–Z, 0–9 and '-' (not first or last), at most MaxPrefixLength; may be
	// empty. It adds no entropy.
	Prefix string `json:"prefix"`
	// Length is the number of random symbols, MinLength..MaxLength. It does
	// not count the prefix, separators or the check symbol.
	Length int `json:"length"`
	// CheckChar appends one check symbol so that typos (any single wrong
	// symbol, any two adjacent symbols swapped) can be rejected without a
	// database lookup; see Valid.
	CheckChar bool `json:"check_char"`
	// Separator is "" or "-". It goes between a non-empty Prefix and the
	// random part, and between groups when GroupSize > 0.
	Separator string `json:"separator,omitempty"`
	// GroupSize, if > 0, splits the random part (plus check symbol) into
	// groups of this many symbols. It needs Separator "-".
	GroupSize int `json:"group_size,omitempty"`
}

// ErrInvalidFormat is wrapped by every error Format.Validate returns.
var ErrInvalidFormat = errors.New("codes: invalid format")

// Validate reports whether f can be used to make codes.
func (f Format) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidFormat, fmt.Sprintf(format, args...))
	}
	if f.Length < MinLength || f.Length > MaxLength {
		return bad("length %d outside %d..%d", f.Length, MinLength, MaxLength)
	}
	if len(f.Prefix) > MaxPrefixLength {
		return bad("prefix longer than %d characters", MaxPrefixLength)
	}
	for i := 0; i < len(f.Prefix); i++ {
		c := f.Prefix[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(f.Prefix)-1:
		case c >= 'a' && c <= 'z':
			return bad("prefix %q must be upper-case", f.Prefix)
		default:
			return bad("prefix %q: character %q at %d not in A-Z, 0-9, inner '-'", f.Prefix, c, i)
		}
	}
	if f.Separator != "" && f.Separator != "-" {
		return bad("separator %q must be empty or \"-\"", f.Separator)
	}
	if f.GroupSize < 0 || f.GroupSize == 1 {
		return bad("group size %d must be 0 or at least 2", f.GroupSize)
	}
	if f.GroupSize > 0 && f.Separator == "" {
		return bad("group size needs a separator")
	}
	if n := f.CodeLen(); n > MaxCodeLength {
		return bad("code length %d exceeds %d", n, MaxCodeLength)
	}
	return nil
}

// bodyLen is the number of alphabet symbols after the header: the random part
// plus the check symbol.
func (f Format) bodyLen() int {
	if f.CheckChar {
		return f.Length + 1
	}
	return f.Length
}

// header is what precedes the random part: Prefix plus Separator, or "".
func (f Format) header() string {
	if f.Prefix == "" {
		return ""
	}
	return f.Prefix + f.Separator
}

// CodeLen is the length in bytes of every code of format f.
func (f Format) CodeLen() int {
	n := len(f.header()) + f.bodyLen()
	if f.GroupSize > 0 {
		n += (f.bodyLen() - 1) / f.GroupSize * len(f.Separator)
	}
	return n
}

// Normalize returns code in the form it is stored and compared in: surrounding
// white space removed and ASCII letters upper-cased (Shopify codes are
// case-insensitive). Only ASCII is folded on purpose: Unicode case mapping
// turns 'ı' into 'I' and 'ſ' into 'S', which would let two different inputs
// name the same stored code; non-ASCII input stays as it is and fails
// validation instead.
func Normalize(code string) string {
	code = strings.TrimSpace(code)
	for i := 0; i < len(code); i++ {
		if c := code[i]; c >= 'a' && c <= 'z' {
			b := []byte(code)
			for j := i; j < len(b); j++ {
				if b[j] >= 'a' && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return code
}

// symbolIndex returns the index of c in Alphabet, or -1.
func symbolIndex(c byte) int {
	return strings.IndexByte(Alphabet, c)
}

// Check symbol
//
// The check symbol c makes Σ w(i)·d(i) ≡ 0 (mod 31) over the body symbols
// d(0..L-1) and c at position L, with weights w(i) = i mod 30 + 1 ∈ 1..30.
// Because 31 is prime:
//   - one wrong symbol at i changes the sum by w(i)·(a−b), which is non-zero
//     mod 31 since neither factor is;
//   - swapping neighbours i, i+1 changes it by (w(i)−w(i+1))·(a−b), and
//     consecutive weights always differ (by 1, or by 29 at the wrap).
//
// This is the "weighted sum modulo a prime" family (ISO 7064 style) rather
// than Luhn mod N, whose doubling step has a fixed point and misses some
// transpositions. Both properties are tested exhaustively.

// weight is the checksum weight of body position i.
func weight(i int) int { return i%(radix-1) + 1 }

// inverse returns the multiplicative inverse of w modulo radix (Fermat: w^(p-2)).
func inverse(w int) int {
	r, b := 1, w%radix
	for e := radix - 2; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = r * b % radix
		}
		b = b * b % radix
	}
	return r
}

// checkSymbol returns the check-symbol index for a body whose weighted sum
// (positions 0..n-1) is sum, to be placed at position n.
func checkSymbol(sum, n int) int {
	return (radix - sum%radix) % radix * inverse(weight(n)) % radix
}

// Valid reports whether code (after Normalize) is a well-formed code of format
// f: right prefix, separators, length and symbols, and, if f.CheckChar, a
// matching check symbol. It says nothing about whether the code exists.
func Valid(code string, f Format) bool {
	return checkCode(Normalize(code), f) == nil
}

// checkCode explains why a normalised code is not of format f.
func checkCode(code string, f Format) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if len(code) != f.CodeLen() {
		return fmt.Errorf("length %d, format needs %d", len(code), f.CodeLen())
	}
	h := f.header()
	if !strings.HasPrefix(code, h) {
		return fmt.Errorf("does not start with %q", h)
	}
	body := code[len(h):]
	sum, i := 0, 0
	for n := 0; n < f.bodyLen(); n++ {
		if f.GroupSize > 0 && n > 0 && n%f.GroupSize == 0 {
			if i >= len(body) || body[i] != f.Separator[0] {
				return fmt.Errorf("missing separator at %d", len(h)+i)
			}
			i++
		}
		if i >= len(body) {
			return errors.New("code too short")
		}
		d := symbolIndex(body[i])
		if d < 0 {
			return fmt.Errorf("character %q at %d is not in the code alphabet", body[i], len(h)+i)
		}
		sum += weight(n) * d
		i++
	}
	if i != len(body) {
		return errors.New("code too long")
	}
	if f.CheckChar && sum%radix != 0 {
		return errors.New("check character does not match")
	}
	return nil
}
