package main

import "github.com/labstack/echo/v4"

// experimentRoutes lists the experiment and insight routes.
func (a *App) experimentRoutes(api *echo.Group) {}
