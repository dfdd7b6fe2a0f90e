package uplift

import (
	"os"
	"path/filepath"
	"testing"
)

// hillstromPath finds shared/data/hillstrom.csv: under $COUPONTRAIL_SHARED
// (the shared dir, or its data dir) when set, else at ../../../shared/data
// relative to this package.
func hillstromPath() string {
	if d := os.Getenv("COUPONTRAIL_SHARED"); d != "" {
		p := filepath.Join(d, "data", "hillstrom.csv")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return filepath.Join(d, "hillstrom.csv")
	}
	return filepath.Join("..", "..", "..", "shared", "data", "hillstrom.csv")
}

// loadHillstrom loads Womens E-Mail vs No E-Mail with the reference features.
// A missing file fails the test: the conformance run must never be skipped.
func loadHillstrom(t testing.TB, outcome string) *Experiment {
	t.Helper()
	path := hillstromPath()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("Hillstrom data missing (set COUPONTRAIL_SHARED to the shared dir): %v", err)
	}
	defer f.Close()
	exp, err := LoadCSV(f, Spec{Treatment: "segment", Treated: "Womens E-Mail", Control: "No E-Mail",
		Outcome: outcome, Features: HillstromReferenceFeatures})
	if err != nil {
		t.Fatal(err)
	}
	return exp
}
