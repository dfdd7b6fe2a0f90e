package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/devstore"
)

type reportSummaryOut struct {
	Currency string          `json:"currency"`
	Rows     []reportRowJSON `json:"rows"`
	Total    metricsJSON     `json:"total"`
}

type ltvOut struct {
	Currency string       `json:"currency"`
	Rows     []ltvRowJSON `json:"rows"`
}

func (f *convFixture) summary(group string) reportSummaryOut {
	f.t.Helper()
	var out reportSummaryOut
	if code := f.api("GET", "/api/v1/reports/summary?group_by="+group, f.key, nil, &out); code != 200 {
		f.t.Fatalf("summary by %s: %d", group, code)
	}
	return out
}

func mustParseID(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("id %q: %v", s, err)
	}
	return n
}

func rowOf(rows []reportRowJSON, key string) (reportRowJSON, bool) {
	for _, r := range rows {
		if r.Key == key {
			return r, true
		}
	}
	return reportRowJSON{}, false
}

// reportsSnapshot is every report of the fixture's shop, for comparing the
// answers before and after folding or rebuilding the rollups.
func (f *convFixture) reportsSnapshot() []any {
	f.t.Helper()
	var out []any
	for _, g := range []string{"campaign", "partner", "channel", "day"} {
		out = append(out, f.summary(g))
	}
	// A range with whole months reads the monthly rollup and the edge days.
	now := time.Now().UTC()
	from := time.Date(now.Year(), now.Month()-2, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -3).Format(time.DateOnly)
	for _, g := range []string{"campaign", "partner"} {
		var long reportSummaryOut
		if code := f.api("GET", "/api/v1/reports/summary?group_by="+g+"&from="+from, f.key, nil, &long); code != 200 {
			f.t.Fatalf("long summary: %d", code)
		}
		if short := f.summary(g); !reflect.DeepEqual(long.Rows, short.Rows) {
			f.t.Fatalf("summary from %s differs from the last 30 days (all orders are today):\n%+v\n%+v", from, long.Rows, short.Rows)
		}
		out = append(out, long)
	}
	for _, g := range []string{"campaign", "partner", "channel"} {
		var l ltvOut
		if code := f.api("GET", "/api/v1/reports/ltv?group_by="+g, f.key, nil, &l); code != 200 {
			f.t.Fatalf("ltv by %s: %d", g, code)
		}
		out = append(out, l)
	}
	return out
}

// TestReportsFollowConversions: conversions show in the summary, time series,
// overview and LTV reports as soon as they are recorded (before any fold),
// refunds and cancellations move them, and folding the deltas or rebuilding
// the rollups from scratch gives the same answers.
func TestReportsFollowConversions(t *testing.T) {
	f := newConvFixture(t, nil)
	campaign := idString(f.camp.ID)

	// a: a partner code order (60.00 - 10% = 54.00 net, 5.40 commission),
	// then an order without a code 60.00 the same day (no credit, but the
	// campaign's touch): LTV 114.00.
	// b: a partner code order, later cancelled (reversed).
	// c: organic only: no cohort.
	oa1 := f.order("a@example.com", f.issueTo("a@example.com"))
	f.conversion(oa1, "a1", nil)
	oa2 := f.order("a@example.com")
	ob := f.order("b@example.com", f.issueTo("b@example.com"))
	oc := f.order("c@example.com")
	for _, o := range []int64{oa2, ob, oc} {
		f.conversion(o, "conversion", nil)
	}

	byCampaign := f.summary("campaign")
	if byCampaign.Currency != "USD" {
		t.Fatalf("currency %q", byCampaign.Currency)
	}
	r, ok := rowOf(byCampaign.Rows, campaign)
	// 168.00 / (12.00 + 10.80) = 7.368...
	if !ok || r.Label != "Issue" || r.Orders != 3 || r.Attributed != 2 || r.Redemptions != 2 || r.NetRevenue != "168.00" || r.GrossRevenue != "180.00" ||
		r.DiscountCost != "12.00" || r.Commission != "10.80" || r.AOV != "56.00" || r.ROAS == nil || *r.ROAS != "7.37" ||
		r.Held != "168.00" || r.HeldOrders != 3 || r.Approved != "0.00" {
		t.Fatalf("campaign row: %+v (rows %+v)", r, byCampaign.Rows)
	}
	organic, ok := rowOf(byCampaign.Rows, "")
	if !ok || organic.Label != "No campaign" || organic.Orders != 1 || organic.NetRevenue != "60.00" || organic.ROAS != nil || organic.Redemptions != 0 {
		t.Fatalf("organic row: %+v", organic)
	}
	if byCampaign.Total.Orders != 4 || byCampaign.Total.NetRevenue != "228.00" {
		t.Fatalf("total: %+v", byCampaign.Total)
	}
	byPartner := f.summary("partner")
	if p, ok := rowOf(byPartner.Rows, f.partner); !ok || p.Label != "Ana" || p.Attributed != 2 || p.Commission != "10.80" {
		t.Fatalf("partner rows: %+v", byPartner.Rows)
	}
	if ch, ok := rowOf(f.summary("channel").Rows, "affiliate"); !ok || ch.Attributed != 2 {
		t.Fatalf("channel rows: %+v", f.summary("channel").Rows)
	}

	// An empty filter means any; campaign_id=none selects the organic row.
	var anyCh, noCamp reportSummaryOut
	f.api("GET", "/api/v1/reports/summary?group_by=campaign&channel=&campaign_id=", f.key, nil, &anyCh)
	if !reflect.DeepEqual(anyCh.Rows, byCampaign.Rows) {
		t.Fatalf("empty filters: %+v", anyCh.Rows)
	}
	f.api("GET", "/api/v1/reports/summary?group_by=campaign&campaign_id=none", f.key, nil, &noCamp)
	if len(noCamp.Rows) != 1 || !reflect.DeepEqual(noCamp.Rows[0], organic) {
		t.Fatalf("campaign_id=none: %+v", noCamp.Rows)
	}

	today := time.Now().UTC().Format(time.DateOnly)
	var ts struct {
		Currency string      `json:"currency"`
		Points   []pointJSON `json:"points"`
	}
	if code := f.api("GET", "/api/v1/reports/timeseries?partner_id="+f.partner, f.key, nil, &ts); code != 200 {
		t.Fatalf("timeseries: %d", code)
	}
	if len(ts.Points) != 30 || ts.Points[29].Day != today || ts.Points[29].Attributed != 2 || ts.Points[0].Orders != 0 || ts.Points[0].NetRevenue != "0.00" {
		t.Fatalf("timeseries: %d points, last %+v", len(ts.Points), ts.Points[len(ts.Points)-1])
	}
	var ov overviewJSON
	if code := f.api("GET", "/api/v1/reports/overview", f.sessionToken(f.shop), nil, &ov); code != 200 {
		t.Fatalf("overview: %d", code)
	}
	if ov.Today.Orders != 4 || ov.Last30Days.NetRevenue != "228.00" || ov.IncrementalLift != nil {
		t.Fatalf("overview: %+v", ov)
	}

	// LTV by partner: a (114.00) and b (54.00) were acquired by Ana.
	var ltv ltvOut
	eventually(t, 10*time.Second, "ltv", func() bool {
		f.api("GET", "/api/v1/reports/ltv?group_by=partner", f.key, nil, &ltv)
		return len(ltv.Rows) == 1
	})
	if l := ltv.Rows[0]; l.Key != f.partner || l.Label != "Ana" || l.Customers != 2 || l.LTV30 != "84.00" || l.LTV365 != "84.00" {
		t.Fatalf("ltv: %+v", ltv.Rows)
	}

	// Cancel b's order: its conversion is reversed and leaves revenue.
	if _, err := f.dev.CancelOrder(f.shop, ob, "customer", true); err != nil {
		t.Fatal(err)
	}
	f.conversion(ob, "reversed", func(c conversionJSON) bool { return c.Status == "reversed" })
	r, _ = rowOf(f.summary("campaign").Rows, campaign)
	if r.Orders != 3 || r.NetRevenue != "114.00" || r.Reversed != "54.00" || r.ReversedOrders != 1 || r.HeldOrders != 2 || r.Held != "114.00" {
		t.Fatalf("after cancel: %+v", r)
	}
	// A partial refund of a's organic order shows in its LTV.
	if _, err := f.dev.CreateRefund(f.shop, oa2, devstore.RefundInput{Amount: "30.00"}); err != nil {
		t.Fatal(err)
	}
	f.conversion(oa2, "refund applied", func(c conversionJSON) bool { return c.NetRevenue != "60.00" })
	f.api("GET", "/api/v1/reports/ltv?group_by=partner", f.key, nil, &ltv)
	if l := ltv.Rows[0]; l.Customers != 2 || l.LTV30 != "42.00" { // (54 + 30 + 0) / 2
		t.Fatalf("ltv after refunds: %+v", ltv.Rows)
	}

	// Folding and rebuilding change nothing a reader sees.
	before := f.reportsSnapshot()
	ctx := context.Background()
	n, err := f.a.store.FoldReportDeltas(ctx, 1000)
	if err != nil || n == 0 {
		t.Fatalf("fold: %d %v", n, err)
	}
	if n, err := f.a.store.FoldReportDeltas(ctx, 1000); err != nil || n != 0 {
		t.Fatalf("second fold: %d %v", n, err)
	}
	if after := f.reportsSnapshot(); !reflect.DeepEqual(before, after) {
		t.Fatalf("fold changed the reports:\nbefore %+v\nafter  %+v", before, after)
	}
	if err := f.a.store.RebuildReports(ctx, f.sh.ID); err != nil {
		t.Fatal(err)
	}
	if after := f.reportsSnapshot(); !reflect.DeepEqual(before, after) {
		t.Fatalf("rebuild changed the reports:\nbefore %+v\nafter  %+v", before, after)
	}
}

// TestReportsValidation: bad parameters are 400 with stable codes; a range
// with no conversions is empty, not an error.
func TestReportsValidation(t *testing.T) {
	s := newStack(t)
	shop := "reports-val.myshopify.com"
	s.createShop(shop)
	tok := s.sessionToken(shop)
	for path, code := range map[string]string{
		"/api/v1/reports/summary?group_by=color":                   "invalid_group_by",
		"/api/v1/reports/summary?from=yesterday":                   "invalid_from",
		"/api/v1/reports/summary?from=2026-02-01&to=2026-01-01":    "invalid_range",
		"/api/v1/reports/timeseries?from=2020-01-01&to=2026-01-01": "invalid_range",
		"/api/v1/reports/timeseries?campaign_id=x":                 "invalid_campaign_id",
		"/api/v1/reports/ltv?group_by=day":                         "invalid_group_by",
	} {
		st, body := s.rawCall("GET", path, tok, "")
		if st != 400 || !strings.Contains(body, `"`+code+`"`) {
			t.Errorf("%s: %d %s", path, st, body)
		}
	}
	var out reportSummaryOut
	if st := s.api("GET", "/api/v1/reports/summary?group_by=day&from=2026-01-01&to=2026-01-31", tok, nil, &out); st != 200 || len(out.Rows) != 0 || out.Total.Orders != 0 {
		t.Fatalf("empty summary: %d %+v", st, out)
	}
}

// TestPartnerPage: a signed page link shows the partner's codes, links,
// clicks and conversions with their status and reason, as HTML and JSON,
// without a Shopify login; revoked, forged and unknown tokens are 404.
func TestPartnerPage(t *testing.T) {
	f := newConvFixture(t, nil)
	code := f.issueTo("pp@example.com")
	o := f.order("pp@example.com", code)
	c := f.conversion(o, "conversion", nil)
	if st := f.api("POST", "/api/v1/conversions/"+c.ID+"/reject", f.key, map[string]string{"reason": "self referral"}, nil); st != 200 {
		t.Fatalf("reject: %d", st)
	}
	var link struct {
		ID   string `json:"id"`
		Slug string `json:"slug"`
		URL  string `json:"url"`
	}
	if st := f.api("POST", "/api/v1/links", f.key, map[string]any{"partner_id": f.partner, "channel": "influencer"}, &link); st != 201 {
		t.Fatalf("link: %d", st)
	}
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	var pl pageLinkJSON
	if st := f.api("POST", "/api/v1/partners/"+f.partner+"/page-links", f.key, nil, &pl); st != 201 || pl.URL == "" || pl.ID == "" {
		t.Fatalf("page link: %d %+v", st, pl)
	}
	tok := pl.URL[strings.LastIndex(pl.URL, "/p/")+3:]
	stored, err := f.a.store.ListPartnerPageLinks(context.Background(), f.sh.ID, mustParseID(t, f.partner))
	if err != nil || len(stored) != 1 || len(stored[0].TokenHash) != 32 || strings.Contains(string(stored[0].TokenHash), tok) {
		t.Fatalf("stored %+v (%v): only a hash of the token is kept", stored, err)
	}
	get := func(u string) (int, string) {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	st, html := get(pl.URL)
	if st != 200 || !strings.Contains(html, "Ana") || !strings.Contains(html, code) || !strings.Contains(html, "self referral") ||
		!strings.Contains(html, "/l/"+link.Slug) || strings.Contains(html, "pp@example.com") {
		t.Fatalf("page: %d %s", st, html)
	}
	var data partnerPageJSON
	res, err = http.Get(pl.URL + ".json")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("json: %v %v", res, err)
	}
	if err := decodeJSON(res, &data); err != nil {
		t.Fatal(err)
	}
	if data.Partner.Name != "Ana" || len(data.Conversions) != 1 || data.Conversions[0].Status != "rejected" || data.Conversions[0].Reason != "self referral" ||
		len(data.Links) != 1 || data.Links[0].Clicks != 1 || data.Totals.Clicks != 1 || len(data.Codes) == 0 || data.Totals.Rejected != 1 {
		t.Fatalf("json: %+v", data)
	}

	var ls list[pageLinkJSON]
	if st := f.api("GET", "/api/v1/partners/"+f.partner+"/page-links", f.key, nil, &ls); st != 200 || len(ls.Items) != 1 || ls.Items[0].URL != "" || ls.Items[0].LastUsedAt == nil {
		t.Fatalf("list: %d %+v", st, ls)
	}
	// Forged (bad MAC) and unknown tokens.
	forged := tok[:len(tok)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(tok, "AA")]
	for _, u := range []string{f.srv.URL + "/p/" + forged, f.srv.URL + "/p/pp_nothing", f.srv.URL + "/p/" + forged + ".json"} {
		if st, _ := get(u); st != 404 {
			t.Errorf("%s: %d", u, st)
		}
	}
	if st := f.api("DELETE", "/api/v1/partners/"+f.partner+"/page-links/"+pl.ID, f.key, nil, nil); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	if st, body := get(pl.URL); st != 404 || !strings.Contains(body, "revoked") {
		t.Fatalf("revoked page: %d %s", st, body)
	}
	if st, _ := get(pl.URL + ".json"); st != 404 {
		t.Fatalf("revoked json: %d", st)
	}
	if st := f.api("DELETE", "/api/v1/partners/"+f.partner+"/page-links/"+pl.ID, f.key, nil, nil); st != 204 {
		t.Fatalf("revoke twice: %d", st)
	}
	if st := f.api("POST", fmt.Sprintf("/api/v1/partners/%d/page-links", 987654321), f.key, nil, nil); st != 404 {
		t.Fatalf("unknown partner: %d", st)
	}
}
