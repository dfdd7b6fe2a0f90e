package shopify

import (
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// signedCallback builds a callback query as Shopify would send it at t0, after mutate (applied before signing).
func signedCallback(t *testing.T, secret []byte, mutate func(url.Values)) url.Values {
	t.Helper()
	q := url.Values{
		"code":      {"0907a61c0c8d55e99db179b68161bc00"},
		"host":      {"YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvbXktc3RvcmU"},
		"shop":      {testShop},
		"state":     {"nonce-123"},
		"timestamp": {strconv.FormatInt(t0.Unix(), 10)},
	}
	if mutate != nil {
		mutate(q)
	}
	sig, err := SignOAuthQuery(secret, q)
	if err != nil {
		t.Fatal(err)
	}
	q.Set("hmac", sig)
	return q
}

func TestVerifyCallback(t *testing.T) {
	t.Parallel()
	secrets := [][]byte{testSecret, oldSecret}
	tests := []struct {
		name  string
		q     url.Values
		state string
		now   time.Time
		want  error
	}{
		{"valid", signedCallback(t, testSecret, nil), "nonce-123", t0.Add(time.Minute), nil},
		{"valid with old secret", signedCallback(t, oldSecret, nil), "nonce-123", t0, nil},
		{"valid 23h later", signedCallback(t, testSecret, nil), "nonce-123", t0.Add(23 * time.Hour), nil},
		{"too old", signedCallback(t, testSecret, nil), "nonce-123", t0.Add(25 * time.Hour), ErrTimestampExpired},
		{"far future", signedCallback(t, testSecret, nil), "nonce-123", t0.Add(-2 * time.Minute), ErrTimestampFuture},
		{"no timestamp", signedCallback(t, testSecret, func(q url.Values) { q.Del("timestamp") }), "nonce-123", t0, ErrTimestampMissing},
		{"bad hmac", signedCallback(t, []byte("attacker"), nil), "nonce-123", t0, ErrInvalidHMAC},
		{"state mismatch", signedCallback(t, testSecret, nil), "nonce-999", t0, ErrStateMismatch},
		{"no browser state", signedCallback(t, testSecret, nil), "", t0, ErrStateMismatch},
		{"no state param", signedCallback(t, testSecret, func(q url.Values) { q.Del("state") }), "nonce-123", t0, ErrStateMismatch},
		{"empty both", signedCallback(t, testSecret, func(q url.Values) { q.Set("state", "") }), "", t0, ErrStateMismatch},
		{"no code", signedCallback(t, testSecret, func(q url.Values) { q.Del("code") }), "nonce-123", t0, ErrMissingCode},
		{"evil shop signed", signedCallback(t, testSecret, func(q url.Values) { q.Set("shop", "evil.com") }), "nonce-123", t0, ErrInvalidShop},
		{"shop with path", signedCallback(t, testSecret, func(q url.Values) { q.Set("shop", "evil.com/x.myshopify.com") }), "nonce-123", t0, ErrInvalidShop},
		{"no shop", signedCallback(t, testSecret, func(q url.Values) { q.Del("shop") }), "nonce-123", t0, ErrInvalidShop},
		{"duplicate shop", func() url.Values {
			q := signedCallback(t, testSecret, nil)
			q.Add("shop", "evil.myshopify.com")
			return q
		}(), "nonce-123", t0, ErrInvalidShop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cb, err := VerifyCallback(tt.q, secrets, tt.state, tt.now, QueryPolicy{})
			if tt.want != nil {
				if !errors.Is(err, tt.want) || cb != nil {
					t.Fatalf("VerifyCallback = %+v, %v; want %v", cb, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cb.Shop != testShop || cb.Code != tt.q.Get("code") || cb.Host != tt.q.Get("host") || !cb.Timestamp.Equal(t0) {
				t.Errorf("callback = %+v", cb)
			}
		})
	}
}

func TestVerifyCallbackPolicy(t *testing.T) {
	t.Parallel()
	q := signedCallback(t, testSecret, nil)
	strict := QueryPolicy{MaxAge: 90 * time.Second, MaxFuture: 10 * time.Second}
	if _, err := VerifyCallback(q, [][]byte{testSecret}, "nonce-123", t0.Add(91*time.Second), strict); !errors.Is(err, ErrTimestampExpired) {
		t.Errorf("strict age: %v", err)
	}
	if _, err := VerifyCallback(q, [][]byte{testSecret}, "nonce-123", t0.Add(-11*time.Second), strict); !errors.Is(err, ErrTimestampFuture) {
		t.Errorf("strict future: %v", err)
	}
}

func TestVerifyInstallRequest(t *testing.T) {
	t.Parallel()
	q := signedCallback(t, testSecret, func(q url.Values) {
		q.Del("code")
		q.Del("state")
		q.Set("embedded", "1")
		q.Set("id_token", "eyJ.x.y")
		q.Set("session", "abc")
		q.Set("locale", "en")
		q.Set("shop", "My-Store.myshopify.com")
	})
	shop, err := VerifyInstallRequest(q, [][]byte{testSecret}, t0, QueryPolicy{})
	if err != nil || shop != testShop {
		t.Fatalf("VerifyInstallRequest = %q, %v", shop, err)
	}
	q.Del("locale") // whitelisting params breaks the signature: every param is signed
	if _, err := VerifyInstallRequest(q, [][]byte{testSecret}, t0, QueryPolicy{}); !errors.Is(err, ErrInvalidHMAC) {
		t.Errorf("dropped param: %v", err)
	}
}

func TestNewState(t *testing.T) {
	t.Parallel()
	a, b := NewState(), NewState()
	if a == b || len(a) != 43 {
		t.Errorf("NewState = %q, %q", a, b)
	}
}
