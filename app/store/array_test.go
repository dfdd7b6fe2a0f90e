package store

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/migrations"
)

func TestStringArrayRoundTrip(t *testing.T) {
	dsn := newInternalTestDB(t)
	ctx := context.Background()
	s, err := Open(ctx, dsn, Options{MaxOpenConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx, migrations.FS, "up"); err != nil {
		t.Fatal(err)
	}
	sh, err := s.InstallShop(ctx, "arr.myshopify.com", ShopTokens{AccessTokenEnc: "x"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	in := StringArray{"code.issued", `we"ird\value`, "a,b"}
	ep := WebhookEndpoint{ShopID: sh.ID, URL: "https://example.com/h", SecretEnc: "x", Events: in, Active: true}
	if err := s.conn(ctx).Create(&ep).Error; err != nil {
		t.Fatal(err)
	}
	var got WebhookEndpoint
	if err := s.conn(ctx).Take(&got, ep.ID).Error; err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != 3 || got.Events[1] != in[1] || got.Events[2] != "a,b" {
		t.Fatalf("round trip: %q", got.Events)
	}
}
