package main

import "github.com/labstack/echo/v4"

func (a *App) smartLink(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) createLink(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) listLinks(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) getLink(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) listClicks(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}
