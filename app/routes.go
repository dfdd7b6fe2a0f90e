package main

import (
	"github.com/labstack/echo/v4"
)

// newEcho builds the HTTP surface. Every route is listed here, one line
// each, grouped by how it authenticates, or in the area function named here.
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

	// SmartLinks: public, in front of shoppers; record the click and redirect.
	e.GET("/l/:slug", a.smartLink)

	// Legacy authorization-code OAuth (development, non-embedded installs).
	e.GET("/auth/install", a.authInstall)
	e.GET("/auth/callback", a.authCallback)
	e.GET("/auth/session-token", a.bounce) // session-token bounce page

	// Public API description.
	e.GET("/api/v1/openapi.json", a.openAPI)

	// /api/v1: session token (embedded admin) or API key (server-to-server).
	api := e.Group("/api/v1", a.apiAuth)
	api.GET("/shop", a.getShop)
	api.GET("/webhook-deliveries", a.listDeliveries)
	api.GET("/api-keys", a.listAPIKeys)
	api.POST("/api-keys", a.createAPIKey)
	api.DELETE("/api-keys/:id", a.revokeAPIKey)

	api.POST("/partners", a.createPartner)
	api.GET("/partners", a.listPartners)
	api.GET("/partners/:id", a.getPartner)
	api.PATCH("/partners/:id", a.updatePartner)

	api.POST("/campaigns", a.createCampaign)
	api.GET("/campaigns", a.listCampaigns)
	api.GET("/campaigns/:id", a.getCampaign)
	api.PATCH("/campaigns/:id", a.updateCampaign)
	api.POST("/campaigns/:id/activate", a.activateCampaign)
	api.POST("/campaigns/:id/pause", a.pauseCampaign)
	api.POST("/campaigns/:id/resume", a.resumeCampaign)
	api.POST("/campaigns/:id/end", a.endCampaign)

	api.POST("/campaigns/:id/codes", a.createCodeBatch)
	api.GET("/campaigns/:id/codes.csv", a.exportCodes)
	api.POST("/campaigns/:id/codes/import", a.importCodes)
	api.POST("/campaigns/:id/vanity-codes", a.createVanityCode)
	api.GET("/code-batches", a.listCodeBatches)
	api.GET("/code-batches/:id", a.getCodeBatch)
	api.GET("/codes", a.listCodes)

	api.POST("/codes/issue", a.issueCode)
	api.GET("/codes/:code", a.getCode)
	api.POST("/codes/:code/disable", a.disableCode)
	api.POST("/codes/:code/enable", a.enableCode)

	api.POST("/links", a.createLink)
	api.GET("/links", a.listLinks)
	api.GET("/links/:id", a.getLink)
	api.GET("/clicks", a.listClicks)

	api.GET("/conversions", a.listConversions)
	api.GET("/conversions/:id", a.getConversion)
	api.POST("/conversions/:id/approve", a.approveConversion)
	api.POST("/conversions/:id/reject", a.rejectConversion)
	api.POST("/attribution/rerun", a.rerunAttribution)
	api.GET("/attribution/models", a.attributionModels)
	api.GET("/ledger/check", a.ledgerCheck)
	api.GET("/payouts/statements", a.listStatements)
	api.POST("/payouts/statements", a.createStatements)
	api.GET("/payouts/statements/:id", a.getStatement)
	api.GET("/payouts/statements/:id/csv", a.exportStatement)
	api.POST("/payouts/statements/:id/paid", a.markStatementPaid)

	api.GET("/webhook-endpoints", a.listWebhookEndpoints)
	api.POST("/webhook-endpoints", a.createWebhookEndpoint)
	api.DELETE("/webhook-endpoints/:id", a.deleteWebhookEndpoint)
	api.GET("/outbound-events", a.listOutboundEvents)

	// Areas that list their own routes, each in its api_<area>.go file.
	a.settingsRoutes(api)
	a.fraudRoutes(api)
	a.experimentRoutes(api)
	a.cartRoutes(e, api)
	a.reportRoutes(e, api)
	api.Any("/*", func(c echo.Context) error { return errCode(404, "not_found", "no such API route") })

	// Embedded admin UI (document loads carry id_token).
	e.GET("/", a.uiDocument)
	e.GET("/*", a.uiAsset)

	return e
}
