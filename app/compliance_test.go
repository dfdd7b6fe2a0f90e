package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
)

// fixtureFor loads a compliance payload recorded from Shopify's template and
// points it at shop.
func fixtureFor(t *testing.T, name, shop string) []byte {
	return bytes.ReplaceAll(readFixture(t, "shopify-app-template-node/webhooks/"+name), []byte("{shop}.myshopify.com"), []byte(shop))
}

func TestComplianceWebhooksDoRealWork(t *testing.T) {
	e := newTestApp(t)
	shop := "privacy.myshopify.com"
	sh := e.installShop(shop)
	stop, err := e.a.startWorker(false)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// Stored personal data: an order of the customer (id 191167, john@example.com) and one of someone else.
	john := []byte(`{"id":820982911946154508,"email":"john@example.com","customer":{"id":191167,"email":"john@example.com"},"total_price":"10.00"}`)
	jane := []byte(`{"id":820982911946154509,"email":"jane@example.com","customer":{"id":555,"email":"jane@example.com"},"total_price":"12.00"}`)
	e.deliver(webhook{topic: "orders/create", shop: shop, id: "c-john", body: john})
	e.deliver(webhook{topic: "orders/create", shop: shop, id: "c-jane", body: jane})

	e.deliver(webhook{topic: "customers/data_request", shop: shop, id: "c-dr", body: fixtureFor(t, "customers_data_request.json", shop)})
	eventually(t, 10*time.Second, "data request processed", func() bool {
		ex, _ := e.a.store.DataExports(context.Background(), sh.ID)
		return len(ex) == 1
	})
	ex, _ := e.a.store.DataExports(context.Background(), sh.ID)
	if !strings.Contains(string(ex[0]), "820982911946154508") || strings.Contains(string(ex[0]), "jane@example.com") {
		t.Fatalf("export should hold John's order (exact id) and nothing of Jane's: %s", ex[0])
	}

	e.deliver(webhook{topic: "customers/redact", shop: shop, id: "c-redact", body: fixtureFor(t, "customers_redact.json", shop)})
	eventually(t, 10*time.Second, "redact processed", func() bool {
		for _, d := range e.deliveries(shop) {
			if d.WebhookID == "c-redact" {
				return d.Status == store.DeliveryProcessed
			}
		}
		return false
	})
	for _, d := range e.deliveries(shop) {
		full, _ := e.a.store.DeliveryByID(context.Background(), d.ID)
		if bytes.Contains(full.Payload, []byte("john@example.com")) {
			t.Errorf("delivery %s still holds John's email after customers/redact", d.WebhookID)
		}
		if d.WebhookID == "c-jane" && !bytes.Equal(full.Payload, jane) {
			t.Errorf("Jane's data was touched by John's redaction")
		}
	}
	ex, _ = e.a.store.DataExports(context.Background(), sh.ID)
	if strings.Contains(string(ex[0]), "john@example.com") {
		t.Error("the earlier data export still holds John's email")
	}

	// shop/redact deletes the shop's data.
	e.deliver(webhook{topic: "shop/redact", shop: shop, id: "c-shop", body: fixtureFor(t, "shop_redact.json", shop)})
	eventually(t, 10*time.Second, "shop redacted", func() bool {
		_, err := e.a.store.ShopByDomain(context.Background(), shop)
		return err != nil
	})
	for _, d := range e.deliveries(shop) {
		full, _ := e.a.store.DeliveryByID(context.Background(), d.ID)
		if d.Topic != "shop/redact" && len(full.Payload) > 2 {
			var m map[string]any
			_ = json.Unmarshal(full.Payload, &m)
			t.Errorf("delivery %s kept its payload after shop/redact: %v", d.WebhookID, m)
		}
	}
}
