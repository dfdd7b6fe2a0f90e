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

func TestLinksAndClicksStore(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	a, err := st.InstallShop(ctx, "store-link-a.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.InstallShop(ctx, "store-link-b.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, now)
	if err != nil {
		t.Fatal(err)
	}
	camp := newCampaign(a.ID, "Spring", now)
	camp.Status = "active"
	if err := st.SeedCampaign(ctx, camp); err != nil {
		t.Fatal(err)
	}

	l := &store.Link{ShopID: a.ID, Slug: "abcd2345", CampaignID: &camp.ID, Channel: "email", Destination: "/p", CodeMode: store.LinkCodeIssue,
		UTM: json.RawMessage(`{"source":"x"}`), CreatedAt: now}
	if err := st.CreateLink(ctx, l); err != nil || l.ID == 0 {
		t.Fatalf("create link: %v", err)
	}
	dup := &store.Link{ShopID: b.ID, Slug: "abcd2345", Destination: "/", CodeMode: store.LinkCodeNone, CreatedAt: now}
	if err := st.CreateLink(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate slug across shops: %v", err)
	}
	if _, err := st.LinkByID(ctx, b.ID, l.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("shop B read A's link: %v", err)
	}
	if ls, err := st.ListLinks(ctx, store.LinkFilter{ShopID: a.ID, CampaignID: camp.ID, Limit: 10}); err != nil || len(ls) != 1 {
		t.Fatalf("list links = %v, %v", ls, err)
	}
	if ls, _ := st.ListLinks(ctx, store.LinkFilter{ShopID: b.ID, Limit: 10}); len(ls) != 0 {
		t.Fatalf("shop B lists A's links: %v", ls)
	}

	tg, err := st.LinkForClick(ctx, "abcd2345")
	if err != nil || tg.ShopDomain != a.Domain || !tg.Installed || tg.Campaign == nil || tg.Campaign.ID != camp.ID || tg.Link.Channel != "email" ||
		string(tg.Link.Routing) != "{}" {
		t.Fatalf("link for click = %+v, %v", tg, err)
	}
	if _, err := st.LinkForClick(ctx, "nosuchsl"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown slug: %v", err)
	}

	c := &store.Click{ShopID: a.ID, ClickID: "clk_0123456789abcdef", LinkID: l.ID, CampaignID: &camp.ID, Channel: "email", IP: "203.0.113.7",
		Device: "mobile", Outcome: store.ClickCode, Code: "SPR1", CreatedAt: now}
	if err := st.InsertClick(ctx, c); err != nil || c.ID == 0 {
		t.Fatalf("insert click: %v", err)
	}
	again := *c
	if err := st.InsertClick(ctx, &again); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate click id: %v", err)
	}
	got, err := st.ClickByClickID(ctx, a.ID, "clk_0123456789abcdef")
	if err != nil || got.Device != "mobile" || got.IP != "203.0.113.7" || got.Channel != "email" || *got.CampaignID != camp.ID {
		t.Fatalf("click by id = %+v, %v", got, err)
	}
	if _, err := st.ClickByClickID(ctx, b.ID, "clk_0123456789abcdef"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("shop B read A's click: %v", err)
	}
	if cs, _ := st.ListClicks(ctx, store.ClickFilter{ShopID: a.ID, LinkID: l.ID, Limit: 10}); len(cs) != 1 {
		t.Fatalf("list clicks = %v", cs)
	}
	if cs, _ := st.ListClicks(ctx, store.ClickFilter{ShopID: b.ID, Limit: 10}); len(cs) != 0 {
		t.Fatalf("shop B lists A's clicks: %v", cs)
	}
	if n, err := st.CountClicks(ctx, l.ID, now.Add(-time.Minute)); err != nil || n != 1 {
		t.Fatalf("count clicks = %d, %v", n, err)
	}
	// Group commit: one INSERT for a batch; a repeated click id fails alone.
	batch := []*store.Click{
		{ShopID: a.ID, ClickID: "clk_batch00000000001", LinkID: l.ID, CreatedAt: now},
		{ShopID: a.ID, ClickID: "clk_0123456789abcdef", LinkID: l.ID, CreatedAt: now}, // already recorded above
		{ShopID: a.ID, ClickID: "clk_batch00000000002", LinkID: l.ID, IsBot: true, CreatedAt: now},
	}
	errs := st.InsertClicks(ctx, batch, true)
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], store.ErrConflict) || batch[0].ID == 0 || batch[2].ID == 0 {
		t.Fatalf("insert clicks with a duplicate: %v", errs)
	}
	ok := []*store.Click{{ShopID: a.ID, ClickID: "clk_batch00000000003", LinkID: l.ID, CreatedAt: now},
		{ShopID: a.ID, ClickID: "clk_batch00000000004", LinkID: l.ID, CreatedAt: now}}
	if errs := st.InsertClicks(ctx, ok, false); errs[0] != nil || errs[1] != nil || ok[0].ID == 0 || ok[1].ID <= ok[0].ID {
		t.Fatalf("insert clicks: %v %+v", errs, ok)
	}
	if n, _ := st.CountClicks(ctx, l.ID, time.Time{}); n != 5 {
		t.Fatalf("clicks after batches = %d, want 5", n)
	}
	if _, err := st.VanityCodeFor(ctx, a.ID, camp.ID, 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("vanity code without one: %v", err)
	}
}
