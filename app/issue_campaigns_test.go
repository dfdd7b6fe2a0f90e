package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/devstore"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// usage.total_cap and usage.budget are enforced at issue time, also under
// concurrent calls: exactly as many codes as they allow, then 409 with
// their stable codes; a returning shopper still gets their code back.
func TestIssueTotalCapAndBudgetRefusals(t *testing.T) {
	f := newIssueFixture(t, 0, 40, func(c *store.Campaign) { c.Usage = []byte(`{"single_use":true,"total_cap":5}`) })
	issued, refused := 0, map[string]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, b := f.issue(map[string]any{"customer_email": fmt.Sprintf("cap%d@x.com", i)}, "")
			mu.Lock()
			defer mu.Unlock()
			if code == 201 {
				issued++
				return
			}
			var e apiErrBody
			if err := json.Unmarshal(b, &e); err != nil || code != 409 {
				t.Errorf("refusal %d %s", code, b)
			}
			refused[e.Error.Code]++
		}()
	}
	wg.Wait()
	if issued != 5 || refused["total_cap_reached"] != 7 {
		t.Fatalf("cap 5: %d issued, refused %v", issued, refused)
	}
	if code, _, b := f.issue(map[string]any{"customer_email": "cap0@x.com"}, ""); code != 200 && code != 409 {
		t.Fatalf("returning shopper after the cap: %d %s", code, b)
	}

	// Budget 25.00 for a 10.00 fixed-amount discount: two codes are 20.00
	// committed, a third would pass it.
	ctx := context.Background()
	fixed := &store.Campaign{ShopID: f.sh.ID, Name: "Budget", Goal: "acquisition", Status: "active",
		Discount: []byte(`{"type":"fixed_amount","value":"10.00"}`), CodeFormat: []byte(`{}`),
		Usage: []byte(`{"single_use":true,"budget":"25.00"}`), Rules: []byte(`{}`), StartsAt: time.Now().Add(-time.Hour)}
	if err := f.a.store.SeedCampaign(ctx, fixed); err != nil {
		t.Fatal(err)
	}
	var seed []store.SeedLiveCode
	for i := range 10 {
		seed = append(seed, store.SeedLiveCode{Code: fmt.Sprintf("BUDGET%d%03d", fixed.ID, i)})
	}
	if err := f.a.store.SeedLiveCodes(ctx, f.sh.ID, fixed.ID, seed); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{201, 201, 409, 409} {
		code, _, b := f.issue(map[string]any{"campaign_id": idString(fixed.ID), "customer_email": fmt.Sprintf("b%d@x.com", i)}, "")
		if code != want {
			t.Fatalf("budget call %d: %d %s", i, code, b)
		}
		if code == 409 {
			var e apiErrBody
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Code != "budget_exhausted" {
				t.Fatalf("budget refusal: %s", b)
			}
		}
	}
}

// A campaign past its ends_at is ended by the periodic job (injected
// clock) and its Shopify discount ends like after a manual end.
func TestCampaignPastEndsAtEndsAndSyncs(t *testing.T) {
	s := newStack(t)
	shop := "campaign-enddue.myshopify.com"
	s.createShop(shop)
	tok := s.sessionToken(shop)
	stop, err := s.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	body := spec12Campaign(time.Now().UTC().Add(-time.Minute).Format(time.RFC3339))
	body["ends_at"] = time.Now().UTC().Add(2 * time.Hour).Format(time.RFC3339)
	var cp campaignJSON
	if code := s.api("POST", "/api/v1/campaigns", tok, body, &cp); code != 201 {
		t.Fatalf("create = %d", code)
	}
	s.api("POST", "/api/v1/campaigns/"+cp.ID+"/activate", tok, nil, &cp)
	waitSynced(t, s, tok, cp.ID, cp.RulesVersion)
	if ds := discountsOf(t, s, shop); len(ds) != 1 || ds[0].Status != "ACTIVE" {
		t.Fatalf("before the end: %+v", ds)
	}
	later := time.Now().UTC().Add(3 * time.Hour)
	j := jobs.New(jobs.Deps{Store: s.a.store, Client: s.a.queue, Shops: s.a.shops, Log: s.a.log, Now: func() time.Time { return later }})
	if n, err := j.EndDueCampaigns(context.Background()); err != nil || n != 1 {
		t.Fatalf("ended %d, %v", n, err)
	}
	var got campaignJSON
	s.api("GET", "/api/v1/campaigns/"+cp.ID, tok, nil, &got)
	if got.Status != "ended" || got.RulesVersion != cp.RulesVersion+1 {
		t.Fatalf("after the job: status %s version %d", got.Status, got.RulesVersion)
	}
	waitSynced(t, s, tok, cp.ID, got.RulesVersion)
	if ds := discountsOf(t, s, shop); len(ds) != 1 || ds[0].Status != "EXPIRED" {
		t.Fatalf("after the end: %+v", ds)
	}
	if n, err := j.EndDueCampaigns(context.Background()); err != nil || n != 0 {
		t.Fatalf("second run ended %d, %v", n, err)
	}
}

// Free-shipping campaigns sync as DiscountCodeFreeShipping discounts, and
// clearing ends_at, min_subtotal or the usage cap removes them in Shopify,
// for free shipping and basic discounts alike.
func TestCampaignSyncFreeShippingAndClearedValues(t *testing.T) {
	s := newStack(t)
	shop := "campaign-freeship.myshopify.com"
	s.createShop(shop)
	tok := s.sessionToken(shop)
	stop, err := s.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	find := func(id *string) devstore.DiscountInfo {
		t.Helper()
		for _, d := range discountsOf(t, s, shop) {
			if id != nil && d.ID == *id {
				return d
			}
		}
		t.Fatalf("discount %v not in the dev store", id)
		return devstore.DiscountInfo{}
	}
	for _, discount := range []map[string]any{
		{"type": "free_shipping", "min_subtotal": "40.00"},
		{"type": "percentage", "value": 20, "min_subtotal": "40.00"},
	} {
		body := spec12Campaign(time.Now().UTC().Add(-time.Minute).Format(time.RFC3339))
		body["name"] = "Clear " + discount["type"].(string)
		body["discount"] = discount
		body["ends_at"] = time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339)
		body["usage"] = map[string]any{"single_use": false, "total_cap": 300}
		var cp campaignJSON
		if code := s.api("POST", "/api/v1/campaigns", tok, body, &cp); code != 201 {
			t.Fatalf("create %v = %d", discount["type"], code)
		}
		s.api("POST", "/api/v1/campaigns/"+cp.ID+"/activate", tok, nil, &cp)
		synced := waitSynced(t, s, tok, cp.ID, cp.RulesVersion)
		d := find(synced.ShopifyDiscountID)
		wantType := "percentage"
		if discount["type"] == "free_shipping" {
			wantType = "free_shipping"
		}
		if d.ValueType != wantType || d.Status != "ACTIVE" || d.EndsAt == nil || d.MinSubtotal != "40.00" || d.UsageLimit == nil || *d.UsageLimit != 300 {
			t.Fatalf("%s discount = %+v", wantType, d)
		}
		var up campaignJSON
		if code := s.api("PATCH", "/api/v1/campaigns/"+cp.ID, tok, map[string]any{"ends_at": nil, "discount": map[string]any{"min_subtotal": nil},
			"usage": map[string]any{"total_cap": nil}}, &up); code != 200 {
			t.Fatalf("patch = %d", code)
		}
		synced = waitSynced(t, s, tok, cp.ID, up.RulesVersion)
		d = find(synced.ShopifyDiscountID)
		if d.ValueType != wantType || d.EndsAt != nil || d.MinSubtotal != "" || d.UsageLimit != nil || d.Status != "ACTIVE" {
			t.Fatalf("%s discount after clearing = %+v", wantType, d)
		}
	}
}
