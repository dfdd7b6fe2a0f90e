package uplift

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestHillstromReferenceDesign(t *testing.T) {
	t.Parallel()
	exp := loadHillstrom(t, "visit")
	train, hold := Split(exp.N(), 42, 0.3)
	if len(train) != 29886 || len(hold) != 12807 {
		t.Fatalf("split %d/%d", len(train), len(hold))
	}
	var nt int
	for _, i := range hold {
		nt += exp.T[i]
	}
	if nt != 6490 {
		t.Errorf("treated in holdout = %d, want 6490", nt)
	}
	enc := FitEncoder(exp, train)
	want := []string{"recency", "history", "mens", "womens", "newbie", "zip_code=Surburban", "zip_code=Urban", "channel=Phone", "channel=Web"}
	if got := enc.Names(); !slices.Equal(got, want) {
		t.Fatalf("design columns %v, want %v", got, want)
	}
	// Train mean and population sd quoted by the reference.
	for _, c := range []struct {
		col      int
		mean, sd float64
	}{{0, 5.740447, 3.506076}, {1, 241.640402, 255.069279}} {
		ec := enc.Columns[c.col]
		if math.Abs(ec.Mean-c.mean) > 5e-7 || math.Abs(ec.SD-c.sd) > 5e-7 {
			t.Errorf("%s: mean %.6f sd %.6f, want %.6f %.6f", ec.Name, ec.Mean, ec.SD, c.mean, c.sd)
		}
	}
	// The first data row (recency 10, history 142.44, mens, Surburban, Phone)
	// is a treated row; build its reference encoding by hand.
	X, err := enc.Transform(exp, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	r := enc.Columns
	wantRow := []float64{(10 - r[0].Mean) / r[0].SD, (142.44 - r[1].Mean) / r[1].SD, 1, 0, 0, 1, 0, 1, 0}
	if !slices.Equal(X[0], wantRow) {
		t.Errorf("row 0 = %v, want %v", X[0], wantRow)
	}
}

func TestLoadCSVGeneric(t *testing.T) {
	t.Parallel()
	const data = "\ufeffid,arm,color,size,score,bought,revenue\r\n" +
		"1,A,red,3,0.5,1,10\r\n" +
		"2,B,blue,1,1.5,0,0\r\n" +
		"3,C,red,2,2.5,1,5\r\n" +
		"4,B,green,2,,0,0\r\n" +
		"5,A,blue,4,3,0,0\r\n"
	exp, err := LoadCSV(strings.NewReader(data), Spec{Treatment: "arm", Treated: "A", Control: "B", Outcome: "revenue", Exclude: []string{"id", "bought"}})
	if err != nil {
		t.Fatal(err)
	}
	if exp.N() != 4 || !slices.Equal(exp.T, []int{1, 0, 0, 1}) || !slices.Equal(exp.Y, []float64{10, 0, 0, 0}) {
		t.Fatalf("rows: t=%v y=%v", exp.T, exp.Y)
	}
	if got := exp.Spec.Features; !slices.Equal(got, []string{"color", "size", "score"}) {
		t.Fatalf("features %v", got)
	}
	if exp.BinaryOutcome() {
		t.Error("revenue reported binary")
	}
	enc := FitEncoder(exp, []int{0, 1, 2, 3})
	// size is numeric; score has an empty cell so it is categorical.
	wantNames := []string{"size", "color=green", "color=red", "score=0.5", "score=1.5", "score=3"}
	if got := enc.Names(); !slices.Equal(got, wantNames) {
		t.Fatalf("names %v, want %v", got, wantNames)
	}
	for _, bad := range []Spec{
		{Treatment: "nope", Treated: "A", Control: "B", Outcome: "bought"},
		{Treatment: "arm", Treated: "A", Control: "B", Outcome: "color"},
		{Treatment: "arm", Treated: "A", Control: "Z", Outcome: "bought"},
		{Treatment: "arm", Treated: "A", Control: "B", Outcome: "bought", Features: []string{"arm"}},
		{Treatment: "arm", Treated: "A", Control: "A", Outcome: "bought"},
	} {
		if _, err := LoadCSV(strings.NewReader(data), bad); err == nil {
			t.Errorf("spec %+v accepted", bad)
		}
	}
}
