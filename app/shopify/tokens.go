package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Token-endpoint grant and token-type URNs (shopify.dev token-exchange and offline-access-tokens pages).
const (
	GrantTypeTokenExchange    = "urn:ietf:params:oauth:grant-type:token-exchange"
	GrantTypeRefreshToken     = "refresh_token"
	TokenTypeIDToken          = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeOfflineAccess    = "urn:shopify:params:oauth:token-type:offline-access-token"
	accessTokenPath           = "/admin/oauth/access_token"
	defaultHTTPTimeout        = 10 * time.Second
	maxTokenResponseBytes     = 1 << 20
	maxErrorDescriptionLength = 200
)

// RefreshMargin is how long before expiry NeedsRefresh asks for a refresh (Shopify's Node library uses 5 minutes).
const RefreshMargin = 5 * time.Minute

var (
	// ErrInvalidSubjectToken is Shopify's 400 {"error":"invalid_subject_token"}: the session token (or legacy token
	// being migrated) is invalid or expired. Get a fresh session token (bounce or 401 + retry header) and try again.
	ErrInvalidSubjectToken = errors.New("shopify: invalid subject token")
	// ErrInvalidGrant is an OAuth "invalid_grant" error: the refresh token or authorization code was rejected (used,
	// expired or revoked). A refresh that fails this way needs a new token exchange. VERIFY the exact code Shopify
	// returns for a spent refresh token against a dev store.
	ErrInvalidGrant = errors.New("shopify: invalid grant")
)

// TokenError is a non-2xx answer from the token endpoint. It never carries the request (which holds the client
// secret) or the raw response body. It wraps ErrInvalidSubjectToken or ErrInvalidGrant when Code says so.
type TokenError struct {
	Status      int    // HTTP status
	Code        string // OAuth "error" field, if the body was JSON
	Description string // "error_description" (or Shopify's "errors"), truncated
}

// Error implements error.
func (e *TokenError) Error() string {
	s := fmt.Sprintf("shopify: token endpoint: HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Unwrap lets errors.Is match ErrInvalidSubjectToken and ErrInvalidGrant.
func (e *TokenError) Unwrap() error {
	switch e.Code {
	case "invalid_subject_token":
		return ErrInvalidSubjectToken
	case "invalid_grant":
		return ErrInvalidGrant
	}
	return nil
}

// AccessToken is a token-endpoint result. Zero ExpiresAt means a legacy non-expiring offline token; expiring offline
// tokens carry a RefreshToken and RefreshExpiresAt. Store Token and RefreshToken encrypted (app/secrets) and
// together, atomically: a refresh invalidates the previous refresh token.
type AccessToken struct {
	Token            string
	Scope            string
	ExpiresAt        time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// Expiring reports whether the token has an expiry (an expiring offline or an online token).
func (t *AccessToken) Expiring() bool { return !t.ExpiresAt.IsZero() }

// NeedsRefresh reports whether tok should be refreshed now: it expires in less than RefreshMargin. Non-expiring
// tokens never need a refresh (but must be migrated with MigrateToExpiring before 2027-01-01).
func NeedsRefresh(now time.Time, tok *AccessToken) bool {
	if tok == nil || tok.ExpiresAt.IsZero() {
		return false
	}
	return tok.ExpiresAt.Sub(now) < RefreshMargin
}

// TokenClient calls Shopify's token endpoint, POST {AdminURL(shop)}/admin/oauth/access_token. It is safe for
// concurrent use; serialising refreshes per shop (single flight) is the caller's job.
type TokenClient struct {
	APIKey, APISecret string
	// HTTP is the client to use; nil means one with a 10 s timeout.
	HTTP *http.Client
	// AdminURL maps a shop to its admin base URL; nil means https://{shop}. Use AdminURLFunc(template).
	AdminURL func(shop string) string
	// Now is the clock used to turn expires_in into ExpiresAt; nil means time.Now.
	Now func() time.Time
}

// ExchangeSessionToken trades an App Bridge session token for an expiring offline access token
// (token exchange, requested_token_type offline-access-token, expiring=1). Do it once per install, not per request.
func (c *TokenClient) ExchangeSessionToken(ctx context.Context, shop, sessionToken string) (*AccessToken, error) {
	return c.post(ctx, shop, map[string]string{
		"grant_type":           GrantTypeTokenExchange,
		"subject_token":        sessionToken,
		"subject_token_type":   TokenTypeIDToken,
		"requested_token_type": TokenTypeOfflineAccess,
		"expiring":             "1",
	})
}

// MigrateToExpiring trades a legacy non-expiring offline token for an expiring one. It is irreversible and revokes
// the old token as soon as the new one is issued, so persist the result before using it.
func (c *TokenClient) MigrateToExpiring(ctx context.Context, shop, legacyToken string) (*AccessToken, error) {
	return c.post(ctx, shop, map[string]string{
		"grant_type":           GrantTypeTokenExchange,
		"subject_token":        legacyToken,
		"subject_token_type":   TokenTypeOfflineAccess,
		"requested_token_type": TokenTypeOfflineAccess,
		"expiring":             "1",
	})
}

// Refresh trades a refresh token for a new access and refresh token pair. The old refresh token stops working once
// the new one is issued, so run at most one refresh per shop at a time and persist both tokens atomically.
func (c *TokenClient) Refresh(ctx context.Context, shop, refreshToken string) (*AccessToken, error) {
	return c.post(ctx, shop, map[string]string{
		"grant_type":    GrantTypeRefreshToken,
		"refresh_token": refreshToken,
	})
}

// ExchangeCode is the legacy authorization-code exchange, asking for an expiring offline token (expiring=1). It does
// not use go-shopify's App.GetAccessToken because that drops scope, expiry and refresh token. Check that Scope
// covers what the app needs: merchants can edit the authorize URL.
func (c *TokenClient) ExchangeCode(ctx context.Context, shop, code string) (*AccessToken, error) {
	return c.post(ctx, shop, map[string]string{
		"code":     code,
		"expiring": "1",
	})
}

type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	Scope                 string `json:"scope"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshToken          string `json:"refresh_token"`
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
}

type tokenErrorBody struct {
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
	Errors           json.RawMessage `json:"errors"`
}

func (c *TokenClient) post(ctx context.Context, shop string, fields map[string]string) (*AccessToken, error) {
	if !ValidShopDomain(shop) {
		return nil, ErrInvalidShop
	}
	if c.APIKey == "" || c.APISecret == "" {
		return nil, errors.New("shopify: token endpoint: api key or secret not configured")
	}
	for k, v := range fields {
		if v == "" {
			return nil, fmt.Errorf("shopify: token endpoint: empty %s", k)
		}
	}
	body := map[string]string{"client_id": c.APIKey, "client_secret": c.APISecret}
	for k, v := range fields {
		body[k] = v
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("shopify: token endpoint: encode: %w", err)
	}
	base := "https://" + shop
	if c.AdminURL != nil {
		base = strings.TrimRight(c.AdminURL(shop), "/")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+accessTokenPath, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("shopify: token endpoint: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: defaultHTTPTimeout}
	}
	// Take the clock before the request so ExpiresAt errs on the early side.
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error carries only method and URL; the body with the secret is never part of it.
		return nil, fmt.Errorf("shopify: token endpoint %s: %w", shop, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("shopify: token endpoint %s: read: %w", shop, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, parseTokenError(resp.StatusCode, raw)
	}
	var tr tokenResponse
	if err := json.Unmarshal(raw, &tr); err != nil {
		return nil, fmt.Errorf("shopify: token endpoint %s: decode response: %w", shop, err)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("shopify: token endpoint %s: response has no access_token", shop)
	}
	tok := &AccessToken{Token: tr.AccessToken, Scope: tr.Scope, RefreshToken: tr.RefreshToken}
	if tr.ExpiresIn > 0 {
		tok.ExpiresAt = now.Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	if tr.RefreshTokenExpiresIn > 0 {
		tok.RefreshExpiresAt = now.Add(time.Duration(tr.RefreshTokenExpiresIn) * time.Second)
	}
	return tok, nil
}

func parseTokenError(status int, raw []byte) *TokenError {
	e := &TokenError{Status: status}
	var b tokenErrorBody
	if json.Unmarshal(raw, &b) == nil {
		e.Code = b.Error
		e.Description = b.ErrorDescription
		if e.Description == "" && len(b.Errors) > 0 {
			var s string
			if json.Unmarshal(b.Errors, &s) == nil {
				e.Description = s
			} else {
				e.Description = string(b.Errors)
			}
		}
	}
	if len(e.Description) > maxErrorDescriptionLength {
		e.Description = e.Description[:maxErrorDescriptionLength] + "..."
	}
	return e
}
