package codes

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestCheckKeyspace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                string
		f                   Format
		requested, existing int64
		wantKeyspace        bool
		wantCap             bool
		wantImpossible      bool
		wantSuggested       int
		wantOtherErr        bool
	}{
		{name: "typical", f: Format{Length: 10}, requested: 1_000_000},
		{name: "zero requested", f: Format{Length: 4}, requested: 0, existing: 5},
		{name: "length 4 small batch", f: Format{Length: 4}, requested: 9_000},
		{name: "length 4 over 1%", f: Format{Length: 4}, requested: 10_000, wantKeyspace: true, wantSuggested: 5},
		{name: "length 5 with existing", f: Format{Length: 5}, requested: 200_000, existing: 100_000, wantKeyspace: true, wantSuggested: 6},
		{name: "impossible", f: Format{Length: 4}, requested: 1_000_000, wantKeyspace: true, wantImpossible: true, wantSuggested: 6},
		{name: "length 6 8M ok", f: Format{Length: 6}, requested: 8_000_000},
		{name: "store cap", f: Format{Length: 12}, requested: 1_000_001, existing: 19_000_000, wantCap: true},
		{name: "store cap exact", f: Format{Length: 12}, requested: 1_000_000, existing: 19_000_000},
		{name: "existing over cap", f: Format{Length: 12}, requested: 1, existing: 25_000_000, wantCap: true},
		{name: "huge request no overflow", f: Format{Length: 12}, requested: math.MaxInt64, existing: 1, wantCap: true},
		{name: "negative", f: Format{Length: 10}, requested: -1, wantOtherErr: true},
		{name: "invalid format", f: Format{Length: 2}, requested: 1, wantOtherErr: true},
		{name: "max length", f: Format{Length: MaxLength}, requested: StoreCodeCap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckKeyspace(tt.f, tt.requested, tt.existing)
			var ke *KeyspaceError
			var ce *StoreCapError
			switch {
			case tt.wantKeyspace:
				if !errors.As(err, &ke) || !errors.Is(err, ErrKeyspace) {
					t.Fatalf("err = %v, want *KeyspaceError", err)
				}
				k, _ := keyspaceSize(tt.f.Length)
				if ke.Keyspace != uint64(k) || ke.Requested != tt.requested || ke.Existing != tt.existing || ke.Length != tt.f.Length {
					t.Errorf("numbers wrong: %+v", ke)
				}
				if want := float64(tt.requested+tt.existing) / k; math.Abs(ke.FillRatio-want) > 1e-12 {
					t.Errorf("FillRatio = %g, want %g", ke.FillRatio, want)
				}
				if ke.Impossible != tt.wantImpossible || ke.SuggestedLength != tt.wantSuggested {
					t.Errorf("Impossible=%v SuggestedLength=%d, want %v %d", ke.Impossible, ke.SuggestedLength, tt.wantImpossible, tt.wantSuggested)
				}
				if tt.wantImpossible != math.IsInf(ke.ExpectedRetries, 1) {
					t.Errorf("ExpectedRetries = %g", ke.ExpectedRetries)
				}
				if !strings.Contains(err.Error(), "length") {
					t.Errorf("message lacks numbers: %s", err)
				}
			case tt.wantCap:
				if !errors.As(err, &ce) || !errors.Is(err, ErrStoreCap) {
					t.Fatalf("err = %v, want *StoreCapError", err)
				}
				if ce.Cap != StoreCodeCap || ce.Requested != tt.requested || ce.Existing != tt.existing ||
					ce.Available != max(0, StoreCodeCap-tt.existing) {
					t.Errorf("numbers wrong: %+v", ce)
				}
			case tt.wantOtherErr:
				if err == nil || errors.Is(err, ErrKeyspace) || errors.Is(err, ErrStoreCap) {
					t.Fatalf("err = %v", err)
				}
			default:
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			}
		})
	}
}

func TestKeyspaceSize(t *testing.T) {
	t.Parallel()
	if _, u := keyspaceSize(4); u != 923_521 {
		t.Errorf("31^4 = %d", u)
	}
	if _, u := keyspaceSize(12); u != 787_662_783_788_549_761 {
		t.Errorf("31^12 = %d", u)
	}
	if _, u := keyspaceSize(13); u != math.MaxUint64 {
		t.Errorf("31^13 not saturated: %d", u)
	}
}

// TestExpectedRetries compares the closed form with the exact sum.
func TestExpectedRetries(t *testing.T) {
	t.Parallel()
	k, e, r := 923_521.0, 1_000.0, 50_000.0
	exact := 0.0
	for j := e; j < e+r; j++ {
		exact += j / (k - j)
	}
	if got := expectedRetries(k, e, r); math.Abs(got-exact)/exact > 0.01 {
		t.Errorf("expectedRetries = %g, exact %g", got, exact)
	}
}
