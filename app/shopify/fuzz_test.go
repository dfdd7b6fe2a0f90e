package shopify

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fuzz targets are seeded with the shared signature vectors. Run one with, for example:
//   go test ./app/shopify/ -run '^$' -fuzz FuzzVerifyOAuthQuery -fuzztime 30s

func FuzzVerifyWebhook(f *testing.F) {
	for _, vf := range loadVectors(f) {
		if vf.m["kind"] != "webhook_hmac" {
			continue
		}
		in := obj(vf.m["input"])
		header, _ := in["header_X-Shopify-Hmac-Sha256"].(string)
		f.Add([]byte(in["secret"].(string)), []byte(in["raw_body"].(string)), header)
	}
	f.Fuzz(func(t *testing.T, secret, body []byte, header string) {
		got := VerifyWebhook(secret, body, header)
		sig := SignWebhook(secret, body)
		if got {
			// Only the canonical encoding of the right MAC may verify.
			if header != sig || len(secret) == 0 || len(body) == 0 {
				t.Fatalf("verified non-canonical header %q (want %q)", header, sig)
			}
		}
		if len(secret) > 0 && len(body) > 0 && !VerifyWebhook(secret, body, sig) {
			t.Fatal("own signature does not verify")
		}
		if len(secret) > 0 && len(body) > 0 && VerifyWebhook(secret, append(append([]byte(nil), body...), 'x'), sig) {
			t.Fatal("signature verified a different body")
		}
		_ = VerifyWebhookAny([][]byte{secret, body}, body, header)
		if raw, err := base64.StdEncoding.DecodeString(header); err == nil && len(raw) != 32 && got {
			t.Fatal("verified a MAC that is not 32 bytes")
		}
	})
}

func FuzzVerifyOAuthQuery(f *testing.F) {
	for _, vf := range loadVectors(f) {
		in := obj(vf.m["input"])
		secret, _ := in["secret"].(string)
		switch {
		case in["callback_url"] != nil:
			u, _ := url.Parse(in["callback_url"].(string))
			f.Add([]byte(secret), u.RawQuery)
		case in["query_string"] != nil:
			f.Add([]byte(secret), in["query_string"].(string))
		case in["params"] != nil, in["query_in_order"] != nil:
			q := url.Values{}
			if p := obj(in["params"]); p != nil {
				for k, v := range p {
					if arr, ok := v.([]any); ok {
						for _, e := range arr {
							s, _ := str(e)
							q.Add(k, s)
						}
						continue
					}
					s, _ := str(v)
					q.Add(k, s)
				}
			}
			if ord, ok := in["query_in_order"].([]any); ok {
				for _, p := range ord {
					kv := p.([]any)
					q.Add(kv[0].(string), kv[1].(string))
				}
			}
			f.Add([]byte(secret), q.Encode())
		}
	}
	f.Fuzz(func(t *testing.T, secret []byte, rawQuery string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		now := time.Unix(1337178173, 0)
		_ = VerifyAppProxyQuery(secret, q)
		_, _ = VerifyCallback(q, [][]byte{secret}, q.Get("state"), now, QueryPolicy{})
		_, _ = VerifyInstallRequest(q, [][]byte{secret}, now, QueryPolicy{})
		got := VerifyOAuthQuery(secret, q)
		want, signErr := SignOAuthQuery(secret, q)
		if got && (signErr != nil || !strings.EqualFold(q.Get("hmac"), want) || len(secret) == 0) {
			t.Fatalf("verified hmac %q, canonical %q (%v)", q.Get("hmac"), want, signErr)
		}
		if signErr != nil || len(secret) == 0 {
			return
		}
		// Re-signing always verifies, and the signature is bound to every parameter.
		q.Set("hmac", want)
		if !VerifyOAuthQuery(secret, q) {
			t.Fatalf("own signature does not verify: %q", rawQuery)
		}
		q.Set("zz-extra", "1")
		if _, err := OAuthMessage(q); err == nil && VerifyOAuthQuery(secret, q) {
			t.Fatal("signature verified after adding a parameter")
		}
		q.Del("zz-extra")
		q.Set("hmac", hex.EncodeToString(make([]byte, 32)))
		if VerifyOAuthQuery(secret, q) && want != q.Get("hmac") {
			t.Fatal("zero MAC verified")
		}
	})
}

func FuzzVerifySessionToken(f *testing.F) {
	good, err := MintSessionToken(testShop, "42", testAPIKey, testSecret, t0, time.Minute)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, int64(0))
	f.Add(good, int64(3600))
	parts := strings.Split(good, ".")
	f.Add(parts[0]+"."+parts[1]+".", int64(0))
	f.Add("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."+parts[1]+".", int64(0))
	f.Add("", int64(0))
	// Vector strings (HMACs, query strings) as hostile token inputs.
	for _, vf := range loadVectors(f) {
		in := obj(vf.m["input"])
		for _, k := range []string{"header_X-Shopify-Hmac-Sha256", "query_string", "callback_url", "raw_body"} {
			if s, ok := in[k].(string); ok {
				f.Add(s, int64(0))
			}
		}
	}
	f.Fuzz(func(t *testing.T, token string, offset int64) {
		now := t0.Add(time.Duration(offset%86400) * time.Second)
		c, err := VerifySessionToken(token, testAPIKey, [][]byte{oldSecret, testSecret}, now)
		if err != nil {
			if c != nil {
				t.Fatal("claims returned with error")
			}
			return
		}
		if !ValidShopDomain(c.Shop) || c.Shop != strings.ToLower(c.Shop) {
			t.Fatalf("accepted token for shop %q", c.Shop)
		}
		if now.After(c.ExpiresAt.Add(SessionTokenLeeway)) {
			t.Fatalf("accepted expired token: exp %v now %v", c.ExpiresAt, now)
		}
	})
}
