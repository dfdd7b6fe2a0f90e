package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/fraud"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// fraudRoutes lists the fraud routes: alerts (one per incident), the
// leaked-code response, and the partner's record.
func (a *App) fraudRoutes(api *echo.Group) {
	api.GET("/fraud/alerts", a.listFraudAlerts)
	api.GET("/fraud/alerts/:id", a.getFraudAlert)
	api.POST("/fraud/alerts/:id/disable-code", a.disableLeakedCode)
	api.GET("/partners/:id/events", a.listPartnerEvents)
}

// listFraudAlerts is GET /api/v1/fraud/alerts?kind=&partner_id=: the
// shop's incidents, newest first.
func (a *App) listFraudAlerts(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	f := store.IncidentFilter{ShopID: shopOf(c).ID, Kind: c.QueryParam("kind"), BeforeID: before, Limit: limit + 1}
	if f.Kind != "" && !slices.Contains(fraud.IncidentKinds(), fraud.IncidentKind(f.Kind)) {
		return errCode(http.StatusBadRequest, "invalid_kind", "unknown alert kind")
	}
	if v := c.QueryParam("partner_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return errCode(http.StatusBadRequest, "invalid_partner_id", "partner_id must be a partner id")
		}
		f.PartnerID = &id
	}
	rows, err := a.store.ListIncidents(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[jobs.FraudAlert]{Items: []jobs.FraudAlert{}}
	for i := range rows {
		if i == limit {
			out.NextCursor = idString(rows[i-1].ID)
			break
		}
		out.Items = append(out.Items, jobs.FraudAlertOf(&rows[i]))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) fraudIncident(c echo.Context) (*store.FraudIncident, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	in, err := a.store.IncidentByID(c.Request().Context(), shopOf(c).ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errCode(http.StatusNotFound, "alert_not_found", "no such alert")
	}
	return in, err
}

// getFraudAlert is GET /api/v1/fraud/alerts/{id}.
func (a *App) getFraudAlert(c echo.Context) error {
	in, err := a.fraudIncident(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, jobs.FraudAlertOf(in))
}

// disableLeakedCode is POST /api/v1/fraud/alerts/{id}/disable-code: the
// merchant's one-click answer to a leaked_code alert — the code is disabled
// in Shopify and its partner issued a fresh vanity code (what
// auto_disable_leaked_codes does by itself). Repeating it changes nothing.
func (a *App) disableLeakedCode(c echo.Context) error {
	in, err := a.fraudIncident(c)
	if err != nil {
		return err
	}
	if in.Kind != string(fraud.KindLeakedCode) || in.Code == "" {
		return errCode(http.StatusConflict, "not_a_leaked_code", "only a leaked_code alert names a code to disable")
	}
	if _, err := a.jobs.RespondToLeak(c.Request().Context(), in.ShopID, in.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errCode(http.StatusConflict, "code_not_found", "the alert's code is no longer known")
		}
		return err
	}
	return a.getFraudAlert(c)
}

// partnerEventJSON is an entry of GET /api/v1/partners/{id}/events.
type partnerEventJSON struct {
	ID        string          `json:"id"`
	PartnerID string          `json:"partner_id"`
	Kind      string          `json:"kind"`
	Detail    json.RawMessage `json:"detail"`
	CreatedAt string          `json:"created_at"`
}

// listPartnerEvents is GET /api/v1/partners/{id}/events: the partner's
// record (fraud incidents, leaked codes disabled, codes re-issued), newest
// first.
func (a *App) listPartnerEvents(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sh := shopOf(c)
	if _, err := a.store.PartnerByID(ctx, sh.ID, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errCode(http.StatusNotFound, "partner_not_found", "no such partner")
		}
		return err
	}
	rows, err := a.store.ListPartnerEvents(ctx, sh.ID, id, before, limit+1)
	if err != nil {
		return err
	}
	out := list[partnerEventJSON]{Items: []partnerEventJSON{}}
	for i := range rows {
		if i == limit {
			out.NextCursor = idString(rows[i-1].ID)
			break
		}
		r := rows[i]
		out.Items = append(out.Items, partnerEventJSON{ID: idString(r.ID), PartnerID: idString(r.PartnerID), Kind: r.Kind,
			Detail: r.Detail, CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339)})
	}
	return c.JSON(http.StatusOK, out)
}
