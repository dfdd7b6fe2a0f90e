package main

import "github.com/labstack/echo/v4"

// fraudRoutes lists the fraud routes (alerts).
func (a *App) fraudRoutes(api *echo.Group) {}
