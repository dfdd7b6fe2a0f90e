package main

import "github.com/labstack/echo/v4"

// settingsRoutes lists GET|PATCH /api/v1/settings.
func (a *App) settingsRoutes(api *echo.Group) {}
