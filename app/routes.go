package main

import (
	"github.com/labstack/echo/v4"
)

// newEcho builds the HTTP surface. Every route is listed here, one line
// each, grouped by how it authenticates.
func (a *App) newEcho() *echo.Echo {
	e := newEchoBase()
	e.HTTPErrorHandler = a.httpErrorHandler
	e.Use(a.requestID, a.recoverPanics, a.observe)

	// Public: operations.
	e.GET("/healthz", a.healthz)
	e.GET("/readyz", a.readyz)
	e.GET("/metrics", a.metricsHandler())

	// Shopify webhooks: authenticated by X-Shopify-Hmac-Sha256 over the raw body.
	e.POST("/webhooks", a.intake.Handle)
	e.POST("/webhooks/*", a.intake.Handle) // per-topic aliases (topic still read from X-Shopify-Topic)

	// Legacy authorization-code OAuth (development, non-embedded installs).
	e.GET("/auth/install", a.authInstall)
	e.GET("/auth/callback", a.authCallback)
	e.GET("/auth/session-token", a.bounce) // session-token bounce page

	// /api/v1: session token (embedded admin) or API key (server-to-server).
	api := e.Group("/api/v1", a.apiAuth)
	api.GET("/shop", a.getShop)
	api.GET("/webhook-deliveries", a.listDeliveries)
	api.GET("/api-keys", a.listAPIKeys)
	api.POST("/api-keys", a.createAPIKey)
	api.DELETE("/api-keys/:id", a.revokeAPIKey)
	api.Any("/*", func(c echo.Context) error { return errCode(404, "not_found", "no such API route") })

	// Embedded admin UI (document loads carry id_token).
	e.GET("/", a.uiDocument)
	e.GET("/*", a.uiAsset)

	return e
}
