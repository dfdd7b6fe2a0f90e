package main

import "github.com/labstack/echo/v4"

// cartRoutes lists the abandoned-cart routes: the Flow action and the app
// proxy (public, signed by Shopify) and the cart-recovery reports.
func (a *App) cartRoutes(e *echo.Echo, api *echo.Group) {}
