package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/store"
)

// list is the shape of every list response.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// pathID parses an id path parameter; a malformed id is a 404 like any
// unknown one.
func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errCode(http.StatusNotFound, "not_found", "not found")
	}
	return id, nil
}

// cursorID reads ?cursor= (an id from next_cursor) and ?limit=.
func cursorID(c echo.Context) (int64, int, error) {
	var before int64
	if v := c.QueryParam("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, errCode(http.StatusBadRequest, "invalid_cursor", "cursor is not one this API returned")
		}
		before = n
	}
	limit := 50
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return 0, 0, errCode(http.StatusBadRequest, "invalid_limit", "limit must be between 1 and 500")
		}
		limit = n
	}
	return before, limit, nil
}

func rfc3339(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// shopJSON is GET /api/v1/shop.
type shopJSON struct {
	ID          string  `json:"id"`
	Domain      string  `json:"domain"`
	Name        string  `json:"name"`
	Currency    string  `json:"currency"`
	Plan        string  `json:"plan"`
	Timezone    string  `json:"timezone"`
	Scopes      string  `json:"scopes"`
	InstalledAt *string `json:"installed_at"`
	Auth        string  `json:"auth"`
	UserID      string  `json:"user_id,omitempty"`
}

func (a *App) getShop(c echo.Context) error {
	p := who(c)
	sh := p.Shop
	return c.JSON(http.StatusOK, shopJSON{ID: idString(sh.ID), Domain: sh.Domain, Name: sh.Name, Currency: sh.Currency, Plan: sh.Plan,
		Timezone: sh.Timezone, Scopes: sh.Scopes, InstalledAt: rfc3339(sh.InstalledAt), Auth: p.Kind, UserID: p.UserID})
}

// deliveryJSON is one item of GET /api/v1/webhook-deliveries.
type deliveryJSON struct {
	ID          string  `json:"id"`
	WebhookID   string  `json:"webhook_id"`
	Topic       string  `json:"topic"`
	Status      string  `json:"status"`
	ReceivedAt  string  `json:"received_at"`
	ProcessedAt *string `json:"processed_at"`
	Attempts    int     `json:"attempts"`
	Error       string  `json:"error"`
}

func (a *App) listDeliveries(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	st := c.QueryParam("status")
	switch st {
	case "", store.DeliveryReceived, store.DeliveryProcessed, store.DeliveryFailed, store.DeliveryIgnored:
	default:
		return errCode(http.StatusBadRequest, "invalid_status", "status must be received, processed, failed or ignored")
	}
	ds, err := a.store.ListDeliveries(c.Request().Context(), store.DeliveryFilter{
		ShopDomain: shopOf(c).Domain, Topic: c.QueryParam("topic"), Status: st, BeforeID: before, Limit: limit + 1,
	})
	if err != nil {
		return err
	}
	out := list[deliveryJSON]{Items: []deliveryJSON{}}
	for i, d := range ds {
		if i == limit {
			out.NextCursor = idString(ds[i-1].ID)
			break
		}
		out.Items = append(out.Items, deliveryJSON{ID: idString(d.ID), WebhookID: d.WebhookID, Topic: d.Topic, Status: d.Status,
			ReceivedAt: d.ReceivedAt.UTC().Format(time.RFC3339), ProcessedAt: rfc3339(d.ProcessedAt), Attempts: d.Attempts, Error: d.Error})
	}
	return c.JSON(http.StatusOK, out)
}

// apiKeyJSON never carries the key itself, except once at creation.
type apiKeyJSON struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Prefix     string  `json:"prefix"`
	Key        string  `json:"key,omitempty"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	RevokedAt  *string `json:"revoked_at"`
}

func toAPIKeyJSON(k *store.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: idString(k.ID), Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339),
		LastUsedAt: rfc3339(k.LastUsedAt), RevokedAt: rfc3339(k.RevokedAt)}
}

func (a *App) listAPIKeys(c echo.Context) error {
	ks, err := a.store.ListAPIKeys(c.Request().Context(), shopOf(c).ID)
	if err != nil {
		return err
	}
	out := list[apiKeyJSON]{Items: []apiKeyJSON{}}
	for i := range ks {
		out.Items = append(out.Items, toAPIKeyJSON(&ks[i]))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) createAPIKey(c echo.Context) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := c.Bind(&in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be JSON")
	}
	if len(in.Name) > 100 {
		return errCode(http.StatusUnprocessableEntity, "invalid", "name is longer than 100 characters")
	}
	key, k, err := a.shops.CreateAPIKey(c.Request().Context(), shopOf(c).ID, in.Name, a.rand)
	if err != nil {
		return err
	}
	out := toAPIKeyJSON(k)
	out.Key = key
	return c.JSON(http.StatusCreated, out)
}

func (a *App) revokeAPIKey(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := a.store.RevokeAPIKey(c.Request().Context(), shopOf(c).ID, id, a.now()); err != nil {
		return err
	}
	a.shops.ForgetAPIKeys(shopOf(c).ID)
	return c.NoContent(http.StatusNoContent)
}

// queryID reads an optional positive id query parameter (0 when absent).
func queryID(c echo.Context, name string) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, errCode(http.StatusBadRequest, "invalid_"+name, name+" must be an id")
	}
	return n, nil
}
