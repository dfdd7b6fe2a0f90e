package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

func seedPool(t *testing.T, s *store.Store, n int, usage string) (*store.Shop, *store.Campaign) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	sh, err := s.InstallShop(ctx, fmt.Sprintf("pool%d.myshopify.com", now.UnixNano()%1e9), store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, now)
	if err != nil {
		t.Fatal(err)
	}
	c := &store.Campaign{ShopID: sh.ID, Name: "pool", Goal: "acquisition", Status: "active", Usage: []byte(usage), StartsAt: now.Add(-time.Hour)}
	if err := s.SeedCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	codes := make([]store.SeedLiveCode, n)
	for i := range codes {
		codes[i] = store.SeedLiveCode{Code: fmt.Sprintf("c%d-%04d", c.ID, i), ShopifyCodeID: fmt.Sprintf("gid://shopify/DiscountRedeemCode/%d", i+1)}
	}
	if err := s.SeedLiveCodes(ctx, sh.ID, c.ID, codes); err != nil {
		t.Fatal(err)
	}
	return sh, c
}

func TestIssueCodeClaimsDistinctCodesAndEmits(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh, c := seedPool(t, s, 300, `{}`)
	if err := s.CreateWebhookEndpoint(ctx, &store.WebhookEndpoint{ShopID: sh.ID, URL: "https://a.example.com", SecretEnc: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWebhookEndpoint(ctx, &store.WebhookEndpoint{ShopID: sh.ID, URL: "https://b.example.com", SecretEnc: "x", Events: store.StringArray{"code.expired"}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.IssueCode(ctx, store.IssueParams{ShopID: sh.ID, CampaignID: c.ID, CustomerEmail: fmt.Sprintf("s%d@x.com", i), Now: now,
				Event: func(k *store.Code) any { return map[string]string{"code": k.Code} }})
			if err != nil {
				t.Error(err)
				return
			}
			if len(res.OutboundIDs) != 1 {
				t.Errorf("events for one endpoint subscribed to code.issued: %v", res.OutboundIDs)
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[res.Code.Code] {
				t.Errorf("code %s handed out twice", res.Code.Code)
			}
			seen[res.Code.Code] = true
		}()
	}
	wg.Wait()
	if len(seen) != 300 {
		t.Fatalf("%d distinct codes", len(seen))
	}
	if _, err := s.IssueCode(ctx, store.IssueParams{ShopID: sh.ID, CampaignID: c.ID, Now: now}); !errors.Is(err, store.ErrPoolEmpty) {
		t.Fatalf("empty pool: %v", err)
	}
}

func TestIssueCodeShopperRules(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	sh, c := seedPool(t, s, 10, `{"once_per_customer":true}`)
	now := time.Now().UTC()
	cid := int64(777)
	p := store.IssueParams{ShopID: sh.ID, CampaignID: c.ID, CustomerID: &cid, CustomerEmail: "a@x.com", Now: now, OncePerCustomer: true}
	first, err := s.IssueCode(ctx, p)
	if err != nil || first.Reused {
		t.Fatal(first, err)
	}
	// Email alone (same shopper) finds it; id alone too.
	again, err := s.IssueCode(ctx, store.IssueParams{ShopID: sh.ID, CampaignID: c.ID, CustomerEmail: "a@x.com", Now: now})
	if err != nil || !again.Reused || again.Code.Code != first.Code.Code {
		t.Fatalf("by email: %+v %v", again, err)
	}
	// An expired code does not count: a fresh one is issued.
	later := now.Add(48 * time.Hour)
	exp := now.Add(time.Hour)
	p2 := store.IssueParams{ShopID: sh.ID, CampaignID: c.ID, CustomerEmail: "b@x.com", ExpiresAt: &exp, Now: now}
	b1, _ := s.IssueCode(ctx, p2)
	p2.Now = later
	b2, err := s.IssueCode(ctx, p2)
	if err != nil || b2.Reused || b2.Code.Code == b1.Code.Code {
		t.Fatalf("after expiry: %+v %v", b2, err)
	}
	// Expire due codes, then they are candidates for removal from Shopify.
	var expired []store.Code
	err = s.InTx(ctx, func(ctx context.Context) error {
		var err error
		expired, err = s.ExpireDueCodes(ctx, later, 100)
		return err
	})
	if err != nil || len(expired) != 2 { // b1 and b2 both expire at now+1h
		t.Fatalf("expired %d: %v", len(expired), err)
	}
	err = s.InTx(ctx, func(ctx context.Context) error {
		dead, err := s.LockCodesToRemove(ctx, 0, 250)
		if err != nil {
			return err
		}
		if len(dead) != 2 || dead[0].ShopifyCodeID == "" {
			return fmt.Errorf("dead codes: %+v", dead)
		}
		return s.MarkCodesRemoved(ctx, []int64{dead[0].ID, dead[1].ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(ctx context.Context) error {
		dead, err := s.LockCodesToRemove(ctx, 0, 250)
		if err == nil && len(dead) != 0 {
			err = fmt.Errorf("still dead: %+v", dead)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
