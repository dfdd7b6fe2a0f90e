package main

import "github.com/labstack/echo/v4"

// reportRoutes lists the reporting routes and the partner page.
func (a *App) reportRoutes(e *echo.Echo, api *echo.Group) {}
