package shopify

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testAPIKey = "0123456789abcdef0123456789abcdef"
	testShop   = "my-store.myshopify.com"
)

var (
	testSecret = []byte("shpss_current")
	oldSecret  = []byte("shpss_previous")
	t0         = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
)

// signClaims signs Shopify-shaped claims issued at t0 (exp t0+60 s) after mutate, with method and key.
func signClaims(t *testing.T, method jwt.SigningMethod, key any, mutate func(*sessionJWTClaims)) string {
	t.Helper()
	c := sessionJWTClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "https://" + testShop + "/admin",
			Subject:   "42",
			Audience:  jwt.ClaimStrings{testAPIKey},
			ExpiresAt: jwt.NewNumericDate(t0.Add(time.Minute)),
			NotBefore: jwt.NewNumericDate(t0),
			IssuedAt:  jwt.NewNumericDate(t0),
			ID:        "jti-1",
		},
		Dest: "https://" + testShop,
		SID:  "sid-1",
	}
	if mutate != nil {
		mutate(&c)
	}
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifySessionToken(t *testing.T) {
	t.Parallel()
	hs := jwt.SigningMethodHS256
	valid := signClaims(t, hs, testSecret, nil)
	parts := strings.Split(valid, ".")
	tamperedPayload := func() string {
		p, _ := base64.RawURLEncoding.DecodeString(parts[1])
		p = []byte(strings.Replace(string(p), `"sub":"42"`, `"sub":"1"`, 1))
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(p) + "." + parts[2]
	}()
	noneToken := signClaims(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil)

	tests := []struct {
		name    string
		token   string
		now     time.Time
		secrets [][]byte
		want    error // nil means valid
	}{
		{"valid", valid, t0.Add(30 * time.Second), nil, nil},
		{"valid with string aud", signClaims(t, hs, testSecret, nil), t0, nil, nil},
		{"old secret during rotation", signClaims(t, hs, oldSecret, nil), t0, [][]byte{testSecret, oldSecret}, nil},
		{"expired", valid, t0.Add(5 * time.Minute), nil, ErrSessionTokenExpired},
		{"within exp leeway", valid, t0.Add(time.Minute + 9*time.Second), nil, nil},
		{"outside exp leeway", valid, t0.Add(time.Minute + 11*time.Second), nil, ErrSessionTokenExpired},
		{"within nbf leeway", valid, t0.Add(-9 * time.Second), nil, nil},
		{"outside nbf leeway", valid, t0.Add(-11 * time.Second), nil, ErrSessionTokenNotYetValid},
		{"nbf ahead", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) {
			c.NotBefore = jwt.NewNumericDate(t0.Add(30 * time.Second))
		}), t0, nil, ErrSessionTokenNotYetValid},
		{"iat ahead", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) {
			c.IssuedAt = jwt.NewNumericDate(t0.Add(30 * time.Second))
		}), t0, nil, ErrSessionTokenNotYetValid},
		{"no exp", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) { c.ExpiresAt = nil }), t0, nil, ErrSessionTokenMalformed},
		{"wrong audience", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) {
			c.Audience = jwt.ClaimStrings{"another-app"}
		}), t0, nil, ErrSessionTokenAudience},
		{"no audience", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) { c.Audience = nil }), t0, nil, ErrSessionTokenMalformed},
		{"wrong secret", signClaims(t, hs, []byte("attacker"), nil), t0, nil, ErrSessionTokenSignature},
		{"old secret not configured", signClaims(t, hs, oldSecret, nil), t0, nil, ErrSessionTokenSignature},
		{"alg none", noneToken, t0, nil, ErrSessionTokenSignature},
		{"HS512 with right secret", signClaims(t, jwt.SigningMethodHS512, testSecret, nil), t0, nil, ErrSessionTokenSignature},
		{"HS384 with right secret", signClaims(t, jwt.SigningMethodHS384, testSecret, nil), t0, nil, ErrSessionTokenSignature},
		{"tampered payload", tamperedPayload, t0, nil, ErrSessionTokenSignature},
		{"signature stripped", parts[0] + "." + parts[1] + ".", t0, nil, ErrSessionTokenSignature},
		{"malformed", "not-a-jwt", t0, nil, ErrSessionTokenMalformed},
		{"empty", "", t0, nil, ErrSessionTokenMalformed},
		{"two segments", parts[0] + "." + parts[1], t0, nil, ErrSessionTokenMalformed},
		{"garbage base64", "a.b!.c", t0, nil, ErrSessionTokenMalformed},
		{"iss names other shop", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) {
			c.Issuer = "https://other-store.myshopify.com/admin"
		}), t0, nil, ErrSessionTokenShop},
		{"iss without /admin", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) {
			c.Issuer = "https://" + testShop
		}), t0, nil, ErrSessionTokenShop},
		{"dest not myshopify", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) {
			c.Dest, c.Issuer = "https://evil.com", "https://evil.com/admin"
		}), t0, nil, ErrSessionTokenShop},
		{"dest http", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) {
			c.Dest, c.Issuer = "http://"+testShop, "http://"+testShop+"/admin"
		}), t0, nil, ErrSessionTokenShop},
		{"dest with path", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) {
			c.Dest = "https://" + testShop + "/x"
		}), t0, nil, ErrSessionTokenShop},
		{"dest with userinfo", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) {
			c.Dest = "https://evil.com@" + testShop
		}), t0, nil, ErrSessionTokenShop},
		{"dest with port", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) {
			c.Dest, c.Issuer = "https://"+testShop+":8443", "https://"+testShop+":8443/admin"
		}), t0, nil, ErrSessionTokenShop},
		{"dest missing", signClaims(t, hs, testSecret, func(c *sessionJWTClaims) { c.Dest = "" }), t0, nil, ErrSessionTokenShop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secrets := tt.secrets
			if secrets == nil {
				secrets = [][]byte{testSecret}
			}
			got, err := VerifySessionToken(tt.token, testAPIKey, secrets, tt.now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifySessionToken: %v", err)
				}
				if got.Shop != testShop || got.UserID != "42" || got.SessionID != "sid-1" || got.JTI != "jti-1" ||
					!got.ExpiresAt.Equal(t0.Add(time.Minute)) || !got.IssuedAt.Equal(t0) {
					t.Errorf("claims = %+v", got)
				}
				return
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrInvalidSessionToken) {
				t.Fatalf("error = %v, want %v wrapping ErrInvalidSessionToken", err, tt.want)
			}
			if got != nil {
				t.Errorf("claims = %+v on error", got)
			}
		})
	}
}

func TestVerifySessionTokenShopCase(t *testing.T) {
	t.Parallel()
	tok := signClaims(t, jwt.SigningMethodHS256, testSecret, func(c *sessionJWTClaims) {
		c.Dest, c.Issuer = "https://My-Store.myshopify.com", "https://My-Store.myshopify.com/admin"
	})
	got, err := VerifySessionToken(tok, testAPIKey, [][]byte{testSecret}, t0)
	if err != nil || got.Shop != testShop {
		t.Fatalf("VerifySessionToken = %+v, %v; want lowercase shop", got, err)
	}
}

func TestVerifySessionTokenConfig(t *testing.T) {
	t.Parallel()
	tok := signClaims(t, jwt.SigningMethodHS256, testSecret, nil)
	if _, err := VerifySessionToken(tok, "", [][]byte{testSecret}, t0); err == nil {
		t.Error("empty api key accepted")
	}
	if _, err := VerifySessionToken(tok, testAPIKey, nil, t0); err == nil {
		t.Error("no secrets accepted")
	}
	if _, err := VerifySessionToken(tok, testAPIKey, [][]byte{{}}, t0); err == nil {
		t.Error("only an empty secret accepted")
	}
	// An empty-key HS256 token must not verify against a config that includes an empty secret.
	empty := signClaims(t, jwt.SigningMethodHS256, []byte{}, nil)
	if _, err := VerifySessionToken(empty, testAPIKey, [][]byte{{}, testSecret}, t0); !errors.Is(err, ErrSessionTokenSignature) {
		t.Errorf("empty-key token: %v, want ErrSessionTokenSignature", err)
	}
}

func TestMintSessionToken(t *testing.T) {
	t.Parallel()
	tok, err := MintSessionToken(testShop, "42", testAPIKey, testSecret, t0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifySessionToken(tok, testAPIKey, [][]byte{testSecret}, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got.Shop != testShop || got.UserID != "42" || got.SessionID == "" || got.JTI == "" {
		t.Errorf("claims = %+v", got)
	}
	if _, err := VerifySessionToken(tok, testAPIKey, [][]byte{testSecret}, t0.Add(2*time.Minute)); !errors.Is(err, ErrSessionTokenExpired) {
		t.Errorf("after ttl: %v, want ErrSessionTokenExpired", err)
	}
	if _, err := MintSessionToken("evil.com", "1", testAPIKey, testSecret, t0, time.Minute); !errors.Is(err, ErrInvalidShop) {
		t.Errorf("mint for evil.com: %v", err)
	}
	if _, err := MintSessionToken(testShop, "1", testAPIKey, nil, t0, time.Minute); err == nil {
		t.Error("mint with empty secret succeeded")
	}
}
