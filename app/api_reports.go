package main

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/store"
)

// reportRoutes lists the reporting routes and the partner page.
func (a *App) reportRoutes(e *echo.Echo, api *echo.Group) {
	api.GET("/reports/summary", a.reportSummary)
	api.GET("/reports/timeseries", a.reportTimeseries)
	api.GET("/reports/ltv", a.reportLTV)
	api.GET("/reports/overview", a.reportOverview)
	api.POST("/partners/:id/page-links", a.createPartnerPageLink)
	api.GET("/partners/:id/page-links", a.listPartnerPageLinks)
	api.DELETE("/partners/:id/page-links/:link_id", a.revokePartnerPageLink)

	// Partner page: public, authenticated by its signed, revocable token
	// (/p/{token} is HTML, /p/{token}.json the same data as JSON).
	e.GET("/p/:token", a.partnerPage)
}

// maxReportDays bounds a report's date range.
const maxReportDays = 3 * 366

// metricsJSON are the report measures of one group, day or period. Money is
// a decimal string in the shop currency.
type metricsJSON struct {
	Redemptions    int64   `json:"redemptions"`
	Orders         int64   `json:"orders"`
	Attributed     int64   `json:"attributed_orders"`
	GrossRevenue   string  `json:"gross_revenue"`
	NetRevenue     string  `json:"net_revenue"`
	DiscountCost   string  `json:"discount_cost"`
	Commission     string  `json:"commission"`
	ROAS           *string `json:"roas"`
	AOV            string  `json:"aov"`
	Held           string  `json:"held"`
	Approved       string  `json:"approved"`
	Reversed       string  `json:"reversed"`
	HeldOrders     int64   `json:"held_orders"`
	ApprovedOrders int64   `json:"approved_orders"`
	ReversedOrders int64   `json:"reversed_orders"`
	RejectedOrders int64   `json:"rejected_orders"`
	FraudFlagged   int64   `json:"fraud_flagged"`
}

// roasString is net / cost with two decimals (half away from zero), nil when
// the cost is zero.
func roasString(net, cost int64) *string {
	if cost == 0 {
		return nil
	}
	neg := (net < 0) != (cost < 0)
	if net < 0 {
		net = -net
	}
	if cost < 0 {
		cost = -cost
	}
	hundredths := (net*100 + cost/2) / cost
	s := strconv.FormatInt(hundredths/100, 10) + "." + pad2(hundredths%100)
	if neg && hundredths != 0 {
		s = "-" + s
	}
	return &s
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

func toMetricsJSON(m store.ReportMetrics, cur string) metricsJSON {
	f := func(v int64) string { return attribution.FormatMinor(v, cur) }
	aov := int64(0)
	if m.Orders > 0 {
		aov = (m.NetMinor + m.Orders/2) / m.Orders
	}
	return metricsJSON{
		Redemptions: m.Redemptions, Orders: m.Orders, Attributed: m.Attributed,
		GrossRevenue: f(m.GrossMinor), NetRevenue: f(m.NetMinor), DiscountCost: f(m.DiscountMinor), Commission: f(m.CommissionMinor),
		ROAS: roasString(m.NetMinor, m.DiscountMinor+m.CommissionMinor), AOV: f(aov),
		Held: f(m.HeldMinor), Approved: f(m.ApprovedMinor), Reversed: f(m.ReversedMinor),
		HeldOrders: m.HeldOrders, ApprovedOrders: m.ApprovedOrders, ReversedOrders: m.ReversedOrders, RejectedOrders: m.RejectedOrders,
		FraudFlagged: m.FraudFlagged,
	}
}

// reportDay parses a report bound: YYYY-MM-DD or RFC 3339 (its UTC day).
func reportDay(v string) (time.Time, bool) {
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return d, true
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		t = t.UTC()
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
	}
	return time.Time{}, false
}

// reportQuery reads from/to (UTC days, both inclusive; default the last 30
// days) and the optional campaign_id, partner_id and channel filters
// (none selects conversions without one; empty or absent means any).
func (a *App) reportQuery(c echo.Context) (store.ReportQuery, error) {
	sh := shopOf(c)
	now := a.now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	q := store.ReportQuery{ShopID: sh.ID, To: today, From: today.AddDate(0, 0, -29)}
	if v := c.QueryParam("to"); v != "" {
		d, ok := reportDay(v)
		if !ok {
			return q, errCode(http.StatusBadRequest, "invalid_to", "to must be YYYY-MM-DD or RFC 3339")
		}
		q.To = d
		if c.QueryParam("from") == "" {
			q.From = d.AddDate(0, 0, -29)
		}
	}
	if v := c.QueryParam("from"); v != "" {
		d, ok := reportDay(v)
		if !ok {
			return q, errCode(http.StatusBadRequest, "invalid_from", "from must be YYYY-MM-DD or RFC 3339")
		}
		q.From = d
	}
	if q.From.After(q.To) {
		return q, errCode(http.StatusBadRequest, "invalid_range", "from is after to")
	}
	if q.To.Sub(q.From) > maxReportDays*24*time.Hour {
		return q, errCode(http.StatusBadRequest, "invalid_range", "the range is longer than 3 years")
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"campaign_id", &q.CampaignID}, {"partner_id", &q.PartnerID}} {
		v := c.QueryParam(p.name)
		if v == "none" {
			*p.dst = -1
			continue
		}
		id, err := queryID(c, p.name)
		if err != nil {
			return q, err
		}
		*p.dst = id
	}
	switch ch := c.QueryParam("channel"); ch {
	case "": // any
	case "none":
		q.Channel = new(string)
	default:
		q.Channel = &ch
	}
	cur, err := a.reportCurrency(c.Request().Context(), sh)
	if err != nil {
		return q, err
	}
	q.Currency = cur
	return q, nil
}

// reportCurrency is the currency reports are in: the shop's, else the one
// most of its conversions are in.
func (a *App) reportCurrency(ctx context.Context, sh *store.Shop) (string, error) {
	if sh.Currency != "" {
		return sh.Currency, nil
	}
	curs, err := a.store.ReportCurrencies(ctx, sh.ID)
	if err != nil || len(curs) == 0 {
		return "USD", err
	}
	return curs[0], nil
}

// reportRowJSON is one row of GET /api/v1/reports/summary.
type reportRowJSON struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	metricsJSON
}

type reportSummaryJSON struct {
	Currency string          `json:"currency"`
	GroupBy  string          `json:"group_by"`
	From     string          `json:"from"`
	To       string          `json:"to"`
	Rows     []reportRowJSON `json:"rows"`
	Total    metricsJSON     `json:"total"`
}

func groupParam(c echo.Context, def string, allowed ...string) (string, error) {
	g := c.QueryParam("group_by")
	if g == "" {
		return def, nil
	}
	for _, v := range allowed {
		if g == v {
			return g, nil
		}
	}
	return "", errCode(http.StatusBadRequest, "invalid_group_by", "group_by must be one of "+strings.Join(allowed, ", "))
}

// labels names the keys of rows grouped by dim.
func (a *App) labels(ctx context.Context, shopID int64, dim string, keys []string) (map[string]string, error) {
	names, err := a.store.ReportLabels(ctx, shopID, dim, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		switch {
		case names[k] != "":
			out[k] = names[k]
		case k == "" && dim == store.ReportByCampaign:
			out[k] = "No campaign"
		case k == "" && dim == store.ReportByPartner:
			out[k] = "No partner"
		case k == "" && dim == store.ReportByChannel:
			out[k] = "No channel"
		case dim == store.ReportByCampaign || dim == store.ReportByPartner:
			out[k] = "Deleted " + dim + " " + k
		default:
			out[k] = k
		}
	}
	return out, nil
}

func (a *App) reportSummary(c echo.Context) error {
	group, err := groupParam(c, store.ReportByCampaign, store.ReportByCampaign, store.ReportByPartner, store.ReportByChannel, store.ReportByDay)
	if err != nil {
		return err
	}
	q, err := a.reportQuery(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	rows, err := a.store.ReportGroups(ctx, q, group)
	if err != nil {
		return err
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.Key
	}
	names, err := a.labels(ctx, q.ShopID, group, keys)
	if err != nil {
		return err
	}
	out := reportSummaryJSON{Currency: q.Currency, GroupBy: group, From: q.From.Format(time.DateOnly), To: q.To.Format(time.DateOnly),
		Rows: make([]reportRowJSON, 0, len(rows))}
	var total store.ReportMetrics
	for _, r := range rows {
		total.Add(r.ReportMetrics)
		out.Rows = append(out.Rows, reportRowJSON{Key: r.Key, Label: names[r.Key], metricsJSON: toMetricsJSON(r.ReportMetrics, q.Currency)})
	}
	out.Total = toMetricsJSON(total, q.Currency)
	return c.JSON(http.StatusOK, out)
}

// pointJSON is one day of GET /api/v1/reports/timeseries.
type pointJSON struct {
	Day string `json:"day"`
	metricsJSON
}

func (a *App) reportTimeseries(c echo.Context) error {
	q, err := a.reportQuery(c)
	if err != nil {
		return err
	}
	rows, err := a.store.ReportGroups(c.Request().Context(), q, store.ReportByDay)
	if err != nil {
		return err
	}
	byDay := make(map[string]store.ReportMetrics, len(rows))
	for _, r := range rows {
		byDay[r.Key] = r.ReportMetrics
	}
	out := struct {
		Currency string      `json:"currency"`
		From     string      `json:"from"`
		To       string      `json:"to"`
		Points   []pointJSON `json:"points"`
	}{Currency: q.Currency, From: q.From.Format(time.DateOnly), To: q.To.Format(time.DateOnly), Points: []pointJSON{}}
	for d := q.From; !d.After(q.To); d = d.AddDate(0, 0, 1) {
		k := d.Format(time.DateOnly)
		out.Points = append(out.Points, pointJSON{Day: k, metricsJSON: toMetricsJSON(byDay[k], q.Currency)})
	}
	return c.JSON(http.StatusOK, out)
}

// ltvRowJSON is one acquisition cohort of GET /api/v1/reports/ltv.
type ltvRowJSON struct {
	Key       string `json:"key"`
	Label     string `json:"label"`
	Customers int64  `json:"customers"`
	LTV30     string `json:"ltv_30"`
	LTV90     string `json:"ltv_90"`
	LTV365    string `json:"ltv_365"`
}

func (a *App) reportLTV(c echo.Context) error {
	group, err := groupParam(c, store.ReportByCampaign, store.ReportByCampaign, store.ReportByPartner, store.ReportByChannel)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	sh := shopOf(c)
	cur, err := a.reportCurrency(ctx, sh)
	if err != nil {
		return err
	}
	rows, err := a.store.ReportCohorts(ctx, sh.ID, cur, group)
	if err != nil {
		return err
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.Key
	}
	names, err := a.labels(ctx, sh.ID, group, keys)
	if err != nil {
		return err
	}
	avg := func(sum, n int64) string {
		if n == 0 {
			return attribution.FormatMinor(0, cur)
		}
		return attribution.FormatMinor((sum+n/2)/n, cur)
	}
	out := struct {
		Currency string       `json:"currency"`
		GroupBy  string       `json:"group_by"`
		Rows     []ltvRowJSON `json:"rows"`
	}{Currency: cur, GroupBy: group, Rows: make([]ltvRowJSON, 0, len(rows))}
	for _, r := range rows {
		out.Rows = append(out.Rows, ltvRowJSON{Key: r.Key, Label: names[r.Key], Customers: r.Customers,
			LTV30: avg(r.LTV30, r.Customers), LTV90: avg(r.LTV90, r.Customers), LTV365: avg(r.LTV365, r.Customers)})
	}
	return c.JSON(http.StatusOK, out)
}

// overviewJSON is GET /api/v1/reports/overview: the dashboard tiles.
type overviewJSON struct {
	Currency   string      `json:"currency"`
	AsOf       string      `json:"as_of"`
	Today      metricsJSON `json:"today"`
	Last30Days metricsJSON `json:"last_30_days"`
	// IncrementalLift is the relative lift in conversion rate (0.12 =
	// +12%) of the newest campaign running a holdout experiment, null until
	// one has shoppers in both arms; LiftExperiment says which and how sure.
	IncrementalLift *float64            `json:"incremental_lift"`
	LiftExperiment  *liftExperimentJSON `json:"lift_experiment"`
	Fraud           struct {
		FlaggedToday   int64 `json:"flagged_today"`
		Flagged30Days  int64 `json:"flagged_30_days"`
		Rejected30Days int64 `json:"rejected_30_days"`
	} `json:"fraud"`
}

// liftExperimentJSON is the experiment behind the overview's lift.
type liftExperimentJSON struct {
	CampaignID         string     `json:"campaign_id"`
	CampaignName       string     `json:"campaign_name"`
	RelativeCI         []*float64 `json:"relative_ci"`
	IncrementalOrders  *float64   `json:"incremental_orders"`
	IncrementalRevenue *string    `json:"incremental_revenue"`
	Significant        bool       `json:"significant"`
}

// overviewLift reads out the newest experiment campaign of the shop.
func (a *App) overviewLift(ctx context.Context, sh *store.Shop) (*float64, *liftExperimentJSON, error) {
	camps, err := a.store.ExperimentCampaigns(ctx, sh.ID, 0, 1)
	if err != nil || len(camps) == 0 {
		return nil, nil, err
	}
	sets, err := a.store.ExperimentSettingsFor(ctx, sh.ID, []int64{camps[0].ID})
	if err != nil {
		return nil, nil, err
	}
	e, err := a.experimentOf(ctx, sh, &camps[0], sets[camps[0].ID], false)
	if err != nil {
		return nil, nil, err
	}
	if e.Lift.Relative == nil {
		return nil, nil, nil
	}
	return e.Lift.Relative, &liftExperimentJSON{CampaignID: e.CampaignID, CampaignName: e.CampaignName, RelativeCI: e.Lift.RelativeCI,
		IncrementalOrders: e.IncrementalOrders, IncrementalRevenue: e.IncrementalRevenue, Significant: e.Sequential.Significant}, nil
}

func (a *App) reportOverview(c echo.Context) error {
	ctx := c.Request().Context()
	sh := shopOf(c)
	cur, err := a.reportCurrency(ctx, sh)
	if err != nil {
		return err
	}
	now := a.now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	rows, err := a.store.ReportGroups(ctx, store.ReportQuery{ShopID: sh.ID, Currency: cur, From: today.AddDate(0, 0, -29), To: today}, store.ReportByDay)
	if err != nil {
		return err
	}
	var day, month store.ReportMetrics
	for _, r := range rows {
		month.Add(r.ReportMetrics)
		if r.Key == today.Format(time.DateOnly) {
			day.Add(r.ReportMetrics)
		}
	}
	out := overviewJSON{Currency: cur, AsOf: now.Format(time.RFC3339), Today: toMetricsJSON(day, cur), Last30Days: toMetricsJSON(month, cur)}
	if out.IncrementalLift, out.LiftExperiment, err = a.overviewLift(ctx, sh); err != nil {
		return err
	}
	out.Fraud.FlaggedToday = day.FraudFlagged
	out.Fraud.Flagged30Days = month.FraudFlagged
	out.Fraud.Rejected30Days = month.RejectedOrders
	return c.JSON(http.StatusOK, out)
}
