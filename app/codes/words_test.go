package codes

import (
	"strings"
	"testing"
)

func TestWordListRepresentable(t *testing.T) {
	t.Parallel()
	words := offensiveWords()
	if len(words) < 50 {
		t.Fatalf("only %d words", len(words))
	}
	seen := map[string]bool{}
	for _, w := range words {
		c := string(canonicalText(nil, w))
		if len(w) < minWordLen {
			t.Errorf("%s: shorter than %d", rot13(w), minWordLen)
		}
		// A word that needs I, L or O can never appear in a generated
		// code and only wastes a slot: list its vowel-dropped form.
		if strings.ContainsAny(c, "ILO") || strings.ContainsRune(c, 0) {
			t.Errorf("%s: not representable over the alphabet", rot13(w))
		}
		if seen[c] {
			t.Errorf("%s: listed twice after folding", rot13(w))
		}
		seen[c] = true
	}
	if rot13(rot13(offensiveROT13)) != offensiveROT13 {
		t.Fatal("rot13 is not an involution")
	}
}

func TestContainsOffensive(t *testing.T) {
	t.Parallel()
	// Inputs are written ROT13 (letters only; digits and '-' stay) to keep
	// the test as tasteful as the list.
	tests := []struct {
		rot  string
		want bool
	}{
		{"NOPSHPXK", true},    // plain, mid-code
		{"SHPXNOPQ", true},    // at the start
		{"NOPQSHPX", true},    // at the end
		{"N4P5SHPK", true},    // three-letter form next to other leetspeak
		{"F3K", true},         // digit leetspeak: 3->E
		{"SIPX", true},        // V folds onto U
		{"SH-PX", true},       // separators are ignored
		{"shpx", true},        // lower-case input
		{"NOPQRSTU", false},   // clean letters
		{"23456789", false},   // clean digits
		{"SH1X", false},       // '1' reads as I, not a listed form
		{"NFUNCCLQNL", false}, // no listed word
	}
	for _, tt := range tests {
		if got := ContainsOffensive(rot13Letters(tt.rot)); got != tt.want {
			t.Errorf("ContainsOffensive(rot13 %q) = %v, want %v", tt.rot, got, tt.want)
		}
	}
}

// rot13Letters is rot13 that also handles lower-case and leaves other bytes.
func rot13Letters(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		}
	}
	return string(b)
}

// TestPrefixWordsIgnored checks that a merchant's own prefix never makes
// generation impossible, while words that run from the prefix into the
// random part are still caught.
func TestPrefixWordsIgnored(t *testing.T) {
	t.Parallel()
	wf := newWordFilter()
	word := rot13("SHPX")
	prefix := []byte(word) // canonical text of the prefix tail
	if wf.match(append(prefix, "ABCD"...), len(prefix)) {
		t.Error("word wholly inside the prefix reported")
	}
	// "FU" + "CK..." crosses the boundary.
	cross := []byte(word[:2] + word[2:] + "ABC")
	if !wf.match(cross, 2) {
		t.Error("word crossing the prefix boundary missed")
	}
	// A generator whose prefix is a listed word still works.
	g := NewGenerator(Format{Prefix: word, Length: 6}, newTestRand(9))
	for range 1000 {
		if c := g.Next(); c == "" {
			t.Fatal(g.Err())
		}
	}
}

// TestGeneratedCodesAvoidWordsShortFormat checks 50,000 codes of a tiny format
// against the brute-force oracle: with length 4 and a 3-letter prefix tail
// every listed word of length ≤ 4 could occur.
func TestGeneratedCodesAvoidWordsShortFormat(t *testing.T) {
	t.Parallel()
	f := Format{Prefix: rot13("SH"), Length: 4, CheckChar: true}
	g := NewGenerator(f, newTestRand(10))
	words := offensiveWords()
	for range 50_000 {
		c := g.Next()
		folded := string(canonicalText(nil, c))
		for _, w := range words {
			fw := string(canonicalText(nil, w))
			// Only matches reaching past the 2-letter prefix count.
			for i := 0; ; {
				j := strings.Index(folded[i:], fw)
				if j < 0 {
					break
				}
				if i+j+len(fw) > 2 {
					t.Fatalf("code %q contains a listed word (rot13 %s)", rot13Letters(c), w)
				}
				i += j + 1
			}
		}
	}
}

// TestFilterRejectionRate documents how much of the keyspace the filter
// costs; CheckKeyspace's 1% margin must cover it comfortably.
func TestFilterRejectionRate(t *testing.T) {
	t.Parallel()
	wf := newWordFilter()
	src := newTestRand(11)
	buf := make([]byte, 10)
	rejected, n := 0, 100_000
	for range n {
		if _, err := src.Read(buf); err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			buf[i] = wf.symbols[buf[i]%radix]
		}
		if wf.match(buf, 0) {
			rejected++
		}
	}
	rate := float64(rejected) / float64(n)
	t.Logf("filter rejects %.2f%% of random length-10 codes", 100*rate)
	if rate > 0.10 {
		t.Errorf("filter rejects %.2f%% of codes; list too broad", 100*rate)
	}
}
