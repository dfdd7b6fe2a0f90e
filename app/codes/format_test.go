package codes

import (
	"errors"
	"strings"
	"testing"
)

func TestAlphabet(t *testing.T) {
	t.Parallel()
	if len(Alphabet) != radix {
		t.Fatalf("len(Alphabet) = %d, want %d", len(Alphabet), radix)
	}
	for p := 2; p*p <= radix; p++ {
		if radix%p == 0 {
			t.Fatalf("radix %d is not prime; the check symbol proof needs a prime", radix)
		}
	}
	seen := map[rune]bool{}
	for _, c := range Alphabet {
		if seen[c] {
			t.Errorf("duplicate symbol %q", c)
		}
		seen[c] = true
		if strings.ContainsRune("01ILO", c) {
			t.Errorf("ambiguous symbol %q in alphabet", c)
		}
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '9') {
			t.Errorf("symbol %q outside A-Z2-9", c)
		}
	}
	if acceptBelow != 248 {
		t.Errorf("acceptBelow = %d, want 248", acceptBelow)
	}
}

func TestFormatValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    Format
		ok   bool
	}{
		{"plain", Format{Length: 10}, true},
		{"prefix", Format{Prefix: "SPR", Length: 10, Separator: "-"}, true},
		{"prefix inner dash digits", Format{Prefix: "SUMMER-2026", Length: 8}, true},
		{"grouped check", Format{Prefix: "A", Length: 12, CheckChar: true, Separator: "-", GroupSize: 4}, true},
		{"min", Format{Length: MinLength}, true},
		{"max", Format{Prefix: strings.Repeat("Z", MaxPrefixLength), Length: MaxLength, CheckChar: true, Separator: "-", GroupSize: 2}, true},
		{"too short", Format{Length: MinLength - 1}, false},
		{"too long", Format{Length: MaxLength + 1}, false},
		{"zero", Format{}, false},
		{"lower prefix", Format{Prefix: "spr", Length: 10}, false},
		{"prefix leading dash", Format{Prefix: "-SPR", Length: 10}, false},
		{"prefix trailing dash", Format{Prefix: "SPR-", Length: 10}, false},
		{"prefix space", Format{Prefix: "S R", Length: 10}, false},
		{"prefix unicode", Format{Prefix: "SPRÉ", Length: 10}, false},
		{"prefix too long", Format{Prefix: strings.Repeat("A", MaxPrefixLength+1), Length: 10}, false},
		{"bad separator", Format{Prefix: "A", Length: 10, Separator: "_"}, false},
		{"group without separator", Format{Length: 10, GroupSize: 4}, false},
		{"group of one", Format{Length: 10, Separator: "-", GroupSize: 1}, false},
		{"negative group", Format{Length: 10, Separator: "-", GroupSize: -2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.f.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidFormat) {
				t.Errorf("error %v does not wrap ErrInvalidFormat", err)
			}
		})
	}
}

func TestCodeLen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f    Format
		want int
	}{
		{Format{Length: 10}, 10},
		{Format{Length: 10, CheckChar: true}, 11},
		{Format{Prefix: "SPR", Length: 10}, 13},
		{Format{Prefix: "SPR", Length: 10, Separator: "-"}, 14},
		{Format{Length: 10, Separator: "-"}, 10}, // no prefix, no leading dash
		{Format{Prefix: "SPR", Length: 8, Separator: "-", GroupSize: 4}, 3 + 1 + 8 + 1},
		{Format{Prefix: "SPR", Length: 8, CheckChar: true, Separator: "-", GroupSize: 3}, 3 + 1 + 9 + 2},
	}
	for _, tt := range tests {
		if got := tt.f.CodeLen(); got != tt.want {
			t.Errorf("%+v.CodeLen() = %d, want %d", tt.f, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"abc-123", "ABC-123"},
		{"  Spr7K3F\t\n", "SPR7K3F"},
		{"ALREADY", "ALREADY"},
		{"", ""},
		{"ſale", "ſALE"}, // no Unicode folding onto ASCII
		{"ıd", "ıD"},
		{"é", "é"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestInverse(t *testing.T) {
	t.Parallel()
	for w := 1; w < radix; w++ {
		if got := w * inverse(w) % radix; got != 1 {
			t.Errorf("%d * inverse(%d) = %d mod %d", w, w, got, radix)
		}
	}
}

// checksum returns Σ weight(i)·d[i] mod radix.
func checksum(d []int) int {
	s := 0
	for i, v := range d {
		s += weight(i) * v
	}
	return s % radix
}

// withCheck appends the check symbol to body.
func withCheck(body []int) []int {
	s := 0
	for i, v := range body {
		s += weight(i) * v
	}
	return append(append([]int(nil), body...), checkSymbol(s, len(body)))
}

// TestCheckSymbolExhaustiveSmall proves, for every body of 1..3 symbols, that
// every single substitution and every adjacent transposition of distinct
// symbols (check symbol included) is detected.
func TestCheckSymbolExhaustiveSmall(t *testing.T) {
	t.Parallel()
	for l := 1; l <= 3; l++ {
		body := make([]int, l)
		total := 1
		for range l {
			total *= radix
		}
		for x := range total {
			for i, v := 0, x; i < l; i, v = i+1, v/radix {
				body[i] = v % radix
			}
			code := withCheck(body)
			if checksum(code) != 0 {
				t.Fatalf("withCheck(%v) = %v has checksum %d", body, code, checksum(code))
			}
			for i := range code {
				orig := code[i]
				for s := range radix {
					if s == orig {
						continue
					}
					code[i] = s
					if checksum(code) == 0 {
						t.Fatalf("substitution at %d in %v undetected", i, code)
					}
				}
				code[i] = orig
				if i+1 < len(code) && code[i] != code[i+1] {
					code[i], code[i+1] = code[i+1], code[i]
					if checksum(code) == 0 {
						t.Fatalf("transposition at %d in %v undetected", i, code)
					}
					code[i], code[i+1] = code[i+1], code[i]
				}
			}
		}
	}
}

// TestCheckSymbolAllPositions covers every position of the longest format
// (where weights wrap) for every pair of symbols. The checksum is linear, so
// whether an error at position i turning a into b is caught does not depend
// on the other symbols: this is exhaustive for all codes of that length.
func TestCheckSymbolAllPositions(t *testing.T) {
	t.Parallel()
	f := Format{Length: MaxLength, CheckChar: true}
	g := NewGenerator(f, newTestRand(1))
	base := []byte(g.Next())
	if !Valid(string(base), f) {
		t.Fatalf("generated %q not valid", base)
	}
	code := make([]byte, len(base))
	for i := range base {
		for a := range radix {
			for b := range radix {
				if a == b {
					continue
				}
				if a == 0 && Alphabet[b] != base[i] {
					copy(code, base)
					code[i] = Alphabet[b]
					if Valid(string(code), f) {
						t.Fatalf("substitution at %d -> %c undetected in %s", i, Alphabet[b], code)
					}
				}
				if i+1 < len(base) {
					copy(code, base)
					code[i], code[i+1] = Alphabet[a], Alphabet[b]
					ok1 := Valid(string(code), f)
					code[i], code[i+1] = Alphabet[b], Alphabet[a]
					ok2 := Valid(string(code), f)
					if ok1 && ok2 {
						t.Fatalf("transposition %c%c at %d undetected", Alphabet[a], Alphabet[b], i)
					}
				}
			}
		}
	}
}

func TestValid(t *testing.T) {
	t.Parallel()
	formats := []Format{
		{Length: 10},
		{Length: 10, CheckChar: true},
		{Prefix: "SPR", Length: 8, CheckChar: true, Separator: "-"},
		{Prefix: "SUMMER-26", Length: 9, CheckChar: true, Separator: "-", GroupSize: 4},
		{Prefix: "X1", Length: 6, Separator: "-", GroupSize: 3},
	}
	for _, f := range formats {
		g := NewGenerator(f, newTestRand(2))
		for range 200 {
			c := g.Next()
			if !Valid(c, f) {
				t.Fatalf("%+v: generated %q not Valid: %v", f, c, checkCode(c, f))
			}
			if !Valid(" "+strings.ToLower(c)+"\n", f) {
				t.Fatalf("%+v: lower-case %q not Valid", f, c)
			}
			if Valid(c[:len(c)-1], f) || Valid(c+"A", f) {
				t.Fatalf("%+v: wrong length accepted for %q", f, c)
			}
		}
	}
	bad := []struct {
		code string
		f    Format
	}{
		{"ABCDEFGHJ0", Format{Length: 10}}, // 0 not in alphabet
		{"ABCDEFGHJO", Format{Length: 10}}, // O not in alphabet
		{"SPX-ABCDEFGH", Format{Prefix: "SPR", Length: 8, Separator: "-"}},
		{"SPRABCDEFGHJ", Format{Prefix: "SPR", Length: 8, Separator: "-"}},  // separator missing
		{"SPR-ABCD-EFGH", Format{Prefix: "SPR", Length: 8, Separator: "-"}}, // unexpected group
		{"SPR-ABCDEFGH", Format{Prefix: "SPR", Length: 8, Separator: "-", GroupSize: 4}},
		{"ABCDEFGH", Format{Length: 3}}, // invalid format
	}
	for _, b := range bad {
		if Valid(b.code, b.f) {
			t.Errorf("Valid(%q, %+v) = true", b.code, b.f)
		}
	}
	// Lowercase letters count as the same symbol, so a known check code
	// stays valid; a hand-built one proves Valid is not tied to the generator.
	f := Format{Length: 4, CheckChar: true}
	body := []int{0, 1, 2, 3}
	var sb strings.Builder
	for _, d := range withCheck(body) {
		sb.WriteByte(Alphabet[d])
	}
	if !Valid(sb.String(), f) {
		t.Errorf("hand-built %q not valid", sb.String())
	}
}

func FuzzValid(f *testing.F) {
	f.Add("SPR-7K3F-9Q2M", "SPR", 8, true, 4)
	f.Add("abcd", "", 4, false, 0)
	f.Fuzz(func(t *testing.T, code, prefix string, length int, check bool, group int) {
		fm := Format{Prefix: prefix, Length: length, CheckChar: check, Separator: "-", GroupSize: group}
		if Valid(code, fm) {
			n := Normalize(code)
			if len(n) != fm.CodeLen() || !strings.HasPrefix(n, fm.header()) {
				t.Fatalf("Valid(%q, %+v) but shape wrong", code, fm)
			}
		}
	})
}
