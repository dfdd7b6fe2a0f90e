package shopify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
)

// fixturesDir is the shared fixtures tree (see /work/shared/fixtures/shopify/PROVENANCE.md). SHOPIFY_FIXTURES
// overrides it. A missing tree fails the tests: the vectors are the point.
func fixturesDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SHOPIFY_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "fixtures", "shopify")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("fixtures not found at %s (set SHOPIFY_FIXTURES): %v", dir, err)
	}
	return dir
}

type vectorFile struct {
	path string
	m    map[string]any
}

func loadVectors(t testing.TB) []vectorFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fixturesDir(t), "*", "vectors", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no vector files found")
	}
	sort.Strings(paths)
	out := make([]vectorFile, 0, len(paths))
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, vectorFile{path: p, m: m})
	}
	return out
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func str(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

func boolField(m map[string]any, key string) (value, ok bool) {
	b, ok := m[key].(bool)
	return b, ok
}

// vectorQuery builds url.Values from whichever input form a vector uses.
func vectorQuery(t *testing.T, in map[string]any) url.Values {
	t.Helper()
	switch {
	case in["callback_url"] != nil:
		u, err := url.Parse(in["callback_url"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return u.Query()
	case in["query_string"] != nil:
		q, err := url.ParseQuery(in["query_string"].(string))
		if err != nil {
			t.Fatal(err)
		}
		return q
	case in["query_in_order"] != nil:
		q := url.Values{}
		for _, p := range in["query_in_order"].([]any) {
			kv := p.([]any)
			q.Add(kv[0].(string), kv[1].(string))
		}
		return q
	case in["params"] != nil:
		q := url.Values{}
		for k, v := range obj(in["params"]) {
			switch x := v.(type) {
			case []any:
				for _, e := range x {
					s, ok := str(e)
					if !ok {
						t.Fatalf("param %q: unsupported element %T", k, e)
					}
					q.Add(k, s)
				}
			default:
				s, ok := str(x)
				if !ok {
					t.Fatalf("param %q: unsupported value %T", k, v)
				}
				q.Add(k, s)
			}
		}
		return q
	}
	t.Fatalf("unknown input form: %v", keys(in))
	return nil
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestVectors gives every signature vector in the shared fixtures the verdict its source library gives. Unknown
// kinds and unknown expectation shapes fail, so a new vector cannot be skipped silently.
func TestVectors(t *testing.T) {
	t.Parallel()
	for _, vf := range loadVectors(t) {
		name := filepath.Base(filepath.Dir(filepath.Dir(vf.path))) + "/" + filepath.Base(vf.path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			kind, _ := vf.m["kind"].(string)
			switch kind {
			case "webhook_hmac":
				checkWebhookVector(t, vf.m)
			case "app_proxy_signature":
				checkAppProxyVector(t, vf.m)
			case "oauth_callback_hmac":
				checkOAuthCallbackVector(t, vf.m)
			case "oauth_hmac_canonicalization":
				checkCanonicalizationVector(t, vf.m)
			case "graphql_cost_retry_after":
				checkRetryAfterVector(t, vf.m)
			default:
				t.Fatalf("unknown vector kind %q: teach TestVectors about it", kind)
			}
		})
	}
}

func checkWebhookVector(t *testing.T, m map[string]any) {
	in, exp := obj(m["input"]), obj(m["expected"])
	want, ok := boolField(exp, "valid")
	if !ok {
		t.Fatalf("webhook vector without expected.valid: %v", keys(exp))
	}
	secret := []byte(in["secret"].(string))
	body := []byte(in["raw_body"].(string))
	header, _ := in["header_X-Shopify-Hmac-Sha256"].(string) // null means header absent
	secrets := [][]byte{secret}
	if old, ok := in["old_secret"].(string); ok {
		secrets = append(secrets, []byte(old))
	}
	if got := VerifyWebhookAny(secrets, body, header); got != want {
		t.Errorf("VerifyWebhookAny = %v, want %v", got, want)
	}
	if len(secrets) > 1 && want {
		// Rotation vectors: exactly one of the secrets matches on its own.
		n := 0
		for _, s := range secrets {
			if VerifyWebhook(s, body, header) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d secrets verify individually, want 1", n)
		}
	}
	if v := obj(m["verification"]); v != nil && strings.Contains(fmt.Sprint(v["method"]), "base64") {
		msg := []byte(v["message_hmac_was_computed_over"].(string))
		if got := SignWebhook(secret, msg); got != v["computed"] && (len(secrets) == 1 || SignWebhook(secrets[1], msg) != v["computed"]) {
			t.Errorf("SignWebhook = %q, want %q", got, v["computed"])
		}
	}
}

func checkAppProxyVector(t *testing.T, m map[string]any) {
	in, exp := obj(m["input"]), obj(m["expected"])
	want, ok := boolField(exp, "valid")
	if !ok {
		t.Fatalf("app proxy vector without expected.valid: %v", keys(exp))
	}
	secret := []byte(in["secret"].(string))
	q := vectorQuery(t, in)
	if got := VerifyAppProxyQuery(secret, q); got != want {
		t.Errorf("VerifyAppProxyQuery = %v, want %v", got, want)
	}
	canon, _ := m["canonical_message"].(string)
	if canon == "" {
		canon, _ = obj(m["verification"])["canonical_message"].(string)
	}
	if canon == "" {
		t.Fatal("app proxy vector without canonical_message")
	}
	if got := AppProxyMessage(q); got != canon {
		t.Errorf("AppProxyMessage = %q, want %q", got, canon)
	}
	// Differential: go-shopify (the source library) agrees.
	u := &url.URL{RawQuery: in["query_string"].(string)}
	if got := (goshopify.App{ApiSecret: string(secret)}).VerifySignature(u); got != want {
		t.Errorf("go-shopify VerifySignature = %v, want %v", got, want)
	}
}

func checkOAuthCallbackVector(t *testing.T, m map[string]any) {
	in, exp := obj(m["input"]), obj(m["expected"])
	secret := []byte(in["secret"].(string))
	q := vectorQuery(t, in)

	var want bool
	switch {
	case exp["valid_under_sorted_keys_rule"] != nil:
		// shopify-api-php signs in insertion order; Shopify documents sorted keys, so we must reject it. Prove the
		// vector is genuine under PHP's rule first, so the rejection is not an accident.
		want, _ = boolField(exp, "valid_under_sorted_keys_rule")
		if php, _ := boolField(exp, "valid_in_shopify_api_php"); php {
			var parts []string
			var claimed string
			for _, p := range in["query_in_order"].([]any) {
				kv := p.([]any)
				if kv[0] == "hmac" {
					claimed = kv[1].(string)
					continue
				}
				parts = append(parts, kv[0].(string)+"="+kv[1].(string))
			}
			if got := hex.EncodeToString(mac(secret, []byte(strings.Join(parts, "&")))); got != claimed {
				t.Fatalf("vector does not verify under PHP insertion order: %s != %s", got, claimed)
			}
		}
		if canon, _ := obj(m["verification_sorted"])["canonical_message"].(string); canon != "" {
			if got, err := OAuthMessage(q); err != nil || got != canon {
				t.Errorf("OAuthMessage = %q, %v; want %q", got, err, canon)
			}
		}
	case exp["valid"] != nil:
		want, _ = boolField(exp, "valid")
	case exp["valid_signature"] != nil:
		want, _ = boolField(exp, "valid_signature")
	case exp["validate_params"] != nil:
		// shopify_python_api validate_params = signature + 24 h timestamp window.
		want, _ = boolField(exp, "validate_params")
		_, err := VerifyInstallRequest(q, [][]byte{secret}, time.Now(), QueryPolicy{MaxAge: 24 * time.Hour})
		if (err == nil) != want {
			t.Errorf("VerifyInstallRequest error = %v, want valid=%v", err, want)
		}
	default:
		t.Fatalf("unknown expectation shape: %v", keys(exp))
	}

	if got := VerifyOAuthQuery(secret, q); got != want {
		t.Errorf("VerifyOAuthQuery = %v, want %v", got, want)
	}
	if exp["valid_under_sorted_keys_rule"] == nil {
		if canon, _ := m["canonical_message"].(string); canon != "" {
			if got, err := OAuthMessage(q); err != nil || got != canon {
				t.Errorf("OAuthMessage = %q, %v; want %q", got, err, canon)
			}
		}
	}
	if src := obj(m["source"]); src["module"] == "github.com/bold-commerce/go-shopify/v4" {
		u, _ := url.Parse(in["callback_url"].(string))
		got, err := (goshopify.App{ApiSecret: string(secret)}).VerifyAuthorizationURL(u)
		if err != nil || got != want {
			t.Errorf("go-shopify VerifyAuthorizationURL = %v, %v; want %v", got, err, want)
		}
	}

	// Full callback/install checks around a valid signature: fresh at the signed time, stale a day later.
	if !want || q.Get("timestamp") == "" {
		return
	}
	sec, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	signedAt := time.Unix(sec, 0)
	secrets := [][]byte{[]byte("other-secret"), secret}
	if shop, err := VerifyInstallRequest(q, secrets, signedAt.Add(30*time.Second), QueryPolicy{}); err != nil || shop != q.Get("shop") {
		t.Errorf("VerifyInstallRequest at signing time = %q, %v", shop, err)
	}
	if _, err := VerifyInstallRequest(q, secrets, signedAt.Add(91*time.Second), QueryPolicy{MaxAge: 90 * time.Second}); !errors.Is(err, ErrTimestampExpired) {
		t.Errorf("VerifyInstallRequest 91 s later with 90 s window = %v, want ErrTimestampExpired", err)
	}
	if _, err := VerifyInstallRequest(q, secrets, time.Now(), QueryPolicy{}); !errors.Is(err, ErrTimestampExpired) {
		t.Errorf("VerifyInstallRequest today = %v, want ErrTimestampExpired", err)
	}
	if state := q.Get("state"); state != "" && q.Get("code") != "" {
		cb, err := VerifyCallback(q, secrets, state, signedAt, QueryPolicy{})
		if err != nil || cb.Code != q.Get("code") || cb.Shop != q.Get("shop") || !cb.Timestamp.Equal(signedAt) {
			t.Errorf("VerifyCallback = %+v, %v", cb, err)
		}
		if _, err := VerifyCallback(q, secrets, state+"x", signedAt, QueryPolicy{}); !errors.Is(err, ErrStateMismatch) {
			t.Errorf("VerifyCallback wrong state = %v, want ErrStateMismatch", err)
		}
	}
}

func checkCanonicalizationVector(t *testing.T, m map[string]any) {
	in, exp := obj(m["input"]), obj(m["expected"])
	canon, ok1 := exp["canonical_message"].(string)
	want, ok2 := exp["hmac_hex"].(string)
	if !ok1 || !ok2 {
		t.Fatalf("canonicalization vector without canonical_message/hmac_hex: %v", keys(exp))
	}
	if v, ok := exp["valid"]; ok && v != true {
		t.Fatalf("unexpected expected.valid = %v", v)
	}
	secret := []byte(in["secret"].(string))
	q := vectorQuery(t, in)
	got, err := OAuthMessage(q)
	if err != nil || got != canon {
		t.Errorf("OAuthMessage = %q, %v; want %q", got, err, canon)
	}
	if sig, err := SignOAuthQuery(secret, q); err != nil || sig != want {
		t.Errorf("SignOAuthQuery = %q, %v; want %q", sig, err, want)
	}
	q.Set("hmac", want)
	if !VerifyOAuthQuery(secret, q) {
		t.Error("VerifyOAuthQuery = false, want true")
	}
}

// checkRetryAfterVector: not a signature vector; it pins go-shopify's GraphQLCost.RetryAfterSeconds, which our
// rate limiting relies on.
func checkRetryAfterVector(t *testing.T, m map[string]any) {
	cases, _ := m["cases"].([]any)
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	num := func(v any) float64 {
		f, err := v.(json.Number).Float64()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for i, c := range cases {
		cm := obj(c)
		ts := obj(cm["throttleStatus"])
		cost := goshopify.GraphQLCost{
			RequestedQueryCost: int(num(cm["requestedQueryCost"])),
			ThrottleStatus: goshopify.GraphQLThrottleStatus{
				MaximumAvailable:   num(ts["maximumAvailable"]),
				CurrentlyAvailable: num(ts["currentlyAvailable"]),
				RestoreRate:        num(ts["restoreRate"]),
			},
		}
		if cm["actualQueryCost"] != nil {
			a := int(num(cm["actualQueryCost"]))
			cost.ActualQueryCost = &a
		}
		want := num(cm["expected_retry_after_seconds"])
		if got := cost.RetryAfterSeconds(); math.Abs(got-want) > 1e-9 {
			t.Errorf("case %d: RetryAfterSeconds = %v, want %v", i, got, want)
		}
	}
}
