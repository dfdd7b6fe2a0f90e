package main

import (
	"bytes"
	"errors"
	"html"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/shopify"
	"github.com/coupontrail/coupontrail/web"
)

// uiDocument serves the embedded admin's HTML. A document load from the
// Shopify admin carries id_token: it is verified (bad -> bounce page) and,
// for a shop with no usable token, exchanged once for an offline token. App
// Bridge's script tag goes first in <head> with the shopify-api-key meta tag,
// as Shopify requires.
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
