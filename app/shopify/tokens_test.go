package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	tcKey    = "api-key"
	tcSecret = "shpss_do_not_leak"
)

// fakeTokenEndpoint serves /store/{shop}/admin/oauth/access_token like the dev store does, answering by grant.
func fakeTokenEndpoint(t *testing.T, calls *atomic.Int32) *httptest.Server {
	t.Helper()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/store/"+testShop+"/admin/oauth/access_token" {
			http.Error(w, "bad route "+r.Method+" "+r.URL.Path, http.StatusNotFound)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Accept") != "application/json" {
			http.Error(w, "bad headers", http.StatusUnsupportedMediaType)
			return
		}
		var b map[string]string
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		if b["client_id"] != tcKey || b["client_secret"] != tcSecret {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		expiring := `{"access_token":"shpat_new","expires_in":3600,"refresh_token":"shprt_new","refresh_token_expires_in":7776000,"scope":"read_orders,write_discounts"}`
		switch {
		case b["grant_type"] == GrantTypeTokenExchange && b["subject_token_type"] == TokenTypeIDToken &&
			b["requested_token_type"] == TokenTypeOfflineAccess && b["expiring"] == "1":
			switch b["subject_token"] {
			case "good-session-token":
				_, _ = w.Write([]byte(expiring))
			case "legacy-shape":
				_, _ = w.Write([]byte(`{"access_token":"shpat_legacy","scope":"read_orders"}`))
			case "no-token":
				_, _ = w.Write([]byte(`{"scope":"read_orders"}`))
			case "server-error":
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write([]byte(`<html>bad gateway</html>`))
			default:
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"invalid_subject_token"}`))
			}
		case b["grant_type"] == GrantTypeTokenExchange && b["subject_token_type"] == TokenTypeOfflineAccess &&
			b["subject_token"] == "shpat_legacy" && b["expiring"] == "1":
			_, _ = w.Write([]byte(expiring))
		case b["grant_type"] == GrantTypeRefreshToken:
			if b["refresh_token"] != "shprt_old" {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"refresh token is invalid"}`))
				return
			}
			_, _ = w.Write([]byte(expiring))
		case b["code"] == "auth-code" && b["expiring"] == "1" && b["grant_type"] == "":
			_, _ = w.Write([]byte(expiring))
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_request"}`))
		}
	}))
}

func TestTokenClient(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := fakeTokenEndpoint(t, &calls)
	t.Cleanup(srv.Close)
	now := t0
	viaTemplate := &TokenClient{
		APIKey: tcKey, APISecret: tcSecret, HTTP: srv.Client(),
		AdminURL: AdminURLFunc(srv.URL + "/store/{shop}"), Now: func() time.Time { return now },
	}
	// The same endpoint reached the way go-shopify would: https://{shop} rewritten by the transport.
	viaTransport := &TokenClient{
		APIKey: tcKey, APISecret: tcSecret, HTTP: NewRewritingClient(srv.URL+"/store/{shop}", srv.Client()),
		Now: func() time.Time { return now },
	}
	ctx := context.Background()
	wantExpiring := &AccessToken{
		Token: "shpat_new", Scope: "read_orders,write_discounts", ExpiresAt: t0.Add(time.Hour),
		RefreshToken: "shprt_new", RefreshExpiresAt: t0.Add(90 * 24 * time.Hour),
	}

	for name, c := range map[string]*TokenClient{"template": viaTemplate, "transport": viaTransport} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name string
				call func() (*AccessToken, error)
				want *AccessToken
				err  error
			}{
				{"exchange", func() (*AccessToken, error) { return c.ExchangeSessionToken(ctx, testShop, "good-session-token") }, wantExpiring, nil},
				{"exchange legacy shape", func() (*AccessToken, error) { return c.ExchangeSessionToken(ctx, testShop, "legacy-shape") },
					&AccessToken{Token: "shpat_legacy", Scope: "read_orders"}, nil},
				{"exchange invalid subject", func() (*AccessToken, error) { return c.ExchangeSessionToken(ctx, testShop, "expired-jwt") }, nil, ErrInvalidSubjectToken},
				{"refresh", func() (*AccessToken, error) { return c.Refresh(ctx, testShop, "shprt_old") }, wantExpiring, nil},
				{"refresh spent", func() (*AccessToken, error) { return c.Refresh(ctx, testShop, "shprt_spent") }, nil, ErrInvalidGrant},
				{"code", func() (*AccessToken, error) { return c.ExchangeCode(ctx, testShop, "auth-code") }, wantExpiring, nil},
				{"migrate", func() (*AccessToken, error) { return c.MigrateToExpiring(ctx, testShop, "shpat_legacy") }, wantExpiring, nil},
			}
			for _, tt := range tests {
				got, err := tt.call()
				if tt.err != nil {
					var te *TokenError
					if !errors.Is(err, tt.err) || !errors.As(err, &te) || te.Status != http.StatusBadRequest {
						t.Errorf("%s: error = %v, want %v as *TokenError 400", tt.name, err, tt.err)
					}
					if err != nil && strings.Contains(err.Error(), tcSecret) {
						t.Errorf("%s: error leaks the client secret: %v", tt.name, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", tt.name, err)
					continue
				}
				if *got != *tt.want {
					t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
				}
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		// Own server and counter: the subtests above run concurrently.
		var calls atomic.Int32
		srv := fakeTokenEndpoint(t, &calls)
		t.Cleanup(srv.Close)
		viaTemplate := &TokenClient{
			APIKey: tcKey, APISecret: tcSecret, HTTP: srv.Client(),
			AdminURL: AdminURLFunc(srv.URL + "/store/{shop}"), Now: func() time.Time { return now },
		}
		before := calls.Load()
		if _, err := viaTemplate.ExchangeSessionToken(ctx, "evil.com/x.myshopify.com", "good-session-token"); !errors.Is(err, ErrInvalidShop) {
			t.Errorf("bad shop: %v", err)
		}
		if _, err := viaTemplate.ExchangeSessionToken(ctx, testShop, ""); err == nil {
			t.Error("empty session token accepted")
		}
		if _, err := (&TokenClient{APIKey: tcKey, AdminURL: viaTemplate.AdminURL}).Refresh(ctx, testShop, "x"); err == nil {
			t.Error("missing secret accepted")
		}
		if calls.Load() != before {
			t.Error("invalid input still reached the endpoint")
		}

		var te *TokenError
		_, err := viaTemplate.ExchangeSessionToken(ctx, testShop, "server-error")
		if !errors.As(err, &te) || te.Status != http.StatusBadGateway || te.Code != "" {
			t.Errorf("502: %v", err)
		}
		if _, err := viaTemplate.ExchangeSessionToken(ctx, testShop, "no-token"); err == nil {
			t.Error("response without access_token accepted")
		}
		wrong := *viaTemplate
		wrong.APISecret = "wrong"
		_, err = wrong.ExchangeSessionToken(ctx, testShop, "good-session-token")
		if !errors.As(err, &te) || te.Status != http.StatusUnauthorized || !strings.Contains(te.Description, "Invalid API key") {
			t.Errorf("401: %v", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := viaTemplate.ExchangeSessionToken(cctx, testShop, "good-session-token"); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled ctx: %v", err)
		}
	})
}

func TestNeedsRefresh(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tok  *AccessToken
		want bool
	}{
		{"nil", nil, false},
		{"non-expiring", &AccessToken{Token: "x"}, false},
		{"an hour left", &AccessToken{ExpiresAt: t0.Add(time.Hour)}, false},
		{"exactly 5 min left", &AccessToken{ExpiresAt: t0.Add(5 * time.Minute)}, false},
		{"4m59s left", &AccessToken{ExpiresAt: t0.Add(5*time.Minute - time.Second)}, true},
		{"expired", &AccessToken{ExpiresAt: t0.Add(-time.Second)}, true},
	}
	for _, tt := range tests {
		if got := NeedsRefresh(t0, tt.tok); got != tt.want {
			t.Errorf("%s: NeedsRefresh = %v, want %v", tt.name, got, tt.want)
		}
	}
	if (&AccessToken{}).Expiring() || !(&AccessToken{ExpiresAt: t0}).Expiring() {
		t.Error("Expiring wrong")
	}
}
