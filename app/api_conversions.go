package main

import "github.com/labstack/echo/v4"

func (a *App) listConversions(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) getConversion(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) approveConversion(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) rejectConversion(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) rerunAttribution(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) attributionModels(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) ledgerCheck(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) listStatements(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) createStatements(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) getStatement(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) exportStatement(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}

func (a *App) markStatementPaid(c echo.Context) error {
	return errCode(501, "not_implemented", "not implemented yet")
}
