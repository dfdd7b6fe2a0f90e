package uplift

import (
	"math"
	"testing"
)

func TestMultiTouchToyExample(t *testing.T) {
	t.Parallel()
	mt := MultiTouch{Paths: []Path{
		{Channels: []string{"google ads"}, Conversions: 2},
		{Channels: []string{"mailing"}, Conversions: 1},
		{Channels: []string{"google ads", "mailing"}, Conversions: 1},
		{Channels: []string{"google ads"}, Nulls: 1},
	}}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %.15g, want %g", name, got, want)
		}
	}
	mk, err := mt.Markov()
	if err != nil {
		t.Fatal(err)
	}
	near("P(conv)", mk.PConversion, 0.8)
	near("RE google", mk.RemovalEffect["google ads"], 0.75)
	near("RE mailing", mk.RemovalEffect["mailing"], 0.5)
	near("markov google", mk.Credit["google ads"], 2.4)
	near("markov mailing", mk.Credit["mailing"], 1.6)
	for _, c := range []struct {
		name         string
		got          Credit
		google, mail float64
	}{
		{"first", mt.FirstTouch(), 3, 1},
		{"last", mt.LastTouch(), 2, 2},
		{"linear", mt.Linear(), 2.5, 1.5},
		{"position", mt.PositionBased(), 2.5, 1.5},
		{"time-decay", mt.TimeDecay(1), 2 + 1.0/3, 1 + 2.0/3},
	} {
		near(c.name+" google", c.got["google ads"], c.google)
		near(c.name+" mailing", c.got["mailing"], c.mail)
	}
}
