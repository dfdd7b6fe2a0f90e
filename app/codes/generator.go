package codes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// BatchSize is the number of codes Stream hands to its callback at a time:
// large enough to amortise a COPY round trip, small enough (≈ 200 KB of codes)
// to keep memory flat.
const BatchSize = 10_000

// randBufSize is how many random bytes are read from the source at once. One
// 8 KiB read serves ≈ 770 ten-symbol codes.
const randBufSize = 8 << 10

// acceptBelow is the largest multiple of radix that fits in a byte (8·31 =
// 248). Bytes at or above it are discarded so that b%radix is exactly
// uniform: rejection sampling instead of modulo bias.
const acceptBelow = 256 / radix * radix

// maxAttempts bounds consecutive rejected draws (duplicates or offensive
// words) before Next gives up with ErrExhausted. At any fill CheckKeyspace
// allows, the chance of reaching it is astronomically small.
const maxAttempts = 1 << 16

// ErrExhausted is set on a Generator that could not find a new code in
// maxAttempts draws: the keyspace is (nearly) used up, or the random source
// is not random. Run CheckKeyspace before generating.
var ErrExhausted = errors.New("codes: no new code found; keyspace exhausted or random source broken")

// Generator makes codes of one Format, never repeating one within its
// lifetime. It is not safe for concurrent use; run one per batch.
//
// Errors (an invalid format, a failing random source, exhaustion) are
// sticky: Next then returns "" and AppendNext returns dst unchanged, and Err
// reports the cause. Stream returns them directly, which is why production
// code should prefer Stream.
type Generator struct {
	f      Format
	src    io.Reader
	buf    []byte // random bytes from src
	pos    int    // next unread byte in buf
	header []byte // Prefix + Separator
	words  *wordFilter
	canon  []byte // canonical prefix tail, then the candidate body
	tail   int    // length of the prefix tail in canon
	digits []byte // symbol indices of the candidate body (+ check symbol)
	invW   int    // inverse of the check symbol's weight
	seen   dedupe
	err    error
}

// NewGenerator returns a Generator for codes of format f reading randomness
// from src, which must be cryptographically secure in production
// (crypto/rand.Reader): codes are bearer tokens for money off. If f is
// invalid the Generator carries the error (see Err).
func NewGenerator(f Format, src io.Reader) *Generator {
	g := &Generator{f: f, src: src}
	if err := f.Validate(); err != nil {
		g.err = err
		return g
	}
	g.buf = make([]byte, randBufSize)
	g.pos = len(g.buf)
	g.header = []byte(f.header())
	g.words = newWordFilter()
	// Only the last maxLen-1 characters of the prefix can start a word that
	// runs into the random part.
	tail := canonicalText(nil, f.Prefix)
	if n := g.words.maxLen - 1; len(tail) > n {
		tail = tail[len(tail)-n:]
	}
	g.tail = len(tail)
	g.canon = append(tail, make([]byte, f.bodyLen())...)
	g.digits = make([]byte, f.bodyLen())
	g.invW = inverse(weight(f.Length))
	return g
}

// Err returns the error that stopped the Generator, or nil.
func (g *Generator) Err() error { return g.err }

// Next returns a new code, or "" once Err is non-nil.
func (g *Generator) Next() string {
	var b [MaxPrefixLength + 2*(MaxLength+1)]byte
	return string(g.AppendNext(b[:0]))
}

// AppendNext appends a new code to dst and returns the extended slice. It does
// not allocate when dst has room for Format.CodeLen more bytes. Once Err is
// non-nil it returns dst unchanged.
func (g *Generator) AppendNext(dst []byte) []byte {
	if g.err != nil {
		return dst
	}
	if !g.draw() {
		return dst
	}
	dst = append(dst, g.header...)
	for n, d := range g.digits {
		if g.f.GroupSize > 0 && n > 0 && n%g.f.GroupSize == 0 {
			dst = append(dst, g.f.Separator[0])
		}
		dst = append(dst, Alphabet[d])
	}
	return dst
}

// draw fills g.digits with a new acceptable body. It reports false (and sets
// g.err) on failure.
func (g *Generator) draw() bool {
	l := g.f.Length
	body := g.canon[g.tail:]
	for range maxAttempts {
		// key identifies the random part: exact (its base-31 value) for
		// lengths up to 12, a well-mixed 64-bit residue beyond, where a rare
		// false "duplicate" only costs a redraw.
		var key uint64
		sum, skips := 0, 0
		for n := 0; n < l; n++ {
			if g.pos == len(g.buf) {
				if _, err := io.ReadFull(g.src, g.buf); err != nil {
					g.err = fmt.Errorf("codes: read random source: %w", err)
					return false
				}
				g.pos = 0
			}
			b := g.buf[g.pos]
			g.pos++
			if b >= acceptBelow {
				// A fair source rejects 1 byte in 32; a run this long
				// means it is not producing random bytes.
				if skips++; skips > randBufSize {
					g.err = errors.New("codes: random source yields only unusable bytes")
					return false
				}
				n--
				continue
			}
			d := b % radix
			g.digits[n] = d
			body[n] = g.words.symbols[d]
			key = key*radix + uint64(d)
			sum += weight(n) * int(d)
		}
		if g.f.CheckChar {
			c := byte((radix - sum%radix) % radix * g.invW % radix)
			g.digits[l] = c
			body[l] = g.words.symbols[c]
		}
		if g.words.match(g.canon, g.tail) {
			continue
		}
		if g.seen.testAndAdd(key) {
			continue
		}
		return true
	}
	g.err = ErrExhausted
	return false
}

// Stream generates n new codes and passes them to fn in batches of at most
// BatchSize, stopping at the first error from fn, ctx or the generator.
//
// The batch and the bytes it points into are reused for the next batch: fn
// must copy anything it keeps (pgx's CopyFrom copies into its own buffer).
// Apart from the dedupe set (≈ 1.5 bytes per code) memory stays constant.
func (g *Generator) Stream(ctx context.Context, n int64, fn func(batch [][]byte) error) error {
	if g.err != nil {
		return g.err
	}
	if n < 0 {
		return fmt.Errorf("codes: stream: negative count %d", n)
	}
	if n == 0 {
		return nil
	}
	// Reserve the whole run up front (one Bloom layer, no growth); beyond
	// the store cap the set grows layer by layer instead.
	g.seen.reserve(min(n, StoreCodeCap))
	size := int(min(n, BatchSize))
	codeLen := g.f.CodeLen()
	backing := make([]byte, 0, size*codeLen)
	batch := make([][]byte, 0, size)
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := int(min(n, int64(size)))
		backing, batch = backing[:0], batch[:0]
		for range m {
			start := len(backing)
			backing = g.AppendNext(backing)
			if g.err != nil {
				return g.err
			}
			batch = append(batch, backing[start:len(backing):len(backing)])
		}
		if err := fn(batch); err != nil {
			return err
		}
		n -= int64(m)
	}
	return nil
}

// dedupe is a growable set of 64-bit keys with no false negatives and rare
// false positives: a chain of Bloom filters, each twice the capacity of the
// one before (a "scalable Bloom filter"). A false positive only makes the
// generator draw again, so within-run uniqueness is exact while memory is
// ≈ 12 bits per code instead of the ≈ 16+ bytes of a map[uint64]struct{}:
// 1.5 MB for a million codes, 30 MB at the 20M store cap.
type dedupe struct {
	layers []*bloom
}

// firstLayerCap is the capacity of the first layer when no size is reserved.
const firstLayerCap = 1 << 16

// reserve makes room for n more keys in the newest layer.
func (d *dedupe) reserve(n int64) {
	if len(d.layers) > 0 {
		last := d.layers[len(d.layers)-1]
		if last.cap-last.n >= n {
			return
		}
		n = max(n, 2*last.cap)
	}
	d.layers = append(d.layers, newBloom(n))
}

// testAndAdd reports whether key may already be present; if not, it adds it.
func (d *dedupe) testAndAdd(key uint64) bool {
	h1 := mix64(key)
	h2 := mix64(h1^0x9e3779b97f4a7c15) | 1
	if len(d.layers) == 0 {
		d.reserve(firstLayerCap)
	}
	last := len(d.layers) - 1
	for _, b := range d.layers[:last] {
		if b.test(h1, h2) {
			return true
		}
	}
	if d.layers[last].n >= d.layers[last].cap {
		d.reserve(1)
		last++
	}
	return d.layers[last].testAndSet(h1, h2)
}

// Bloom parameters: 12 bits per key and 8 probes, all inside one 512-bit
// block (one cache line), give a false-positive rate of ≈ 0.4% at full
// capacity for one memory miss per lookup instead of eight.
const (
	bloomBitsPerKey = 12
	bloomProbes     = 8
	bloomBlockWords = 8 // 8 × 64 = 512 bits
)

type bloom struct {
	bits    []uint64
	nblocks uint64
	n, cap  int64
}

func newBloom(capacity int64) *bloom {
	blocks := (capacity*bloomBitsPerKey + 511) / 512
	return &bloom{bits: make([]uint64, blocks*bloomBlockWords), nblocks: uint64(blocks), cap: capacity}
}

// block returns the block for h1 (Lemire's multiply-shift reduction onto
// [0, nblocks): no division, no power-of-two rounding).
func (b *bloom) block(h1 uint64) []uint64 {
	i, _ := bits.Mul64(h1, b.nblocks)
	return b.bits[i*bloomBlockWords : (i+1)*bloomBlockWords : (i+1)*bloomBlockWords]
}

func (b *bloom) test(h1, h2 uint64) bool {
	blk := b.block(h1)
	for i := range uint64(bloomProbes) {
		p := (h2 + i*(h2>>32|1)) & 511
		if blk[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

func (b *bloom) testAndSet(h1, h2 uint64) bool {
	blk := b.block(h1)
	present := true
	for i := range uint64(bloomProbes) {
		p := (h2 + i*(h2>>32|1)) & 511
		w, m := p/64, uint64(1)<<(p%64)
		if blk[w]&m == 0 {
			present = false
			blk[w] |= m
		}
	}
	if !present {
		b.n++
	}
	return present
}

// mix64 is the SplitMix64 finalizer, a bijection that spreads key bits.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}
