package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	goshopify "github.com/bold-commerce/go-shopify/v4"
	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/shopify"
)

const stateCookie = "ct_oauth_state"

func (a *App) goshopifyApp() goshopify.App {
	return goshopify.App{
		ApiKey: a.cfg.ShopifyAPIKey, ApiSecret: a.cfg.ShopifyAPISecret,
		RedirectUrl: a.cfg.AppURL + "/auth/callback", Scope: a.cfg.ShopifyScopes,
	}
}

// authInstall starts the legacy authorization-code flow: a state nonce bound
// to this browser (HttpOnly cookie), then Shopify's authorize page.
func (a *App) authInstall(c echo.Context) error {
	q := c.Request().URL.Query()
	shop, err := shopify.NormalizeShop(q.Get("shop"))
	if err != nil {
		return errCode(http.StatusBadRequest, "invalid_shop", "shop must be a *.myshopify.com domain")
	}
	if q.Get("hmac") != "" { // launched from the Shopify admin: the request is signed
		if _, err := shopify.VerifyInstallRequest(q, a.webhookSecrets(), a.now(), shopify.QueryPolicy{}); err != nil {
			return errCode(http.StatusUnauthorized, "invalid_hmac", "install request signature is invalid")
		}
	}
	state := shopify.NewState()
	c.SetCookie(&http.Cookie{
		Name: stateCookie, Value: state, Path: "/auth", MaxAge: 600, HttpOnly: true,
		Secure: strings.HasPrefix(a.cfg.AppURL, "https://"), SameSite: http.SameSiteLaxMode,
	})
	u, err := shopify.AuthorizeURL(a.cfg.AdminURLTemplate, a.goshopifyApp(), shop, state)
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusFound, u)
}

// authCallback verifies the callback (shop, sorted HMAC, timestamp age, the
// browser's state nonce), exchanges the code and records the install.
func (a *App) authCallback(c echo.Context) error {
	ck, err := c.Cookie(stateCookie)
	if err != nil || ck.Value == "" {
		return errCode(http.StatusForbidden, "state_missing", "the install must start at /auth/install in this browser")
	}
	cb, err := shopify.VerifyCallback(c.Request().URL.Query(), a.webhookSecrets(), ck.Value, a.now(), shopify.QueryPolicy{})
	if err != nil {
		switch {
		case errors.Is(err, shopify.ErrStateMismatch):
			return errCode(http.StatusForbidden, "state_mismatch", "state does not match this browser's install")
		case errors.Is(err, shopify.ErrInvalidShop):
			return errCode(http.StatusBadRequest, "invalid_shop", "shop must be a *.myshopify.com domain")
		default:
			return errCode(http.StatusUnauthorized, "invalid_callback", "callback signature or timestamp is invalid")
		}
	}
	c.SetCookie(&http.Cookie{Name: stateCookie, Value: "", Path: "/auth", MaxAge: -1, HttpOnly: true})
	sh, err := a.shops.InstallWithCode(c.Request().Context(), cb.Shop, cb.Code)
	if err != nil {
		return err
	}
	_ = sh // details were synced by the install hook
	v := url.Values{"shop": {cb.Shop}}
	if cb.Host != "" {
		v.Set("host", cb.Host)
	}
	return c.Redirect(http.StatusFound, a.cfg.AppURL+"/?"+v.Encode())
}

// syncDetails reads the shop's name, currency and plan; failures are logged,
// the next install or job tries again.
func (a *App) syncDetails(ctx context.Context, shopID int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.shops.SyncDetails(ctx, shopID); err != nil {
		a.log.WarnContext(ctx, "shop details not synced", "shop_id", shopID, "err", err)
	}
}
