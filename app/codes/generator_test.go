package codes

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// newTestRand returns a deterministic stand-in for crypto/rand.Reader.
func newTestRand(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return mrand.NewChaCha8(s)
}

func TestGenerateMillion(t *testing.T) {
	t.Parallel()
	n := 1_000_000
	if testing.Short() {
		n = 200_000
	}
	f := Format{Length: 10}
	g := NewGenerator(f, rand.Reader)
	words := make([]string, 0, len(offensiveWords()))
	for _, w := range offensiveWords() {
		words = append(words, string(canonicalText(nil, w)))
	}
	seen := make(map[[10]byte]struct{}, n)
	var got int64
	var folded []byte
	err := g.Stream(context.Background(), int64(n), func(batch [][]byte) error {
		for i, c := range batch {
			if len(c) != 10 {
				t.Fatalf("code %q has length %d", c, len(c))
			}
			for _, b := range c {
				if strings.IndexByte(Alphabet, b) < 0 {
					t.Fatalf("code %q has %q outside the alphabet", c, b)
				}
			}
			k := [10]byte(c)
			if _, dup := seen[k]; dup {
				t.Fatalf("duplicate code %q", c)
			}
			seen[k] = struct{}{}
			// The brute-force oracle is slow; every 4th code still checks
			// 250k codes independently of the trigram index.
			if i%4 == 0 {
				folded = canonicalText(folded[:0], string(c))
				for _, w := range words {
					if bytes.Contains(folded, []byte(w)) {
						t.Fatalf("code %q contains listed word %q", c, rot13(w))
					}
				}
			}
		}
		got += int64(len(batch))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != int64(n) {
		t.Fatalf("got %d codes, want %d", got, n)
	}
}

func TestGeneratorDeterministicWithSeed(t *testing.T) {
	t.Parallel()
	f := Format{Prefix: "SPR", Length: 10, CheckChar: true, Separator: "-", GroupSize: 4}
	a, b := NewGenerator(f, newTestRand(7)), NewGenerator(f, newTestRand(7))
	for range 1000 {
		x, y := a.Next(), b.Next()
		if x != y {
			t.Fatalf("same seed, different codes %q %q", x, y)
		}
		if len(x) != f.CodeLen() || !strings.HasPrefix(x, "SPR-") || !Valid(x, f) {
			t.Fatalf("bad code %q", x)
		}
	}
}

func TestAppendNextNoAlloc(t *testing.T) {
	f := Format{Prefix: "SPR", Length: 10, CheckChar: true, Separator: "-"}
	g := NewGenerator(f, newTestRand(3))
	g.seen.reserve(10_000)
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(1000, func() { buf = g.AppendNext(buf[:0]) })
	if allocs != 0 {
		t.Errorf("AppendNext allocates %.1f times per code", allocs)
	}
}

// TestUniformSymbols checks the rejection sampling: each symbol appears with
// frequency 1/31 (chi-square over 31 cells, 30 degrees of freedom; 70 is far
// beyond the 99.99th percentile ≈ 64). Modulo bias (b%31 without rejection)
// would over-represent the first 8 symbols by 9/8 and fail.
func TestUniformSymbols(t *testing.T) {
	t.Parallel()
	g := NewGenerator(Format{Length: 32}, newTestRand(4))
	var counts [radix]float64
	total := 0.0
	for range 20_000 {
		for _, c := range []byte(g.Next()) {
			counts[strings.IndexByte(Alphabet, c)]++
			total++
		}
	}
	chi := 0.0
	for _, c := range counts {
		e := total / radix
		chi += (c - e) * (c - e) / e
	}
	if chi > 70 {
		t.Errorf("chi-square %.1f: symbols not uniform: %v", chi, counts)
	}
}

func TestRejectionSampling(t *testing.T) {
	t.Parallel()
	// 255 and 248 must be skipped; 0, 31, 62 ... 247 all map to symbol 0 or
	// their residue.
	src := bytes.NewReader(append([]byte{255, 248, 0, 32, 247, 249, 64}, make([]byte, randBufSize)...))
	g := NewGenerator(Format{Length: 4}, src)
	want := string([]byte{Alphabet[0], Alphabet[1], Alphabet[247%31], Alphabet[2]})
	if got := g.Next(); got != want {
		t.Fatalf("Next() = %q, want %q", got, want)
	}
}

func TestGeneratorErrors(t *testing.T) {
	t.Parallel()
	t.Run("invalid format", func(t *testing.T) {
		g := NewGenerator(Format{Length: 2}, rand.Reader)
		if g.Next() != "" || !errors.Is(g.Err(), ErrInvalidFormat) {
			t.Fatalf("Err() = %v", g.Err())
		}
		if err := g.Stream(context.Background(), 5, func([][]byte) error { return nil }); !errors.Is(err, ErrInvalidFormat) {
			t.Fatalf("Stream() = %v", err)
		}
	})
	t.Run("reader error", func(t *testing.T) {
		boom := errors.New("boom")
		g := NewGenerator(Format{Length: 10}, iotest.ErrReader(boom))
		if g.Next() != "" || !errors.Is(g.Err(), boom) {
			t.Fatalf("Err() = %v", g.Err())
		}
		if got := g.AppendNext([]byte("x")); string(got) != "x" {
			t.Fatalf("AppendNext after error = %q", got)
		}
	})
	t.Run("constant source exhausts", func(t *testing.T) {
		g := NewGenerator(Format{Length: 6}, zeroReader{})
		if c := g.Next(); c != "222222" {
			t.Fatalf("first code %q", c)
		}
		if g.Next() != "" || !errors.Is(g.Err(), ErrExhausted) {
			t.Fatalf("Err() = %v", g.Err())
		}
	})
	t.Run("unusable bytes", func(t *testing.T) {
		g := NewGenerator(Format{Length: 6}, ffReader{})
		if g.Next() != "" || g.Err() == nil {
			t.Fatalf("Err() = %v", g.Err())
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type ffReader struct{}

func (ffReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0xff
	}
	return len(p), nil
}

// TestExhaustSmallKeyspace draws most of a 4-symbol keyspace: all distinct,
// and the dedupe set never reports a false negative.
func TestExhaustSmallKeyspace(t *testing.T) {
	t.Parallel()
	f := Format{Length: 4}
	g := NewGenerator(f, newTestRand(5))
	seen := map[string]bool{}
	for range 300_000 { // ~1/3 of 923,521, well past any sane fill
		c := g.Next()
		if c == "" {
			t.Fatal(g.Err())
		}
		if seen[c] {
			t.Fatalf("duplicate %q after %d codes", c, len(seen))
		}
		seen[c] = true
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	f := Format{Prefix: "SPR", Length: 8, Separator: "-"}
	t.Run("batches", func(t *testing.T) {
		g := NewGenerator(f, newTestRand(6))
		var sizes []int
		all := map[string]bool{}
		err := g.Stream(context.Background(), 2*BatchSize+7, func(batch [][]byte) error {
			sizes = append(sizes, len(batch))
			for _, c := range batch {
				if len(c) != f.CodeLen() || cap(c) != len(c) {
					t.Fatalf("code %q len %d cap %d", c, len(c), cap(c))
				}
				all[string(c)] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(sizes) != 3 || sizes[0] != BatchSize || sizes[1] != BatchSize || sizes[2] != 7 {
			t.Fatalf("batch sizes %v", sizes)
		}
		if len(all) != 2*BatchSize+7 {
			t.Fatalf("%d distinct codes", len(all))
		}
	})
	t.Run("callback error", func(t *testing.T) {
		g := NewGenerator(f, newTestRand(6))
		stop := errors.New("stop")
		calls := 0
		err := g.Stream(context.Background(), 5*BatchSize, func([][]byte) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("err %v after %d calls", err, calls)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		g := NewGenerator(f, newTestRand(6))
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		err := g.Stream(ctx, 5*BatchSize, func([][]byte) error { calls++; cancel(); return nil })
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Fatalf("err %v after %d calls", err, calls)
		}
	})
	t.Run("zero and negative", func(t *testing.T) {
		g := NewGenerator(f, newTestRand(6))
		if err := g.Stream(context.Background(), 0, func([][]byte) error { t.Fatal("called"); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := g.Stream(context.Background(), -1, func([][]byte) error { return nil }); err == nil {
			t.Fatal("negative count accepted")
		}
	})
	t.Run("unique across calls", func(t *testing.T) {
		g := NewGenerator(Format{Length: 5}, newTestRand(8))
		all := map[string]bool{}
		for range 4 {
			err := g.Stream(context.Background(), 30_000, func(batch [][]byte) error {
				for _, c := range batch {
					if all[string(c)] {
						t.Fatalf("duplicate %q across Stream calls", c)
					}
					all[string(c)] = true
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestDedupeNoFalseNegatives(t *testing.T) {
	t.Parallel()
	var d dedupe // grows through several layers
	const n = 300_000
	fp := 0
	for k := range uint64(n) {
		if d.testAndAdd(k * 0x9e3779b97f4a7c15) {
			fp++
		}
	}
	for k := range uint64(n) {
		if !d.testAndAdd(k * 0x9e3779b97f4a7c15) {
			t.Fatalf("key %d forgotten", k)
		}
	}
	if len(d.layers) < 3 {
		t.Errorf("expected growth, got %d layers", len(d.layers))
	}
	if rate := float64(fp) / n; rate > 0.02 {
		t.Errorf("false-positive rate %.4f", rate)
	}
	t.Logf("%d layers, false-positive rate %.4f%%", len(d.layers), 100*float64(fp)/n)
}

// BenchmarkGenerate measures AppendNext throughput with crypto/rand.
func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    Format
	}{
		{"len10", Format{Length: 10}},
		{"prefix_len10_check_grouped", Format{Prefix: "SPR", Length: 10, CheckChar: true, Separator: "-", GroupSize: 4}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := NewGenerator(bc.f, rand.Reader)
			g.seen.reserve(int64(b.N))
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				buf = g.AppendNext(buf[:0])
			}
			b.StopTimer()
			if g.Err() != nil {
				b.Fatal(g.Err())
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "codes/s")
		})
	}
}

// BenchmarkStream1M generates one million length-10 codes through Stream, the
// production path, and checks uniqueness outside the timer.
func BenchmarkStream1M(b *testing.B) {
	const n = 1_000_000
	b.ReportAllocs()
	for range b.N {
		g := NewGenerator(Format{Length: 10}, rand.Reader)
		count := 0
		if err := g.Stream(context.Background(), n, func(batch [][]byte) error {
			count += len(batch)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("%d codes", count)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "codes/s")
}
