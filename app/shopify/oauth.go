package shopify

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"time"
)

// Legacy authorization-code grant checks (only needed with use_legacy_install_flow = true). The HTTP handler that
// sets the state cookie, escapes the iframe and stores the token lives elsewhere; these functions are pure.

var (
	// ErrStateMismatch reports a callback whose state is missing or differs from the browser-bound nonce.
	ErrStateMismatch = errors.New("shopify: oauth state mismatch")
	// ErrMissingCode reports a callback without an authorization code.
	ErrMissingCode = errors.New("shopify: oauth callback without code")
)

// Default timestamp windows for VerifyCallback and VerifyInstallRequest.
const (
	// DefaultMaxAge bounds how old a signed query may be. shopify_python_api uses 24 h; Shopify's Node library
	// uses 90 s. 24 h tolerates slow consent screens; tighten it with QueryPolicy.MaxAge.
	DefaultMaxAge = 24 * time.Hour
	// DefaultMaxFuture bounds clock skew in the other direction (Node library: 90 s).
	DefaultMaxFuture = 90 * time.Second
)

// QueryPolicy sets the timestamp window for signed admin queries. Zero fields mean the defaults.
type QueryPolicy struct {
	MaxAge    time.Duration
	MaxFuture time.Duration
}

func (p QueryPolicy) window() (time.Duration, time.Duration) {
	age, fut := p.MaxAge, p.MaxFuture
	if age <= 0 {
		age = DefaultMaxAge
	}
	if fut <= 0 {
		fut = DefaultMaxFuture
	}
	return age, fut
}

// Callback is a verified OAuth callback.
type Callback struct {
	Shop      string    // lowercase shop domain
	Code      string    // authorization code for TokenClient.ExchangeCode
	Host      string    // base64 "host" parameter, if present (App Bridge needs it)
	Timestamp time.Time // the signed timestamp
}

// NewState returns a fresh random OAuth state nonce (32 bytes, base64url). Bind it to the browser in a signed,
// HttpOnly cookie and pass it to AuthorizeURL.
func NewState() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// VerifyInstallRequest checks a signed admin query without state or code (the install request, or the first
// embedded load with id_token): a valid shop, an hmac valid under one of secrets, and a timestamp inside policy's
// window. It returns the lowercase shop domain.
func VerifyInstallRequest(q url.Values, secrets [][]byte, now time.Time, policy QueryPolicy) (string, error) {
	shop, _, err := verifySignedQuery(q, secrets, now, policy)
	return shop, err
}

// VerifyCallback checks an OAuth callback query: the shop is a valid myshopify.com domain, the hmac (sorted
// canonical form, constant time) verifies with one of secrets, the timestamp is within policy's window, state equals
// browserState (the nonce from the signed cookie; constant time; both non-empty) and a code is present. Errors are
// ErrInvalidShop, ErrInvalidHMAC, ErrTimestamp*, ErrStateMismatch or ErrMissingCode; all mean "reject with 400/401".
func VerifyCallback(q url.Values, secrets [][]byte, browserState string, now time.Time, policy QueryPolicy) (*Callback, error) {
	shop, ts, err := verifySignedQuery(q, secrets, now, policy)
	if err != nil {
		return nil, err
	}
	state := q.Get("state")
	if len(q["state"]) != 1 || state == "" || browserState == "" ||
		subtle.ConstantTimeCompare([]byte(state), []byte(browserState)) != 1 {
		return nil, ErrStateMismatch
	}
	code := q.Get("code")
	if len(q["code"]) != 1 || code == "" {
		return nil, ErrMissingCode
	}
	return &Callback{Shop: shop, Code: code, Host: q.Get("host"), Timestamp: ts}, nil
}

func verifySignedQuery(q url.Values, secrets [][]byte, now time.Time, policy QueryPolicy) (string, time.Time, error) {
	if len(q["shop"]) != 1 || !ValidShopDomain(q.Get("shop")) {
		return "", time.Time{}, ErrInvalidShop
	}
	if !VerifyOAuthQueryAny(secrets, q) {
		return "", time.Time{}, ErrInvalidHMAC
	}
	maxAge, maxFuture := policy.window()
	if len(q["timestamp"]) != 1 {
		return "", time.Time{}, ErrTimestampMissing
	}
	if err := CheckTimestamp(q.Get("timestamp"), now, maxAge, maxFuture); err != nil {
		return "", time.Time{}, err
	}
	sec, _ := strconv.ParseInt(q.Get("timestamp"), 10, 64) // CheckTimestamp parsed it already
	ts := time.Unix(sec, 0).UTC()
	shop, err := NormalizeShop(q.Get("shop"))
	if err != nil {
		return "", time.Time{}, err
	}
	return shop, ts, nil
}
