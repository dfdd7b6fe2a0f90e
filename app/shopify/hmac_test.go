package shopify

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

func TestWebhookSignVerify(t *testing.T) {
	t.Parallel()
	secret, old := []byte("new-secret"), []byte("old-secret")
	body := []byte(`{"id":820982911946154508,"email":"jon@example.com"}`)
	sig := SignWebhook(secret, body)
	oldSig := SignWebhook(old, body)

	tests := []struct {
		name    string
		secrets [][]byte
		body    []byte
		header  string
		want    bool
	}{
		{"valid", [][]byte{secret}, body, sig, true},
		{"rotation old secret", [][]byte{secret, old}, body, oldSig, true},
		{"rotation new secret", [][]byte{secret, old}, body, sig, true},
		{"old secret not configured", [][]byte{secret}, body, oldSig, false},
		{"body changed", [][]byte{secret}, append([]byte(" "), body...), sig, false},
		{"empty body", [][]byte{secret}, nil, SignWebhook(secret, nil), false},
		{"empty secret", [][]byte{nil}, body, SignWebhook(nil, body), false},
		{"no secrets", nil, body, sig, false},
		{"missing header", [][]byte{secret}, body, "", false},
		{"hex instead of base64", [][]byte{secret}, body, "84c4ead0adb1ee8c8e8e80701987938f9a317e7695617cdb6a7506f5a6a3a4a2", false},
		{"url base64 alphabet", [][]byte{secret}, body, toURLAlphabet(sig), sig == toURLAlphabet(sig)},
		{"unpadded", [][]byte{secret}, body, sig[:len(sig)-1], false},
		{"trailing space", [][]byte{secret}, body, sig + " ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := VerifyWebhookAny(tt.secrets, tt.body, tt.header); got != tt.want {
				t.Errorf("VerifyWebhookAny = %v, want %v", got, tt.want)
			}
		})
	}
	if !VerifyWebhook(secret, body, sig) {
		t.Error("VerifyWebhook(valid) = false")
	}
}

func toURLAlphabet(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch c {
		case '+':
			b[i] = '-'
		case '/':
			b[i] = '_'
		}
	}
	return string(b)
}

func TestOAuthQuery(t *testing.T) {
	t.Parallel()
	secret := []byte("hush")
	q := url.Values{
		"shop": {"some-shop.myshopify.com"}, "code": {"abc"}, "timestamp": {"1337178173"},
		"host": {"YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvc29tZS1zaG9w"}, "embedded": {"1"}, "locale": {"en"},
	}
	sig, err := SignOAuthQuery(secret, q)
	if err != nil {
		t.Fatal(err)
	}
	with := func(mut func(url.Values)) url.Values {
		c := url.Values{}
		for k, v := range q {
			c[k] = append([]string(nil), v...)
		}
		c.Set("hmac", sig)
		mut(c)
		return c
	}
	tests := []struct {
		name string
		q    url.Values
		want bool
	}{
		{"valid", with(func(url.Values) {}), true},
		{"signature param ignored", with(func(c url.Values) { c.Set("signature", "whatever") }), true},
		{"uppercase hex", with(func(c url.Values) { c.Set("hmac", upper(sig)) }), true},
		{"extra param", with(func(c url.Values) { c.Set("admin", "1") }), false},
		{"param dropped", with(func(c url.Values) { c.Del("locale") }), false},
		{"value changed", with(func(c url.Values) { c.Set("shop", "evil.myshopify.com") }), false},
		{"duplicated param", with(func(c url.Values) { c.Add("shop", "evil.myshopify.com") }), false},
		{"duplicated hmac", with(func(c url.Values) { c.Add("hmac", sig) }), false},
		{"no hmac", with(func(c url.Values) { c.Del("hmac") }), false},
		{"short hmac", with(func(c url.Values) { c.Set("hmac", sig[:62]) }), false},
		{"base64 hmac", with(func(c url.Values) { c.Set("hmac", SignWebhook(secret, []byte("x"))) }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := VerifyOAuthQuery(secret, tt.q); got != tt.want {
				t.Errorf("VerifyOAuthQuery = %v, want %v", got, tt.want)
			}
		})
	}
	if VerifyOAuthQuery(nil, with(func(url.Values) {})) {
		t.Error("empty secret verified")
	}
	if !VerifyOAuthQueryAny([][]byte{[]byte("new"), secret}, with(func(url.Values) {})) {
		t.Error("VerifyOAuthQueryAny with old secret second = false")
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func TestOAuthMessageSeparatorsCannotBeForged(t *testing.T) {
	t.Parallel()
	// With decoded, unescaped values (go-shopify's rule) these two queries would sign the same string.
	a := url.Values{"a": {"1&b=2"}}
	b := url.Values{"a": {"1"}, "b": {"2"}}
	ma, _ := OAuthMessage(a)
	mb, _ := OAuthMessage(b)
	if ma == mb {
		t.Fatalf("distinct queries share canonical message %q", ma)
	}
	if _, err := OAuthMessage(url.Values{"ids": {"1"}, "ids[]": {"2"}}); !errors.Is(err, ErrAmbiguousQuery) {
		t.Errorf("scalar+array collision: %v, want ErrAmbiguousQuery", err)
	}
	if _, err := OAuthMessage(url.Values{"x": {"1", "2"}}); !errors.Is(err, ErrAmbiguousQuery) {
		t.Errorf("repeated scalar: %v, want ErrAmbiguousQuery", err)
	}
	got, _ := OAuthMessage(url.Values{"ids[]": {`a"b`, `c\d`}})
	if want := `ids=["a\"b", "c\\d"]`; got != want {
		t.Errorf("array rendering = %q, want %q", got, want)
	}
}

func TestAppProxy(t *testing.T) {
	t.Parallel()
	secret := []byte("hush")
	q, _ := url.ParseQuery("shop=s.myshopify.com&path_prefix=%2Fapps%2Fx&timestamp=1317327555&logged_in_customer_id=&extra=1&extra=2")
	q.Set("signature", SignAppProxyQuery(secret, q))
	if !VerifyAppProxyQuery(secret, q) {
		t.Fatal("VerifyAppProxyQuery(signed) = false")
	}
	if VerifyAppProxyQueryAny([][]byte{[]byte("nope")}, q) {
		t.Error("wrong secret verified")
	}
	q.Set("hmac", "x") // app proxy signs every param but signature, hmac included
	if VerifyAppProxyQuery(secret, q) {
		t.Error("added param still verified")
	}
}

func TestCheckTimestamp(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		ts   string
		want error
	}{
		{"1700000000", nil},
		{"1699999910", nil},
		{"1699999909", ErrTimestampExpired},
		{"1700000090", nil},
		{"1700000091", ErrTimestampFuture},
		{"", ErrTimestampMissing},
		{"abc", ErrTimestampMissing},
		{"-5", ErrTimestampMissing},
		{"1700000000.5", ErrTimestampMissing},
		{"9223372036854775807", ErrTimestampFuture},
		{"1", ErrTimestampExpired},
	}
	for _, tt := range tests {
		if err := CheckTimestamp(tt.ts, now, 90*time.Second, 90*time.Second); !errors.Is(err, tt.want) {
			t.Errorf("CheckTimestamp(%q) = %v, want %v", tt.ts, err, tt.want)
		}
	}
}

func TestValidShopDomain(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"my-store.myshopify.com":                     true,
		"My-Store.myshopify.com":                     true,
		"0store.myshopify.com":                       true,
		"a.myshopify.com":                            true,
		"-store.myshopify.com":                       false,
		".myshopify.com":                             false,
		"myshopify.com":                              false,
		"store.myshopify.com.evil.com":               false,
		"evil.com/x.myshopify.com":                   false,
		"evil.com#.myshopify.com":                    false,
		"evil.com?.myshopify.com":                    false,
		"a.b.myshopify.com":                          false,
		"store_1.myshopify.com":                      false,
		"store.myshopify.io":                         false,
		"store.shopify.com":                          false,
		"https://store.myshopify.com":                false,
		"store.myshopify.com:443":                    false,
		"store.myshopify.com/":                       false,
		"store.myshopify.com\n":                      false,
		" store.myshopify.com":                       false,
		"user@store.myshopify.com":                   false,
		"store.myshopifyXcom":                        false,
		"":                                           false,
		"admin.shopify.com/store/store":              false,
		"st%6fre.myshopify.com":                      false,
		"xn--strae-oqa.myshopify.com":                true,
		"stra\u00dfe.myshopify.com":                  false,
		string(make([]byte, 300)) + ".myshopify.com": false,
	}
	for in, want := range tests {
		if got := ValidShopDomain(in); got != want {
			t.Errorf("ValidShopDomain(%q) = %v, want %v", in, got, want)
		}
	}
	long := "a"
	for len(long) < 260 {
		long += "a"
	}
	if ValidShopDomain(long + ".myshopify.com") {
		t.Error("over-long shop accepted")
	}
}

func TestNormalizeShop(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"my-store.myshopify.com", "my-store.myshopify.com"},
		{"  My-Store.MyShopify.com ", "my-store.myshopify.com"},
		{"https://my-store.myshopify.com/", "my-store.myshopify.com"},
		{"http://my-store.myshopify.com", "my-store.myshopify.com"},
		{"my-store", "my-store.myshopify.com"},
		{"evil.com", ""},
		{"evil.com/x.myshopify.com", ""},
		{"https://my-store.myshopify.com/admin", ""},
		{"my-store.myshopify.com.evil.com", ""},
		{"", ""},
		{"-x", ""},
	}
	for _, tt := range tests {
		got, err := NormalizeShop(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalidShop) {
				t.Errorf("NormalizeShop(%q) = %q, %v; want ErrInvalidShop", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeShop(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
