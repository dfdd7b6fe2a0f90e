package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

// reportSnapshot is every report of a shop over a few ranges and filters.
func reportSnapshot(t *testing.T, s *store.Store, shopID int64, today time.Time) map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]any{}
	one := "email"
	for _, q := range []store.ReportQuery{
		{ShopID: shopID, Currency: "USD", From: today.AddDate(0, 0, -29), To: today},
		{ShopID: shopID, Currency: "USD", From: today.AddDate(0, 0, -200), To: today}, // whole months and edges
		{ShopID: shopID, Currency: "USD", From: today.AddDate(-1, 0, 0), To: today.AddDate(0, 0, -40)},
		{ShopID: shopID, Currency: "USD", From: today.AddDate(0, 0, -200), To: today, CampaignID: 2},
		{ShopID: shopID, Currency: "USD", From: today.AddDate(0, 0, -200), To: today, PartnerID: -1},
		{ShopID: shopID, Currency: "USD", From: today.AddDate(0, 0, -200), To: today, Channel: &one},
	} {
		for _, g := range []string{store.ReportByCampaign, store.ReportByPartner, store.ReportByChannel, store.ReportByDay, ""} {
			rows, err := s.ReportGroups(ctx, q, g)
			if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%s..%s c%d p%d %v by %q", q.From.Format(time.DateOnly), q.To.Format(time.DateOnly), q.CampaignID, q.PartnerID, q.Channel != nil, g)] = rows
		}
	}
	for _, dim := range []string{store.ReportByCampaign, store.ReportByPartner, store.ReportByChannel} {
		rows, err := s.ReportCohorts(ctx, shopID, "USD", dim)
		if err != nil {
			t.Fatal(err)
		}
		out["cohorts by "+dim] = rows
	}
	return out
}

// TestReportRollupsMatchConversions: after random changes through the
// trigger (statuses, amounts, campaigns, partners, channels, fraud flags),
// the reports read from the rollups plus pending deltas equal what they
// read after folding, and what a set-based rebuild from the conversions
// gives; and they agree with sums computed here from the conversions.
func TestReportRollupsMatchConversions(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	sh, err := s.InstallShop(ctx, "reports.myshopify.com", store.ShopTokens{AccessTokenEnc: "v1:k:x", TokenKind: "offline"}, now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.InstallShop(ctx, "reports-other.myshopify.com", store.ShopTokens{AccessTokenEnc: "v1:k:x", TokenKind: "offline"}, now)
	if err != nil {
		t.Fatal(err)
	}
	channels := []string{"email", "affiliate", "", "sms"}
	gen := func(seed uint64) func(i int, r *store.BulkConversion) {
		return func(i int, r *store.BulkConversion) {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			r.OrderID = int64(seed)*1_000_000 + int64(i)
			r.CreatedAt = today.AddDate(0, 0, -rng.IntN(400)).Add(time.Duration(rng.IntN(86400)) * time.Second)
			r.CustomerID = int64(1 + rng.IntN(60))
			r.Gross = int64(1000 + rng.IntN(9000))
			r.Status = []string{store.ConversionHeld, store.ConversionApproved, store.ConversionPaid, store.ConversionReversed, store.ConversionRejected}[rng.IntN(5)]
			r.Channel = channels[rng.IntN(len(channels))]
			r.Rule = "organic"
			if rng.IntN(3) > 0 {
				r.Attributed, r.Rule = true, "code"
				r.CampaignID, r.PartnerID = int64(1+rng.IntN(3)), int64(1+rng.IntN(4))
				r.Code, r.Discount = fmt.Sprintf("C%d", i), r.Gross/10
			}
			r.Net = r.Gross - r.Discount
			r.OriginalNet = r.Net
			if r.PartnerID != 0 {
				r.Commission = r.Net / 20
			}
			if rng.IntN(8) == 0 {
				r.FraudAction = "flag"
			}
		}
	}
	if err := s.BulkLoadConversions(ctx, sh.ID, "USD", 400, gen(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.BulkLoadConversions(ctx, other.ID, "USD", 50, gen(2), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RebuildReports(ctx, 0); err != nil {
		t.Fatal(err)
	}
	rebuiltOther := reportSnapshot(t, s, other.ID, today)

	// Random changes through UpdateConversion (the trigger path).
	convs, err := s.ListConversions(ctx, store.ConversionFilter{ShopID: sh.ID})
	if err != nil || len(convs) != 400 {
		t.Fatalf("conversions: %d %v", len(convs), err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	change := func(n int) {
		t.Helper()
		changeConversions(t, s, sh.ID, convs, channels, rng, n)
	}
	change(300)

	live := reportSnapshot(t, s, sh.ID, today)
	foldAll(t, s, 97) // several batches
	sameReports(t, "live", live, "folded", reportSnapshot(t, s, sh.ID, today))
	if err := s.RebuildReports(ctx, sh.ID); err != nil {
		t.Fatal(err)
	}
	sameReports(t, "live", live, "rebuilt", reportSnapshot(t, s, sh.ID, today))
	// Customers refreshed by the fold alone (no cohort read before it)
	// equal a rebuild too.
	change(200)
	foldAll(t, s, 53)
	folded := reportSnapshot(t, s, sh.ID, today)
	if err := s.RebuildReports(ctx, sh.ID); err != nil {
		t.Fatal(err)
	}
	sameReports(t, "folded", folded, "rebuilt", reportSnapshot(t, s, sh.ID, today))
	// The other shop is untouched by this shop's changes and rebuild.
	if got := reportSnapshot(t, s, other.ID, today); !reflect.DeepEqual(got, rebuiltOther) {
		t.Fatal("the other shop's reports changed")
	}
	checkReportTotals(t, s, sh.ID, today)
}

// sameReports fails the test, naming each report that differs, unless two
// snapshots are equal.
func sameReports(t *testing.T, aName string, a map[string]any, bName string, b map[string]any) {
	t.Helper()
	if reflect.DeepEqual(a, b) {
		return
	}
	for k := range a {
		if !reflect.DeepEqual(a[k], b[k]) {
			t.Errorf("%s: %s %+v\n%s %+v", k, aName, a[k], bName, b[k])
		}
	}
	t.FailNow()
}

// foldAll folds every pending delta, limit rows at a time.
func foldAll(t *testing.T, s *store.Store, limit int) {
	t.Helper()
	for {
		n, err := s.FoldReportDeltas(context.Background(), limit)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// changeConversions makes n random changes through UpdateConversion (the
// trigger path).
func changeConversions(t *testing.T, s *store.Store, shopID int64, convs []store.Conversion, channels []string, rng *rand.Rand, n int) {
	t.Helper()
	ctx := context.Background()
	for range n {
		c := convs[rng.IntN(len(convs))]
		cur, err := s.ConversionByID(ctx, shopID, c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		switch rng.IntN(6) {
		case 0:
			cur.Status = []string{store.ConversionHeld, store.ConversionApproved, store.ConversionReversed, store.ConversionRejected}[rng.IntN(4)]
		case 1:
			cur.NetMinor = cur.NetMinor * int64(rng.IntN(10)) / 10
			cur.CommissionMinor /= 2
		case 2:
			if rng.IntN(2) == 0 {
				cur.CampaignID, cur.PartnerID, cur.Attributed = nil, nil, false
			} else {
				cp, pp := int64(1+rng.IntN(3)), int64(1+rng.IntN(4))
				cur.CampaignID, cur.PartnerID, cur.Attributed = &cp, &pp, true
			}
		case 3:
			cur.Channel = channels[rng.IntN(len(channels))]
		case 4:
			cur.Fraud = json.RawMessage(`{"action":"shadow","would_action":"reject","score":90}`)
		case 5:
			cur.Evidence = json.RawMessage(`{"note":"evidence changes are not report changes"}`)
		}
		if err := s.UpdateConversion(ctx, cur); err != nil {
			t.Fatal(err)
		}
	}
}

// checkReportTotals compares the reports' totals and cohorts with sums
// computed here from the conversions, and checks that customers/redact
// takes a customer out of the cohorts.
func checkReportTotals(t *testing.T, s *store.Store, shopID int64, today time.Time) {
	t.Helper()
	ctx := context.Background()
	// Independent sums over the last 200 days.
	convs, err := s.ListConversions(ctx, store.ConversionFilter{ShopID: shopID})
	if err != nil {
		t.Fatal(err)
	}
	var want store.ReportMetrics
	from := today.AddDate(0, 0, -200)
	for _, c := range convs {
		if c.OrderCreatedAt.Before(from) {
			continue
		}
		if c.Status == store.ConversionRejected {
			want.RejectedOrders++
		} else {
			want.Orders++
			want.NetMinor += c.NetMinor
			want.CommissionMinor += c.CommissionMinor
		}
		if c.Status == store.ConversionReversed {
			want.ReversedMinor += c.OriginalNet
		}
		var f struct{ Action, WouldAction string }
		_ = json.Unmarshal(c.Fraud, &struct {
			Action      *string `json:"action"`
			WouldAction *string `json:"would_action"`
		}{&f.Action, &f.WouldAction})
		if f.Action == "flag" || f.Action == "hold" || f.Action == "reject" || (f.Action == "shadow" && f.WouldAction == "reject") {
			want.FraudFlagged++
		}
	}
	total, err := s.ReportGroups(ctx, store.ReportQuery{ShopID: shopID, From: from, To: today}, "")
	if err != nil || len(total) != 1 {
		t.Fatalf("total: %v %v", total, err)
	}
	got := total[0].ReportMetrics
	if got.Orders != want.Orders || got.NetMinor != want.NetMinor || got.CommissionMinor != want.CommissionMinor ||
		got.RejectedOrders != want.RejectedOrders || got.ReversedMinor != want.ReversedMinor || got.FraudFlagged != want.FraudFlagged {
		t.Fatalf("totals: got %+v want %+v", got, want)
	}
	cohorts, err := s.ReportCohorts(ctx, shopID, "USD", store.ReportByChannel)
	if err != nil {
		t.Fatal(err)
	}
	var customers int64
	for _, c := range cohorts {
		customers += c.Customers
	}
	if customers == 0 || customers > 60 {
		t.Fatalf("cohort customers %d (60 shoppers)", customers)
	}

	// customers/redact takes the customer out of the cohorts.
	var key string
	for id := 1; id <= 60 && key == ""; id++ {
		if before := customersIn(t, s, shopID); before > 0 {
			if _, err := s.RedactCustomer(ctx, shopID, "reports.myshopify.com", store.CustomerKey{ID: fmt.Sprint(id)}, 0); err != nil {
				t.Fatal(err)
			}
			if after := customersIn(t, s, shopID); after == before-1 {
				key = fmt.Sprint(id)
			} else if after != before {
				t.Fatalf("redact changed the cohorts from %d to %d customers", before, after)
			}
		}
	}
	if key == "" {
		t.Fatal("redacting customers never changed the cohorts")
	}
}

func customersIn(t *testing.T, s *store.Store, shopID int64) int64 {
	t.Helper()
	rows, err := s.ReportCohorts(context.Background(), shopID, "USD", store.ReportByCampaign)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range rows {
		n += r.Customers
	}
	return n
}
