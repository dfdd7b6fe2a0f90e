package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/store"
)

func TestTokenExchangeInstallsOnceAndRefreshesSingleFlight(t *testing.T) {
	s := newStack(t)
	shop := "exchange.myshopify.com"
	s.createShop(shop)
	// Short-lived expiring tokens so the refresh path runs.
	s.dev.SetTokenTTL(10*time.Minute, 90*24*time.Hour)

	var got shopJSON
	if code := s.api("GET", "/api/v1/shop", s.sessionToken(shop), nil, &got); code != 200 {
		t.Fatalf("first API call with a session token = %d", code)
	}
	if got.Domain != shop || got.Auth != "session" || got.UserID != "42" {
		t.Fatalf("shop = %+v", got)
	}
	sh, err := s.a.store.ShopByDomain(context.Background(), shop)
	if err != nil {
		t.Fatal(err)
	}
	if sh.TokenKind != "offline_expiring" || sh.RefreshTokenEnc == nil || sh.AccessTokenExpiresAt == nil {
		t.Fatalf("install did not store an expiring offline token: %+v", sh)
	}
	if strings.Contains(*sh.AccessTokenEnc, "shpat") || strings.Contains(*sh.RefreshTokenEnc, "shprt") {
		t.Fatal("tokens stored in plaintext")
	}
	// Exchange once per install, not per request.
	installs := s.auditCount("shop.installed")
	for range 3 {
		s.api("GET", "/api/v1/shop", s.sessionToken(shop), nil, nil)
	}
	if n := s.auditCount("shop.installed"); n != installs {
		t.Fatalf("token exchange ran again on later requests (%d installs)", n)
	}

	// Two replicas need the token at once when it is about to expire:
	// exactly one refresh reaches Shopify and both get a working token.
	s.dev.SetTokenTTL(2*time.Hour, 90*24*time.Hour) // the refreshed token lives longer
	s.a.now = func() time.Time { return time.Now().UTC().Add(6 * time.Minute) }
	s.a.shops.Now = s.a.now
	before := s.dev.RefreshCount(shop)
	replica2 := newTestApp(t, func(m map[string]string) {
		m["DATABASE_URL"] = dsnOf(t, s.testEnv)
		m["ENCRYPTION_KEY"] = s.cfg.EncryptionKey
		m["SHOPIFY_ADMIN_URL_TEMPLATE"] = s.devURL + "/store/{shop}"
	})
	replica2.a.now = s.a.now
	replica2.a.shops.Now = s.a.now
	var wg sync.WaitGroup
	toks := make([]string, 2)
	errs := make([]error, 2)
	for i, a := range []*App{s.a, replica2.a} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], errs[i] = a.shops.AccessToken(context.Background(), sh.ID)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.dev.RefreshCount(shop) - before; n != 1 {
		t.Fatalf("%d refreshes for two concurrent replicas, want exactly 1", n)
	}
	if toks[0] != toks[1] {
		t.Fatal("replicas ended with different access tokens")
	}
	// The refreshed token works against the Admin API.
	if err := s.a.shops.SyncDetails(context.Background(), sh.ID); err != nil {
		t.Fatalf("Admin API with the refreshed token: %v", err)
	}
}

func dsnOf(t *testing.T, e *testEnv) string { return e.cfg.DatabaseURL }

func TestSessionTokenRejections(t *testing.T) {
	s := newStack(t)
	shop := "reject.myshopify.com"
	s.createShop(shop)
	now := time.Now()
	secret := []byte(s.cfg.ShopifyAPISecret)
	mint := func(shop, aud string, secret []byte, at time.Time, ttl time.Duration) string {
		tok, err := shopify.MintSessionToken(shop, "7", aud, secret, at, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := map[string]string{
		"expired":         mint(shop, s.cfg.ShopifyAPIKey, secret, now.Add(-2*time.Minute), time.Minute),
		"wrong audience":  mint(shop, "someone-else", secret, now, time.Minute),
		"wrong secret":    mint(shop, s.cfg.ShopifyAPIKey, []byte("another-secret-value"), now, time.Minute),
		"not a jwt":       "hello",
		"api key unknown": "ct_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	}
	for name, tok := range cases {
		req, _ := http.NewRequest("GET", s.srv.URL+"/api/v1/shop", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Errorf("%s: status %d, want 401", name, res.StatusCode)
		}
		if name != "api key unknown" && res.Header.Get("X-Shopify-Retry-Invalid-Session-Request") != "1" {
			t.Errorf("%s: missing X-Shopify-Retry-Invalid-Session-Request", name)
		}
	}
	// A document load with a bad token gets the bounce page, not the app.
	res, err := http.Get(s.srv.URL + "/?embedded=1&shop=" + shop + "&id_token=garbage")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	if res.StatusCode != 200 || !strings.Contains(body, "app-bridge.js") || !strings.Contains(body, "shopify-reload") && !strings.Contains(body, "reloads") {
		t.Fatalf("bounce page: %d %s", res.StatusCode, body)
	}
	if _, err := s.a.store.ShopByDomain(context.Background(), shop); err == nil {
		t.Fatal("a bad token installed the shop")
	}
	// A good one installs it and serves the app with App Bridge first in <head>.
	res, err = http.Get(s.srv.URL + "/?embedded=1&shop=" + shop + "&id_token=" + url.QueryEscape(s.sessionToken(shop)))
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(t, res)
	if res.StatusCode != 200 || !strings.Contains(body, `<head><script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script><meta name="shopify-api-key"`) {
		t.Fatalf("document: %d %s", res.StatusCode, body)
	}
	if sh, err := s.a.store.ShopByDomain(context.Background(), shop); err != nil || !sh.Installed() {
		t.Fatalf("document load with a valid id_token did not install: %v", err)
	}
}

func TestLegacyOAuthInstallThroughDevStore(t *testing.T) {
	s := newStack(t)
	shop := "legacy.myshopify.com"
	s.createShop(shop)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	res, err := browser.Get(s.srv.URL + "/auth/install?shop=" + shop)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("install flow ended with %d at %s", res.StatusCode, res.Request.URL)
	}
	if res.Request.URL.Path != "/" || res.Request.URL.Query().Get("shop") != shop {
		t.Fatalf("landed on %s", res.Request.URL)
	}
	sh, err := s.a.store.ShopByDomain(context.Background(), shop)
	if err != nil || !sh.Installed() {
		t.Fatalf("shop not installed: %v", err)
	}
	if sh.Name == "" || sh.Currency == "" {
		t.Errorf("shop details not synced from the Admin API: %+v", sh)
	}

	// A callback from another browser (no state cookie), a forged state, a
	// tampered HMAC and an old timestamp are refused.
	var callback *url.URL
	nojar := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/callback" {
			callback = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}, Jar: mustJar()}
	res, err = nojar.Get(s.srv.URL + "/auth/install?shop=" + shop)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if callback == nil {
		t.Fatal("dev store did not redirect to the callback")
	}
	tampered := *callback
	q := tampered.Query()
	q.Set("shop", "evil.myshopify.com")
	tampered.RawQuery = q.Encode()
	for name, u := range map[string]string{"no state cookie": callback.String(), "tampered": tampered.String()} {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode < 400 {
			t.Errorf("%s callback answered %d", name, res.StatusCode)
		}
	}
	res, err = nojar.Get(tampered.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 && res.StatusCode != 403 {
		t.Errorf("tampered callback with a valid state cookie answered %d", res.StatusCode)
	}
	if _, err := s.a.store.ShopByDomain(context.Background(), "evil.myshopify.com"); err == nil {
		t.Fatal("tampered callback installed a shop")
	}
}

func mustJar() http.CookieJar { j, _ := cookiejar.New(nil); return j }

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func TestAPIKeysCreateUseRevoke(t *testing.T) {
	s := newStack(t)
	shop := "keys.myshopify.com"
	s.createShop(shop)
	var k apiKeyJSON
	if code := s.api("POST", "/api/v1/api-keys", s.sessionToken(shop), map[string]string{"name": "crm"}, &k); code != 201 || !strings.HasPrefix(k.Key, "ct_") {
		t.Fatalf("create = %d %+v", code, k)
	}
	var me shopJSON
	if code := s.api("GET", "/api/v1/shop", k.Key, nil, &me); code != 200 || me.Domain != shop || me.Auth != "api_key" {
		t.Fatalf("with key = %d %+v", code, me)
	}
	var ks list[apiKeyJSON]
	s.api("GET", "/api/v1/api-keys", k.Key, nil, &ks)
	if len(ks.Items) != 1 || ks.Items[0].Key != "" || ks.Items[0].Prefix == "" {
		t.Fatalf("list leaks or lacks keys: %+v", ks)
	}
	stored, _ := s.a.store.ListAPIKeys(context.Background(), mustShop(t, s.testEnv, shop).ID)
	if strings.Contains(string(stored[0].KeyHash), k.Key) {
		t.Fatal("key stored in plaintext")
	}
	if code := s.api("DELETE", "/api/v1/api-keys/"+k.ID, s.sessionToken(shop), nil, nil); code != 204 {
		t.Fatalf("revoke = %d", code)
	}
	if code := s.api("GET", "/api/v1/shop", k.Key, nil, nil); code != 401 {
		t.Fatalf("revoked key = %d, want 401", code)
	}
}

func mustShop(t *testing.T, e *testEnv, domain string) *store.Shop {
	t.Helper()
	sh, err := e.a.store.ShopByDomain(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}
