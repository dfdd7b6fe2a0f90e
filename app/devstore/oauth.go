package devstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	grantRefresh       = "refresh_token"
	sessionTokenTTL    = 60 * time.Second
	sessionLeeway      = 10 * time.Second
)

type authCode struct {
	shop    string
	scope   string
	online  bool // grant_options[]=per-user
	expires time.Time
}

type accessToken struct {
	shop    string
	scope   string
	expires time.Time // zero: non-expiring (legacy)
	revoked bool
}

type refreshToken struct {
	shop    string
	scope   string
	expires time.Time
	revoked bool
}

// SignQuery returns Shopify's query HMAC: hex HMAC-SHA256, keyed with secret, over the parameters other than hmac
// and signature, sorted by key and joined as k=v with &. Values are used decoded.
func SignQuery(secret string, q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k == "hmac" || k == "signature" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strings.Join(q[k], ","))
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strings.Join(parts, "&")))
	return hex.EncodeToString(m.Sum(nil))
}

// SignWebhook returns the X-Shopify-Hmac-Sha256 value for body: base64 HMAC-SHA256 keyed with secret.
func SignWebhook(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// handleAuthorize auto-approves an install, as if the merchant clicked Install.
func (s *Store) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	domain := r.PathValue("shop")
	q := r.URL.Query()
	if !isShopDomain(domain) {
		http.Error(w, "unknown shop", http.StatusNotFound)
		return
	}
	if q.Get("client_id") != s.cfg.APIKey {
		http.Error(w, "Oauth error invalid_request: The client_id is invalid", http.StatusBadRequest)
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		redirect = s.cfg.AppURL + "/auth/callback"
	}
	ru, err := url.Parse(redirect)
	if err != nil || ru.Scheme == "" || ru.Host == "" {
		http.Error(w, "Oauth error invalid_request: The redirect_uri is not whitelisted", http.StatusBadRequest)
		return
	}
	code := randHex(16)
	s.mu.Lock()
	s.ensureShopLocked(domain, "")
	scope := q.Get("scope")
	if scope == "" {
		scope = s.cfg.Scopes
	}
	online := q.Get("grant_options[]") == "per-user"
	s.codes[code] = &authCode{shop: domain, scope: scope, online: online, expires: s.now().Add(10 * time.Minute)}
	s.mu.Unlock()

	handle := strings.TrimSuffix(domain, ".myshopify.com")
	out := url.Values{}
	out.Set("code", code)
	out.Set("shop", domain)
	out.Set("host", base64.RawStdEncoding.EncodeToString([]byte("admin.shopify.com/store/"+handle)))
	out.Set("timestamp", strconv.FormatInt(s.now().Unix(), 10))
	if st := q.Get("state"); st != "" {
		out.Set("state", st)
	}
	out.Set("hmac", SignQuery(s.cfg.APISecret, out))
	merged := ru.Query()
	for k, v := range out {
		merged[k] = v
	}
	ru.RawQuery = merged.Encode()
	http.Redirect(w, r, ru.String(), http.StatusFound)
}

// tokenRequest is the union of the access_token request bodies.
type tokenRequest struct {
	ClientID           string `json:"client_id"`
	ClientSecret       string `json:"client_secret"`
	Code               string `json:"code"`
	GrantType          string `json:"grant_type"`
	SubjectToken       string `json:"subject_token"`
	SubjectTokenType   string `json:"subject_token_type"`
	RequestedTokenType string `json:"requested_token_type"`
	Expiring           any    `json:"expiring"`
	RefreshToken       string `json:"refresh_token"`
}

func (t tokenRequest) expiring() bool {
	switch v := t.Expiring.(type) {
	case string:
		return v == "1" || v == "true"
	case float64:
		return v == 1
	case bool:
		return v
	}
	return false
}

func readTokenRequest(r *http.Request) (tokenRequest, error) {
	var t tokenRequest
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return t, err
	}
	if ct == "application/json" || (ct == "" && len(body) > 0 && body[0] == '{') {
		return t, json.Unmarshal(body, &t)
	}
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return t, err
	}
	for k, v := range r.URL.Query() { // go-shopify and some clients put parameters in the query
		if f.Get(k) == "" {
			f[k] = v
		}
	}
	t = tokenRequest{
		ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret"), Code: f.Get("code"),
		GrantType: f.Get("grant_type"), SubjectToken: f.Get("subject_token"),
		SubjectTokenType: f.Get("subject_token_type"), RequestedTokenType: f.Get("requested_token_type"),
		RefreshToken: f.Get("refresh_token"),
	}
	if e := f.Get("expiring"); e != "" {
		t.Expiring = e
	}
	return t, nil
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	body := map[string]any{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	writeJSON(w, status, body)
}

// handleAccessToken serves the code grant, token exchange and refresh.
func (s *Store) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	domain := r.PathValue("shop")
	t, err := readTokenRequest(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "unreadable body")
		return
	}
	if t.ClientID != s.cfg.APIKey || !hmac.Equal([]byte(t.ClientSecret), []byte(s.cfg.APISecret)) {
		oauthError(w, http.StatusBadRequest, "invalid_client", "Client credentials are invalid")
		return
	}
	switch {
	case t.GrantType == grantTokenExchange:
		s.tokenExchange(w, domain, t)
	case t.GrantType == grantRefresh:
		s.refreshGrant(w, domain, t)
	case t.Code != "" && (t.GrantType == "" || t.GrantType == "authorization_code"):
		s.codeGrant(w, domain, t)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	}
}

func (s *Store) codeGrant(w http.ResponseWriter, domain string, t tokenRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[t.Code]
	delete(s.codes, t.Code) // single use, even when it fails
	if !ok || c.shop != domain || s.now().After(c.expires) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The authorization code was not found or was already used")
		return
	}
	if c.online {
		writeJSON(w, http.StatusOK, s.issueOnlineLocked(domain, c.scope, "902541635"))
		return
	}
	writeJSON(w, http.StatusOK, s.issueLocked(domain, c.scope, t.expiring()))
}

// issueOnlineLocked issues an online (per-user, ~24 h, no refresh) access token.
func (s *Store) issueOnlineLocked(domain, scope, userID string) map[string]any {
	tok := "shpua_" + randHex(16)
	ttl := 24*time.Hour - time.Second
	s.access[tok] = &accessToken{shop: domain, scope: scope, expires: s.now().Add(ttl)}
	uid, _ := strconv.ParseInt(userID, 10, 64)
	return map[string]any{
		"access_token": tok, "scope": scope, "expires_in": int(ttl.Seconds()), "associated_user_scope": scope,
		"associated_user": map[string]any{"id": uid, "first_name": "Dev", "last_name": "User",
			"email": "user" + userID + "@" + domain, "email_verified": true, "account_owner": true,
			"locale": "en", "collaborator": false},
	}
}

// migrateToken swaps a legacy non-expiring offline token for an expiring pair (token exchange with
// subject_token_type offline-access-token). The old token is revoked at once, as Shopify does.
func (s *Store) migrateToken(w http.ResponseWriter, domain string, t tokenRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.access[t.SubjectToken]
	if !ok || at.revoked || at.shop != domain || !at.expires.IsZero() {
		oauthError(w, http.StatusBadRequest, "invalid_subject_token", "")
		return
	}
	at.revoked = true
	writeJSON(w, http.StatusOK, s.issueLocked(domain, at.scope, true))
}

func (s *Store) tokenExchange(w http.ResponseWriter, domain string, t tokenRequest) {
	if t.SubjectTokenType == "urn:shopify:params:oauth:token-type:offline-access-token" {
		s.migrateToken(w, domain, t)
		return
	}
	if t.SubjectTokenType != "" && t.SubjectTokenType != "urn:ietf:params:oauth:token-type:id_token" {
		oauthError(w, http.StatusBadRequest, "invalid_subject_token", "unsupported subject_token_type")
		return
	}
	claims, err := s.VerifySessionToken(t.SubjectToken)
	if err != nil || claims.shop() != domain {
		oauthError(w, http.StatusBadRequest, "invalid_subject_token", "")
		return
	}
	online := t.RequestedTokenType == "urn:shopify:params:oauth:token-type:online-access-token"
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureShopLocked(domain, "")
	if online {
		writeJSON(w, http.StatusOK, s.issueOnlineLocked(domain, s.cfg.Scopes, claims.Sub))
		return
	}
	writeJSON(w, http.StatusOK, s.issueLocked(domain, s.cfg.Scopes, t.expiring()))
}

func (s *Store) refreshGrant(w http.ResponseWriter, domain string, t tokenRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[t.RefreshToken]
	if !ok || rt.revoked || rt.shop != domain || !s.now().Before(rt.expires) {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token is invalid, expired or was already used")
		return
	}
	sh := s.shops[domain]
	if sh == nil || sh.uninstalled {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The app is not installed")
		return
	}
	sh.refreshes++
	writeJSON(w, http.StatusOK, s.issueLocked(domain, rt.scope, true))
}

// issueLocked issues an access token (and, when expiring, a refresh token that retires every older refresh token of
// the shop: Shopify keeps one refreshable token per app and store). Older access tokens keep working until expiry.
func (s *Store) issueLocked(domain, scope string, expiring bool) map[string]any {
	s.ensureShopLocked(domain, "")
	tok := "shpat_" + randHex(16)
	if !expiring {
		s.access[tok] = &accessToken{shop: domain, scope: scope}
		return map[string]any{"access_token": tok, "scope": scope}
	}
	for _, rt := range s.refresh {
		if rt.shop == domain {
			rt.revoked = true
		}
	}
	now := s.now()
	rtok := "shprt_" + randHex(16)
	s.access[tok] = &accessToken{shop: domain, scope: scope, expires: now.Add(s.accessTTL)}
	s.refresh[rtok] = &refreshToken{shop: domain, scope: scope, expires: now.Add(s.refreshTTL)}
	return map[string]any{
		"access_token":             tok,
		"expires_in":               int(s.accessTTL / time.Second),
		"refresh_token":            rtok,
		"refresh_token_expires_in": int(s.refreshTTL / time.Second),
		"scope":                    scope,
	}
}

// IssueAccessToken issues an access token for shop directly (no OAuth round trip), expiring like token exchange
// with expiring=1 when expiring is true. It returns the token response body.
func (s *Store) IssueAccessToken(domain string, expiring bool) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(domain, s.cfg.Scopes, expiring)
}

var errUnauthorized = errors.New("invalid access token")

// authAdmin resolves the X-Shopify-Access-Token of an Admin API call to its shop.
func (s *Store) authAdminLocked(domain, tok string) (*shop, error) {
	at, ok := s.access[tok]
	if !ok || at.revoked || at.shop != domain {
		return nil, errUnauthorized
	}
	if !at.expires.IsZero() && !s.now().Before(at.expires) {
		return nil, errUnauthorized
	}
	sh := s.shops[domain]
	if sh == nil || sh.uninstalled {
		return nil, errUnauthorized
	}
	return sh, nil
}

// revokeShopTokensLocked revokes every token of a shop (uninstall).
func (s *Store) revokeShopTokensLocked(domain string) {
	for _, at := range s.access {
		if at.shop == domain {
			at.revoked = true
		}
	}
	for _, rt := range s.refresh {
		if rt.shop == domain {
			rt.revoked = true
		}
	}
}

// SessionClaims are the claims of an App Bridge session token.
type SessionClaims struct {
	Iss  string `json:"iss"`
	Dest string `json:"dest"`
	Aud  string `json:"aud"`
	Sub  string `json:"sub"`
	Exp  int64  `json:"exp"`
	Nbf  int64  `json:"nbf"`
	Iat  int64  `json:"iat"`
	Jti  string `json:"jti"`
	Sid  string `json:"sid"`
}

func (c SessionClaims) shop() string {
	u, err := url.Parse(c.Dest)
	if err != nil {
		return ""
	}
	return u.Host
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// MintSessionToken returns an App Bridge session token (HS256 JWT keyed with the API secret) for a shop's staff
// user, valid for 60 s like Shopify's.
func (s *Store) MintSessionToken(shopDomain, userID string) (string, error) {
	if !isShopDomain(shopDomain) {
		return "", fmt.Errorf("devstore: %q is not a myshopify domain", shopDomain)
	}
	if userID == "" {
		userID = "902541635"
	}
	now := s.now()
	c := SessionClaims{
		Iss: "https://" + shopDomain + "/admin", Dest: "https://" + shopDomain, Aud: s.cfg.APIKey, Sub: userID,
		Exp: now.Add(sessionTokenTTL).Unix(), Nbf: now.Unix(), Iat: now.Unix(), Jti: newUUID(), Sid: randHex(16),
	}
	return s.signJWT(c)
}

func (s *Store) signJWT(c SessionClaims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	msg := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	m := hmac.New(sha256.New, []byte(s.cfg.APISecret))
	m.Write([]byte(msg))
	return msg + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

// VerifySessionToken checks a session token as Shopify does for token exchange: HS256 signature with the API secret,
// aud = API key, exp/nbf with 10 s leeway, iss and dest naming the same shop.
func (s *Store) VerifySessionToken(tok string) (SessionClaims, error) {
	var c SessionClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return c, errors.New("malformed token")
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return c, errors.New("malformed header")
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdr, &h) != nil || h.Alg != "HS256" {
		return c, errors.New("unexpected alg")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, errors.New("malformed signature")
	}
	m := hmac.New(sha256.New, []byte(s.cfg.APISecret))
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, m.Sum(nil)) {
		return c, errors.New("bad signature")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil {
		return c, errors.New("malformed payload")
	}
	now := s.now()
	switch {
	case c.Aud != s.cfg.APIKey:
		return c, errors.New("wrong audience")
	case c.Exp == 0 || now.After(time.Unix(c.Exp, 0).Add(sessionLeeway)):
		return c, errors.New("expired")
	case now.Add(sessionLeeway).Before(time.Unix(c.Nbf, 0)):
		return c, errors.New("not yet valid")
	}
	iss, err1 := url.Parse(c.Iss)
	dest, err2 := url.Parse(c.Dest)
	if err1 != nil || err2 != nil || iss.Host != dest.Host || !isShopDomain(dest.Host) {
		return c, errors.New("iss/dest mismatch")
	}
	return c, nil
}
