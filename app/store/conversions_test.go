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

func newConv(shopID, orderID int64, partner *int64, commission int64, at time.Time) *store.Conversion {
	lines, _ := json.Marshal([]map[string]any{{"PartnerID": idOf(partner), "Amounts": map[string]int64{"commission": commission, "net": 1000}}})
	return &store.Conversion{ShopID: shopID, OrderID: orderID, OrderCreatedAt: at, OrderVersion: at, Status: store.ConversionHeld,
		Rule: "code", PartnerID: partner, Codes: []string{"ANA10"}, Currency: "USD", NetMinor: 1000, CommissionMinor: commission,
		HoldUntil: at.Add(time.Hour), Lines: lines, AttributedAt: at, CreatedAt: at, UpdatedAt: at}
}

func idOf(p *int64) string {
	if p == nil {
		return ""
	}
	b, _ := json.Marshal(*p)
	return string(b)
}

// TestConversionsStore: one conversion per order, versioned updates, the
// redemption lookup, the release sweep's query, and statements that are
// idempotent for a period and carry clawbacks to the next one.
func TestConversionsStore(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Second)
	sh, err := s.InstallShop(ctx, "conv.myshopify.com", store.ShopTokens{AccessTokenEnc: "v1:k:x", TokenKind: "offline"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	partner := int64(77)
	c := newConv(sh.ID, 1001, &partner, 150, t0)
	if err := s.InsertConversion(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertConversion(ctx, newConv(sh.ID, 1001, nil, 0, t0)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second conversion for the order: %v", err)
	}
	camp := &store.Campaign{ShopID: sh.ID, Name: "conv", Goal: "acquisition", Status: "active", Discount: []byte(`{"type":"percentage","value":10}`),
		CodeFormat: []byte(`{}`), Usage: []byte(`{"single_use":true}`), Rules: []byte(`{}`), StartsAt: t0.Add(-time.Hour)}
	if err := s.SeedCampaign(ctx, camp); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedLiveCodes(ctx, sh.ID, camp.ID, []store.SeedLiveCode{{Code: "ANA10"}}); err != nil {
		t.Fatal(err)
	}
	codes, err := s.CodesForOrder(ctx, sh.ID, []string{"ana10"}, 2002)
	if err != nil || len(codes) != 1 {
		t.Fatalf("codes: %+v %v", codes, err)
	}
	if red, err := codes[0].PriorOrders(); err != nil || len(red) != 1 || red[0] != 1001 {
		t.Fatalf("redemptions: %v %v", red, err)
	}
	if codes, err := s.CodesForOrder(ctx, sh.ID, []string{"ANA10"}, 1001); err != nil || codes[0].PriorOrdersJSON != "[]" {
		t.Fatalf("redemptions but the order's own: %+v %v", codes, err)
	}
	if due, err := s.DueConversions(ctx, t0, 10); err != nil || len(due) != 0 {
		t.Fatalf("due early: %v %v", due, err)
	}
	if due, err := s.DueConversions(ctx, t0.Add(2*time.Hour), 10); err != nil || len(due) != 1 || due[0].ID != c.ID {
		t.Fatalf("due: %v %v", due, err)
	}
	approved := t0.Add(time.Minute)
	c.Status, c.ApprovedAt = store.ConversionApproved, &approved
	if err := s.UpdateConversion(ctx, c); err != nil || c.Version != 2 {
		t.Fatalf("update: %v version %d", err, c.Version)
	}
	got, err := s.ConversionByOrder(ctx, sh.ID, 1001, false)
	if err != nil || got.Status != store.ConversionApproved || got.Version != 2 || got.Codes[0] != "ANA10" {
		t.Fatalf("reload: %+v %v", got, err)
	}
	if _, err := s.ConversionByID(ctx, sh.ID+1, c.ID, false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other shop: %v", err)
	}

	start, end := t0.Add(-time.Hour), t0.Add(time.Hour)
	st1, err := s.BuildStatements(ctx, sh.ID, start, end, t0)
	if err != nil || len(st1) != 1 || st1[0].CommissionMinor != 150 || st1[0].TotalMinor != 150 || st1[0].Conversions != 1 {
		t.Fatalf("statements: %+v %v", st1, err)
	}
	st2, err := s.BuildStatements(ctx, sh.ID, start, end, t0)
	if err != nil || len(st2) != 1 || st2[0].ID != st1[0].ID || st2[0].TotalMinor != 150 {
		t.Fatalf("statements again: %+v %v", st2, err)
	}
	if err := s.MarkStatementPaid(ctx, sh.ID, st1[0].ID, "user:1", t0); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent by key
		if err := s.AddClawback(ctx, &store.Clawback{ShopID: sh.ID, PartnerID: partner, ConversionID: c.ID, OrderID: 1001,
			AmountMinor: 40, Currency: "USD", IdempotencyKey: "k1", CreatedAt: t0.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	st3, err := s.BuildStatements(ctx, sh.ID, end, end.Add(24*time.Hour), t0)
	if err != nil || len(st3) != 1 || st3[0].ClawbackMinor != 40 || st3[0].TotalMinor != -40 {
		t.Fatalf("clawback statement: %+v %v", st3, err)
	}
	lines, err := s.StatementLines(ctx, sh.ID, st3[0].ID)
	if err != nil || len(lines) != 1 || lines[0].Kind != "clawback" {
		t.Fatalf("lines: %+v %v", lines, err)
	}
}
