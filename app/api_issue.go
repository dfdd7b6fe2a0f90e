package main

import "github.com/labstack/echo/v4"

func (a *App) issueCode(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) getCode(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) disableCode(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) enableCode(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) listWebhookEndpoints(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) createWebhookEndpoint(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) deleteWebhookEndpoint(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) listOutboundEvents(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}
