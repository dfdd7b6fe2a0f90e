package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
	"github.com/coupontrail/coupontrail/migrations"
)

func TestMigrateUpTwiceIsNoOpAndStatusLists(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	if err := s.Migrate(ctx, migrations.FS, "up"); err != nil {
		t.Fatalf("second up: %v", err)
	}
	st, err := s.MigrationStatuses(ctx, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		t.Fatal("no migrations listed")
	}
	for _, m := range st {
		if !m.Applied {
			t.Errorf("migration %d (%s) not applied", m.Version, m.File)
		}
	}
	// down then up again: every migration is reversible
	for range st {
		if err := s.Migrate(ctx, migrations.FS, "down"); err != nil {
			t.Fatalf("down: %v", err)
		}
	}
	if err := s.Migrate(ctx, migrations.FS, "up"); err != nil {
		t.Fatalf("up after down: %v", err)
	}
}

func TestShopInstallUninstallReinstall(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	sh, err := s.InstallShop(ctx, "alpha.myshopify.com", store.ShopTokens{AccessTokenEnc: "v1:k:aaa", TokenKind: "offline_expiring", Scopes: "read_orders"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !sh.Installed() || sh.AccessTokenEnc == nil || *sh.AccessTokenEnc != "v1:k:aaa" {
		t.Fatalf("after install: %+v", sh)
	}
	if err := s.MarkUninstalled(ctx, sh.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkUninstalled(ctx, sh.ID, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ := s.ShopByDomain(ctx, "alpha.myshopify.com")
	if got.Installed() || got.AccessTokenEnc != nil || !got.UninstalledAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("after uninstall: installed=%v token=%v at=%v", got.Installed(), got.AccessTokenEnc, got.UninstalledAt)
	}
	re, err := s.InstallShop(ctx, "alpha.myshopify.com", store.ShopTokens{AccessTokenEnc: "v1:k:bbb", TokenKind: "offline_expiring"}, now.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if re.ID != sh.ID || !re.Installed() || !re.InstalledAt.Equal(now.Add(3*time.Hour)) {
		t.Fatalf("after reinstall: %+v", re)
	}
	if _, err := s.ShopByDomain(ctx, "nope.myshopify.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing shop: %v", err)
	}
}

func TestInsertDeliveriesDedupes(t *testing.T) {
	s, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	mk := func(id string) store.NewDelivery {
		return store.NewDelivery{ShopDomain: "a.myshopify.com", WebhookID: id, Topic: "orders/create", ReceivedAt: now, Payload: []byte(`{"id":1}`)}
	}
	res, err := s.InsertDeliveries(ctx, []store.NewDelivery{mk("w1"), mk("w2"), mk("w1")})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Duplicate || res[1].Duplicate || !res[2].Duplicate {
		t.Fatalf("first batch: %+v", res)
	}
	res2, err := s.InsertDeliveries(ctx, []store.NewDelivery{mk("w2"), mk("w3")})
	if err != nil {
		t.Fatal(err)
	}
	if !res2[0].Duplicate || res2[1].Duplicate {
		t.Fatalf("second batch: %+v", res2)
	}
	err = s.InTx(ctx, func(ctx context.Context) error {
		d, err := s.LockPendingDelivery(ctx, res[0].ID)
		if err != nil {
			return err
		}
		if d.WebhookID != "w1" || string(d.Payload) != `{"id":1}` {
			t.Errorf("locked %+v", d)
		}
		// a second worker skips the locked row
		done := make(chan error)
		go func() {
			_, err := s.LockPendingDelivery(context.Background(), res[0].ID)
			done <- err
		}()
		if err := <-done; !errors.Is(err, store.ErrNotFound) {
			t.Errorf("concurrent lock: %v", err)
		}
		return s.FinishDelivery(ctx, d.ID, store.DeliveryProcessed, "", now)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LockPendingDelivery(ctx, res[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("processed delivery locked again: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := s.RecordDeliveryAttempt(ctx, res[1].ID, "boom", 3, now); err != nil {
			t.Fatal(err)
		}
	}
	if d, _ := s.DeliveryByID(ctx, res[1].ID); d.Status != store.DeliveryFailed || d.Attempts != 3 || d.Error != "boom" {
		t.Fatalf("after 3 attempts: %+v", d)
	}
	stale, err := s.StaleDeliveries(ctx, now.Add(time.Minute), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) != 1 || stale[0] != res2[1].ID {
		t.Fatalf("stale = %v, want only w3", stale)
	}
}
