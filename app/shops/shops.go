// Package shops owns a shop's installation and its Admin API access: token
// exchange at install, legacy code exchange, single-flight refresh of
// expiring offline tokens (a PostgreSQL row lock, so exactly one replica
// refreshes), tokens encrypted at rest, and Admin API clients that share one
// cost limiter per shop across replicas. It never touches HTTP requests.
package shops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/coupontrail/coupontrail/app/secrets"
	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/store"
)

// ErrNotInstalled means the shop has no usable access token.
var ErrNotInstalled = errors.New("shop not installed")

// Service manages shop tokens and Admin API clients.
type Service struct {
	Store       *store.Store
	Keyring     *secrets.Keyring
	Tokens      *shopify.TokenClient
	AdminURL    func(shop string) string
	APIVersion  string
	Limiter     admin.Limiter
	Metrics     admin.Metrics
	HTTPClient  *http.Client
	Log         *slog.Logger
	Now         func() time.Time
	OnInstalled func(ctx context.Context, sh *store.Shop) // optional: e.g. fetch shop details

	keys keyCache
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now()
}

// tokenAD binds a ciphertext to its shop and field, so a token copied into
// another shop's row (or swapped between fields) does not decrypt.
func tokenAD(domain, field string) []byte { return []byte(domain + "|" + field) }

func (s *Service) seal(domain string, t *shopify.AccessToken) (store.ShopTokens, error) {
	acc, err := s.Keyring.EncryptAD([]byte(t.Token), tokenAD(domain, "access"))
	if err != nil {
		return store.ShopTokens{}, err
	}
	st := store.ShopTokens{AccessTokenEnc: acc, Scopes: t.Scope, TokenKind: "offline"}
	if t.Expiring() {
		st.TokenKind = "offline_expiring"
		exp := t.ExpiresAt
		st.AccessTokenExpiresAt = &exp
	}
	if t.RefreshToken != "" {
		ref, err := s.Keyring.EncryptAD([]byte(t.RefreshToken), tokenAD(domain, "refresh"))
		if err != nil {
			return store.ShopTokens{}, err
		}
		st.RefreshTokenEnc = &ref
		if !t.RefreshExpiresAt.IsZero() {
			rexp := t.RefreshExpiresAt
			st.RefreshTokenExpiresAt = &rexp
		}
	}
	return st, nil
}

// InstallWithSessionToken runs the token exchange for a verified session
// token and records the install. Call it once per install (when the shop has
// no usable token), never per request.
func (s *Service) InstallWithSessionToken(ctx context.Context, shop, sessionToken string) (*store.Shop, error) {
	tok, err := s.Tokens.ExchangeSessionToken(ctx, shop, sessionToken)
	if err != nil {
		return nil, fmt.Errorf("shops: token exchange for %s: %w", shop, err)
	}
	return s.install(ctx, shop, tok)
}

// InstallWithCode finishes the legacy authorization-code flow.
func (s *Service) InstallWithCode(ctx context.Context, shop, code string) (*store.Shop, error) {
	tok, err := s.Tokens.ExchangeCode(ctx, shop, code)
	if err != nil {
		return nil, fmt.Errorf("shops: code exchange for %s: %w", shop, err)
	}
	return s.install(ctx, shop, tok)
}

func (s *Service) install(ctx context.Context, shop string, tok *shopify.AccessToken) (*store.Shop, error) {
	sealed, err := s.seal(shop, tok)
	if err != nil {
		return nil, err
	}
	sh, err := s.Store.InstallShop(ctx, shop, sealed, s.now())
	if err != nil {
		return nil, err
	}
	_ = s.Store.Audit(ctx, &store.AuditEvent{ShopID: &sh.ID, ActorType: "shopify", Action: "shop.installed", Target: shop, CreatedAt: s.now()})
	if s.OnInstalled != nil {
		s.OnInstalled(ctx, sh)
	}
	return sh, nil
}

// NeedsInstall reports whether the shop must go through token exchange: it is
// unknown, uninstalled, or its tokens can no longer be used or refreshed.
func (s *Service) NeedsInstall(sh *store.Shop) bool {
	if sh == nil || !sh.Installed() || sh.AccessTokenEnc == nil {
		return true
	}
	// A token sealed under a key this process no longer has (ENCRYPTION_KEY
	// replaced without keeping the old one in the keyring) is unusable:
	// exchange again rather than fail every Admin API call.
	if _, err := s.open(sh.Domain, *sh.AccessTokenEnc, "access"); err != nil {
		s.Log.Warn("stored access token cannot be decrypted; exchanging again", "shop", sh.Domain, "key_ids", s.Keyring.KeyIDs())
		return true
	}
	if sh.TokenKind == "offline_expiring" {
		now := s.now()
		accessOK := sh.AccessTokenExpiresAt != nil && sh.AccessTokenExpiresAt.After(now)
		refreshOK := sh.RefreshTokenEnc != nil && (sh.RefreshTokenExpiresAt == nil || sh.RefreshTokenExpiresAt.After(now))
		return !accessOK && !refreshOK
	}
	return false
}

// AccessToken returns a usable access token for the shop, refreshing an
// expiring one that has less than five minutes left. Refreshes are
// single-flight across replicas: the shop row is locked, re-read, and only
// the holder that still sees an old token calls Shopify; the new access and
// refresh tokens are saved in the same transaction.
func (s *Service) AccessToken(ctx context.Context, shopID int64) (string, error) {
	sh, err := s.Store.ShopByID(ctx, shopID)
	if err != nil {
		return "", err
	}
	if !sh.Installed() || sh.AccessTokenEnc == nil {
		return "", fmt.Errorf("%w: %s", ErrNotInstalled, sh.Domain)
	}
	if !s.needsRefresh(sh) {
		return s.open(sh.Domain, *sh.AccessTokenEnc, "access")
	}
	var token string
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		locked, err := s.Store.LockShop(ctx, shopID)
		if err != nil {
			return err
		}
		if locked.AccessTokenEnc == nil {
			return fmt.Errorf("%w: %s", ErrNotInstalled, locked.Domain)
		}
		if !s.needsRefresh(locked) { // another replica refreshed while we waited
			token, err = s.open(locked.Domain, *locked.AccessTokenEnc, "access")
			return err
		}
		if locked.RefreshTokenEnc == nil {
			return fmt.Errorf("%w: %s has an expiring token and no refresh token", ErrNotInstalled, locked.Domain)
		}
		rt, err := s.open(locked.Domain, *locked.RefreshTokenEnc, "refresh")
		if err != nil {
			return err
		}
		fresh, err := s.Tokens.Refresh(ctx, locked.Domain, rt)
		if err != nil {
			return fmt.Errorf("shops: refresh %s: %w", locked.Domain, err)
		}
		if fresh.Scope == "" {
			fresh.Scope = locked.Scopes
		}
		sealed, err := s.seal(locked.Domain, fresh)
		if err != nil {
			return err
		}
		if err := s.Store.SaveShopTokens(ctx, shopID, sealed, s.now()); err != nil {
			return err
		}
		s.Log.InfoContext(ctx, "access token refreshed", "shop", locked.Domain, "expires_at", fresh.ExpiresAt)
		token = fresh.Token
		return nil
	})
	return token, err
}

func (s *Service) needsRefresh(sh *store.Shop) bool {
	if sh.TokenKind != "offline_expiring" || sh.AccessTokenExpiresAt == nil {
		return false
	}
	return shopify.NeedsRefresh(s.now(), &shopify.AccessToken{ExpiresAt: *sh.AccessTokenExpiresAt})
}

func (s *Service) open(domain, enc, field string) (string, error) {
	b, err := s.Keyring.DecryptAD(enc, tokenAD(domain, field))
	if err != nil {
		return "", fmt.Errorf("shops: decrypt %s token of %s: %w", field, domain, err)
	}
	return string(b), nil
}

// Admin returns an Admin GraphQL client for the shop with a fresh token and
// the shared per-shop cost limiter.
func (s *Service) Admin(ctx context.Context, shopID int64) (*admin.Client, error) {
	sh, err := s.Store.ShopByID(ctx, shopID)
	if err != nil {
		return nil, err
	}
	tok, err := s.AccessToken(ctx, shopID)
	if err != nil {
		return nil, err
	}
	return admin.New(sh.Domain, tok, admin.Options{
		BaseURL: s.AdminURL, APIVersion: s.APIVersion, HTTPClient: s.HTTPClient, Limiter: s.Limiter, Metrics: s.Metrics,
	})
}

// SyncDetails reads the shop's name, currency, plan and time zone from the
// Admin API and stores them.
func (s *Service) SyncDetails(ctx context.Context, shopID int64) error {
	c, err := s.Admin(ctx, shopID)
	if err != nil {
		return err
	}
	info, err := c.Shop(ctx)
	if err != nil {
		return err
	}
	return s.Store.UpdateShopDetails(ctx, shopID, info.Name, info.CurrencyCode, info.Plan.PublicDisplayName, info.IANATimezone, s.now())
}
