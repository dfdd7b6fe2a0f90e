package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Webhook and Flow HMACs are base64 over the raw body; OAuth/install query HMACs and App Proxy signatures are hex
// over a canonical query string. Mixing them up is trap 2 in the platform notes.

var (
	// ErrInvalidShop reports a shop that is not a plain *.myshopify.com domain.
	ErrInvalidShop = errors.New("shopify: invalid shop domain")
	// ErrInvalidHMAC reports a query whose hmac does not verify with any configured secret.
	ErrInvalidHMAC = errors.New("shopify: invalid hmac")
	// ErrAmbiguousQuery reports a query that has no single canonical form (a repeated non-array parameter, or both
	// "k" and "k[]"); such queries are rejected rather than guessed at.
	ErrAmbiguousQuery = errors.New("shopify: ambiguous query parameters")
	// ErrTimestampMissing reports a missing or non-integer timestamp parameter.
	ErrTimestampMissing = errors.New("shopify: timestamp missing or invalid")
	// ErrTimestampExpired reports a timestamp older than the allowed age.
	ErrTimestampExpired = errors.New("shopify: timestamp too old")
	// ErrTimestampFuture reports a timestamp further in the future than the allowed clock skew.
	ErrTimestampFuture = errors.New("shopify: timestamp in the future")
)

// SignWebhook returns the X-Shopify-Hmac-Sha256 value for body: standard base64 of HMAC-SHA256(secret, body).
func SignWebhook(secret, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(secret, body))
}

// VerifyWebhook reports whether headerB64 (the X-Shopify-Hmac-Sha256 header) is the HMAC-SHA256 of the raw body
// under secret. The header must be standard base64 of exactly 32 bytes and the comparison is constant time. An empty
// secret or an empty body never verifies: Shopify never sends an empty webhook body, and an empty secret is a
// misconfiguration, not a key.
func VerifyWebhook(secret, body []byte, headerB64 string) bool {
	return VerifyWebhookAny([][]byte{secret}, body, headerB64)
}

// VerifyWebhookAny is VerifyWebhook trying each secret, for client-secret rotation (Shopify can take up to an hour
// to switch to the new secret). Empty secrets in the list are skipped. Every secret is tried, so timing does not
// reveal which one matched.
func VerifyWebhookAny(secrets [][]byte, body []byte, headerB64 string) bool {
	if len(body) == 0 {
		return false
	}
	got, err := base64.StdEncoding.Strict().DecodeString(headerB64)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	ok := false
	for _, s := range secrets {
		if len(s) == 0 {
			continue
		}
		if hmac.Equal(mac(s, body), got) {
			ok = true
		}
	}
	return ok
}

// OAuthMessage returns the canonical string Shopify signs for admin query HMACs (install request, OAuth callback,
// embedded app load): every parameter except "hmac" and "signature", as "key=value" pairs sorted as strings and
// joined with "&". Values are decoded, with Shopify's documented escaping so no value can forge a separator: in keys
// "%" -> "%25", "=" -> "%3D"; in values "%" -> "%25"; then "&" -> "%26" in the pair. A key "k[]" carrying values
// v1, v2 is signed as `k=["v1", "v2"]` (Rails' array rendering), in the original order. This is the rule in
// shopify_python_api and the legacy shopify_api gem, and it matches go-shopify for ordinary values.
//
// It returns ErrAmbiguousQuery when a non-array key repeats or both "k" and "k[]" are present.
func OAuthMessage(q url.Values) (string, error) {
	pairs := make([]string, 0, len(q))
	seen := make(map[string]bool, len(q))
	for k, vs := range q {
		if k == "hmac" || k == "signature" {
			continue
		}
		name, value := k, ""
		if base, isArray := strings.CutSuffix(k, "[]"); isArray {
			name, value = base, rubyArray(vs)
		} else {
			if len(vs) != 1 {
				return "", fmt.Errorf("%w: %q given %d times", ErrAmbiguousQuery, k, len(vs))
			}
			value = vs[0]
		}
		if seen[name] {
			return "", fmt.Errorf("%w: %q given as both scalar and array", ErrAmbiguousQuery, name)
		}
		seen[name] = true
		name = strings.NewReplacer("%", "%25", "=", "%3D").Replace(name)
		value = strings.ReplaceAll(value, "%", "%25")
		pairs = append(pairs, strings.ReplaceAll(name+"="+value, "&", "%26"))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&"), nil
}

// rubyArray renders values the way Ruby's Array#to_s (and shopify_python_api's json.dumps) does for plain strings.
func rubyArray(vs []string) string {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('"')
		b.WriteString(esc.Replace(v))
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String()
}

// SignOAuthQuery returns the lowercase hex hmac Shopify would put on q (see OAuthMessage). The dev store and tests
// use it to build signed callbacks.
func SignOAuthQuery(secret []byte, q url.Values) (string, error) {
	msg, err := OAuthMessage(q)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(mac(secret, []byte(msg))), nil
}

// VerifyOAuthQuery reports whether the "hmac" parameter of q is the hex HMAC-SHA256 of OAuthMessage(q) under
// secret, compared in constant time. It checks only the signature: pair it with CheckTimestamp and ValidShopDomain
// (VerifyCallback and VerifyInstallRequest do all of it).
func VerifyOAuthQuery(secret []byte, q url.Values) bool {
	return VerifyOAuthQueryAny([][]byte{secret}, q)
}

// VerifyOAuthQueryAny is VerifyOAuthQuery trying each non-empty secret (client-secret rotation).
func VerifyOAuthQueryAny(secrets [][]byte, q url.Values) bool {
	got, ok := singleHex(q, "hmac")
	if !ok {
		return false
	}
	msg, err := OAuthMessage(q)
	if err != nil {
		return false
	}
	return anyMAC(secrets, []byte(msg), got)
}

// AppProxyMessage returns the canonical string Shopify signs for App Proxy requests: every parameter except
// "signature" as "key=v1,v2" (repeated values joined with ","), sorted, concatenated with no separator, values
// decoded and not escaped. This matches go-shopify's App.VerifySignature and Shopify's app-proxy docs.
func AppProxyMessage(q url.Values) string {
	pairs := make([]string, 0, len(q))
	for k, vs := range q {
		if k == "signature" {
			continue
		}
		pairs = append(pairs, k+"="+strings.Join(vs, ","))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "")
}

// SignAppProxyQuery returns the lowercase hex "signature" Shopify would add to an App Proxy request with query q.
func SignAppProxyQuery(secret []byte, q url.Values) string {
	return hex.EncodeToString(mac(secret, []byte(AppProxyMessage(q))))
}

// VerifyAppProxyQuery reports whether the "signature" parameter of q is the hex HMAC-SHA256 of AppProxyMessage(q)
// under secret, compared in constant time. Check the timestamp with CheckTimestamp as well.
func VerifyAppProxyQuery(secret []byte, q url.Values) bool {
	return VerifyAppProxyQueryAny([][]byte{secret}, q)
}

// VerifyAppProxyQueryAny is VerifyAppProxyQuery trying each non-empty secret (client-secret rotation).
func VerifyAppProxyQueryAny(secrets [][]byte, q url.Values) bool {
	got, ok := singleHex(q, "signature")
	if !ok {
		return false
	}
	return anyMAC(secrets, []byte(AppProxyMessage(q)), got)
}

// CheckTimestamp validates a Shopify "timestamp" parameter (Unix seconds): it must parse, be no older than maxAge
// and no more than maxFuture ahead of now. It returns ErrTimestampMissing, ErrTimestampExpired or
// ErrTimestampFuture. Shopify's Node library uses 90 s both ways; the Python one 24 h of age.
func CheckTimestamp(ts string, now time.Time, maxAge, maxFuture time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return ErrTimestampMissing
	}
	// Compare in seconds so absurd values cannot overflow time.Duration.
	age := now.Unix() - sec
	switch {
	case age > int64(maxAge/time.Second):
		return ErrTimestampExpired
	case -age > int64(maxFuture/time.Second):
		return ErrTimestampFuture
	}
	return nil
}

var shopRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$`)

// maxShopLen caps a shop domain at the DNS name limit.
const maxShopLen = 253

// ValidShopDomain reports whether s is exactly a "{handle}.myshopify.com" domain, per Shopify's documented regex
// ^[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com$ (no scheme, port, path, or other suffix). Validate every shop before
// building a URL with it: go-shopify's ShopFullName accepts "evil.com/x.myshopify.com".
func ValidShopDomain(s string) bool {
	return len(s) <= maxShopLen && shopRE.MatchString(s)
}

var handleRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// NormalizeShop turns operator or merchant input into a canonical lowercase shop domain: it trims spaces, an
// "https://" or "http://" prefix and trailing slashes, lowercases, and appends ".myshopify.com" to a bare handle.
// The result must pass ValidShopDomain, otherwise it returns ErrInvalidShop. Use the result as the shop's key.
func NormalizeShop(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if rest, ok := strings.CutPrefix(s, "https://"); ok {
		s = rest
	} else if rest, ok := strings.CutPrefix(s, "http://"); ok {
		s = rest
	}
	s = strings.TrimRight(s, "/")
	if handleRE.MatchString(s) {
		s += ".myshopify.com"
	}
	if !ValidShopDomain(s) {
		return "", ErrInvalidShop
	}
	return s, nil
}

func mac(secret, msg []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(msg)
	return m.Sum(nil)
}

// singleHex returns the decoded hex value of param when it appears exactly once and is 32 bytes.
func singleHex(q url.Values, param string) ([]byte, bool) {
	vs := q[param]
	if len(vs) != 1 {
		return nil, false
	}
	b, err := hex.DecodeString(vs[0])
	if err != nil || len(b) != sha256.Size {
		return nil, false
	}
	return b, true
}

func anyMAC(secrets [][]byte, msg, got []byte) bool {
	ok := false
	for _, s := range secrets {
		if len(s) == 0 {
			continue
		}
		if hmac.Equal(mac(s, msg), got) {
			ok = true
		}
	}
	return ok
}
