package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coupontrail/coupontrail/app/codes"
	"github.com/coupontrail/coupontrail/app/devstore"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// codeShop is a shop installed in the app through a session token, with a
// campaign to put codes in.
type codeShop struct {
	s      *stack
	domain string
	tok    string
	shopID int64
}

func newCodeShop(t *testing.T, s *stack, domain, plan string) *codeShop {
	t.Helper()
	if err := s.dev.CreateShop(domain, plan); err != nil {
		t.Fatal(err)
	}
	tok := s.sessionToken(domain)
	if code := s.api("GET", "/api/v1/shop", tok, nil, nil); code != 200 {
		t.Fatalf("install %s: %d", domain, code)
	}
	return &codeShop{s: s, domain: domain, tok: tok, shopID: mustShop(t, s.testEnv, domain).ID}
}

// sql runs one statement on the app's database (test fixtures only: the
// campaigns API belongs to another feature).
func (cs *codeShop) sql(t *testing.T, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cs.s.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// campaign inserts a campaign with the given code format; withDiscount also
// creates its Shopify discount in the dev store (as the campaign sync does).
func (cs *codeShop) campaign(t *testing.T, format string, withDiscount bool) int64 {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cs.s.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id int64
	err = conn.QueryRow(ctx, `INSERT INTO campaigns (shop_id, name, goal, status, discount, code_format, usage, starts_at, salt)
		VALUES ($1, 'Spring', 'acquisition', 'active', '{"type":"percentage","value":15,"min_subtotal":"50.00"}', $2,
		        '{"single_use":true}', now() - interval '1 hour', 'salt') RETURNING id`, cs.shopID, format).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	if withDiscount {
		cs.attachDiscount(t, id)
	}
	return id
}

// attachDiscount creates the campaign's code discount in Shopify and stores
// its id, standing in for the campaign sync job.
func (cs *codeShop) attachDiscount(t *testing.T, campaignID int64) string {
	t.Helper()
	ctx := context.Background()
	c, err := cs.s.a.shops.Admin(ctx, cs.shopID)
	if err != nil {
		t.Fatal(err)
	}
	pct := 0.15
	all := true
	starts := time.Now().Add(-time.Hour)
	id, err := c.DiscountCodeBasicCreate(ctx, admin.DiscountCodeBasicInput{
		Title: fmt.Sprintf("campaign %d", campaignID), Code: fmt.Sprintf("CT-CAMPAIGN-%d", campaignID), StartsAt: &starts,
		Context:      admin.ContextAll(),
		CustomerGets: &admin.DiscountCustomerGetsInput{Value: &admin.DiscountCustomerGetsValueInput{Percentage: &pct}, Items: &admin.DiscountItemsInput{All: &all}},
	})
	if err != nil {
		t.Fatal(err)
	}
	cs.sql(t, `UPDATE campaigns SET shopify_discount_id = $2, sync_status = 'synced' WHERE id = $1`, campaignID, id)
	return id
}

func (cs *codeShop) createBatch(t *testing.T, campaignID int64, count int) int64 {
	t.Helper()
	var out map[string]string
	code := cs.s.api("POST", fmt.Sprintf("/api/v1/campaigns/%d/codes", campaignID), cs.tok,
		map[string]any{"count": count, "partner_id": nil, "channel": "email"}, &out)
	if code != http.StatusAccepted || out["status"] != "queued" || out["id"] == "" {
		t.Fatalf("create batch: %d %v", code, out)
	}
	id, _ := strconv.ParseInt(out["id"], 10, 64)
	return id
}

func (cs *codeShop) batch(t *testing.T, id int64) codeBatchJSON {
	t.Helper()
	var b codeBatchJSON
	if code := cs.s.api("GET", fmt.Sprintf("/api/v1/code-batches/%d", id), cs.tok, nil, &b); code != 200 {
		t.Fatalf("get batch: %d", code)
	}
	return b
}

// redeemCodes returns how many times each code appears on discount id in the
// dev store, leaving out the discount's own code.
func (cs *codeShop) redeemCodes(t *testing.T, discountID string) map[string]int {
	t.Helper()
	ds, err := cs.s.dev.Discounts(cs.domain)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range ds {
		if discountID != "" && d.ID != discountID {
			continue
		}
		for _, c := range d.Codes {
			if strings.HasPrefix(c.Code, "CT-CAMPAIGN-") {
				continue // the discount's own code, made by attachDiscount
			}
			out[strings.ToUpper(c.Code)]++
		}
	}
	return out
}

// dbCodes returns the batch's codes with their push state.
func (cs *codeShop) dbCodes(t *testing.T, batchID int64) map[string]store.Code {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cs.s.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT code, shopify_state, coalesce(shopify_code_id, ''), push_error FROM codes WHERE batch_id = $1`, batchID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Code{}
	var c store.Code
	var gid string
	if _, err := pgx.ForEachRow(rows, []any{&c.Code, &c.ShopifyState, &gid, &c.PushError}, func() error {
		cc := c
		if gid != "" {
			g := gid
			cc.ShopifyCodeID = &g
		}
		out[c.Code] = cc
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func (cs *codeShop) discountOf(t *testing.T, campaignID int64) string {
	t.Helper()
	id, err := cs.s.a.store.CampaignShopifyDiscountID(context.Background(), campaignID)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestCodeBatchGeneratesAndPushesEachCodeOnce: 20,000 codes from the API to
// the dev store, each exactly once, with progress visible.
func TestCodeBatchGeneratesAndPushesEachCodeOnce(t *testing.T) {
	s := newStack(t)
	cs := newCodeShop(t, s, "codes-e2e.myshopify.com", devstore.PlanPlus)
	camp := cs.campaign(t, `{"prefix":"SPR","length":10,"check_char":true}`, true)
	id := cs.createBatch(t, camp, 20000)
	ctx := context.Background()

	if err := s.a.jobs.GenerateCodeBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
	b := cs.batch(t, id)
	if b.Status != "pushing" || b.Generated != 20000 || b.Requested != 20000 || b.CampaignID != strconv.FormatInt(camp, 10) {
		t.Fatalf("after generation: %+v", b)
	}
	// A second run (a retry) never over-generates.
	cs.sql(t, `UPDATE code_batches SET status = 'generating' WHERE id = $1`, id)
	if err := s.a.jobs.GenerateCodeBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
	if b := cs.batch(t, id); b.Generated != 20000 {
		t.Fatalf("re-run generated %d", b.Generated)
	}
	more, err := s.a.jobs.PushCodeBatch(ctx, id, jobs.PushOptions{PollInterval: 5 * time.Millisecond})
	if err != nil || more {
		t.Fatalf("push: more=%v err=%v", more, err)
	}
	b = cs.batch(t, id)
	if b.Status != "done" || b.Pushed != 20000 || b.Failed != 0 {
		t.Fatalf("after push: %+v", b)
	}
	got := cs.redeemCodes(t, cs.discountOf(t, camp))
	db := cs.dbCodes(t, id)
	if len(got) != 20000 || len(db) != 20000 {
		t.Fatalf("dev store has %d codes, db %d; want 20000", len(got), len(db))
	}
	f := codes.Format{Prefix: "SPR", Length: 10, CheckChar: true}
	for code, n := range got {
		c, ok := db[code]
		if n != 1 || !ok || c.ShopifyState != "live" || c.ShopifyCodeID == nil || !codes.Valid(code, f) {
			t.Fatalf("code %s: %d times in Shopify, db %+v", code, n, c)
		}
	}
	// Listed through the API.
	var page list[codeJSON]
	if code := s.api("GET", fmt.Sprintf("/api/v1/codes?campaign_id=%d&status=available&limit=10", camp), cs.tok, nil, &page); code != 200 ||
		len(page.Items) != 10 || page.NextCursor == "" || page.Items[0].Channel != "email" {
		t.Fatalf("list codes: %d %+v", code, page)
	}
	var batches list[codeBatchJSON]
	if code := s.api("GET", "/api/v1/code-batches", cs.tok, nil, &batches); code != 200 || len(batches.Items) != 1 {
		t.Fatalf("list batches: %d %+v", code, batches)
	}
}

// TestCodeBatchRefusesUpFront: keyspace and the 20M store cap, with numbers.
func TestCodeBatchRefusesUpFront(t *testing.T) {
	s := newStack(t)
	cs := newCodeShop(t, s, "codes-refuse.myshopify.com", devstore.PlanStandard)
	short := cs.campaign(t, `{"prefix":"","length":4,"check_char":false}`, false)
	var e struct {
		Error struct{ Code, Message string }
	}
	code := s.api("POST", fmt.Sprintf("/api/v1/campaigns/%d/codes", short), cs.tok, map[string]any{"count": 10000}, &e)
	if code != 422 || e.Error.Code != "keyspace_too_small" || !strings.Contains(e.Error.Message, "10000 codes of length 4") ||
		!strings.Contains(e.Error.Message, "923521") {
		t.Fatalf("keyspace: %d %+v", code, e)
	}
	long := cs.campaign(t, `{"prefix":"X","length":10}`, false)
	// 19,999,990 codes already planned in another batch.
	cs.sql(t, `INSERT INTO code_batches (shop_id, campaign_id, requested, status) VALUES ($1, $2, 19999990, 'queued')`, cs.shopID, long)
	code = s.api("POST", fmt.Sprintf("/api/v1/campaigns/%d/codes", long), cs.tok, map[string]any{"count": 100}, &e)
	if code != 422 || e.Error.Code != "store_code_cap" || !strings.Contains(e.Error.Message, "19999990 existing + 100 requested") ||
		!strings.Contains(e.Error.Message, "20000000") || !strings.Contains(e.Error.Message, "10 more fit") {
		t.Fatalf("store cap: %d %+v", code, e)
	}
	// Ten still fit.
	cs.createBatch(t, long, 10)
	// Someone else's campaign, or none: 404.
	if code := s.api("POST", "/api/v1/campaigns/999999/codes", cs.tok, map[string]any{"count": 1}, nil); code != 404 {
		t.Fatalf("unknown campaign: %d", code)
	}
	other := newCodeShop(t, s, "codes-refuse-other.myshopify.com", devstore.PlanStandard)
	if code := s.api("POST", fmt.Sprintf("/api/v1/campaigns/%d/codes", long), other.tok, map[string]any{"count": 1}, nil); code != 404 {
		t.Fatalf("other shop's campaign: %d", code)
	}
	if code := s.api("GET", "/api/v1/code-batches/1", other.tok, nil, nil); code != 404 {
		t.Fatalf("other shop's batch: %d", code)
	}
}

// TestCodeCSVImportExportRoundTrip: import with a per-row report, push the
// imported codes, export them again.
func TestCodeCSVImportExportRoundTrip(t *testing.T) {
	s := newStack(t)
	cs := newCodeShop(t, s, "codes-csv.myshopify.com", devstore.PlanPlus)
	camp := cs.campaign(t, `{"prefix":"CSV","length":8}`, true)
	id := cs.createBatch(t, camp, 300)
	ctx := context.Background()
	if err := s.a.jobs.GenerateCodeBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.jobs.PushCodeBatch(ctx, id, jobs.PushOptions{PollInterval: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	export := func(query string) []codes.ImportRow {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/campaigns/%d/codes.csv%s", s.srv.URL, camp, query), nil)
		req.Header.Set("Authorization", "Bearer "+cs.tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.HasPrefix(string(body), "code,status,customer_email,partner_id,channel,issued_at,expires_at,redeemed_at\n") {
			t.Fatalf("export: %d %.200s", res.StatusCode, body)
		}
		rows, err := codes.ParseCSV(bytes.NewReader(body), codes.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	rows := export("")
	if len(rows) != 300 {
		t.Fatalf("exported %d rows, want 300", len(rows))
	}
	if n := len(export("?status=issued")); n != 0 {
		t.Fatalf("exported %d issued codes, want none", n)
	}
	existing := rows[0].Code

	csv := "code,note\nVIP-ONE,first\nvip-two,lower case\nBAD CODE!,space\nVIP-ONE,again\n" + existing + ",exists\n,empty\n"
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/campaigns/%d/codes/import", s.srv.URL, camp), strings.NewReader(csv))
	req.Header.Set("Authorization", "Bearer "+cs.tok)
	req.Header.Set("Content-Type", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		BatchID            string `json:"batch_id"`
		Accepted, Rejected int
		Rows               []importRowJSON
	}
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil || res.StatusCode != 200 {
		t.Fatalf("import: %d %v", res.StatusCode, err)
	}
	res.Body.Close()
	want := []importRowJSON{
		{Line: 2, Code: "VIP-ONE", OK: true}, {Line: 3, Code: "VIP-TWO", OK: true},
		{Line: 4, Code: "BAD CODE!", Reason: "invalid_character"}, {Line: 5, Code: "VIP-ONE", Reason: "duplicate"},
		{Line: 6, Code: existing, Reason: "exists"}, {Line: 7, Code: "", Reason: "empty"},
	}
	if rep.Accepted != 2 || rep.Rejected != 4 || len(rep.Rows) != len(want) {
		t.Fatalf("report: %+v", rep)
	}
	for i, w := range want {
		g := rep.Rows[i]
		if g.Line != w.Line || g.Code != w.Code || g.OK != w.OK || g.Reason != w.Reason {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
	imp, _ := strconv.ParseInt(rep.BatchID, 10, 64)
	if b := cs.batch(t, imp); b.Purpose != "import" || b.Status != "pushing" || b.Generated != 2 {
		t.Fatalf("import batch: %+v", b)
	}
	if _, err := s.a.jobs.PushCodeBatch(ctx, imp, jobs.PushOptions{PollInterval: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if b := cs.batch(t, imp); b.Status != "done" || b.Pushed != 2 {
		t.Fatalf("import batch after push: %+v", b)
	}
	got := cs.redeemCodes(t, cs.discountOf(t, camp))
	if got["VIP-ONE"] != 1 || got["VIP-TWO"] != 1 || len(got) != 302 {
		t.Fatalf("dev store after import: %d codes, VIP-ONE %d", len(got), got["VIP-ONE"])
	}
	// The same import as multipart/form-data (file part "file").
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "codes.csv")
	_, _ = fw.Write([]byte("code\nVIP-THREE\nVIP-ONE\n"))
	_ = mw.Close()
	req, _ = http.NewRequest("POST", fmt.Sprintf("%s/api/v1/campaigns/%d/codes/import", s.srv.URL, camp), &mp)
	req.Header.Set("Authorization", "Bearer "+cs.tok)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rep.Rows = nil
	if err := json.NewDecoder(res.Body).Decode(&rep); err != nil || res.StatusCode != 200 || rep.Accepted != 1 || rep.Rejected != 1 {
		t.Fatalf("multipart import: %d %v %+v", res.StatusCode, err, rep)
	}
	res.Body.Close()

	rows = export("")
	seen := map[string]bool{}
	for _, r := range rows {
		if !r.OK {
			t.Fatalf("export row does not re-import: %+v", r)
		}
		seen[r.Code] = true
	}
	if len(rows) != 303 || !seen["VIP-ONE"] || !seen["VIP-TWO"] || !seen["VIP-THREE"] {
		t.Fatalf("export after import: %d rows", len(rows))
	}
}

// TestCodePushSurvivesFaultsAndKills: 5xx, THROTTLED and a job killed
// mid-push, re-run until done: Shopify ends with each code exactly once.
func TestCodePushSurvivesFaultsAndKills(t *testing.T) {
	s := newStack(t)
	cs := newCodeShop(t, s, "codes-faults.myshopify.com", devstore.PlanPlus)
	camp := cs.campaign(t, `{"prefix":"F","length":9}`, false)
	id := cs.createBatch(t, camp, 4000)
	ctx := context.Background()
	if err := s.a.jobs.GenerateCodeBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
	// No Shopify discount yet: the push waits (the job is retried).
	if _, err := s.a.jobs.PushCodeBatch(ctx, id, jobs.PushOptions{}); err == nil || !strings.Contains(err.Error(), "no Shopify discount") {
		t.Fatalf("push without discount: %v", err)
	}
	if b := cs.batch(t, id); b.Status != "pushing" || b.Pushed != 0 || !strings.Contains(b.Error, "campaign sync") {
		t.Fatalf("waiting batch: %+v", b)
	}
	discount := cs.attachDiscount(t, camp)

	s.dev.SetFaults(devstore.Faults{Admin5xxRate: 0.25, AdminLatencyMS: 2})
	runs := 0
	for ; runs < 60; runs++ {
		if runs%3 == 1 {
			s.dev.SetBucketAvailable(cs.domain, 0) // THROTTLED for the next calls
		}
		rctx, cancel := context.WithTimeout(ctx, time.Duration(150+runs*40)*time.Millisecond) // killed mid-push
		more, err := s.a.jobs.PushCodeBatch(rctx, id, jobs.PushOptions{PollInterval: 5 * time.Millisecond})
		cancel()
		if err == nil && !more {
			break
		}
		if runs == 8 {
			s.dev.SetFaults(devstore.Faults{Admin5xxRate: 0.1})
		}
	}
	s.dev.SetFaults(devstore.Faults{})
	if _, err := s.a.jobs.PushCodeBatch(ctx, id, jobs.PushOptions{PollInterval: 5 * time.Millisecond}); err != nil {
		t.Fatalf("final run: %v", err)
	}
	b := cs.batch(t, id)
	if b.Status != "done" || b.Pushed != 4000 || b.Failed != 0 {
		t.Fatalf("after %d interrupted runs: %+v", runs, b)
	}
	got := cs.redeemCodes(t, discount)
	if len(got) != 4000 {
		t.Fatalf("dev store has %d codes, want 4000", len(got))
	}
	for code, n := range got {
		if n != 1 {
			t.Fatalf("code %s is in Shopify %d times", code, n)
		}
	}
	for code, c := range cs.dbCodes(t, id) {
		if c.ShopifyState != "live" || got[code] != 1 {
			t.Fatalf("code %s: db %s, Shopify %d", code, c.ShopifyState, got[code])
		}
	}
	// The interrupted and unknown-outcome pushes were reconciled, not re-sent.
	var reconciled, total int
	conn, err := pgx.Connect(ctx, s.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE error <> ''), count(*) FROM code_pushes WHERE campaign_id = $1`, camp).
		Scan(&reconciled, &total); err != nil {
		t.Fatal(err)
	}
	if reconciled == 0 {
		t.Fatalf("no push needed reconciling (%d pushes): the faults did not bite", total)
	}
	t.Logf("done after %d interrupted runs; %d of %d pushes reconciled by lookup", runs, reconciled, total)
}

// TestVanityCodeWithCap: its own discount with usageLimit = cap; taken
// codes are 409 whatever their case.
func TestVanityCodeWithCap(t *testing.T) {
	s := newStack(t)
	cs := newCodeShop(t, s, "codes-vanity.myshopify.com", devstore.PlanStandard)
	camp := cs.campaign(t, `{"prefix":"V","length":8}`, true)
	var out map[string]any
	code := s.api("POST", fmt.Sprintf("/api/v1/campaigns/%d/vanity-codes", camp), cs.tok,
		map[string]any{"code": "ana10", "partner_id": nil, "channel": "influencer", "usage_cap": 500}, &out)
	if code != 201 || out["code"] != "ANA10" || out["kind"] != "vanity" || out["usage_cap"] != float64(500) || out["channel"] != "influencer" {
		t.Fatalf("vanity: %d %v", code, out)
	}
	ds, err := s.dev.Discounts(cs.domain)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range ds {
		if d.ID == out["shopify_discount_id"] {
			found = true
			if d.UsageLimit == nil || *d.UsageLimit != 500 || len(d.Codes) != 1 || d.Codes[0].Code != "ANA10" || d.Value != "0.15" {
				t.Fatalf("vanity discount: %+v", d)
			}
		}
	}
	if !found {
		t.Fatal("no Shopify discount for the vanity code")
	}
	for _, again := range []string{"ANA10", "Ana10"} {
		var e struct{ Error struct{ Code string } }
		if code := s.api("POST", fmt.Sprintf("/api/v1/campaigns/%d/vanity-codes", camp), cs.tok,
			map[string]any{"code": again, "usage_cap": 5}, &e); code != 409 || e.Error.Code != "code_taken" {
			t.Fatalf("repeat %s: %d %+v", again, code, e)
		}
	}
	// A code Shopify has but the app does not (the campaign discount's own).
	if code := s.api("POST", fmt.Sprintf("/api/v1/campaigns/%d/vanity-codes", camp), cs.tok,
		map[string]any{"code": fmt.Sprintf("ct-campaign-%d", camp), "usage_cap": 5}, nil); code != 409 {
		t.Fatalf("code taken in Shopify: %d", code)
	}
	if code := s.api("POST", fmt.Sprintf("/api/v1/campaigns/%d/vanity-codes", camp), cs.tok,
		map[string]any{"code": "NO CAP"}, nil); code != 422 {
		t.Fatalf("bad vanity: %d", code)
	}
	var page list[codeJSON]
	s.api("GET", fmt.Sprintf("/api/v1/codes?campaign_id=%d", camp), cs.tok, nil, &page)
	if len(page.Items) != 1 || page.Items[0].Code != "ANA10" {
		t.Fatalf("codes after vanity: %+v", page.Items)
	}
}
