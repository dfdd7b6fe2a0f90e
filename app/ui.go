package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/web"
)

// uiDocument serves the embedded admin's HTML. A document load from the
// Shopify admin carries id_token: it is verified (bad -> bounce page) and,
// for a shop with no usable token, exchanged once for an offline token. App
// Bridge's script tag goes first in <head> with the shopify-api-key meta tag,
// as Shopify requires. When the app plays against the dev store, a
// coupontrail-dev-store meta tag tells the page to get its session tokens
// from the dev store (through /_dev/session-token) instead of App Bridge.
func (a *App) uiDocument(c echo.Context) error {
	q := c.Request().URL.Query()
	if idt := q.Get("id_token"); idt != "" {
		claims, err := shopify.VerifySessionToken(idt, a.cfg.ShopifyAPIKey, a.webhookSecrets(), a.now())
		if err != nil {
			return a.bounce(c)
		}
		if _, err := a.ensureInstalled(c, claims.Shop, idt); err != nil {
			var ce *codedError
			if errors.As(err, &ce) && ce.Status == http.StatusUnauthorized {
				return a.bounce(c)
			}
			return err
		}
	} else if q.Get("embedded") == "1" {
		return a.bounce(c) // embedded load without a token: get one
	}
	b, err := fs.ReadFile(web.Dist(), "index.html")
	if err != nil {
		return err
	}
	head := `<script src="https://cdn.shopify.com/shopifycloud/app-bridge.js"></script>` +
		`<meta name="shopify-api-key" content="` + html.EscapeString(a.cfg.ShopifyAPIKey) + `">`
	if a.devStoreMode() {
		head += `<meta name="coupontrail-dev-store" content="` + html.EscapeString("http://"+a.cfg.DevStoreAddr) + `">`
	}
	if !bytes.Contains(b, []byte(`name="shopify-api-key"`)) {
		b = bytes.Replace(b, []byte("<head>"), []byte("<head>"+head), 1)
	}
	c.Response().Header().Set("Content-Security-Policy", "frame-ancestors https://admin.shopify.com https://*.myshopify.com "+a.cfg.AppURL)
	return c.HTMLBlob(http.StatusOK, b)
}

// uiAsset serves built files (JS, CSS, images) and falls back to the
// document for client-side routes.
func (a *App) uiAsset(c echo.Context) error {
	p := strings.TrimPrefix(path.Clean("/"+c.Param("*")), "/")
	if p == "_dev/session-token" {
		return a.devSessionToken(c)
	}
	if p == "" || p == "index.html" || !strings.Contains(path.Base(p), ".") {
		return a.uiDocument(c)
	}
	f, err := web.Dist().Open(p)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "not found")
	}
	f.Close()
	if strings.HasPrefix(p, "assets/") {
		c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	return echo.WrapHandler(http.FileServer(http.FS(web.Dist())))(c)
}

// devStoreMode reports whether the app talks to the dev store (its Admin URL
// template points at DEVSTORE_ADDR over plain HTTP) rather than to Shopify.
func (a *App) devStoreMode() bool {
	return a.cfg.DevStoreAddr != "" && strings.HasPrefix(a.cfg.AdminURLTemplate, "http://"+a.cfg.DevStoreAddr+"/")
}

// devSessionToken answers GET /_dev/session-token?shop=D with {"shop","token"}:
// a session token minted by the dev store, so the admin UI opened outside
// the Shopify admin (a laptop running `make run`) authenticates exactly as it
// does inside it. Without ?shop it uses the dev store's first shop. It
// exists only in dev-store mode; against Shopify it is a 404.
func (a *App) devSessionToken(c echo.Context) error {
	if !a.devStoreMode() {
		return errCode(http.StatusNotFound, "not_found", "no such route")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	base := "http://" + a.cfg.DevStoreAddr
	hc := &http.Client{Timeout: 5 * time.Second}
	shop := c.QueryParam("shop")
	if shop == "" {
		var list struct {
			Items []struct {
				Domain      string `json:"domain"`
				Uninstalled bool   `json:"uninstalled"`
			} `json:"items"`
		}
		if err := devStoreCall(ctx, hc, http.MethodGet, base+"/_dev/shops", nil, &list); err != nil {
			return errCode(http.StatusBadGateway, "dev_store_unreachable", "dev store: "+err.Error())
		}
		for _, it := range list.Items {
			if !it.Uninstalled {
				shop = it.Domain
				break
			}
		}
		if shop == "" {
			return errCode(http.StatusNotFound, "no_dev_shop", "the dev store has no shop yet; run `coupontrail demo install`")
		}
	}
	domain, err := shopify.NormalizeShop(shop)
	if err != nil {
		return errCode(http.StatusBadRequest, "invalid_shop", "shop must be a *.myshopify.com domain")
	}
	var tok struct {
		Token string `json:"token"`
	}
	body, _ := json.Marshal(map[string]string{"shop": domain, "user_id": "1"})
	if err := devStoreCall(ctx, hc, http.MethodPost, base+"/_dev/session-token", body, &tok); err != nil {
		return errCode(http.StatusBadGateway, "dev_store_unreachable", "dev store: "+err.Error())
	}
	return c.JSON(http.StatusOK, map[string]string{"shop": domain, "token": tok.Token})
}

func devStoreCall(ctx context.Context, hc *http.Client, method, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return errors.New(res.Status + ": " + string(bytes.TrimSpace(b)))
	}
	return json.NewDecoder(res.Body).Decode(out)
}
