package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/coupontrail/coupontrail/app/shopify"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo install|traffic [--shop DOMAIN] [--plan PLAN] [--interval D] [--duration D] [--backfill-days N]",
		"install: create a shop in the dev store (DEVSTORE_ADDR) and open the running app (APP_URL) as the Shopify admin would, with a fresh session token, so the app installs it through the real token-exchange path; then print an API key for it.\n"+
			"traffic: seed the installed demo shop (partners, campaigns with codes, vanity codes, SmartLinks) through the API, then keep generating live traffic from the dev store until stopped: SmartLink clicks, issued codes, orders, refunds, cancellations, bot clicks and a little fraud (a leaked code, a self-referral).", stderr)
	shop := fs.String("shop", "demo.myshopify.com", "shop domain")
	plan := fs.String("plan", "standard", "dev store plan (sets the Admin API bucket)")
	interval := fs.Duration("interval", 1500*time.Millisecond, "traffic: average time between events")
	duration := fs.Duration("duration", 0, "traffic: stop after this long (0: until interrupted)")
	backfill := fs.Int("backfill-days", 30, "traffic: on the first run, also place a few orders a day over this many past days (0: none)")
	if len(args) == 0 || (args[0] != "install" && args[0] != "traffic") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fs.Usage()
			return nil
		}
		fs.Usage()
		return usageErr("want: demo install or demo traffic")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if args[0] == "traffic" {
		domain, err := shopify.NormalizeShop(*shop)
		if err != nil {
			return usageErr("--shop must be a *.myshopify.com domain")
		}
		if *interval <= 0 {
			return usageErr("--interval must be positive")
		}
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return runDemoTraffic(ctx, newDemoClient(cfg.AppURL, cfg.DevStoreAddr, domain), *interval, *duration, *backfill, stderr)
	}
	domain, err := shopify.NormalizeShop(*shop)
	if err != nil {
		return usageErr("--shop must be a *.myshopify.com domain")
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: 15 * time.Second}
	dev := "http://" + cfg.DevStoreAddr
	if err := postJSON(ctx, hc, dev+"/_dev/shops", map[string]string{"shop": domain, "plan": *plan}, nil); err != nil {
		return fmt.Errorf("dev store: create shop: %w", err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := postJSON(ctx, hc, dev+"/_dev/session-token", map[string]string{"shop": domain, "user_id": "1"}, &tok); err != nil {
		return fmt.Errorf("dev store: session token: %w", err)
	}
	// The admin loads application_url with id_token; the app exchanges it.
	host := base64.RawURLEncoding.EncodeToString([]byte("admin.shopify.com/store/" + domain))
	q := url.Values{"embedded": {"1"}, "shop": {domain}, "host": {host}, "id_token": {tok.Token}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cfg.AppURL+"/?"+q.Encode(), nil)
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("app at APP_URL: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("app answered %s to the install document load", res.Status)
	}
	// Confirm through the API with a fresh session token, then make a key.
	if err := postJSON(ctx, hc, dev+"/_dev/session-token", map[string]string{"shop": domain, "user_id": "1"}, &tok); err != nil {
		return err
	}
	var key struct {
		Key string `json:"key"`
	}
	kreq, _ := http.NewRequestWithContext(ctx, http.MethodPost, cfg.AppURL+"/api/v1/api-keys", bytes.NewReader([]byte(`{"name":"demo"}`)))
	kreq.Header.Set("Authorization", "Bearer "+tok.Token)
	kreq.Header.Set("Content-Type", "application/json")
	kres, err := hc.Do(kreq)
	if err != nil {
		return err
	}
	defer kres.Body.Close()
	if kres.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(kres.Body)
		return fmt.Errorf("create API key: %s %s", kres.Status, b)
	}
	if err := json.NewDecoder(kres.Body).Decode(&key); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "installed %s through token exchange\n", domain)
	fmt.Fprintf(stdout, "shop: %s\napi key: %s\n", domain, key.Key)
	return nil
}

func postJSON(ctx context.Context, hc *http.Client, u string, in, out any) error {
	b, _ := json.Marshal(in)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 && res.StatusCode != http.StatusConflict {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		return fmt.Errorf("%s: %s", res.Status, bytes.TrimSpace(body))
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	return nil
}
