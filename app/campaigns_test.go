package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/devstore"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
)

// spec12Campaign is the campaign body of PRODUCT.md §12, with real times.
func spec12Campaign(startsAt string) map[string]any {
	return map[string]any{
		"name": "Spring", "goal": "acquisition", "partner_id": nil,
		"discount":  map[string]any{"type": "percentage", "value": 15, "min_subtotal": "50.00"},
		"code":      map[string]any{"prefix": "SPR", "length": 10, "check_char": false},
		"usage":     map[string]any{"single_use": true, "once_per_customer": true, "total_cap": nil, "budget": nil},
		"rules":     map[string]any{"countries": []string{"US"}, "devices": []string{"mobile"}, "traffic_sources": []string{"affiliate"}},
		"starts_at": startsAt, "ends_at": nil, "code_ttl_hours": nil, "holdout": 0.1, "hold_days": 30,
	}
}

type apiErrBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestPartnersCRUDValidationAndPagination(t *testing.T) {
	s := newStack(t)
	shop := "partners-crud.myshopify.com"
	s.createShop(shop)
	tok := s.sessionToken(shop)

	var p partnerJSON
	code := s.api("POST", "/api/v1/partners", tok, map[string]any{"name": "Ana", "kind": "influencer", "email": "ana@example.com",
		"commission": map[string]any{"percent": 10}, "customer_id": "7391234567", "payout_details": map[string]any{"paypal": "ana@pay.example"}}, &p)
	if code != 201 || p.ID == "" || p.Name != "Ana" || p.Kind != "influencer" || p.Commission == nil || p.Commission.Percent == nil ||
		*p.Commission.Percent != 10 || p.CustomerID == nil || *p.CustomerID != "7391234567" || p.Status != "active" || p.Currency != "USD" {
		t.Fatalf("create partner = %d %+v", code, p)
	}

	for name, tc := range map[string]struct {
		body map[string]any
		code string
	}{
		"bad kind":          {map[string]any{"name": "X", "kind": "reseller"}, "invalid_kind"},
		"no name":           {map[string]any{"kind": "affiliate"}, "invalid_name"},
		"percent > 100":     {map[string]any{"name": "X", "kind": "affiliate", "commission": map[string]any{"percent": 150}}, "invalid_commission"},
		"fixed not money":   {map[string]any{"name": "X", "kind": "affiliate", "commission": map[string]any{"fixed": "abc"}}, "invalid_commission"},
		"fixed too precise": {map[string]any{"name": "X", "kind": "affiliate", "commission": map[string]any{"fixed": "1.005"}}, "invalid_commission"},
		"both":              {map[string]any{"name": "X", "kind": "affiliate", "commission": map[string]any{"fixed": "1", "percent": 2}}, "invalid_commission"},
		"bad email":         {map[string]any{"name": "X", "kind": "affiliate", "email": "nope"}, "invalid_email"},
		"payout not obj":    {map[string]any{"name": "X", "kind": "affiliate", "payout_details": []int{1}}, "invalid_payout_details"},
	} {
		var e apiErrBody
		if code := s.api("POST", "/api/v1/partners", tok, tc.body, &e); code != 422 || e.Error.Code != tc.code {
			t.Errorf("%s: got %d %+v, want 422 %s", name, code, e, tc.code)
		}
	}

	// PATCH: switch to a fixed commission; money comes back in the shop's exponent.
	var up partnerJSON
	if code := s.api("PATCH", "/api/v1/partners/"+p.ID, tok, map[string]any{"commission": map[string]any{"fixed": "5"}, "status": "archived"}, &up); code != 200 {
		t.Fatalf("patch = %d", code)
	}
	if up.Commission == nil || up.Commission.Fixed == nil || *up.Commission.Fixed != "5.00" || up.Commission.Percent != nil ||
		up.Status != "archived" || up.Name != "Ana" || up.Email != "ana@example.com" {
		t.Fatalf("patched partner = %+v", up)
	}
	var got partnerJSON
	if code := s.api("GET", "/api/v1/partners/"+p.ID, tok, nil, &got); code != 200 || *got.Commission.Fixed != "5.00" {
		t.Fatalf("get = %d %+v", code, got)
	}
	if code := s.api("GET", "/api/v1/partners/999999", tok, nil, nil); code != 404 {
		t.Fatalf("unknown partner = %d", code)
	}

	// Pagination and filters.
	for i := range 5 {
		kind := "affiliate"
		if i%2 == 1 {
			kind = "agency"
		}
		if code := s.api("POST", "/api/v1/partners", tok, map[string]any{"name": fmt.Sprintf("P%d", i), "kind": kind}, nil); code != 201 {
			t.Fatalf("create %d = %d", i, code)
		}
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		var page list[partnerJSON]
		path := "/api/v1/partners?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		if code := s.api("GET", path, tok, nil, &page); code != 200 {
			t.Fatalf("list = %d", code)
		}
		pages++
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("partner %s listed twice", it.ID)
			}
			seen[it.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != 6 || pages != 3 {
		t.Fatalf("paged through %d partners in %d pages, want 6 in 3", len(seen), pages)
	}
	var agencies list[partnerJSON]
	s.api("GET", "/api/v1/partners?kind=agency", tok, nil, &agencies)
	if len(agencies.Items) != 2 {
		t.Fatalf("kind=agency: %d items", len(agencies.Items))
	}
	var archived list[partnerJSON]
	s.api("GET", "/api/v1/partners?status=archived", tok, nil, &archived)
	if len(archived.Items) != 1 || archived.Items[0].ID != p.ID {
		t.Fatalf("status=archived: %+v", archived.Items)
	}
	if code := s.api("GET", "/api/v1/partners?kind=reseller", tok, nil, nil); code != 400 {
		t.Fatalf("bad kind filter = %d", code)
	}
}

func TestCampaignsCRUDValidationAndLifecycle(t *testing.T) {
	s := newStack(t)
	shop := "campaigns-crud.myshopify.com"
	s.createShop(shop)
	tok := s.sessionToken(shop)
	start := time.Now().UTC().Add(time.Hour).Truncate(time.Second)

	var cp campaignJSON
	if code := s.api("POST", "/api/v1/campaigns", tok, spec12Campaign(start.Format(time.RFC3339)), &cp); code != 201 {
		t.Fatalf("create §12 campaign = %d", code)
	}
	if cp.ID == "" || cp.Status != "draft" || cp.Name != "Spring" || cp.Goal != "acquisition" || cp.PartnerID != nil ||
		cp.Discount.Type != "percentage" || cp.Discount.Value != "15" || cp.Discount.MinSubtotal == nil || *cp.Discount.MinSubtotal != "50.00" ||
		cp.Code.Prefix != "SPR" || cp.Code.Length != 10 || !cp.Usage.SingleUse || !cp.Usage.OncePerCustomer ||
		strings.Join(cp.Rules.Countries, ",") != "US" || cp.Holdout != 0.1 || cp.HoldDays == nil || *cp.HoldDays != 30 ||
		cp.StartsAt != start.Format(time.RFC3339) || cp.EndsAt != nil || cp.Sync.Status != "pending" || cp.Currency != "USD" {
		t.Fatalf("created campaign = %+v", cp)
	}

	base := func(mut func(m map[string]any)) map[string]any {
		m := spec12Campaign(start.Format(time.RFC3339))
		mut(m)
		return m
	}
	disc := func(m map[string]any) map[string]any { return m["discount"].(map[string]any) }
	rules := func(m map[string]any) map[string]any { return m["rules"].(map[string]any) }
	for name, tc := range map[string]struct {
		body map[string]any
		code string
	}{
		"percentage 0":      {base(func(m map[string]any) { disc(m)["value"] = 0 }), "invalid_discount"},
		"percentage 101":    {base(func(m map[string]any) { disc(m)["value"] = 101 }), "invalid_discount"},
		"fixed 0":           {base(func(m map[string]any) { m["discount"] = map[string]any{"type": "fixed_amount", "value": "0.00"} }), "invalid_discount"},
		"unknown type":      {base(func(m map[string]any) { disc(m)["type"] = "bogo" }), "invalid_discount_type"},
		"bad goal":          {base(func(m map[string]any) { m["goal"] = "fun" }), "invalid_goal"},
		"ends before start": {base(func(m map[string]any) { m["ends_at"] = start.Add(-time.Minute).Format(time.RFC3339) }), "invalid_ends_at"},
		"bad country":       {base(func(m map[string]any) { rules(m)["countries"] = []string{"usa"} }), "invalid_country"},
		"bad device":        {base(func(m map[string]any) { rules(m)["devices"] = []string{"fridge"} }), "invalid_device"},
		"bad channel":       {base(func(m map[string]any) { rules(m)["channels"] = []string{"pigeon"} }), "invalid_channel"},
		"holdout > 0.5":     {base(func(m map[string]any) { m["holdout"] = 0.6 }), "invalid_holdout"},
		"bad code format":   {base(func(m map[string]any) { m["code"] = map[string]any{"prefix": "spr", "length": 10} }), "invalid_code_format"},
		"short code":        {base(func(m map[string]any) { m["code"] = map[string]any{"length": 2} }), "invalid_code_format"},
		"unknown partner":   {base(func(m map[string]any) { m["partner_id"] = "424242" }), "invalid_partner"},
		"bad starts_at":     {base(func(m map[string]any) { m["starts_at"] = "tomorrow" }), "invalid_starts_at"},
		"bad min subtotal":  {base(func(m map[string]any) { disc(m)["min_subtotal"] = "50.001" }), "invalid_min_subtotal"},
	} {
		var e apiErrBody
		if code := s.api("POST", "/api/v1/campaigns", tok, tc.body, &e); code != 422 || e.Error.Code != tc.code {
			t.Errorf("%s: got %d %+v, want 422 %s", name, code, e, tc.code)
		}
	}

	// A partner campaign with a fixed amount in the shop's currency.
	var partner partnerJSON
	s.api("POST", "/api/v1/partners", tok, map[string]any{"name": "Ana", "kind": "influencer"}, &partner)
	var pc campaignJSON
	if code := s.api("POST", "/api/v1/campaigns", tok, base(func(m map[string]any) {
		m["goal"] = "partner"
		m["partner_id"] = partner.ID
		m["discount"] = map[string]any{"type": "fixed_amount", "value": 5, "min_subtotal": "20"}
		m["usage"] = map[string]any{"single_use": false, "total_cap": 500, "budget": "1000"}
	}), &pc); code != 201 {
		t.Fatalf("create partner campaign = %d", code)
	}
	if pc.PartnerID == nil || *pc.PartnerID != partner.ID || pc.Discount.Value != "5.00" || *pc.Discount.MinSubtotal != "20.00" ||
		pc.Usage.TotalCap == nil || *pc.Usage.TotalCap != 500 || pc.Usage.Budget == nil || *pc.Usage.Budget != "1000.00" {
		t.Fatalf("partner campaign = %+v", pc)
	}

	// List with filters and pagination.
	var all list[campaignJSON]
	s.api("GET", "/api/v1/campaigns?limit=1", tok, nil, &all)
	if len(all.Items) != 1 || all.Items[0].ID != pc.ID || all.NextCursor == "" {
		t.Fatalf("page 1 = %+v", all)
	}
	var page2 list[campaignJSON]
	s.api("GET", "/api/v1/campaigns?limit=1&cursor="+all.NextCursor, tok, nil, &page2)
	if len(page2.Items) != 1 || page2.Items[0].ID != cp.ID || page2.NextCursor != "" {
		t.Fatalf("page 2 = %+v", page2)
	}
	var byPartner list[campaignJSON]
	s.api("GET", "/api/v1/campaigns?partner_id="+partner.ID, tok, nil, &byPartner)
	if len(byPartner.Items) != 1 || byPartner.Items[0].ID != pc.ID {
		t.Fatalf("partner filter = %+v", byPartner.Items)
	}
	var byGoal list[campaignJSON]
	s.api("GET", "/api/v1/campaigns?goal=acquisition&status=draft", tok, nil, &byGoal)
	if len(byGoal.Items) != 1 || byGoal.Items[0].ID != cp.ID {
		t.Fatalf("goal filter = %+v", byGoal.Items)
	}
	if code := s.api("GET", "/api/v1/campaigns?status=running", tok, nil, nil); code != 400 {
		t.Fatalf("bad status filter = %d", code)
	}

	// PATCH: a partial change keeps the rest; Shopify-relevant changes bump the version.
	var up campaignJSON
	if code := s.api("PATCH", "/api/v1/campaigns/"+cp.ID, tok, map[string]any{"discount": map[string]any{"value": 20}}, &up); code != 200 {
		t.Fatalf("patch = %d", code)
	}
	if up.Discount.Value != "20" || up.Discount.Type != "percentage" || *up.Discount.MinSubtotal != "50.00" || up.Name != "Spring" ||
		up.RulesVersion != cp.RulesVersion+1 {
		t.Fatalf("patched = %+v", up)
	}
	var up2 campaignJSON
	s.api("PATCH", "/api/v1/campaigns/"+cp.ID, tok, map[string]any{"holdout": 0.2, "rules": map[string]any{"countries": []string{"CA", "US"}}}, &up2)
	if up2.Holdout != 0.2 || strings.Join(up2.Rules.Countries, ",") != "CA,US" || up2.RulesVersion != up.RulesVersion ||
		strings.Join(up2.Rules.Devices, ",") != "mobile" {
		t.Fatalf("app-only change = %+v (version %d -> %d)", up2, up.RulesVersion, up2.RulesVersion)
	}
	var e apiErrBody
	if code := s.api("PATCH", "/api/v1/campaigns/"+cp.ID, tok, map[string]any{"discount": map[string]any{"value": 0}}, &e); code != 422 {
		t.Fatalf("invalid patch = %d", code)
	}

	// Lifecycle (no worker here: only the state machine).
	var st campaignJSON
	if code := s.api("POST", "/api/v1/campaigns/"+cp.ID+"/resume", tok, nil, &e); code != 409 {
		t.Fatalf("resume draft = %d", code)
	}
	for _, step := range []struct{ action, want string }{{"activate", "active"}, {"pause", "paused"}, {"pause", "paused"}, {"resume", "active"}, {"end", "ended"}} {
		if code := s.api("POST", "/api/v1/campaigns/"+cp.ID+"/"+step.action, tok, nil, &st); code != 200 || st.Status != step.want {
			t.Fatalf("%s = %d %s, want %s", step.action, code, st.Status, step.want)
		}
	}
	for _, action := range []string{"resume", "activate", "pause"} {
		if code := s.api("POST", "/api/v1/campaigns/"+cp.ID+"/"+action, tok, nil, &e); code != 409 || e.Error.Code != "invalid_transition" {
			t.Fatalf("%s ended = %d %+v", action, code, e)
		}
	}
	if code := s.api("PATCH", "/api/v1/campaigns/"+cp.ID, tok, map[string]any{"name": "x"}, &e); code != 409 {
		t.Fatalf("patch ended = %d", code)
	}
}

// discountByID reads a discount's minimum subtotal and item scope through
// the Admin API, which the dev store's control listing does not show.
func minSubtotal(t *testing.T, s *stack, shop, gid string) string {
	t.Helper()
	sh := mustShop(t, s.testEnv, shop)
	cl, err := s.a.shops.Admin(context.Background(), sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Node struct {
			CodeDiscount struct {
				MinimumRequirement *struct {
					Subtotal struct {
						Amount string `json:"amount"`
					} `json:"greaterThanOrEqualToSubtotal"`
				} `json:"minimumRequirement"`
			} `json:"codeDiscount"`
		} `json:"codeDiscountNode"`
	}
	q := `query D($id: ID!) { codeDiscountNode(id: $id) { codeDiscount { ... on DiscountCodeBasic {
		minimumRequirement { ... on DiscountMinimumSubtotal { greaterThanOrEqualToSubtotal { amount } } } } } } }`
	if err := cl.Do(context.Background(), q, map[string]any{"id": gid}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Node.CodeDiscount.MinimumRequirement == nil {
		return ""
	}
	return out.Node.CodeDiscount.MinimumRequirement.Subtotal.Amount
}

func waitSynced(t *testing.T, s *stack, tok, id string, version int) campaignJSON {
	t.Helper()
	var cp campaignJSON
	eventually(t, 60*time.Second, "campaign "+id+" synced", func() bool {
		s.api("GET", "/api/v1/campaigns/"+id, tok, nil, &cp)
		if cp.Sync.Status == "failed" {
			t.Fatalf("sync failed: %+v", cp.Sync)
		}
		return cp.Sync.Status == "synced" && cp.Sync.SyncedVersion >= version
	})
	return cp
}

func discountsOf(t *testing.T, s *stack, shop string) []devstore.DiscountInfo {
	t.Helper()
	ds, err := s.dev.Discounts(shop)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestCampaignSyncCreatesOneDiscountAndFollowsChanges(t *testing.T) {
	s := newStack(t)
	shop := "campaign-sync.myshopify.com"
	s.createShop(shop)
	tok := s.sessionToken(shop)
	stop, err := s.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	var cp campaignJSON
	if code := s.api("POST", "/api/v1/campaigns", tok, spec12Campaign(time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)), &cp); code != 201 {
		t.Fatalf("create = %d", code)
	}
	time.Sleep(200 * time.Millisecond)
	if ds := discountsOf(t, s, shop); len(ds) != 0 {
		t.Fatalf("a draft reached Shopify: %+v", ds)
	}
	var act campaignJSON
	if code := s.api("POST", "/api/v1/campaigns/"+cp.ID+"/activate", tok, nil, &act); code != 200 || act.Status != "active" {
		t.Fatalf("activate = %d %+v", code, act)
	}
	synced := waitSynced(t, s, tok, cp.ID, act.RulesVersion)
	ds := discountsOf(t, s, shop)
	if len(ds) != 1 {
		t.Fatalf("dev store has %d discounts, want 1: %+v", len(ds), ds)
	}
	d := ds[0]
	if synced.ShopifyDiscountID == nil || *synced.ShopifyDiscountID != d.ID {
		t.Fatalf("shopify_discount_id = %v, dev store %s", synced.ShopifyDiscountID, d.ID)
	}
	if d.Value != "0.15" || d.UsageLimit == nil || *d.UsageLimit != 1 || !d.AppliesOncePerCustomer || d.Status != "ACTIVE" ||
		!strings.Contains(d.Title, "Spring") || d.CodesCount != 1 || !strings.HasPrefix(d.Codes[0].Code, "SPR") || len(d.Codes[0].Code) != 13 {
		t.Fatalf("discount = %+v", d)
	}
	if got := minSubtotal(t, s, shop, d.ID); got != "50.00" && got != "50.0" {
		t.Fatalf("min subtotal = %q", got)
	}

	// Pause -> deactivated; resume -> active again.
	var p campaignJSON
	s.api("POST", "/api/v1/campaigns/"+cp.ID+"/pause", tok, nil, &p)
	waitSynced(t, s, tok, cp.ID, p.RulesVersion)
	if ds := discountsOf(t, s, shop); len(ds) != 1 || ds[0].Status != "EXPIRED" {
		t.Fatalf("after pause: %+v", ds)
	}
	var r campaignJSON
	s.api("POST", "/api/v1/campaigns/"+cp.ID+"/resume", tok, nil, &r)
	waitSynced(t, s, tok, cp.ID, r.RulesVersion)
	if ds := discountsOf(t, s, shop); len(ds) != 1 || ds[0].Status != "ACTIVE" {
		t.Fatalf("after resume: %+v", ds)
	}

	// A PATCH of the value propagates.
	var up campaignJSON
	s.api("PATCH", "/api/v1/campaigns/"+cp.ID, tok, map[string]any{"discount": map[string]any{"value": 25, "min_subtotal": "75"}}, &up)
	waitSynced(t, s, tok, cp.ID, up.RulesVersion)
	ds = discountsOf(t, s, shop)
	if len(ds) != 1 || ds[0].Value != "0.25" || ds[0].Status != "ACTIVE" {
		t.Fatalf("after patch: %+v", ds)
	}
	if got := minSubtotal(t, s, shop, ds[0].ID); got != "75.00" && got != "75.0" {
		t.Fatalf("min subtotal after patch = %q", got)
	}

	// End -> deactivated.
	var end campaignJSON
	s.api("POST", "/api/v1/campaigns/"+cp.ID+"/end", tok, nil, &end)
	waitSynced(t, s, tok, cp.ID, end.RulesVersion)
	if ds := discountsOf(t, s, shop); len(ds) != 1 || ds[0].Status != "EXPIRED" {
		t.Fatalf("after end: %+v", ds)
	}

	// Fixed amount: discountAmount, per order.
	body := spec12Campaign(time.Now().UTC().Add(-time.Minute).Format(time.RFC3339))
	body["name"] = "Fixed"
	body["discount"] = map[string]any{"type": "fixed_amount", "value": "7.5"}
	body["usage"] = map[string]any{"single_use": false, "total_cap": 100}
	var fx campaignJSON
	s.api("POST", "/api/v1/campaigns", tok, body, &fx)
	s.api("POST", "/api/v1/campaigns/"+fx.ID+"/activate", tok, nil, &fx)
	fs := waitSynced(t, s, tok, fx.ID, fx.RulesVersion)
	var fd *devstore.DiscountInfo
	for _, d := range discountsOf(t, s, shop) {
		if fs.ShopifyDiscountID != nil && d.ID == *fs.ShopifyDiscountID {
			fd = &d
		}
	}
	if fd == nil || fd.Value != "7.50" || fd.ValueType != "fixed_amount" {
		t.Fatalf("fixed discount = %+v", fd)
	}
	if fd.UsageLimit == nil || *fd.UsageLimit != 100 {
		t.Fatalf("fixed discount usage limit = %v", fd.UsageLimit)
	}
}

// TestCampaignSyncSurvives5xxAndCrashWithoutDuplicates: injected 503s are
// retried, and a discount created by a run that died before its commit is
// found by its internal code instead of being created again.
func TestCampaignSyncSurvives5xxAndCrashWithoutDuplicates(t *testing.T) {
	s := newStack(t)
	shop := "campaign-faults.myshopify.com"
	s.createShop(shop)
	tok := s.sessionToken(shop)
	ctx := context.Background()

	// Crash simulation: the discount exists in Shopify, our row does not know it.
	var crashed campaignJSON
	if code := s.api("POST", "/api/v1/campaigns", tok, spec12Campaign(time.Now().UTC().Format(time.RFC3339)), &crashed); code != 201 {
		t.Fatalf("create = %d", code)
	}
	sh := mustShop(t, s.testEnv, shop)
	var cid int64
	fmt.Sscan(crashed.ID, &cid)
	internal, err := s.a.store.CampaignInternalCode(ctx, sh.ID, cid)
	if err != nil || internal == "" {
		t.Fatalf("internal code = %q, %v", internal, err)
	}
	cl, err := s.a.shops.Admin(ctx, sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-time.Minute)
	pct := 0.15
	all := true
	earlier, err := cl.DiscountCodeBasicCreate(ctx, admin.DiscountCodeBasicInput{Title: "earlier run", Code: internal, StartsAt: &start,
		Context: admin.ContextAll(), CustomerGets: &admin.DiscountCustomerGetsInput{Value: &admin.DiscountCustomerGetsValueInput{Percentage: &pct},
			Items: &admin.DiscountItemsInput{All: &all}}})
	if err != nil {
		t.Fatal(err)
	}

	var other campaignJSON
	body := spec12Campaign(time.Now().UTC().Format(time.RFC3339))
	body["name"] = "Faulty"
	s.api("POST", "/api/v1/campaigns", tok, body, &other)

	s.dev.SetFaults(devstore.Faults{Admin5xxRate: 0.4})
	// 40% of mutations fail and an unknown outcome is retried by the job:
	// short retry delays keep the test about the outcome, not the backoff.
	s.a.retryBase = 20 * time.Millisecond
	stop, err := s.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	var a1, a2 campaignJSON
	s.api("POST", "/api/v1/campaigns/"+crashed.ID+"/activate", tok, nil, &a1)
	s.api("POST", "/api/v1/campaigns/"+other.ID+"/activate", tok, nil, &a2)
	c1 := waitSynced(t, s, tok, crashed.ID, a1.RulesVersion)
	c2 := waitSynced(t, s, tok, other.ID, a2.RulesVersion)
	s.dev.SetFaults(devstore.Faults{})

	if c1.ShopifyDiscountID == nil || *c1.ShopifyDiscountID != earlier {
		t.Fatalf("crashed campaign adopted %v, want %s", c1.ShopifyDiscountID, earlier)
	}
	ds := discountsOf(t, s, shop)
	if len(ds) != 2 {
		t.Fatalf("dev store has %d discounts, want 2 (one per campaign): %+v", len(ds), ds)
	}
	ids := map[string]bool{}
	for _, d := range ds {
		ids[d.ID] = true
		if d.Value != "0.15" || !strings.Contains(d.Title, "coupontrail #") {
			t.Fatalf("discount not brought in line: %+v", d)
		}
	}
	if !ids[*c1.ShopifyDiscountID] || c2.ShopifyDiscountID == nil || !ids[*c2.ShopifyDiscountID] {
		t.Fatalf("ids %v vs %v / %v", ids, c1.ShopifyDiscountID, c2.ShopifyDiscountID)
	}
}

// TestCampaignsAndPartnersAreShopScoped: shop A cannot read, change or
// attach shop B's campaigns and partners.
func TestCampaignsAndPartnersAreShopScoped(t *testing.T) {
	s := newStack(t)
	shopA, shopB := "alpha-camp.myshopify.com", "bravo-camp.myshopify.com"
	s.createShop(shopA)
	s.createShop(shopB)
	ta, tb := s.sessionToken(shopA), s.sessionToken(shopB)
	var pb partnerJSON
	s.api("POST", "/api/v1/partners", tb, map[string]any{"name": "Bravo partner", "kind": "agency"}, &pb)
	var cb campaignJSON
	body := spec12Campaign(time.Now().UTC().Format(time.RFC3339))
	body["name"] = "Bravo secret"
	body["partner_id"] = pb.ID
	if code := s.api("POST", "/api/v1/campaigns", tb, body, &cb); code != 201 {
		t.Fatalf("B create = %d", code)
	}
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/partners/" + pb.ID}, {"PATCH", "/api/v1/partners/" + pb.ID},
		{"GET", "/api/v1/campaigns/" + cb.ID}, {"PATCH", "/api/v1/campaigns/" + cb.ID},
		{"POST", "/api/v1/campaigns/" + cb.ID + "/activate"}, {"POST", "/api/v1/campaigns/" + cb.ID + "/pause"},
		{"POST", "/api/v1/campaigns/" + cb.ID + "/resume"}, {"POST", "/api/v1/campaigns/" + cb.ID + "/end"},
	} {
		var e apiErrBody
		if code := s.api(r.method, r.path, ta, map[string]any{"name": "hijack"}, &e); code != 404 {
			t.Errorf("A %s %s = %d, want 404", r.method, r.path, code)
		}
	}
	var lp list[partnerJSON]
	s.api("GET", "/api/v1/partners", ta, nil, &lp)
	var lc list[campaignJSON]
	s.api("GET", "/api/v1/campaigns?partner_id="+pb.ID, ta, nil, &lc)
	if len(lp.Items) != 0 || len(lc.Items) != 0 {
		t.Fatalf("A sees B's rows: %+v %+v", lp.Items, lc.Items)
	}
	body["partner_id"] = pb.ID
	var e apiErrBody
	if code := s.api("POST", "/api/v1/campaigns", ta, body, &e); code != 422 || e.Error.Code != "invalid_partner" {
		t.Fatalf("A using B's partner = %d %+v", code, e)
	}
	var still campaignJSON
	s.api("GET", "/api/v1/campaigns/"+cb.ID, tb, nil, &still)
	if still.Name != "Bravo secret" || still.Status != "draft" {
		t.Fatalf("B's campaign changed: %+v", still)
	}
}
