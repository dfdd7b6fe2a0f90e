package attribution

import (
	"math"
	"testing"
	"time"
)

// refPaths is the worked example of UPLIFT-REFERENCE.md ("Multi-touch
// attribution check") and ml-reference.md §2.3.
var refPaths = []Path{
	{Channels: []string{"google"}, Conversions: 2, Value: 200},
	{Channels: []string{"mailing"}, Conversions: 1, Value: 100},
	{Channels: []string{"google", "mailing"}, Conversions: 1, Value: 100},
	{Channels: []string{"google"}, Nulls: 1},
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func checkCredit(t *testing.T, name string, got Credit, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %v, want %v", name, got, want)
	}
	for k, w := range want {
		if !near(got[k], w) {
			t.Errorf("%s[%s] = %.15g, want %g", name, k, got[k], w)
		}
	}
}

func TestMarkovReference(t *testing.T) {
	t.Parallel()
	m, err := Markov(refPaths)
	if err != nil {
		t.Fatal(err)
	}
	if !near(m.PConv, 0.8) {
		t.Errorf("P(conv) = %.15g, want 0.8", m.PConv)
	}
	checkCredit(t, "removal", m.Removal, map[string]float64{"google": 0.75, "mailing": 0.5})
	checkCredit(t, "markov", m.Conversions, map[string]float64{"google": 2.4, "mailing": 1.6})
	checkCredit(t, "markov value", m.Value, map[string]float64{"google": 240, "mailing": 160})
}

func TestHeuristicModelsReference(t *testing.T) {
	t.Parallel()
	checkCredit(t, "first", FirstTouch(refPaths), map[string]float64{"google": 3, "mailing": 1})
	checkCredit(t, "last", LastTouch(refPaths), map[string]float64{"google": 2, "mailing": 2})
	checkCredit(t, "linear", Linear(refPaths), map[string]float64{"google": 2.5, "mailing": 1.5})
	checkCredit(t, "position", PositionBased(refPaths), map[string]float64{"google": 2.5, "mailing": 1.5})
	// Positional decay, half-life one touch: google>mailing weighs 1/3, 2/3.
	checkCredit(t, "decay", TimeDecay(refPaths, time.Hour), map[string]float64{"google": 2 + 1.0/3, "mailing": 1 + 2.0/3})
}

func TestModelsLongPaths(t *testing.T) {
	t.Parallel()
	d := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	paths := []Path{
		{Channels: []string{"a", "b", "c", "b", "d"}, Conversions: 1},
		{Channels: []string{"a", "b", "c"}, At: []time.Time{d(0), d(24), d(48)}, ConvertedAt: d(48), Conversions: 2},
	}
	checkCredit(t, "position", PositionBased(paths[:1]), map[string]float64{"a": 0.4, "b": 0.2 / 3 * 2, "c": 0.2 / 3, "d": 0.4})
	checkCredit(t, "linear", Linear(paths[:1]), map[string]float64{"a": 0.2, "b": 0.4, "c": 0.2, "d": 0.2})
	// Half-life 24h: ages 48h, 24h, 0 -> weights 1/4, 1/2, 1 over 7/4.
	checkCredit(t, "decay", TimeDecay(paths[1:], 24*time.Hour), map[string]float64{"a": 2 * (1.0 / 7), "b": 2 * (2.0 / 7), "c": 2 * (4.0 / 7)})
	checkCredit(t, "decay zero half-life", TimeDecay(paths[1:], 0), map[string]float64{"a": 0, "b": 0, "c": 2})

	// Every model hands out exactly the total conversions.
	m, err := Markov(paths)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]Credit{"first": FirstTouch(paths), "last": LastTouch(paths), "linear": Linear(paths),
		"position": PositionBased(paths), "decay": TimeDecay(paths, time.Hour), "markov": m.Conversions} {
		var s float64
		for _, v := range c {
			s += v
		}
		if math.Abs(s-3) > 1e-9 {
			t.Errorf("%s hands out %g conversions, want 3", name, s)
		}
	}
	// Only converting paths through every channel: each removal breaks
	// every path that contains it.
	if !near(m.PConv, 1) || !near(m.Removal["a"], 1) {
		t.Errorf("markov %+v", m)
	}
}

func TestMarkovSelfLoopAndEmpty(t *testing.T) {
	t.Parallel()
	loop := append([]Path{{Channels: []string{"google", "google"}, Conversions: 1}}, refPaths...)
	m, err := Markov(loop)
	if err != nil {
		t.Fatal(err)
	}
	if m.PConv <= 0 || m.PConv >= 1 {
		t.Errorf("P(conv) = %g", m.PConv)
	}
	e, err := Markov(nil)
	if err != nil || e.PConv != 0 || len(e.Conversions) != 0 {
		t.Errorf("empty: %+v %v", e, err)
	}
	nc, err := Markov([]Path{{Channels: []string{"x"}, Nulls: 3}})
	if err != nil || nc.PConv != 0 || nc.Conversions["x"] != 0 {
		t.Errorf("no conversions: %+v %v", nc, err)
	}
}
