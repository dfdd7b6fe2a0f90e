package main

import "github.com/labstack/echo/v4"

func (a *App) openAPI(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) createPartner(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) listPartners(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) getPartner(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) updatePartner(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) createCampaign(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) listCampaigns(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) getCampaign(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) updateCampaign(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) activateCampaign(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) pauseCampaign(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) resumeCampaign(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) endCampaign(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}
