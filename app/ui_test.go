package main

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coupontrail/coupontrail/web"
)

func TestUIDocumentAndAssets(t *testing.T) {
	s := newStack(t)
	shop := "ui.myshopify.com"
	s.createShop(shop)
	get := func(path string) (int, http.Header, string) {
		t.Helper()
		res, err := http.Get(s.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, res.Header, readAll(t, res)
	}
	appBridgeFirst := `<head><script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script><meta name="shopify-api-key" content="` + s.cfg.ShopifyAPIKey + `">`

	// Against Shopify (the admin URL template does not point at the dev
	// store's address): no dev-store hint, no token relay.
	code, hdr, body := get("/")
	if code != 200 || !strings.Contains(body, appBridgeFirst) || strings.Contains(body, "coupontrail-dev-store") {
		t.Fatalf("document: %d %s", code, body)
	}
	if !strings.Contains(hdr.Get("Content-Security-Policy"), "frame-ancestors https://admin.shopify.com") {
		t.Fatalf("CSP = %q", hdr.Get("Content-Security-Policy"))
	}
	if code, _, _ := get("/_dev/session-token?shop=" + shop); code != 404 {
		t.Fatalf("token relay outside dev-store mode = %d", code)
	}

	// The built UI: its script is referenced by the document and served with
	// an immutable cache header; client-side routes get the document.
	var asset string
	_ = fs.WalkDir(web.Dist(), "assets", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".js") && asset == "" {
			asset = p
		}
		return nil
	})
	if asset == "" {
		t.Fatal("web/dist has no built JavaScript: run make web")
	}
	if code, hdr, _ := get("/" + asset); code != 200 || !strings.Contains(hdr.Get("Cache-Control"), "immutable") {
		t.Fatalf("asset %s: %d %q", asset, code, hdr.Get("Cache-Control"))
	}
	if code, _, _ := get("/assets/nope-123.js"); code != 404 {
		t.Fatalf("missing asset = %d", code)
	}
	if code, _, body := get("/campaigns/7"); code != 200 || !strings.Contains(body, appBridgeFirst) {
		t.Fatalf("client route: %d", code)
	}

	// Dev-store mode: the document names the dev store and the page gets
	// session tokens through the relay; they authenticate API calls.
	s.a.cfg.DevStoreAddr = strings.TrimPrefix(s.devURL, "http://")
	code, _, body = get("/?shop=" + shop)
	if code != 200 || !strings.Contains(body, appBridgeFirst) || !strings.Contains(body, `<meta name="coupontrail-dev-store" content="`+s.devURL+`">`) {
		t.Fatalf("dev document: %d %s", code, body)
	}
	code, hdr, body = get("/_dev/session-token?shop=" + url.QueryEscape(shop))
	var tok struct{ Shop, Token string }
	if code != 200 || json.Unmarshal([]byte(body), &tok) != nil || tok.Token == "" || tok.Shop != shop || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("token relay: %d %s", code, body)
	}
	var sh shopJSON
	if code := s.api("GET", "/api/v1/shop", tok.Token, nil, &sh); code != 200 || sh.Domain != shop {
		t.Fatalf("API with a relayed token: %d %+v", code, sh)
	}
	// Without ?shop the relay picks the dev store's shop.
	if code, _, body := get("/_dev/session-token"); code != 200 || !strings.Contains(body, shop) {
		t.Fatalf("token relay without shop: %d %s", code, body)
	}
	if code, _, _ := get("/_dev/session-token?shop=evil.example.com"); code != 400 {
		t.Fatalf("token relay for a non-Shopify domain = %d", code)
	}
}
