package codes

import "strings"

// offensiveROT13 lists the words no generated code may contain, as
// space-separated canonical spellings (see canonical), ROT13-encoded.
//
// ROT13 is not a secret: it only keeps a wall of slurs out of code review,
// grep results and editor screens. Decode with `tr 'A-Za-z' 'N-ZA-Mn-za-m'`.
//
// The list covers English plus common German, Spanish, French, Italian,
// Portuguese and Dutch words. Words that need I, L or O cannot appear in a
// generated code at all, so they are listed by the vowel-dropped forms
// people actually read as the word (e.g. the three-consonant forms). Digit
// leetspeak (4→A, 3→E, 5→S, 7→T, 8→B, 6/9→G, 2→Z) and V→U are folded by
// canonical, so each word is listed once.
const offensiveROT13 = "SHPX SHX SHP SHD SPX SPHX CUHX CUHPX CUHD FUG FULG PHAG XHAG PAG QPX PPX " +
	"NFF NEFR FRK PHZ WMM GJNG JNAX CHFF CFFL OGPU OLGPU SNT STG ATE ATTE ATTN ATN ATTRE XXX " +
	"ANM ENCR ENCFG CEA KKK PENC GHEQ NAHF QLXR FCNM ERGNEQ GNEQ EGEQ PHPX XLXR FGSH JGS XLF " +
	"NEFPU UHER AHGGR FCNFG SGMR CHGN CHGR CRAQRW PNOEA PUATN IRETN ZREQR ZREQN PNMM INSSN FGEAM " +
	"CHGGNAN OHPRGN XNAXRE XHG"

// minWordLen is the shortest listed word; the trigram index relies on it.
const minWordLen = 3

// rot13 decodes (and encodes) ROT13 for upper-case ASCII.
func rot13(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return string(b)
}

// canonical folds a character onto the letter it reads as, so that one listed
// spelling matches its leetspeak variants. Characters outside A–Z0–9 map to 0,
// which never matches.
func canonical(c byte) byte {
	switch c {
	case '0':
		return 'O'
	case '1':
		return 'I'
	case '2':
		return 'Z'
	case '3':
		return 'E'
	case '4':
		return 'A'
	case '5':
		return 'S'
	case '6', '9':
		return 'G'
	case '7':
		return 'T'
	case '8':
		return 'B'
	case 'V':
		return 'U'
	}
	if c >= 'A' && c <= 'Z' {
		return c
	}
	return 0
}

// wordFilter finds listed words in canonical text. Almost every candidate is
// cleared by one bit test per position (a bitset over the first three
// letters of listed words); only trigram hits compare whole words.
type wordFilter struct {
	tri     [32 * 32 * 32 / 64]uint64
	byTri   map[uint16][]string
	maxLen  int
	symbols [radix]byte // canonical(Alphabet[i])
}

// offensiveWords returns the decoded word list.
func offensiveWords() []string {
	return strings.Fields(rot13(offensiveROT13))
}

func newWordFilter() *wordFilter {
	wf := &wordFilter{byTri: make(map[uint16][]string)}
	for _, w := range offensiveWords() {
		b := []byte(w)
		for i := range b {
			b[i] = canonical(b[i])
		}
		w = string(b)
		t := trigram(b[0], b[1], b[2])
		wf.tri[t/64] |= 1 << (t % 64)
		wf.byTri[t] = append(wf.byTri[t], w)
		wf.maxLen = max(wf.maxLen, len(w))
	}
	for i := range wf.symbols {
		wf.symbols[i] = canonical(Alphabet[i])
	}
	return wf
}

// trigram packs three canonical letters into 15 bits.
func trigram(a, b, c byte) uint16 {
	return uint16(a&31)<<10 | uint16(b&31)<<5 | uint16(c&31)
}

// match reports whether canonical text s contains a listed word that ends
// after position minEnd. Matches lying wholly in the first minEnd bytes (the
// merchant's own prefix) are the merchant's choice and are not reported.
func (wf *wordFilter) match(s []byte, minEnd int) bool {
	for i := 0; i+minWordLen <= len(s); i++ {
		if s[i] == 0 || s[i+1] == 0 || s[i+2] == 0 {
			continue
		}
		t := trigram(s[i], s[i+1], s[i+2])
		if wf.tri[t/64]&(1<<(t%64)) == 0 {
			continue
		}
		for _, w := range wf.byTri[t] {
			end := i + len(w)
			if end > minEnd && end <= len(s) && string(s[i:end]) == w {
				return true
			}
		}
	}
	return false
}

// canonicalText folds s (a code or part of one) with canonical, dropping '-'
// so that words are found across separators.
func canonicalText(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			continue
		}
		dst = append(dst, canonical(s[i]))
	}
	return dst
}

// ContainsOffensive reports whether code, read the way a person would read it
// (leetspeak digits folded, separators ignored), contains a listed word.
// Generated codes never do; use this to screen imported or vanity codes. It
// builds its lookup tables on each call (microseconds), so keep it off hot
// loops.
func ContainsOffensive(code string) bool {
	return newWordFilter().match(canonicalText(nil, Normalize(code)), 0)
}
