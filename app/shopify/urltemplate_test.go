package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	goshopify "github.com/bold-commerce/go-shopify/v4"
)

func TestAdminBase(t *testing.T) {
	t.Parallel()
	tests := []struct{ template, want string }{
		{"", "https://" + testShop},
		{DefaultAdminURLTemplate, "https://" + testShop},
		{DevStoreAdminURLTemplate, "http://127.0.0.1:8081/store/" + testShop},
		{"http://127.0.0.1:8081/store/{shop}/", "http://127.0.0.1:8081/store/" + testShop},
		{"http://localhost:9000", "http://localhost:9000"},
	}
	for _, tt := range tests {
		if got := AdminBase(tt.template, testShop); got != tt.want {
			t.Errorf("AdminBase(%q) = %q, want %q", tt.template, got, tt.want)
		}
	}
	if got := AdminURLFunc(DevStoreAdminURLTemplate)(testShop); got != "http://127.0.0.1:8081/store/"+testShop {
		t.Errorf("AdminURLFunc = %q", got)
	}
}

type recordRT struct{ got []*http.Request }

func (r *recordRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = append(r.got, req)
	return &http.Response{StatusCode: 204, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

func TestRewriteTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		template, in, want string
	}{
		{DevStoreAdminURLTemplate, "https://my-store.myshopify.com/admin/api/2026-07/graphql.json?x=1",
			"http://127.0.0.1:8081/store/my-store.myshopify.com/admin/api/2026-07/graphql.json?x=1"},
		{DevStoreAdminURLTemplate, "https://My-Store.myshopify.com/admin/oauth/access_token",
			"http://127.0.0.1:8081/store/my-store.myshopify.com/admin/oauth/access_token"},
		{DevStoreAdminURLTemplate, "https://my-store.myshopify.com/admin/a%2Fb",
			"http://127.0.0.1:8081/store/my-store.myshopify.com/admin/a%2Fb"},
		// Not shop URLs: untouched.
		{DevStoreAdminURLTemplate, "https://example.com/x", "https://example.com/x"},
		{DevStoreAdminURLTemplate, "http://my-store.myshopify.com/x", "http://my-store.myshopify.com/x"},
		{DevStoreAdminURLTemplate, "https://my-store.myshopify.com:8443/x", "https://my-store.myshopify.com:8443/x"},
		{DevStoreAdminURLTemplate, "https://a.b.myshopify.com/x", "https://a.b.myshopify.com/x"},
		// Default template: pass-through.
		{"", "https://my-store.myshopify.com/admin", "https://my-store.myshopify.com/admin"},
		{DefaultAdminURLTemplate, "https://my-store.myshopify.com/admin", "https://my-store.myshopify.com/admin"},
	}
	for _, tt := range tests {
		rec := &recordRT{}
		rt := &RewriteTransport{Template: tt.template, Base: rec}
		req, _ := http.NewRequest(http.MethodGet, tt.in, nil)
		orig := req.URL.String()
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		resp.Body.Close()
		if got := rec.got[0].URL.String(); got != tt.want {
			t.Errorf("RoundTrip(%s) sent %s, want %s", tt.in, got, tt.want)
		}
		if req.URL.String() != orig {
			t.Errorf("RoundTrip mutated the caller's request: %s", req.URL)
		}
	}
	bad := &RewriteTransport{Template: "not a url {shop}", Base: &recordRT{}}
	req, _ := http.NewRequest(http.MethodGet, "https://my-store.myshopify.com/admin", nil)
	if _, err := bad.RoundTrip(req); err == nil {
		t.Error("relative template accepted")
	}
}

// TestGoShopifyAgainstDevStore drives go-shopify's client and App through the rewriting transport, the way the app
// talks to the dev store.
func TestGoShopifyAgainstDevStore(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		paths []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/store/" + testShop + "/admin/api/2026-07/graphql.json":
			if r.Header.Get("X-Shopify-Access-Token") != "shpat_x" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			_, _ = w.Write([]byte(`{"data":{"shop":{"name":"My Store"}}}`))
		case "/store/" + testShop + "/admin/oauth/access_token":
			var b map[string]string
			_ = json.NewDecoder(r.Body).Decode(&b)
			if b["code"] != "c0de" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(`{"access_token":"shpat_from_code","scope":"read_orders"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	template := srv.URL + "/store/{shop}"
	app := goshopify.App{ApiKey: "k", ApiSecret: "s"}

	client, err := NewAdminClient(app, template, testShop, "shpat_x", srv.Client(), goshopify.WithVersion("2026-07"))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Shop struct{ Name string } `json:"shop"`
	}
	if err := client.GraphQL.Query(context.Background(), `{ shop { name } }`, nil, &resp); err != nil {
		t.Fatalf("GraphQL via dev store: %v", err)
	}
	if resp.Shop.Name != "My Store" {
		t.Errorf("shop name = %q", resp.Shop.Name)
	}

	// Legacy: go-shopify's own App.GetAccessToken, pointed at the dev store by giving App a rewriting client.
	codeClient, err := NewAdminClient(app, template, testShop, "", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	app.Client = codeClient
	tok, err := app.GetAccessToken(context.Background(), testShop, "c0de")
	if err != nil || tok != "shpat_from_code" {
		t.Errorf("GetAccessToken = %q, %v", tok, err)
	}

	if _, err := NewAdminClient(app, template, "evil.com", "t", nil); !errors.Is(err, ErrInvalidShop) {
		t.Errorf("NewAdminClient(evil.com) = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 2 {
		t.Errorf("dev store saw %v", paths)
	}
}

func TestAuthorizeURL(t *testing.T) {
	t.Parallel()
	app := goshopify.App{ApiKey: "key", RedirectUrl: "https://app.example.com/auth/callback", Scope: "read_orders,write_discounts"}
	got, err := AuthorizeURL(DevStoreAdminURLTemplate, app, testShop, "nonce-1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(got)
	if u.Scheme != "http" || u.Host != "127.0.0.1:8081" || u.Path != "/store/"+testShop+"/admin/oauth/authorize" {
		t.Errorf("AuthorizeURL = %s", got)
	}
	q := u.Query()
	if q.Get("client_id") != "key" || q.Get("state") != "nonce-1" || q.Get("scope") != app.Scope ||
		q.Get("redirect_uri") != app.RedirectUrl {
		t.Errorf("AuthorizeURL query = %v", q)
	}

	prod, err := AuthorizeURL("", goshopify.App{ApiKey: "key", RedirectUrl: app.RedirectUrl}, testShop, "n")
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(prod)
	if pu.Scheme != "https" || pu.Host != testShop || pu.Query().Has("scope") {
		t.Errorf("production AuthorizeURL = %s (scope must be omitted when empty)", prod)
	}

	if _, err := AuthorizeURL("", app, "evil.com/x.myshopify.com", "n"); !errors.Is(err, ErrInvalidShop) {
		t.Errorf("bad shop: %v", err)
	}
	if _, err := AuthorizeURL("", app, testShop, ""); err == nil {
		t.Error("empty state accepted")
	}
}
