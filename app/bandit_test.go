package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/experiment"
	"github.com/coupontrail/coupontrail/app/store"
)

// seedBanditArm creates an active arm campaign with a percentage discount
// and a pool of n live codes named ARM<id>-<i>.
func seedBanditArm(t *testing.T, f *issueFixture, pct string, ttlHours, n int) *store.Campaign {
	t.Helper()
	ctx := context.Background()
	ttl := ttlHours
	c := &store.Campaign{ShopID: f.sh.ID, Name: "Arm " + pct + "%", Goal: "acquisition", Status: "active",
		Discount: []byte(`{"type":"percentage","value":` + pct + `}`), CodeFormat: []byte(`{}`),
		Usage: []byte(`{"single_use":true}`), Rules: []byte(`{}`), StartsAt: time.Now().Add(-time.Hour), CodeTTLHours: &ttl}
	if err := f.a.store.SeedCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	seed := make([]store.SeedLiveCode, n)
	for i := range seed {
		seed[i] = store.SeedLiveCode{Code: fmt.Sprintf("ARM%d-%04d", c.ID, i)}
	}
	if err := f.a.store.SeedLiveCodes(ctx, f.sh.ID, c.ID, seed); err != nil {
		t.Fatal(err)
	}
	return c
}

// seedDiscountedOrder records an order of customerID worth totalMinor with
// discountMinor off.
func seedDiscountedOrder(t *testing.T, st *store.Store, shopID, orderID, customerID int64, at time.Time, totalMinor, discountMinor int64) {
	t.Helper()
	cust := customerID
	o := &store.Order{ShopID: shopID, OrderID: orderID, Name: fmt.Sprint("#", orderID), CustomerID: &cust, Currency: "USD", TotalMinor: totalMinor,
		SubtotalMinor: &totalMinor, DiscountMinor: &discountMinor, OrderCreatedAt: at, OrderUpdatedAt: at, Source: store.OrderSourceWebhook,
		FirstWebhookID: fmt.Sprint("w", orderID), LastWebhookID: fmt.Sprint("w", orderID)}
	if _, err := st.UpsertOrder(context.Background(), o, at); err != nil {
		t.Fatal(err)
	}
}

// TestBanditIssuesLevelsKeepsHoldoutAndRetiresALoser: a campaign (10%) with
// a 20% holdout and two arm campaigns (20%, 40%). The issue API answers
// controls {"holdout":true}, serves treated shoppers codes from the level
// the bandit draws (each level's own pool and TTL, "level" in the answer),
// records the level on the assignment and keeps it on a repeat. Outcomes
// make the 40% level convert no better than the holdout while giving 20.00
// per order; the refresh job retires it with its numbers, the merchant
// sees why in GET /experiments/{id}, the recommendations agree, and no new
// shopper is served it.
func TestBanditIssuesLevelsKeepsHoldoutAndRetiresALoser(t *testing.T) {
	const salt = "bandit-salt"
	f := newIssueFixture(t, 0, 150, func(c *store.Campaign) {
		c.Holdout, c.Salt = 0.2, salt
		ttl := 48
		c.CodeTTLHours = &ttl
	})
	ctx := context.Background()
	a20 := seedBanditArm(t, f, "20", 24, 150)
	a40 := seedBanditArm(t, f, "40", 12, 150)
	own, id20, id40 := idString(f.camp.ID), idString(a20.ID), idString(a40.ID)
	ttlOf := map[string]time.Duration{own: 48 * time.Hour, id20: 24 * time.Hour, id40: 12 * time.Hour}
	labelOf := map[string]string{own: "10%", id20: "20%", id40: "40%"}
	tok := f.sessionToken(f.shop)
	var e experimentJSON
	if code := f.api("PATCH", "/api/v1/experiments/"+own, tok, map[string]any{"arms": []string{id20, id40}, "margin": 0.5}, &e); code != 200 {
		t.Fatalf("patch arms: %d", code)
	}
	if e.Bandit == nil || e.Bandit.ComputedAt != nil || len(e.Bandit.Levels) != 3 || e.Bandit.Levels[0].CampaignID != own ||
		e.Bandit.Levels[2].Level != "40%" || e.Bandit.Levels[2].Status != "live" {
		t.Fatalf("bandit before the first snapshot: %+v", e.Bandit)
	}

	// Round 1: no snapshot yet, the levels are drawn uniformly.
	levelOf := map[int64]string{} // treated customer -> level campaign id
	served := map[string]int{}
	issueTo := func(cust int64) (control bool, level string) {
		t.Helper()
		want := experiment.Assign(f.sh.ID, experiment.ShopperKey(&cust, ""), salt, 0.2)
		body := map[string]any{"customer_id": idString(cust), "channel": "email", "device": "mobile"}
		st, _, raw := f.issue(body, "")
		if want == experiment.Control {
			if st != 200 || strings.TrimSpace(string(raw)) != `{"holdout":true}` {
				t.Fatalf("control shopper %d: %d %s", cust, st, raw)
			}
			return true, ""
		}
		if st != 201 {
			t.Fatalf("treated shopper %d: %d %s", cust, st, raw)
		}
		got := decodeIssued(t, raw)
		if labelOf[got.CampaignID] == "" || got.Level != labelOf[got.CampaignID] || !strings.HasPrefix(got.Code, "ARM"+got.CampaignID+"-") && got.CampaignID != own {
			t.Fatalf("shopper %d got %+v: not a code of one of the levels", cust, got)
		}
		exp, err := time.Parse(time.RFC3339, *got.ExpiresAt)
		if err != nil || math.Abs(time.Until(exp).Hours()-ttlOf[got.CampaignID].Hours()) > 0.1 {
			t.Fatalf("shopper %d: code of %s expires at %v, want in %v (the level's TTL)", cust, got.CampaignID, got.ExpiresAt, ttlOf[got.CampaignID])
		}
		// The same shopper asking again keeps its level (and its code).
		st2, _, raw2 := f.issue(body, "")
		again := decodeIssued(t, raw2)
		if st2 != 200 || again.CampaignID != got.CampaignID || again.Code != got.Code || !again.Reused || again.Level != got.Level {
			t.Fatalf("repeat of shopper %d: %d %s, want the same level and code as %+v", cust, st2, raw2, got)
		}
		levelOf[cust] = got.CampaignID
		served[got.CampaignID]++
		return false, got.CampaignID
	}
	var controls int
	for i := range 90 {
		if c, _ := issueTo(int64(40000 + i)); c {
			controls++
		}
	}
	if controls < 6 || controls > 32 {
		t.Fatalf("%d controls of 90 at a 20%% holdout", controls)
	}
	for _, l := range []string{own, id20, id40} {
		if served[l] < 8 {
			t.Fatalf("without data every level is explored: served %v", served)
		}
	}
	rows, err := f.a.store.ExperimentShoppers(ctx, f.sh.ID, []int64{f.camp.ID}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 90 {
		t.Fatalf("%d assignments, want 90", len(rows))
	}
	for _, r := range rows {
		var cust int64
		fmt.Sscanf(r.Shopper, "customer:%d", &cust)
		if want := levelOf[cust]; r.Level != want || (want == "") != (r.Arm == experiment.Control) {
			t.Fatalf("assignment %s: arm %s level %q, want level %q", r.Shopper, r.Arm, r.Level, want)
		}
	}

	// Outcomes: controls and the 40% level convert 1 in 5 (20.00 off every
	// 40% order); the 10% and 20% levels convert 2 in 5. 300 more shoppers
	// served the 40% level and 200 more controls come from the same traffic.
	now := f.a.now()
	var orderID int64 = 800000
	buy := func(cust int64, level string, i int) {
		conv, disc := i%5 == 0, int64(0)
		switch level {
		case id40:
			disc = 2000
		case own, id20:
			conv, disc = i%5 < 2, 500
		}
		if conv {
			orderID++
			seedDiscountedOrder(t, f.a.store, f.sh.ID, orderID, cust, now.Add(time.Hour), 5000, disc)
		}
	}
	i := 0
	for cust := int64(40000); cust < 40090; cust++ {
		buy(cust, levelOf[cust], i)
		i++
	}
	for j := range 500 {
		cust := int64(50000 + j)
		key := experiment.ShopperKey(&cust, "")
		a := &store.Assignment{ShopID: f.sh.ID, CampaignID: f.camp.ID, Shopper: key, CustomerID: &cust, Arm: experiment.Treatment, Level: id40,
			Channel: "email", Device: "mobile", AssignedAt: now.Add(-time.Minute)}
		if j >= 300 {
			a.Arm, a.Level = experiment.Control, ""
		}
		if err := f.a.store.RecordAssignment(ctx, a); err != nil {
			t.Fatal(err)
		}
		buy(cust, a.Level, j)
	}
	retired, err := f.a.jobs.RefreshBandits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n40 := int64(300 + served[id40])
	if len(retired) != 1 || retired[0].Level != id40 || retired[0].Shoppers != n40 || retired[0].PLoss < 0.95 ||
		!strings.HasPrefix(retired[0].Reason, "expected profit per shopper -") || !strings.Contains(retired[0].Reason, fmt.Sprintf("after %d shoppers", n40)) {
		t.Fatalf("retired %+v, want the 40%% level after %d shoppers", retired, n40)
	}
	// Profit per shopper of the 40% level ≈ (0.2 − 0.2) × 50.00 × 0.5 − 0.2 × 20.00 = −4.00.
	if p := retired[0].ExpectedProfitPerShopper; p > -300 || p < -500 {
		t.Fatalf("expected profit per shopper %.0f minor units, want about −400", p)
	}
	if again, err := f.a.jobs.RefreshBandits(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second refresh retired %+v, %v", again, err)
	}

	// The merchant sees why.
	if code := f.api("GET", "/api/v1/experiments/"+own, tok, nil, &e); code != 200 {
		t.Fatalf("get experiment: %d", code)
	}
	if e.Bandit == nil || e.Bandit.ComputedAt == nil || len(e.Bandit.Levels) != 3 {
		t.Fatalf("bandit after the refresh: %+v", e.Bandit)
	}
	var share float64
	for _, l := range e.Bandit.Levels {
		share += l.TrafficShare
		switch l.CampaignID {
		case id40:
			if l.Status != "retired" || l.RetiredAt == nil || l.Reason != retired[0].Reason || l.Shoppers != n40 || l.SelectionShare != 0 ||
				l.ExpectedProfitPerShopper == nil || !strings.HasPrefix(*l.ExpectedProfitPerShopper, "-") || l.Level != "40%" {
				t.Fatalf("40%% level %+v", l)
			}
			if math.Abs(l.TrafficShare-float64(n40)/float64(n40+int64(served[own]+served[id20]))) > 1e-9 {
				t.Fatalf("40%% traffic share %.4f", l.TrafficShare)
			}
		default:
			if l.Status != "live" || l.RetiredAt != nil || l.Reason != "" || l.Shoppers != int64(served[l.CampaignID]) {
				t.Fatalf("level %+v, want live with %d shoppers", l, served[l.CampaignID])
			}
		}
	}
	if math.Abs(share-1) > 1e-9 {
		t.Fatalf("traffic shares sum to %.6f", share)
	}
	var listed list[experimentJSON]
	if code := f.api("GET", "/api/v1/experiments", tok, nil, &listed); code != 200 || len(listed.Items) == 0 || listed.Items[0].Bandit == nil ||
		listed.Items[0].Bandit.Levels[2].Status != "retired" {
		t.Fatalf("list: %d %+v", code, listed)
	}
	// The recommendations read the same levels off the assignments.
	var recs recommendationsJSON
	if code := f.api("GET", "/api/v1/insights/recommendations?campaign="+own, tok, nil, &recs); code != 200 || len(recs.Items) != 1 ||
		fmt.Sprint(recs.Items[0].Retired) != "[40%]" {
		t.Fatalf("recommendations: %d %+v", code, recs)
	}

	// Round 2: no new shopper gets the retired level; a shopper first
	// served it is now served a live one (its assignment keeps the first).
	before := served[id40]
	for i := range 60 {
		issueTo(int64(41000 + i))
	}
	if served[id40] != before {
		t.Fatalf("the retired level got %d more shoppers", served[id40]-before)
	}
	var first int64
	for cust, l := range levelOf {
		if l == id40 && cust < 41000 {
			first = cust
			break
		}
	}
	st, _, raw := f.issue(map[string]any{"customer_id": idString(first), "channel": "email", "device": "mobile"}, "")
	if got := decodeIssued(t, raw); st != 201 || got.CampaignID == id40 || labelOf[got.CampaignID] == "" {
		t.Fatalf("shopper %d first served the retired level: %d %s", first, st, raw)
	}
	rows, err = f.a.store.ExperimentShoppers(ctx, f.sh.ID, []int64{f.camp.ID}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Shopper == experiment.ShopperKey(&first, "") && r.Level != id40 {
			t.Fatalf("the first level of %d became %q", first, r.Level)
		}
	}
}
