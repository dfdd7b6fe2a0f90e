package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

func newCampaign(shopID int64, name string, now time.Time) *store.Campaign {
	return &store.Campaign{ShopID: shopID, Name: name, Goal: "acquisition", Status: "draft",
		Discount: json.RawMessage(`{"type":"percentage","value":15}`), CodeFormat: json.RawMessage(`{"prefix":"SPR","length":8}`),
		Usage: json.RawMessage(`{"single_use":true}`), Rules: json.RawMessage(`{}`), StartsAt: now, Holdout: 0.1,
		Salt: "s", SyncStatus: store.SyncPending, RulesVersion: 1, CreatedAt: now, UpdatedAt: now}
}

func TestCampaignsAndPartnersStore(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	a, err := st.InstallShop(ctx, "store-camp-a.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.InstallShop(ctx, "store-camp-b.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, now)
	if err != nil {
		t.Fatal(err)
	}

	// Partners: create, scoped reads, update, filters.
	pct := 12.5
	p := &store.Partner{ShopID: a.ID, Name: "Ana", Kind: "influencer", CommissionPercent: &pct, Status: "active", CreatedAt: now, UpdatedAt: now}
	if err := st.CreatePartner(ctx, p); err != nil || p.ID == 0 {
		t.Fatalf("create partner: %v", err)
	}
	if _, err := st.PartnerByID(ctx, b.ID, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("shop B read A's partner: %v", err)
	}
	got, err := st.PartnerByID(ctx, a.ID, p.ID)
	if err != nil || got.CommissionPercent == nil || *got.CommissionPercent != 12.5 || string(got.PayoutDetails) != "{}" {
		t.Fatalf("partner = %+v, %v", got, err)
	}
	fixed := int64(500)
	got.CommissionPercent, got.CommissionFixedMinor, got.Status = nil, &fixed, "archived"
	if err := st.UpdatePartner(ctx, got, now); err != nil {
		t.Fatal(err)
	}
	other := *got
	other.ShopID = b.ID
	if err := st.UpdatePartner(ctx, &other, now); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update through the wrong shop: %v", err)
	}
	if ps, _ := st.ListPartners(ctx, store.PartnerFilter{ShopID: a.ID, Status: "archived", Limit: 10}); len(ps) != 1 || *ps[0].CommissionFixedMinor != 500 {
		t.Fatalf("archived partners = %+v", ps)
	}
	if ps, _ := st.ListPartners(ctx, store.PartnerFilter{ShopID: b.ID, Limit: 10}); len(ps) != 0 {
		t.Fatalf("B lists A's partners: %+v", ps)
	}

	// Campaigns: internal code, version bumps, sync bookkeeping.
	c := newCampaign(a.ID, "Spring", now)
	if err := st.CreateCampaign(ctx, c, "SPRABCDEFGH"); err != nil || c.ID == 0 {
		t.Fatalf("create campaign: %v", err)
	}
	if code, err := st.CampaignInternalCode(ctx, a.ID, c.ID); err != nil || code != "SPRABCDEFGH" {
		t.Fatalf("internal code = %q, %v", code, err)
	}
	if _, err := st.CampaignByID(ctx, b.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("B read A's campaign: %v", err)
	}
	dup := newCampaign(a.ID, "Dup", now)
	if err := st.CreateCampaign(ctx, dup, "SPRABCDEFGH"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate internal code: %v", err)
	}
	if n, _ := st.ListCampaigns(ctx, store.CampaignFilter{ShopID: a.ID, Limit: 10}); len(n) != 1 {
		t.Fatalf("the failed create left a row: %d campaigns", len(n))
	}

	got2, err := st.CampaignByID(ctx, a.ID, c.ID)
	if err != nil || got2.Holdout != 0.1 || got2.RulesVersion != 1 {
		t.Fatalf("campaign = %+v, %v", got2, err)
	}
	// Drafts are never swept.
	if refs, _ := st.CampaignsToSync(ctx, 0, 10); len(refs) != 0 {
		t.Fatalf("draft swept: %+v", refs)
	}
	got2.Status = "active"
	if err := st.UpdateCampaign(ctx, got2, true, now); err != nil || got2.RulesVersion != 2 || got2.SyncStatus != store.SyncPending {
		t.Fatalf("bump: %+v %v", got2, err)
	}
	refs, err := st.CampaignsToSync(ctx, 0, 10)
	if err != nil || len(refs) != 1 || refs[0].ID != c.ID || refs[0].RulesVersion != 2 {
		t.Fatalf("to sync = %+v, %v", refs, err)
	}
	if err := st.SetCampaignDiscountID(ctx, a.ID, c.ID, "gid://shopify/DiscountCodeNode/1", now); err != nil {
		t.Fatal(err)
	}
	// A sync of an older version leaves the campaign pending.
	if err := st.MarkCampaignSynced(ctx, a.ID, c.ID, 1, now); err != nil {
		t.Fatal(err)
	}
	if cc, _ := st.CampaignByID(ctx, a.ID, c.ID); cc.SyncStatus != store.SyncPending || cc.SyncedVersion != 1 {
		t.Fatalf("after old sync: %s v%d", cc.SyncStatus, cc.SyncedVersion)
	}
	if err := st.MarkCampaignSynced(ctx, a.ID, c.ID, 2, now); err != nil {
		t.Fatal(err)
	}
	cc, _ := st.CampaignByID(ctx, a.ID, c.ID)
	if cc.SyncStatus != store.SyncSynced || cc.SyncedVersion != 2 || cc.ShopifyDiscountID == nil || *cc.ShopifyDiscountID != "gid://shopify/DiscountCodeNode/1" {
		t.Fatalf("after sync: %+v", cc)
	}
	if refs, _ := st.CampaignsToSync(ctx, 0, 10); len(refs) != 0 {
		t.Fatalf("synced campaign swept: %+v", refs)
	}
	// A failure is recorded and not swept again until the next change.
	cc.Name = "Spring 2"
	if err := st.UpdateCampaign(ctx, cc, true, now); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkCampaignSyncFailed(ctx, a.ID, c.ID, cc.RulesVersion, "VALUE_OUTSIDE_RANGE: nope", now); err != nil {
		t.Fatal(err)
	}
	if refs, _ := st.CampaignsToSync(ctx, 0, 10); len(refs) != 0 {
		t.Fatalf("failed campaign swept: %+v", refs)
	}
	f, _ := st.CampaignByID(ctx, a.ID, c.ID)
	if f.SyncStatus != store.SyncFailed || f.SyncError != "VALUE_OUTSIDE_RANGE: nope" {
		t.Fatalf("failed: %+v", f)
	}
	if err := st.UpdateCampaign(ctx, f, true, now); err != nil || f.SyncStatus != store.SyncPending || f.SyncError != "" {
		t.Fatalf("change after failure: %+v %v", f, err)
	}

	// The advisory lock serialises syncs of one campaign.
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- st.InTx(ctx, func(ctx context.Context) error {
			ok, err := st.TryLockCampaignSync(ctx, c.ID)
			if err != nil || !ok {
				return errors.New("first lock not taken")
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	err = st.InTx(ctx, func(ctx context.Context) error {
		ok, err := st.TryLockCampaignSync(ctx, c.ID)
		if err != nil {
			return err
		}
		if ok {
			return errors.New("second lock taken while the first is held")
		}
		return nil
	})
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
