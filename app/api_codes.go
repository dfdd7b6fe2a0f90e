package main

import "github.com/labstack/echo/v4"

func (a *App) createCodeBatch(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) exportCodes(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) importCodes(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) createVanityCode(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) listCodeBatches(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) getCodeBatch(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) listCodes(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}
