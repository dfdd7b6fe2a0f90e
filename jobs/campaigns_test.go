package jobs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/campaign"
	"github.com/coupontrail/coupontrail/app/codes"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

func TestDiscountInputMapsTerms(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(30 * 24 * time.Hour)
	min := campaign.Decimal("50.00")
	spec := campaign.Spec{Name: "Spring", Discount: campaign.Discount{Type: campaign.DiscountPercentage, Value: "15", MinSubtotal: &min,
		Products: []string{"123", "gid://shopify/Product/456"}}, Usage: campaign.Usage{SingleUse: true, OncePerCustomer: true},
		StartsAt: start, EndsAt: &end}
	in := DiscountInput(campaign.TermsOf(spec, 9), "SPR2345")
	if err := in.Validate(true); err != nil {
		t.Fatalf("create input invalid: %v", err)
	}
	b, _ := json.Marshal(in)
	got := string(b)
	for _, want := range []string{`"code":"SPR2345"`, `"context":{"all":"ALL"}`, `"percentage":0.15`,
		`"productsToAdd":["gid://shopify/Product/123","gid://shopify/Product/456"]`, `"greaterThanOrEqualToSubtotal":"50.00"`,
		`"usageLimit":1`, `"appliesOncePerCustomer":true`, `"startsAt":"2026-09-01T00:00:00Z"`, `"endsAt":"2026-10-01T00:00:00Z"`,
		`"combinesWith":{"orderDiscounts":false,"productDiscounts":false,"shippingDiscounts":false}`} {
		if !strings.Contains(got, want) {
			t.Errorf("input lacks %s:\n%s", want, got)
		}
	}

	fixed := campaign.Spec{Name: "F", Discount: campaign.Discount{Type: campaign.DiscountFixedAmount, Value: "7.50", Collections: []string{"77"}},
		Usage: campaign.Usage{TotalCap: ptr(100)}, StartsAt: start}
	up := DiscountInput(campaign.TermsOf(fixed, 1), "")
	if err := up.Validate(false); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(up)
	got = string(b)
	for _, want := range []string{`"discountAmount":{"amount":"7.50","appliesOnEachItem":false}`, `"collections":{"add":["gid://shopify/Collection/77"]}`, `"usageLimit":100`} {
		if !strings.Contains(got, want) {
			t.Errorf("fixed input lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"code"`) {
		t.Errorf("update input carries the code: %s", got)
	}
	// What the campaign no longer has is removed the documented way: nulls.
	for _, want := range []string{`"endsAt":null`,
		`"minimumRequirement":{"quantity":{"greaterThanOrEqualToQuantity":null},"subtotal":{"greaterThanOrEqualToSubtotal":null}}`} {
		if !strings.Contains(got, want) {
			t.Errorf("update input lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"usageLimit":null`) {
		t.Errorf("update input clears a usage limit it sets: %s", got)
	}
	// A create sends no nulls.
	b, _ = json.Marshal(DiscountInput(campaign.TermsOf(fixed, 1), "CODE1234"))
	if strings.Contains(string(b), "null") {
		t.Errorf("create input carries nulls: %s", b)
	}
}

func ptr(i int) *int { return &i }

func TestNewInternalCodeHasTheCampaignFormat(t *testing.T) {
	t.Parallel()
	f := campaign.CodeFormat{Prefix: "SPR", Length: 10, CheckChar: true}
	a, err := NewInternalCode(f, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewInternalCode(f, rand.Reader)
	cf := codes.Format{Prefix: "SPR", Length: 10, CheckChar: true}
	if !codes.Valid(a, cf) || !codes.Valid(b, cf) || a == b {
		t.Fatalf("internal codes %q %q", a, b)
	}
	if _, err := NewInternalCode(campaign.CodeFormat{Length: 1}, rand.Reader); err == nil {
		t.Fatal("invalid format accepted")
	}
}

func TestCampaignSyncTaskDedupesPerVersion(t *testing.T) {
	t.Parallel()
	a, _ := NewCampaignSyncTask(1, 42, 3)
	var p CampaignSyncPayload
	if err := json.Unmarshal(a.Payload(), &p); err != nil || p.CampaignID != 42 || p.ShopID != 1 || p.Version != 3 {
		t.Fatalf("payload %+v %v", p, err)
	}
	if a.Type() != TypeCampaignSync {
		t.Fatal(a.Type())
	}
	found := false
	for _, pt := range Periodic() {
		if pt.Task.Type() == TypeCampaignSyncSweep {
			found = true
		}
	}
	if !found {
		t.Fatal("campaign:sync-sweep is not scheduled")
	}
}

// TestCampaignSyncSweepEnqueuesOncePerVersion: the sweep re-enqueues an
// active campaign Shopify has not caught up with, and repeated enqueues of
// the same version collapse into one task.
func TestCampaignSyncSweepEnqueuesOncePerVersion(t *testing.T) {
	st, _ := storetest.New(t)
	ropt, err := RedisOpt(storetest.RedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	defer client.Close()
	insp := asynq.NewInspector(ropt)
	defer insp.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	sh, err := st.InstallShop(ctx, "sweep.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, now)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name, status string) *store.Campaign {
		c := &store.Campaign{ShopID: sh.ID, Name: name, Goal: "acquisition", Status: status,
			Discount: json.RawMessage(`{"type":"percentage","value":10}`), CodeFormat: json.RawMessage(`{"length":8}`),
			Usage: json.RawMessage(`{}`), Rules: json.RawMessage(`{}`), StartsAt: now, Salt: "s", SyncStatus: store.SyncPending,
			RulesVersion: 1, CreatedAt: now, UpdatedAt: now}
		if err := st.CreateCampaign(ctx, c, strings.ToUpper(name)+"23456789"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	active := mk("active", "active")
	mk("draft", "draft")
	j := New(Deps{Store: st, Client: client, Log: slog.New(slog.DiscardHandler)})
	for range 2 {
		if err := j.handleCampaignSyncSweep(ctx, asynq.NewTask(TypeCampaignSyncSweep, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := EnqueueCampaignSync(ctx, client, sh.ID, active.ID, 1); err != nil {
		t.Fatalf("repeat enqueue: %v", err)
	}
	tasks, err := insp.ListPendingTasks(QueueDefault)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Type != TypeCampaignSync {
		t.Fatalf("pending tasks = %+v", tasks)
	}
	var p CampaignSyncPayload
	_ = json.Unmarshal(tasks[0].Payload, &p)
	if p.CampaignID != active.ID || p.Version != 1 {
		t.Fatalf("payload = %+v", p)
	}
}
