package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/devstore"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// TestSettingsAPI: GET shows every setting with its default; PATCH
// replaces the keys given (fraud key by key), validates each (422 naming
// the field, nothing stored), and what attribution, cart recovery and
// fraud scoring read follows.
func TestSettingsAPI(t *testing.T) {
	s := newStack(t)
	shop := "settings-api.myshopify.com"
	s.createShop(shop)
	tok := s.sessionToken(shop)
	var got jobs.ShopSettings
	if code := s.api("GET", "/api/v1/settings", tok, nil, &got); code != 200 {
		t.Fatalf("get: %d", code)
	}
	if got.HoldDays != 30 || string(got.CreditingPolicy) != `"coupon_wins"` || got.AttributionWindowDays != 30 ||
		got.AbandonedCheckoutDelayMinutes != 60 || got.Fraud.Mode != "shadow" || got.Fraud.Thresholds.Flag != 50 ||
		got.Fraud.Thresholds.Hold != 70 || got.Fraud.Thresholds.Reject != 90 || got.Fraud.AutoDisableLeakedCodes || got.Fraud.IPLists == nil {
		t.Fatalf("defaults: %+v", got)
	}
	patch := map[string]any{"hold_days": 7, "abandoned_checkout_delay_minutes": 15, "crediting_policy": "click_wins",
		"attribution_window_days": 14,
		"fraud": map[string]any{"mode": "enforce", "thresholds": map[string]any{"reject": 95}, "auto_disable_leaked_codes": true,
			"ip_lists": []string{"203.0.113.0/24", "198.51.100.7"}}}
	if code := s.api("PATCH", "/api/v1/settings", tok, patch, &got); code != 200 {
		t.Fatalf("patch: %d", code)
	}
	if got.HoldDays != 7 || got.AbandonedCheckoutDelayMinutes != 15 || string(got.CreditingPolicy) != `"click_wins"` ||
		got.AttributionWindowDays != 14 || got.Fraud.Mode != "enforce" || got.Fraud.Thresholds.Flag != 50 || got.Fraud.Thresholds.Reject != 95 ||
		!got.Fraud.AutoDisableLeakedCodes || len(got.Fraud.IPLists) != 2 {
		t.Fatalf("after patch: %+v", got)
	}
	// A second patch of the fraud object keeps the other fraud keys.
	if code := s.api("PATCH", "/api/v1/settings", tok, map[string]any{"fraud": map[string]any{"thresholds": map[string]any{"flag": 40}}}, &got); code != 200 ||
		got.Fraud.Thresholds.Flag != 40 || got.Fraud.Thresholds.Reject != 95 || got.Fraud.Mode != "enforce" || len(got.Fraud.IPLists) != 2 {
		t.Fatalf("partial fraud patch: %d %+v", code, got)
	}
	for _, c := range []struct {
		body map[string]any
		code string
	}{
		{map[string]any{"hold_days": -1}, "invalid_hold_days"},
		{map[string]any{"hold_days": "7"}, "invalid_hold_days"},
		{map[string]any{"attribution_window_days": 0}, "invalid_attribution_window_days"},
		{map[string]any{"abandoned_checkout_delay_minutes": 20000}, "invalid_abandoned_checkout_delay_minutes"},
		{map[string]any{"crediting_policy": "bogus"}, "invalid_crediting_policy"},
		{map[string]any{"fraud": map[string]any{"mode": "block"}}, "invalid_fraud_mode"},
		{map[string]any{"fraud": map[string]any{"thresholds": map[string]any{"flag": 80, "hold": 70}}}, "invalid_fraud_thresholds"},
		{map[string]any{"fraud": map[string]any{"thresholds": map[string]any{"reject": 101}}}, "invalid_fraud_thresholds"},
		{map[string]any{"fraud": map[string]any{"ip_lists": []string{"not-an-ip"}}}, "invalid_fraud_ip_lists"},
		{map[string]any{"fraud": map[string]any{"auto_disable_leaked_codes": "yes"}}, "invalid_fraud_auto_disable_leaked_codes"},
		{map[string]any{"fraud": map[string]any{"sensitivity": 3}}, "invalid_fraud_sensitivity"},
		{map[string]any{"hold_days": 3, "holdays": 3}, "unknown_setting"},
	} {
		var e apiErrBody
		if code := s.api("PATCH", "/api/v1/settings", tok, c.body, &e); code != 422 || e.Error.Code != c.code {
			t.Errorf("%v: %d %+v, want 422 %s", c.body, code, e, c.code)
		}
	}
	var after jobs.ShopSettings
	s.api("GET", "/api/v1/settings", tok, nil, &after)
	if after.HoldDays != 7 || after.Fraud.Thresholds.Flag != 40 {
		t.Fatalf("a rejected patch changed the settings: %+v", after)
	}
	// What the jobs read.
	sh := mustShop(t, s.testEnv, shop)
	if jobs.ParseCartSettings(sh.Settings).AbandonedCheckoutDelayMinutes != 15 || *jobs.ParseAttributionSettings(sh.Settings).HoldDays != 7 ||
		string(jobs.ParseAttributionSettings(sh.Settings).Policy.Kind) != "click_wins" {
		t.Fatalf("jobs read %s", sh.Settings)
	}
	cfg := jobs.ParseFraudSettings(sh.Settings).FraudConfig()
	if string(cfg.Mode) != "enforce" || cfg.Thresholds.Reject != 95 || !cfg.Datacenters.Contains(mustAddr("203.0.113.77")) ||
		!cfg.Datacenters.Contains(mustAddr("198.51.100.7")) || cfg.Datacenters.Contains(mustAddr("198.51.100.8")) {
		t.Fatalf("fraud config: %+v", cfg)
	}
	// null resets a key.
	if code := s.api("PATCH", "/api/v1/settings", tok, map[string]any{"fraud": nil, "hold_days": nil}, &got); code != 200 ||
		got.Fraud.Mode != "shadow" || got.HoldDays != 30 || got.AbandonedCheckoutDelayMinutes != 15 {
		t.Fatalf("reset: %d %+v", code, got)
	}
}

// TestLeakedCodeResponse: answering a leaked_code alert disables the code
// in Shopify (its discount deactivated, code.disabled), issues the partner
// a fresh vanity code of the same campaign with its own Shopify discount,
// and records both on the alert and on the partner's record; answering
// again changes nothing.
func TestLeakedCodeResponse(t *testing.T) {
	s := newStack(t)
	cs := newCodeShop(t, s, "fraud-leak.myshopify.com", devstore.PlanStandard)
	camp := cs.campaign(t, `{"prefix":"V","length":8}`, true)
	var partner map[string]any
	if code := s.api("POST", "/api/v1/partners", cs.tok, map[string]any{"name": "Ana", "kind": "influencer", "email": "ana@example.com",
		"commission": map[string]any{"percent": 10}}, &partner); code != 201 {
		t.Fatalf("partner: %d", code)
	}
	pid := partner["id"].(string)
	var vc map[string]any
	if code := s.api("POST", fmt.Sprintf("/api/v1/campaigns/%d/vanity-codes", camp), cs.tok,
		map[string]any{"code": "ANA10", "partner_id": pid, "channel": "influencer", "usage_cap": 500}, &vc); code != 201 {
		t.Fatalf("vanity: %d %v", code, vc)
	}
	var pidN int64
	fmt.Sscan(pid, &pidN)
	now := time.Now().UTC()
	in := &store.FraudIncident{ShopID: cs.shopID, Kind: "leaked_code", Key: "code:ANA10", PartnerID: &pidN, Code: "ANA10",
		OrderIDs: []int64{5001, 5002, 5003}, Orders: 3, FirstSeen: now.Add(-time.Hour), LastSeen: now, MaxScore: 84}
	if err := s.a.store.SaveIncident(context.Background(), in, now); err != nil {
		t.Fatal(err)
	}
	var alerts list[jobs.FraudAlert]
	if code := s.api("GET", "/api/v1/fraud/alerts?kind=leaked_code", cs.tok, nil, &alerts); code != 200 || len(alerts.Items) != 1 ||
		alerts.Items[0].Code == nil || *alerts.Items[0].Code != "ANA10" || !slices.Equal(alerts.Items[0].Orders, []string{"5001", "5002", "5003"}) {
		t.Fatalf("alerts: %d %+v", code, alerts)
	}
	path := fmt.Sprintf("/api/v1/fraud/alerts/%d/disable-code", in.ID)
	var out jobs.FraudAlert
	if code := s.api("POST", path, cs.tok, nil, &out); code != 200 {
		t.Fatalf("disable-code: %d", code)
	}
	var acts []jobs.LeakAction
	if err := jsonUnmarshal(out.Actions, &acts); err != nil || len(acts) != 2 || acts[0].Action != "code_disabled" ||
		acts[1].Action != "code_reissued" || acts[1].Error != "" || !strings.HasPrefix(acts[1].Code, "ANA10-R") {
		t.Fatalf("actions: %s", out.Actions)
	}
	fresh := acts[1].Code
	var old, nw map[string]any
	s.api("GET", "/api/v1/codes/ANA10", cs.tok, nil, &old)
	if old["status"] != "disabled" {
		t.Fatalf("leaked code: %v", old)
	}
	if code := s.api("GET", "/api/v1/codes/"+fresh, cs.tok, nil, &nw); code != 200 || nw["partner_id"] != pid || nw["kind"] != "vanity" {
		t.Fatalf("fresh code: %d %v", code, nw)
	}
	ds, err := s.dev.Discounts(cs.domain)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, d := range ds {
		for _, c := range d.Codes {
			seen[c.Code] = d.Status
		}
	}
	if seen["ANA10"] == "ACTIVE" || seen[fresh] != "ACTIVE" {
		t.Fatalf("Shopify discounts: %v", seen)
	}
	var evs list[map[string]any]
	if code := s.api("GET", "/api/v1/partners/"+pid+"/events", cs.tok, nil, &evs); code != 200 || len(evs.Items) != 2 ||
		evs.Items[0]["kind"] != "code_reissued" || evs.Items[1]["kind"] != "code_disabled" {
		t.Fatalf("partner events: %d %+v", code, evs)
	}
	// Again: nothing new.
	if code := s.api("POST", path, cs.tok, nil, &out); code != 200 {
		t.Fatalf("again: %d", code)
	}
	var again list[map[string]any]
	s.api("GET", "/api/v1/partners/"+pid+"/events", cs.tok, nil, &again)
	if len(again.Items) != 2 {
		t.Fatalf("repeat wrote events: %+v", again)
	}
	var e apiErrBody
	if code := s.api("POST", "/api/v1/fraud/alerts/987654/disable-code", cs.tok, nil, &e); code != 404 {
		t.Fatalf("unknown alert: %d", code)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
