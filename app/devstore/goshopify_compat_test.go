package devstore

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	goshopify "github.com/bold-commerce/go-shopify/v4"
)

// rewrite sends https://{shop}/X to {base}/store/{shop}/X, like the app's SHOPIFY_ADMIN_URL_TEMPLATE transport.
type rewrite struct{ base *url.URL }

func (rw rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	shop := r.URL.Host
	r.URL.Scheme, r.URL.Host = rw.base.Scheme, rw.base.Host
	r.URL.Path = "/store/" + shop + r.URL.Path
	r.Host = rw.base.Host
	return http.DefaultTransport.RoundTrip(r)
}

// TestGoShopifyCompat drives the dev store with go-shopify v4.7.0, the client the app uses.
func TestGoShopifyCompat(t *testing.T) {
	e := newEnv(t)
	base, _ := url.Parse(e.srv.URL)
	hc := &http.Client{Transport: rewrite{base}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	app := goshopify.App{ApiKey: testKey, ApiSecret: testSecret, RedirectUrl: e.app.URL + "/auth/callback", Scope: "read_orders,write_discounts"}

	authURL, err := app.AuthorizeUrl(testShop, "st-1")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if ok, err := app.VerifyAuthorizationURL(cb); !ok || err != nil {
		t.Fatalf("go-shopify rejects the callback %s: %v", cb, err)
	}

	app.Client = goshopify.MustNewClient(app, testShop, "", goshopify.WithHTTPClient(hc))
	tok, err := app.GetAccessToken(context.Background(), testShop, cb.Query().Get("code"))
	if err != nil || !strings.HasPrefix(tok, "shpat_") {
		t.Fatalf("GetAccessToken: %q %v", tok, err)
	}

	client, err := goshopify.NewClient(app, testShop, tok, goshopify.WithHTTPClient(hc), goshopify.WithVersion("2026-07"))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		DiscountCodeBasicCreate struct {
			CodeDiscountNode *struct{ ID string } `json:"codeDiscountNode"`
			UserErrors       []struct{ Code, Message string }
		} `json:"discountCodeBasicCreate"`
	}
	err = client.GraphQL.Query(context.Background(), createDiscount, map[string]any{"input": map[string]any{
		"title": "GS", "code": "GS-1", "startsAt": "2026-01-01T00:00:00Z",
		"customerGets": map[string]any{"value": map[string]any{"percentage": 0.2}, "items": map[string]any{"all": true}}}}, &out)
	if err != nil || out.DiscountCodeBasicCreate.CodeDiscountNode == nil {
		t.Fatalf("create via go-shopify: %+v %v", out, err)
	}
	if client.RateLimits.GraphQLCost == nil || client.RateLimits.GraphQLCost.ThrottleStatus.MaximumAvailable != 2000 {
		t.Errorf("go-shopify did not read the cost extension: %+v", client.RateLimits.GraphQLCost)
	}

	// THROTTLED surfaces as go-shopify's RateLimitError (retries = 0 means no sleeping retry)
	e.store.SetBucketAvailable(testShop, 0)
	client0, _ := goshopify.NewClient(app, testShop, tok, goshopify.WithHTTPClient(hc), goshopify.WithVersion("2026-07"))
	err = client0.GraphQL.Query(context.Background(), `{ shop { id } }`, nil, &struct{}{})
	if _, ok := err.(goshopify.RateLimitError); !ok {
		t.Fatalf("throttled: %T %v", err, err)
	}

	// webhooks verify with go-shopify
	_ = e.store.SendWebhook(testShop, "app/uninstalled", map[string]any{"id": 1})
	e.waitIdle()
	for _, r := range e.recv.all() {
		req, _ := http.NewRequest("POST", "/webhooks", bytes.NewReader(r.body))
		req.Header = r.header
		if !app.VerifyWebhookRequest(req) {
			t.Error("go-shopify rejects the webhook signature")
		}
		_, _ = io.Copy(io.Discard, req.Body)
	}
}
