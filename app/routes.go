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

	return e
}
