package payload

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseMinor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount, currency string
		want             int64
		err              error
	}{
		{"199.00", "USD", 19900, nil},
		{"195.67", "usd", 19567, nil},
		{"-5.00", "USD", -500, nil},
		{"+5.5", "EUR", 550, nil},
		{"0", "USD", 0, nil},
		{"0.00", "USD", 0, nil},
		{"7", "USD", 700, nil},
		{"1000", "JPY", 1000, nil},
		{"1000.00", "JPY", 1000, nil},
		{"1000.5", "JPY", 0, ErrPrecision},
		{"1.250", "KWD", 1250, nil},
		{"1.25", "KWD", 1250, nil},
		{"1.2345", "KWD", 0, ErrPrecision},
		{"3.334", "USD", 0, ErrPrecision},
		{"3.330", "USD", 333, nil},
		{" 12.34 ", "USD", 1234, nil},
		{"92233720368547758.07", "USD", 9223372036854775807, nil},
		{"-92233720368547758.08", "USD", -9223372036854775808, nil},
		{"92233720368547758.08", "USD", 0, ErrOverflow},
		{"", "USD", 0, ErrAmount},
		{"1e3", "USD", 0, ErrAmount},
		{"1,000.00", "USD", 0, ErrAmount},
		{".5", "USD", 0, ErrAmount},
		{"5.", "USD", 0, ErrAmount},
		{"-", "USD", 0, ErrAmount},
		{"NaN", "USD", 0, ErrAmount},
		{"1.00", "", 0, ErrCurrency},
		{"1.00", "US", 0, ErrCurrency},
		{"1.00", "U$D", 0, ErrCurrency},
	}
	for _, tt := range tests {
		got, err := ParseMinor(tt.amount, tt.currency)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseMinor(%q, %q) err = %v, want %v", tt.amount, tt.currency, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseMinor(%q, %q) = %d, %v; want %d", tt.amount, tt.currency, got, err, tt.want)
		}
	}
}

func TestExponent(t *testing.T) {
	t.Parallel()
	for cur, want := range map[string]int{"USD": 2, "EUR": 2, "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3, "CLF": 4, "jpy": 0} {
		got, err := Exponent(cur)
		if err != nil || got != want {
			t.Errorf("Exponent(%s) = %d, %v; want %d", cur, got, err, want)
		}
	}
}

func TestDecimalJSON(t *testing.T) {
	t.Parallel()
	var v struct {
		A, B, C, D Decimal
	}
	if err := json.Unmarshal([]byte(`{"A":"195.67","B":195.67,"C":null,"D":""}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "195.67" || v.B != "195.67" || v.C != "" || v.D != "" {
		t.Fatalf("got %+v", v)
	}
	for _, bad := range []string{`{"A":1e5}`, `{"A":"abc"}`, `{"A":true}`, `{"A":{}}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s: want error", bad)
		}
	}
	// A number too precise for float64 keeps its exact text.
	if err := json.Unmarshal([]byte(`{"A":12345678901234567.89}`), &v); err != nil || v.A != "12345678901234567.89" {
		t.Fatalf("got %q, %v", v.A, err)
	}
}
