// Package outbound owns the shape of coupontrail's own outbound webhooks: the
// event types a shop can subscribe to, the JSON envelope every delivery
// carries, the signature header (HMAC-SHA256 over "t.body") and the retry
// schedule. It is pure: standard library only, no database, no HTTP client,
// no Echo or asynq; the clock and randomness are passed in.
//
// A receiver verifies a delivery like this:
//
//	sig := r.Header.Get("X-Coupontrail-Signature") // "t=1767225600,v1=5f2c..."
//	err := outbound.Verify(secret, sig, body, time.Now(), 5*time.Minute)
//
// and de-duplicates on the envelope's "id" (the same for every retry of an
// event and for every endpoint that receives it).
package outbound

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event types. Later features add theirs here (and to Types) and emit them
// through store.EmitEvent.
const (
	CodeIssued   = "code.issued"
	CodeExpired  = "code.expired"
	CodeDisabled = "code.disabled"
	CodeEnabled  = "code.enabled"
	FraudAlert   = "fraud.alert"
	// CheckoutRecoveryCode carries a cart-recovery code and the URL that
	// applies it to the abandoned checkout (data: CheckoutRecoveryData).
	CheckoutRecoveryCode = "checkout.recovery_code"
)

// Types lists every event type an endpoint may subscribe to.
var Types = []string{CodeIssued, CodeExpired, CodeDisabled, CodeEnabled, FraudAlert, CheckoutRecoveryCode}

// ValidType reports whether t is a known event type.
func ValidType(t string) bool { return slices.Contains(Types, t) }

// Headers set on every delivery.
const (
	HeaderSignature = "X-Coupontrail-Signature"
	HeaderEvent     = "X-Coupontrail-Event"
	HeaderEventID   = "X-Coupontrail-Event-Id"
	HeaderAttempt   = "X-Coupontrail-Attempt"
)

// Timeout is how long one delivery attempt may take, end to end.
const Timeout = 10 * time.Second

// schedule is the wait before retry n (index 0 is the wait after the first
// failed attempt). len(schedule)+1 attempts in all, about 1.5 days, then the
// event is marked failed.
var schedule = []time.Duration{
	time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// MaxAttempts is the number of delivery attempts before an event is failed.
var MaxAttempts = len(schedule) + 1

// Backoff returns how long to wait after failed attempt number attempt (1 is
// the first attempt) before the next one, and false when attempt was the
// last one allowed.
func Backoff(attempt int) (time.Duration, bool) {
	if attempt < 1 {
		attempt = 1
	}
	if attempt > len(schedule) {
		return 0, false
	}
	return schedule[attempt-1], true
}

// Delivered reports whether an HTTP status counts as delivered: only 2xx.
func Delivered(status int) bool { return status >= 200 && status < 300 }

// Envelope is the JSON body of every delivery.
type Envelope struct {
	ID        string          `json:"id"`   // event id: the same for every retry and every endpoint
	Type      string          `json:"type"` // e.g. "code.issued"
	CreatedAt string          `json:"created_at"`
	ShopID    string          `json:"shop_id"`
	Data      json.RawMessage `json:"data"`
}

// Body renders the envelope of one event. It is deterministic: retries send
// the same bytes.
func Body(eventID, typ string, createdAt time.Time, shopID int64, data []byte) ([]byte, error) {
	if len(data) == 0 {
		data = []byte("{}")
	}
	return json.Marshal(Envelope{ID: eventID, Type: typ, CreatedAt: createdAt.UTC().Format(time.RFC3339Nano),
		ShopID: strconv.FormatInt(shopID, 10), Data: data})
}

// Sign returns the X-Coupontrail-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix>.<body>")>". Binding
// the timestamp into the MAC lets receivers refuse replays of old deliveries.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verification errors.
var (
	ErrBadSignature = errors.New("outbound: signature does not match")
	ErrMalformed    = errors.New("outbound: malformed signature header")
	ErrStale        = errors.New("outbound: signature timestamp outside tolerance")
)

// Verify checks a signature header against body with a constant-time
// comparison. Any v1 entry may match (several appear during secret
// rotation). tolerance <= 0 skips the timestamp check.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrMalformed
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return ErrMalformed
			}
			sigs = append(sigs, b)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrMalformed
	}
	if tolerance > 0 {
		d := now.Sub(time.Unix(unix, 0))
		if d < -tolerance || d > tolerance {
			return ErrStale
		}
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrBadSignature
}

// SecretPrefix starts every endpoint signing secret.
const SecretPrefix = "whsec_"

// NewSecret makes a signing secret from 32 bytes of rnd.
func NewSecret(rnd io.Reader) (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", fmt.Errorf("outbound: secret entropy: %w", err)
	}
	return SecretPrefix + hex.EncodeToString(b[:]), nil
}

// ValidateURL accepts an endpoint URL: absolute https, or http only for a
// loopback host (development and tests), no credentials, at most 2,000
// characters.
func ValidateURL(raw string) error {
	if len(raw) > 2000 {
		return errors.New("url is longer than 2000 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return errors.New("url must be an absolute https URL")
	}
	if u.User != nil {
		return errors.New("url must not carry credentials")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if h == "localhost" {
			return nil
		}
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
			return nil
		}
		return errors.New("url must use https (http is allowed only for localhost)")
	default:
		return errors.New("url must use https")
	}
}

// ValidateTypes checks a subscription list: known types, no duplicates. An
// empty list subscribes to every event.
func ValidateTypes(types []string) error {
	seen := map[string]bool{}
	for _, t := range types {
		if !ValidType(t) {
			return fmt.Errorf("unknown event type %q (known: %s)", t, strings.Join(Types, ", "))
		}
		if seen[t] {
			return fmt.Errorf("event type %q listed twice", t)
		}
		seen[t] = true
	}
	return nil
}

// CodeData is the "data" of the code.* events.
type CodeData struct {
	Code          string  `json:"code"`
	Status        string  `json:"status"`
	CampaignID    string  `json:"campaign_id"`
	PartnerID     *string `json:"partner_id"`
	Channel       string  `json:"channel"`
	CustomerID    *string `json:"customer_id"`
	CustomerEmail *string `json:"customer_email"`
	IssuedAt      *string `json:"issued_at"`
	ExpiresAt     *string `json:"expires_at"`
	Reason        string  `json:"reason,omitempty"`
}

// CheckoutRecoveryData is the data of a checkout.recovery_code event.
type CheckoutRecoveryData struct {
	CheckoutToken string  `json:"checkout_token"`
	Code          string  `json:"code"`
	CampaignID    string  `json:"campaign_id"`
	CustomerEmail string  `json:"customer_email"`
	CustomerID    *string `json:"customer_id"`
	ExpiresAt     *string `json:"expires_at"`
	RecoveryURL   string  `json:"recovery_url"`
	Currency      string  `json:"currency"`
	CartValue     string  `json:"cart_value"`
}

// SecretAD is the additional authenticated data an endpoint's signing
// secret is sealed with (secrets.Keyring.EncryptAD): a ciphertext copied
// into another shop's endpoint does not open.
func SecretAD(shopID int64) []byte {
	return []byte("webhook_endpoint|" + strconv.FormatInt(shopID, 10))
}
