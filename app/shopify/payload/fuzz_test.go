package payload

import (
	"testing"
)

func seedFuzz(f *testing.F, kind string) {
	for _, s := range collectSamples(f) {
		if s.kind == kind {
			f.Add(s.raw)
		}
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":9223372036854775807,"total_price":"1e400"}`))
}

// FuzzParseOrder checks ParseOrder never panics and that every parsed order's
// money either converts or fails with an error.
func FuzzParseOrder(f *testing.F) {
	seedFuzz(f, "order")
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOrder(b)
		if err != nil {
			return
		}
		if o.ID == 0 {
			t.Fatal("parsed order with zero id")
		}
		_, _ = o.TotalMinor()
		_, _ = o.SubtotalMinor()
		_, _ = o.ShippingMinor()
		for i := range o.Refunds {
			_, _ = o.Refunds[i].AmountMinor("USD")
		}
	})
}

// FuzzParseRefund checks ParseRefund never panics and amounts never panic.
func FuzzParseRefund(f *testing.F) {
	seedFuzz(f, "refund")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRefund(b)
		if err != nil {
			return
		}
		if r.ID == 0 || r.OrderID == 0 {
			t.Fatal("parsed refund without ids")
		}
		_, _ = r.AmountMinor("JPY")
		_, _ = r.TransactionsMinor("KWD")
	})
}

// FuzzParseCheckout checks ParseCheckout never panics.
func FuzzParseCheckout(f *testing.F) {
	seedFuzz(f, "checkout")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckout(b)
		if err != nil {
			return
		}
		if c.Token == "" {
			t.Fatal("parsed checkout without token")
		}
		_, _ = c.TotalMinor()
	})
}

// FuzzParseMinor checks that ParseMinor never panics and round-trips
// canonical two-decimal amounts.
func FuzzParseMinor(f *testing.F) {
	for _, s := range []string{"199.00", "-5.00", "0", "1000", "1.250", "9999999999999999999"} {
		f.Add(s, "USD")
		f.Add(s, "JPY")
		f.Add(s, "KWD")
	}
	f.Fuzz(func(t *testing.T, amount, currency string) {
		_, _ = ParseMinor(amount, currency)
	})
}
