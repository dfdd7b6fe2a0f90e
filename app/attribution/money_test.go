package attribution

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{100, []int64{1, 1, 1}, []int64{34, 33, 33}},
		{10000, []int64{1, 2}, []int64{3333, 6667}},
		{1001, []int64{3334, 3333, 3333}, []int64{334, 334, 333}},
		{-100, []int64{1, 1, 1}, []int64{-34, -33, -33}},
		{7, []int64{0, 0}, []int64{4, 3}},
		{5, []int64{-3, 1}, []int64{0, 5}},
		{0, []int64{1, 2}, []int64{0, 0}},
		{1 << 62, []int64{1 << 62, 1 << 62, 1}, []int64{2305843009213693952, 2305843009213693952, 0}},
		{3, nil, []int64{}},
	} {
		if got := Split(tc.total, tc.weights); !slices.Equal(got, tc.want) {
			t.Errorf("Split(%d, %v) = %v, want %v", tc.total, tc.weights, got, tc.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + r.IntN(12)
		w := make([]int64, n)
		var ws int64
		for i := range w {
			w[i] = r.Int64N(1_000_000)
			ws += w[i]
		}
		total := r.Int64N(1 << 40)
		parts := Split(total, w)
		var s int64
		for i, p := range parts {
			s += p
			if ws > 0 {
				// Within one unit of the exact quota.
				q := float64(total) * float64(w[i]) / float64(ws)
				if float64(p) < q-1 || float64(p) > q+1 {
					t.Fatalf("part %d = %d, quota %g", i, p, q)
				}
			}
		}
		if s != total {
			t.Fatalf("Split(%d, %v) sums to %d", total, w, s)
		}
	}
}

func TestCommission(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c          Commission
		net, share int64
		want       int64
	}{
		{Commission{PercentBP: 1000}, 9000, 10000, 900},
		{Commission{PercentBP: 1000}, 334, 3334, 33}, // 33.4 -> 33
		{Commission{PercentBP: 1250}, 2, 10000, 0},   // 0.25 -> 0
		{Commission{PercentBP: 1250}, 4, 10000, 1},   // 0.5 -> 1 (half up)
		{Commission{FixedMinor: 500}, 0, 10000, 500},
		{Commission{FixedMinor: 500}, 100, 3333, 167}, // 166.65 -> 167
		{Commission{PercentBP: 500, FixedMinor: 100}, 1000, 10000, 150},
		{Commission{PercentBP: 1000}, -50, 10000, 0},
		{Commission{}, 1000, 10000, 0},
	} {
		if got := tc.c.For(tc.net, tc.share); got != tc.want {
			t.Errorf("%+v.For(%d, %d) = %d, want %d", tc.c, tc.net, tc.share, got, tc.want)
		}
	}
	if PercentToBP(12.5) != 1250 || PercentToBP(10) != 1000 {
		t.Error("PercentToBP")
	}
}

func TestParseFormatMinor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, cur string
		want    int64
		out     string
	}{
		{"45.00", "USD", 4500, "45.00"},
		{"45", "USD", 4500, "45.00"},
		{"0.5", "EUR", 50, "0.50"},
		{".05", "EUR", 5, "0.05"},
		{"1000", "JPY", 1000, "1000"},
		{"1000.0", "jpy", 1000, "1000"},
		{"1.234", "KWD", 1234, "1.234"},
		{"-12.30", "USD", -1230, "-12.30"},
	} {
		got, err := ParseMinor(tc.in, tc.cur)
		if err != nil || got != tc.want {
			t.Errorf("ParseMinor(%q, %s) = %d, %v; want %d", tc.in, tc.cur, got, err, tc.want)
		}
		if f := FormatMinor(tc.want, tc.cur); f != tc.out {
			t.Errorf("FormatMinor(%d, %s) = %q, want %q", tc.want, tc.cur, f, tc.out)
		}
	}
	for _, bad := range [][2]string{{"1000.5", "JPY"}, {"1.234", "USD"}, {"", "USD"}, {"1e3", "USD"}, {"1,00", "USD"}, {".", "USD"}} {
		if _, err := ParseMinor(bad[0], bad[1]); err == nil {
			t.Errorf("ParseMinor(%q, %s) accepted", bad[0], bad[1])
		}
	}
}
