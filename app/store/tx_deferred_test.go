package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

func codeRow(t *testing.T, s *store.Store, shopID, campaignID int64, code string) store.Code {
	t.Helper()
	list, err := s.ListCodes(context.Background(), store.CodeFilter{ShopID: shopID, CampaignID: campaignID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range list {
		if strings.EqualFold(k.Code, code) {
			return k
		}
	}
	t.Fatalf("no code %s", code)
	return store.Code{}
}

// TestRedemptionsWriteAtCommit: inside a transaction redemptions are merged
// and written just before the commit (uses counted once per call, the
// earliest time kept, unique codes redeemed), and a rollback writes none.
func TestRedemptionsWriteAtCommit(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh, c := seedPool(t, s, 3, `{}`)
	code0, code1 := codeRow(t, s, sh.ID, c.ID, fmt.Sprintf("c%d-0000", c.ID)).Code, codeRow(t, s, sh.ID, c.ID, fmt.Sprintf("c%d-0001", c.ID)).Code
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.RedeemCodes(ctx, sh.ID, []string{strings.ToLower(code0)}, t0.Add(time.Hour)); err != nil {
			return err
		}
		if err := s.RedeemCodes(ctx, sh.ID, []string{code0, code1}, t0); err != nil {
			return err
		}
		// Not written yet: another connection still sees the code unused.
		if k := codeRow(t, s, sh.ID, c.ID, code0); k.Uses != 0 {
			t.Errorf("redemption visible before commit: %d uses", k.Uses)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	k0, k1 := codeRow(t, s, sh.ID, c.ID, code0), codeRow(t, s, sh.ID, c.ID, code1)
	if k0.Uses != 2 || k0.Status != "redeemed" || k0.RedeemedAt == nil || !k0.RedeemedAt.Equal(t0) {
		t.Fatalf("code0 after commit: uses %d status %s redeemed_at %v", k0.Uses, k0.Status, k0.RedeemedAt)
	}
	if k1.Uses != 1 || k1.Status != "redeemed" {
		t.Fatalf("code1 after commit: uses %d status %s", k1.Uses, k1.Status)
	}
	boom := errors.New("boom")
	err = s.InTx(ctx, func(ctx context.Context) error {
		if err := s.RedeemCodes(ctx, sh.ID, []string{code1}, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("rollback: %v", err)
	}
	if k := codeRow(t, s, sh.ID, c.ID, code1); k.Uses != 1 {
		t.Fatalf("rolled back redemption written: %d uses", k.Uses)
	}
}

// TestSubjectHoursCountEveryRecordedOrder: each new fraud event adds one to
// its code's and partner's hour (written at commit, a replay adds nothing)
// and the read returns the busy subject's hours plus the first hour of a
// subject redeemed before the range.
func TestSubjectHoursCountEveryRecordedOrder(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 10, 15, 0, 0, time.UTC)
	sh, err := s.InstallShop(ctx, "hours.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	p := int64(5)
	ev := func(id int64, at time.Time, country string, cold bool) *store.FraudEvent {
		return &store.FraudEvent{ShopID: sh.ID, OrderID: id, At: at, Code: "LEAK", PartnerID: &p, Country: country, Cold: cold}
	}
	old := ev(1, t0.Add(-20*24*time.Hour), "US", false)
	if _, err := s.InsertFraudEvent(ctx, old); err != nil { // outside a transaction: written at once
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(ctx context.Context) error {
		for _, e := range []*store.FraudEvent{ev(2, t0, "US", true), ev(3, t0.Add(10*time.Minute), "US", true), ev(4, t0.Add(time.Hour), "DE", false), ev(2, t0, "US", true)} {
			if _, err := s.InsertFraudEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	from, to := t0.Add(-15*24*time.Hour), t0.Add(2*time.Hour)
	hs, err := s.FraudSubjectHours(ctx, sh.ID, "LEAK", &p, from, to, true, false)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, h := range hs {
		got[h.Kind+" "+h.Hour.UTC().Format("01-02T15")+" "+h.Country+" "+map[bool]string{true: "cold", false: "warm"}[h.Cold]] = h.N
	}
	want := map[string]int{
		"c 11-27T10 US cold": 2, "c 11-27T11 DE warm": 1, // the busy code's hours in range
		"c 11-07T10  warm": 0, "p 11-07T10  warm": 0, // both were first redeemed before the range
	}
	if len(got) != len(want) {
		t.Fatalf("hours %v, want %v", got, want)
	}
	for k, n := range want {
		if v, ok := got[k]; !ok || v != n {
			t.Fatalf("hours %v, want %v", got, want)
		}
	}
}
