package main

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/app/shops"
	"github.com/coupontrail/coupontrail/app/store"
)

// principal is who is calling /api: a shop, and a staff user for session
// tokens or an API key for server-to-server callers.
type principal struct {
	Shop   *store.Shop
	UserID string
	Kind   string // "session" or "api_key"
	KeyID  int64
}

const principalKey = "principal"

// shopOf returns the calling shop; every /api handler scopes its queries by it.
func shopOf(c echo.Context) *store.Shop { return c.Get(principalKey).(*principal).Shop }

func who(c echo.Context) *principal { return c.Get(principalKey).(*principal) }

// retryInvalidSession answers 401 so that App Bridge fetches a fresh session
// token and retries once.
func retryInvalidSession(c echo.Context, msg string) error {
	c.Response().Header().Set("X-Shopify-Retry-Invalid-Session-Request", "1")
	return errCode(http.StatusUnauthorized, "unauthorized", msg)
}

// apiAuth authenticates /api/* with a session token (embedded admin) or an
// API key (Authorization: Bearer ct_...). A valid session token for a shop
// that has no usable access token runs the token exchange once.
func (a *App) apiAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return retryInvalidSession(c, "missing bearer token")
		}
		ctx := c.Request().Context()
		if strings.HasPrefix(tok, shops.APIKeyPrefix) {
			sh, k, err := a.shops.ResolveAPIKey(ctx, tok)
			if err != nil {
				if errors.Is(err, store.ErrUnavailable) {
					return err
				}
				return errCode(http.StatusUnauthorized, "unauthorized", "invalid or revoked API key")
			}
			c.Set(principalKey, &principal{Shop: sh, Kind: "api_key", KeyID: k.ID})
			return next(c)
		}
		claims, err := shopify.VerifySessionToken(tok, a.cfg.ShopifyAPIKey, a.webhookSecrets(), a.now())
		if err != nil {
			return retryInvalidSession(c, "invalid session token")
		}
		sh, err := a.ensureInstalled(c, claims.Shop, tok)
		if err != nil {
			return err
		}
		c.Set(principalKey, &principal{Shop: sh, UserID: claims.UserID, Kind: "session"})
		return next(c)
	}
}

// ensureInstalled returns the shop, running the token exchange first when
// the shop has no usable token (first open after a Shopify-managed install,
// or a reinstall).
func (a *App) ensureInstalled(c echo.Context, domain, sessionToken string) (*store.Shop, error) {
	ctx := c.Request().Context()
	sh, err := a.store.ShopByDomain(ctx, domain)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err == nil && !a.shops.NeedsInstall(sh) {
		return sh, nil
	}
	sh, err = a.shops.InstallWithSessionToken(ctx, domain, sessionToken)
	if errors.Is(err, shopify.ErrInvalidSubjectToken) {
		return nil, retryInvalidSession(c, "session token rejected by Shopify; retry with a fresh one")
	}
	if err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "shop installed through token exchange", "shop", domain)
	return sh, nil
}

var bounceTmpl = template.Must(template.New("bounce").Parse(`<!doctype html>
<html><head><meta charset="utf-8">
<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>
<meta name="shopify-api-key" content="{{.APIKey}}">
<title>coupontrail</title></head>
<body data-shopify-reload="{{.Reload}}"><noscript>coupontrail needs JavaScript to load inside the Shopify admin.</noscript></body></html>`))

// bounce serves the session-token bounce page: App Bridge loads, fetches a
// fresh session token and reloads the original URL (shopify-reload) with it.
func (a *App) bounce(c echo.Context) error {
	reload := c.QueryParam("shopify-reload")
	if reload == "" {
		q := c.Request().URL.Query()
		q.Del("id_token")
		reload = a.cfg.AppURL + c.Request().URL.Path + "?" + q.Encode()
	}
	if u, err := url.Parse(reload); err != nil || (u.Host != "" && !strings.HasPrefix(reload, a.cfg.AppURL)) {
		return errCode(http.StatusBadRequest, "bad_request", "shopify-reload must point at this app")
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return bounceTmpl.Execute(c.Response(), map[string]string{"APIKey": a.cfg.ShopifyAPIKey, "Reload": reload})
}
