package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/experiment"
	"github.com/coupontrail/coupontrail/app/store"
)

// seedOrder records an order of a shopper through the store.
func seedOrder(t *testing.T, st *store.Store, shopID, orderID, customerID int64, at time.Time, totalMinor int64) {
	t.Helper()
	cust := customerID
	o := &store.Order{ShopID: shopID, OrderID: orderID, Name: fmt.Sprint("#", orderID), CustomerID: &cust, Currency: "USD", TotalMinor: totalMinor,
		SubtotalMinor: &totalMinor, OrderCreatedAt: at, OrderUpdatedAt: at, Source: store.OrderSourceWebhook,
		FirstWebhookID: fmt.Sprint("w", orderID), LastWebhookID: fmt.Sprint("w", orderID)}
	if _, err := st.UpsertOrder(context.Background(), o, at); err != nil {
		t.Fatal(err)
	}
}

// TestHoldoutIssueRecordsAndReadsOut: a campaign with a 50% holdout answers
// control shoppers {"holdout":true} without a code and treated ones with a
// code, exactly as the deterministic assignment says; both arms are
// recorded; every later order of a shopper (coupon or not) is its outcome;
// the readout, settings and recommendations follow.
func TestHoldoutIssueRecordsAndReadsOut(t *testing.T) {
	f := newIssueFixture(t, 0, 100, func(c *store.Campaign) { c.Holdout, c.Salt = 0.5, "exp-test-salt" })
	ctx := context.Background()
	const n = 60
	arms := map[int64]string{}
	for i := range n {
		cust := int64(5000 + i)
		want := experiment.Assign(f.sh.ID, experiment.ShopperKey(&cust, ""), "exp-test-salt", 0.5)
		arms[cust] = want
		ch := "email"
		if i%3 == 0 {
			ch = "sms"
		}
		st, _, body := f.issue(map[string]any{"customer_id": idString(cust), "channel": ch}, "")
		switch want {
		case experiment.Control:
			if st != 200 || strings.TrimSpace(string(body)) != `{"holdout":true}` {
				t.Fatalf("control shopper %d: %d %s", cust, st, body)
			}
		default:
			if st != 201 || decodeIssued(t, body).Code == "" {
				t.Fatalf("treated shopper %d: %d %s", cust, st, body)
			}
		}
		// Asking again keeps the arm (and records nothing new).
		st2, _, body2 := f.issue(map[string]any{"customer_id": idString(cust), "channel": ch}, "")
		if st2 != 200 || strings.Contains(string(body2), `"holdout":true`) != (want == experiment.Control) {
			t.Fatalf("second call of %d (%s): %d %s", cust, want, st2, body2)
		}
	}
	// An anonymous shopper is not part of the experiment.
	if st, _, body := f.issue(map[string]any{"channel": "email"}, ""); st != 201 {
		t.Fatalf("anonymous: %d %s", st, body)
	}
	rows, err := f.a.store.ExperimentShoppers(ctx, f.sh.ID, []int64{f.camp.ID}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d assignments, want %d", len(rows), n)
	}
	var nt, nc int64
	for _, r := range rows {
		var cust int64
		fmt.Sscanf(r.Shopper, "customer:%d", &cust)
		if arms[cust] != r.Arm {
			t.Fatalf("recorded arm of %s is %s, want %s", r.Shopper, r.Arm, arms[cust])
		}
		if r.Arm == experiment.Control {
			nc++
		} else {
			nt++
		}
	}
	if nt == 0 || nc == 0 {
		t.Fatalf("arms %d/%d: both must be populated", nt, nc)
	}
	// Outcomes: treated shoppers with an even id order (coupon or not),
	// controls whose id is divisible by 4 order; one order before the
	// assignment is history, not an outcome.
	now := f.a.now()
	var xt, xc, orderID int64 = 0, 0, 900000
	for cust, arm := range arms {
		buys := (arm == experiment.Treatment && cust%2 == 0) || (arm == experiment.Control && cust%4 == 0)
		if buys {
			orderID++
			seedOrder(t, f.a.store, f.sh.ID, orderID, cust, now.Add(time.Hour), 5000)
			if arm == experiment.Treatment {
				xt++
			} else {
				xc++
			}
		}
		if cust%5 == 0 {
			orderID++
			seedOrder(t, f.a.store, f.sh.ID, orderID, cust, now.Add(-30*24*time.Hour), 7000)
		}
	}
	tok := f.sessionToken(f.shop)
	var e experimentJSON
	if code := f.api("GET", "/api/v1/experiments/"+idString(f.camp.ID), tok, nil, &e); code != 200 {
		t.Fatalf("get experiment: %d", code)
	}
	tr, ct := e.Arms.Treatment, e.Arms.Control
	if tr.Shoppers != nt || ct.Shoppers != nc || tr.Converters != xt || ct.Converters != xc || tr.Orders != xt || ct.Orders != xc {
		t.Fatalf("arms %+v / %+v, want %d/%d shoppers, %d/%d converters", tr, ct, nt, nc, xt, xc)
	}
	if tr.Revenue != fmt.Sprintf("%d.00", 50*xt) {
		t.Fatalf("treated revenue %s, want %d.00", tr.Revenue, 50*xt)
	}
	wantAbs := float64(xt)/float64(nt) - float64(xc)/float64(nc)
	if e.Lift.Absolute == nil || math.Abs(*e.Lift.Absolute-wantAbs) > 1e-12 || e.Lift.AbsoluteCI[0] == nil ||
		!(*e.Lift.AbsoluteCI[0] < wantAbs && wantAbs < *e.Lift.AbsoluteCI[1]) {
		t.Fatalf("lift %+v, want absolute %.4f inside its CI", e.Lift, wantAbs)
	}
	wantInc := float64(xt) - float64(nt)/float64(nc)*float64(xc)
	if e.IncrementalOrders == nil || math.Abs(*e.IncrementalOrders-wantInc) > 1e-9 {
		t.Fatalf("incremental orders %v, want %.3f", e.IncrementalOrders, wantInc)
	}
	if e.Sequential.Looks < 1 || e.Sequential.PValue <= 0 || e.Sequential.PValue > 1 || e.SampleSizeNeeded == nil || e.CampaignName != "Issue" || e.Holdout != 0.5 {
		t.Fatalf("experiment %+v", e)
	}
	var listed list[experimentJSON]
	if code := f.api("GET", "/api/v1/experiments", tok, nil, &listed); code != 200 || len(listed.Items) != 1 || listed.Items[0].CampaignID != idString(f.camp.ID) {
		t.Fatalf("list: %d %+v", code, listed)
	}
	// Settings.
	var up experimentJSON
	if code := f.api("PATCH", "/api/v1/experiments/"+idString(f.camp.ID), tok, map[string]any{"mde": 0.25, "margin": 0.4}, &up); code != 200 || up.MDE != 0.25 || up.Margin != 0.4 {
		t.Fatalf("patch: %d %+v", code, up)
	}
	if code, _ := f.apiErr("PATCH", "/api/v1/experiments/"+idString(f.camp.ID), tok, map[string]any{"mde": -1}, nil); code != 422 {
		t.Fatalf("bad mde: %d", code)
	}
	if code, _ := f.apiErr("PATCH", "/api/v1/experiments/"+idString(f.camp.ID), tok, map[string]any{"arms": []string{"99999999"}}, nil); code != 422 {
		t.Fatalf("unknown arm campaign: %d", code)
	}
	// Recommendations: one item per segment seen, ranked by expected profit.
	var recs recommendationsJSON
	if code := f.api("GET", "/api/v1/insights/recommendations?campaign="+idString(f.camp.ID), tok, nil, &recs); code != 200 || len(recs.Items) == 0 {
		t.Fatalf("recommendations: %d %+v", code, recs)
	}
	var total int64
	for _, it := range recs.Items {
		total += it.Customers
		if it.Reason == "" || it.Segment == "" {
			t.Fatalf("item without segment or reason: %+v", it)
		}
	}
	if total != n {
		t.Fatalf("segments cover %d shoppers, want %d", total, n)
	}
	if code, _ := f.apiErr("GET", "/api/v1/insights/recommendations", tok, nil, nil); code != 400 {
		t.Fatalf("no campaign: %d", code)
	}
	var models list[upliftModelJSON]
	if code := f.api("GET", "/api/v1/insights/models", tok, nil, &models); code != 200 {
		t.Fatalf("models: %d", code)
	}
	// customers/redact: the assignment stays (counts do not move), who it was does not.
	if _, err := f.a.store.RedactCustomer(ctx, f.sh.ID, f.shop, store.CustomerKey{ID: "5000"}, 0); err != nil {
		t.Fatal(err)
	}
	after, err := f.a.store.ExperimentShoppers(ctx, f.sh.ID, []int64{f.camp.ID}, 0)
	if err != nil || len(after) != n {
		t.Fatalf("after redaction: %d rows, %v", len(after), err)
	}
	for _, r := range after {
		if r.Shopper == "customer:5000" {
			t.Fatal("redacted customer still identifiable in the assignments")
		}
	}
	raw, _ := json.Marshal(e)
	for _, k := range []string{`"campaign_id"`, `"campaign_name"`, `"holdout"`, `"arms"`, `"treatment"`, `"control"`, `"conversion_rate"`,
		`"absolute_ci"`, `"relative_ci"`, `"incremental_orders"`, `"incremental_revenue"`, `"cost_per_incremental_order"`, `"incremental_roas"`,
		`"sequential"`, `"p_value"`, `"significant"`, `"looks"`, `"sample_size_needed"`} {
		if !strings.Contains(string(raw), k) {
			t.Fatalf("readout lacks %s: %s", k, raw)
		}
	}
}

// TestUpliftTrainingJobOnShopData: the training job fits a model on a
// shop's recorded experiment (a known pattern: only returning shoppers
// respond), stores it as version 1 and activates it, uses it in the
// recommendations, and does nothing on a rerun over the same data.
func TestUpliftTrainingJobOnShopData(t *testing.T) {
	f := newIssueFixture(t, 0, 0, func(c *store.Campaign) { c.Holdout, c.Salt = 0.3, "train-salt" })
	ctx := context.Background()
	now := f.a.now()
	var orderID int64 = 700000
	const n = 900
	for i := range n {
		cust := int64(20000 + i)
		key := experiment.ShopperKey(&cust, "")
		arm := experiment.Assign(f.sh.ID, key, "train-salt", 0.3)
		at := now.Add(-time.Duration(n-i) * time.Minute)
		if err := f.a.store.RecordAssignment(ctx, &store.Assignment{ShopID: f.sh.ID, CampaignID: f.camp.ID, Shopper: key, CustomerID: &cust,
			Arm: arm, Channel: "email", AssignedAt: at}); err != nil {
			t.Fatal(err)
		}
		returning := i%2 == 0
		if returning {
			orderID++
			seedOrder(t, f.a.store, f.sh.ID, orderID, cust, at.Add(-40*24*time.Hour), 6000)
		}
		// Deterministic "random" outcome: 10% base, 45% for treated returning shoppers.
		u := experiment.Bucket(f.sh.ID, key, "outcome")
		p := 0.10
		if returning && arm == experiment.Treatment {
			p = 0.45
		}
		if u < p {
			orderID++
			seedOrder(t, f.a.store, f.sh.ID, orderID, cust, at.Add(time.Hour), 5000)
		}
	}
	m, err := f.a.jobs.TrainShopModel(ctx, f.sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m == nil || m.Version != 1 || !m.Active || m.Qini == nil || !(*m.Qini > 0) {
		t.Fatalf("first model: %+v", m)
	}
	var segs map[string]float64
	if err := json.Unmarshal(m.Segments, &segs); err != nil {
		t.Fatal(err)
	}
	if !(segs["email · returning"] > segs["email · new"]+0.15) {
		t.Fatalf("segment uplift %v: returning shoppers should respond", segs)
	}
	again, err := f.a.jobs.TrainShopModel(ctx, f.sh.ID)
	if err != nil || again != nil {
		t.Fatalf("rerun on the same data: %+v %v", again, err)
	}
	tok := f.sessionToken(f.shop)
	var recs recommendationsJSON
	if code := f.api("GET", "/api/v1/insights/recommendations?campaign="+idString(f.camp.ID), tok, nil, &recs); code != 200 || recs.Model == nil || recs.Model.Version != 1 {
		t.Fatalf("recommendations: %d %+v", code, recs)
	}
	if recs.Items[0].Segment != "email · returning" || recs.Items[0].Arm == "none" || !strings.Contains(recs.Items[0].Reason, "uplift model v1") {
		t.Fatalf("top recommendation %+v: the returning segment should get the discount", recs.Items[0])
	}
	var models list[upliftModelJSON]
	if code := f.api("GET", "/api/v1/insights/models", tok, nil, &models); code != 200 || len(models.Items) != 1 || !models.Items[0].Active {
		t.Fatalf("models: %d %+v", code, models)
	}
}
