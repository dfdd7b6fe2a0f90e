package shopify

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SessionTokenLeeway is the clock tolerance for exp, nbf and iat; Shopify's Node library uses the same 10 s.
// Session tokens live one minute, so without leeway small clock skew turns into spurious 401s.
const SessionTokenLeeway = 10 * time.Second

// ErrInvalidSessionToken is the parent of every session-token verification error: errors.Is(err,
// ErrInvalidSessionToken) means "answer 401 with X-Shopify-Retry-Invalid-Session-Request: 1" (or bounce a document
// request). The specific errors below say why.
var ErrInvalidSessionToken = errors.New("shopify: invalid session token")

// Specific session-token errors; each satisfies errors.Is(err, ErrInvalidSessionToken).
var (
	// ErrSessionTokenMalformed: not a JWT, bad encoding, or a required claim missing or of the wrong type.
	ErrSessionTokenMalformed error = sessionTokenError("malformed")
	// ErrSessionTokenSignature: the alg is not HS256 or the signature does not verify with any secret.
	ErrSessionTokenSignature error = sessionTokenError("bad signature or algorithm")
	// ErrSessionTokenExpired: exp is more than the leeway in the past.
	ErrSessionTokenExpired error = sessionTokenError("expired")
	// ErrSessionTokenNotYetValid: nbf or iat is more than the leeway in the future.
	ErrSessionTokenNotYetValid error = sessionTokenError("not yet valid")
	// ErrSessionTokenAudience: aud does not contain the app's API key.
	ErrSessionTokenAudience error = sessionTokenError("wrong audience")
	// ErrSessionTokenShop: dest is not https://{valid}.myshopify.com, or iss is not https://{same shop}/admin.
	ErrSessionTokenShop error = sessionTokenError("bad iss/dest shop")
)

type sessionTokenError string

func (e sessionTokenError) Error() string        { return "shopify: session token " + string(e) }
func (e sessionTokenError) Is(target error) bool { return target == ErrInvalidSessionToken }

// SessionClaims is what a verified App Bridge session token says.
type SessionClaims struct {
	// Shop is the lowercase shop domain from dest, e.g. "my-store.myshopify.com".
	Shop string
	// UserID is sub: the Shopify admin user id (a numeric string). It may be empty for tokens not tied to a user.
	UserID string
	// SessionID is sid, unique per user and app session.
	SessionID string
	// JTI is the token's unique id, usable for optional replay detection.
	JTI string
	// IssuedAt and ExpiresAt are iat and exp (zero when absent).
	IssuedAt, ExpiresAt time.Time
}

type sessionJWTClaims struct {
	jwt.RegisteredClaims
	Dest string `json:"dest"`
	SID  string `json:"sid,omitempty"`
}

// VerifySessionToken verifies an App Bridge session token (Authorization: Bearer, or the id_token query parameter):
// HS256 only, signed with one of secrets (current client secret first, then the previous one during rotation), aud
// containing apiKey, exp required, exp/nbf/iat checked against now with SessionTokenLeeway, dest an
// https://{shop}.myshopify.com origin and iss exactly https://{same shop}/admin. Errors satisfy
// errors.Is(err, ErrInvalidSessionToken) and one of the specific ErrSessionToken* values.
func VerifySessionToken(token string, apiKey string, secrets [][]byte, now time.Time) (*SessionClaims, error) {
	if apiKey == "" {
		return nil, errors.New("shopify: VerifySessionToken: empty api key")
	}
	keys := make([]jwt.VerificationKey, 0, len(secrets))
	for _, s := range secrets {
		if len(s) > 0 {
			keys = append(keys, s)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("shopify: VerifySessionToken: no secrets configured")
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithLeeway(SessionTokenLeeway),
		jwt.WithAudience(apiKey),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	var c sessionJWTClaims
	_, err := p.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) {
		return jwt.VerificationKeySet{Keys: keys}, nil
	})
	if err != nil {
		return nil, classifyJWTError(err)
	}
	shop, err := shopFromIssDest(c.Issuer, c.Dest)
	if err != nil {
		return nil, err
	}
	out := &SessionClaims{Shop: shop, UserID: c.Subject, SessionID: c.SID, JTI: c.ID}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.Time
	}
	if c.ExpiresAt != nil {
		out.ExpiresAt = c.ExpiresAt.Time
	}
	return out, nil
}

// classifyJWTError maps golang-jwt errors to ours. Signature problems are checked first: claims are only validated
// after the signature verifies, so a claims error implies an authentic token.
func classifyJWTError(err error) error {
	var kind error
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		kind = ErrSessionTokenSignature
	case errors.Is(err, jwt.ErrTokenMalformed):
		kind = ErrSessionTokenMalformed
	case errors.Is(err, jwt.ErrTokenExpired):
		kind = ErrSessionTokenExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		kind = ErrSessionTokenNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		kind = ErrSessionTokenAudience
	default:
		kind = ErrSessionTokenMalformed
	}
	return fmt.Errorf("%w: %v", kind, err)
}

func shopFromIssDest(iss, dest string) (string, error) {
	d, err := url.Parse(dest)
	if err != nil || d.Scheme != "https" || d.User != nil || d.Port() != "" ||
		(d.Path != "" && d.Path != "/") || d.RawQuery != "" || d.Fragment != "" || d.Opaque != "" {
		return "", fmt.Errorf("%w: dest %q is not an https shop origin", ErrSessionTokenShop, dest)
	}
	shop := strings.ToLower(d.Host)
	if !ValidShopDomain(shop) {
		return "", fmt.Errorf("%w: dest host %q is not a myshopify.com shop", ErrSessionTokenShop, d.Host)
	}
	if !strings.EqualFold(iss, "https://"+shop+"/admin") {
		return "", fmt.Errorf("%w: iss %q does not name dest shop %q", ErrSessionTokenShop, iss, shop)
	}
	return shop, nil
}

// MintSessionToken signs a session token the way Shopify does (HS256 with the client secret; iss, dest, aud, sub,
// exp = now+ttl, nbf = iat = now, random jti and sid). The dev store and tests use it; production never mints.
func MintSessionToken(shop, user, apiKey string, secret []byte, now time.Time, ttl time.Duration) (string, error) {
	if !ValidShopDomain(shop) {
		return "", ErrInvalidShop
	}
	if len(secret) == 0 {
		return "", errors.New("shopify: MintSessionToken: empty secret")
	}
	now = now.Truncate(time.Second)
	c := sessionJWTClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "https://" + shop + "/admin",
			Subject:   user,
			Audience:  jwt.ClaimStrings{apiKey},
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        randomHex(16),
		},
		Dest: "https://" + shop,
		SID:  randomHex(16),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b)
}
