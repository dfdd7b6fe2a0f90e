package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// conversionJSON is one conversion as GET /api/v1/conversions lists it
// (PRODUCT.md §12; the first fields are fixed, the rest are additions).
type conversionJSON struct {
	ID           string          `json:"id"`
	OrderID      string          `json:"order_id"`
	OrderName    string          `json:"order_name"`
	Status       string          `json:"status"`
	CampaignID   *string         `json:"campaign_id"`
	PartnerID    *string         `json:"partner_id"`
	Channel      string          `json:"channel"`
	Code         string          `json:"code"`
	Currency     string          `json:"currency"`
	GrossRevenue string          `json:"gross_revenue"`
	NetRevenue   string          `json:"net_revenue"`
	DiscountCost string          `json:"discount_cost"`
	Commission   string          `json:"commission"`
	HoldUntil    string          `json:"hold_until"`
	Fraud        json.RawMessage `json:"fraud"`
	Credit       creditJSON      `json:"credit"`

	ClickID      string                   `json:"click_id"`
	Attributed   bool                     `json:"attributed"`
	StatusReason string                   `json:"status_reason"`
	Refunded     string                   `json:"refunded"`
	Clawback     string                   `json:"clawback"`
	Original     moneyJSON                `json:"original"`
	Lines        []conversionLineJSON     `json:"lines"`
	OrderCreated string                   `json:"order_created_at"`
	AttributedAt string                   `json:"attributed_at"`
	ApprovedAt   *string                  `json:"approved_at"`
	PaidAt       *string                  `json:"paid_at"`
	StatementID  *string                  `json:"statement_id"`
	Version      int                      `json:"version"`
	Touchpoints  []attribution.Touchpoint `json:"touchpoints,omitempty"`
}

// creditJSON says which rule credited the conversion and why.
type creditJSON struct {
	Rule     string          `json:"rule"`
	Policy   string          `json:"policy"`
	Evidence json.RawMessage `json:"evidence"`
}

// moneyJSON is a set of amounts as decimal strings.
type moneyJSON struct {
	GrossRevenue string `json:"gross_revenue"`
	NetRevenue   string `json:"net_revenue"`
	DiscountCost string `json:"discount_cost"`
	Commission   string `json:"commission"`
}

// conversionLineJSON is one credited party of a conversion.
type conversionLineJSON struct {
	CampaignID *string   `json:"campaign_id"`
	PartnerID  *string   `json:"partner_id"`
	Channel    string    `json:"channel"`
	Code       string    `json:"code"`
	ClickID    string    `json:"click_id"`
	Share      string    `json:"share"` // percent, "50.00"
	Rule       string    `json:"rule"`
	Evidence   string    `json:"evidence"`
	Current    moneyJSON `json:"current"`
	Original   moneyJSON `json:"original"`
}

func optIDStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func money(a attribution.Amounts, cur string) moneyJSON {
	return moneyJSON{GrossRevenue: attribution.FormatMinor(a.Gross, cur), NetRevenue: attribution.FormatMinor(a.Net, cur),
		DiscountCost: attribution.FormatMinor(a.Discount, cur), Commission: attribution.FormatMinor(a.Commission, cur)}
}

func toConversionJSON(c *store.Conversion, withPath bool) conversionJSON {
	cur := c.Currency
	out := conversionJSON{
		ID: idString(c.ID), OrderID: idString(c.OrderID), OrderName: c.OrderName, Status: c.Status,
		CampaignID: optID(c.CampaignID), PartnerID: optID(c.PartnerID), Channel: c.Channel, Code: c.Code, Currency: cur,
		GrossRevenue: attribution.FormatMinor(c.GrossMinor, cur), NetRevenue: attribution.FormatMinor(c.NetMinor, cur),
		DiscountCost: attribution.FormatMinor(c.DiscountMinor, cur), Commission: attribution.FormatMinor(c.CommissionMinor, cur),
		HoldUntil: c.HoldUntil.UTC().Format(time.RFC3339), Fraud: c.Fraud,
		Credit:  creditJSON{Rule: c.Rule, Policy: c.Policy, Evidence: c.Evidence},
		ClickID: c.ClickID, Attributed: c.Attributed, StatusReason: c.StatusReason,
		Refunded: attribution.FormatMinor(c.RefundedMinor, cur), Clawback: attribution.FormatMinor(c.ClawbackMinor, cur),
		Original:     money(attribution.Amounts{Gross: c.OriginalGross, Net: c.OriginalNet, Discount: c.OriginalDisc, Commission: c.OriginalComm}, cur),
		Lines:        []conversionLineJSON{},
		OrderCreated: c.OrderCreatedAt.UTC().Format(time.RFC3339), AttributedAt: c.AttributedAt.UTC().Format(time.RFC3339),
		ApprovedAt: rfc3339(c.ApprovedAt), PaidAt: rfc3339(c.PaidAt), StatementID: optID(c.StatementID), Version: c.Version,
	}
	if len(out.Fraud) == 0 {
		out.Fraud = json.RawMessage(`{"score":0,"action":"none","reasons":[]}`)
	}
	var lines []attribution.Line
	_ = json.Unmarshal(c.Lines, &lines)
	for _, l := range lines {
		out.Lines = append(out.Lines, conversionLineJSON{
			CampaignID: optIDStr(l.CampaignID), PartnerID: optIDStr(l.PartnerID), Channel: l.Channel, Code: l.Code, ClickID: l.ClickID,
			Share: attribution.FormatMinor(l.Share, "USD"), Rule: string(l.Rule), Evidence: l.Evidence,
			Current: money(l.Amounts, cur), Original: money(l.Original, cur),
		})
	}
	if withPath {
		_ = json.Unmarshal(c.Path, &out.Touchpoints)
	}
	return out
}

func (a *App) listConversions(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	f := store.ConversionFilter{ShopID: shopOf(c).ID, BeforeID: before, Limit: limit + 1, Status: c.QueryParam("status")}
	switch f.Status {
	case "", store.ConversionHeld, store.ConversionApproved, store.ConversionRejected, store.ConversionReversed, store.ConversionPaid:
	default:
		return errCode(http.StatusBadRequest, "invalid_status", "status must be held, approved, rejected, reversed or paid")
	}
	if f.OrderID, err = queryID(c, "order_id"); err != nil {
		return err
	}
	if f.PartnerID, err = queryID(c, "partner_id"); err != nil {
		return err
	}
	cs, err := a.store.ListConversions(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[conversionJSON]{Items: []conversionJSON{}}
	for i := range cs {
		if i == limit {
			out.NextCursor = idString(cs[i-1].ID)
			break
		}
		out.Items = append(out.Items, toConversionJSON(&cs[i], false))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) getConversion(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	conv, err := a.store.ConversionByID(c.Request().Context(), shopOf(c).ID, id, false)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toConversionJSON(conv, true))
}

// actorOf names who acts through the API in ledger causes: the staff user of
// a session token, else the API key.
func actorOf(c echo.Context) string {
	p := who(c)
	if p.Kind == "session" && p.UserID != "" {
		return "user:" + p.UserID
	}
	return "api_key:" + idString(p.KeyID)
}

func (a *App) transitionConversion(c echo.Context, action string) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if c.Request().ContentLength != 0 {
		if err := c.Bind(&in); err != nil {
			return errCode(http.StatusBadRequest, "invalid_json", "body must be JSON")
		}
	}
	if len(in.Reason) > 1000 {
		return errCode(http.StatusUnprocessableEntity, "invalid", "reason is longer than 1000 characters")
	}
	if action == "reject" && in.Reason == "" {
		return errCode(http.StatusUnprocessableEntity, "invalid", "reason is required")
	}
	conv, err := a.jobs.TransitionConversion(c.Request().Context(), shopOf(c).ID, id, action, in.Reason, actorOf(c))
	var te *attribution.TransitionError
	if errors.As(err, &te) {
		return errCode(http.StatusConflict, "invalid_transition", te.Error())
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toConversionJSON(conv, false))
}

func (a *App) approveConversion(c echo.Context) error { return a.transitionConversion(c, "approve") }

func (a *App) rejectConversion(c echo.Context) error { return a.transitionConversion(c, "reject") }

func (a *App) ledgerCheck(c echo.Context) error {
	res, err := a.jobs.CheckLedger(c.Request().Context(), shopOf(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// parseDay reads a date ("2026-11-01") or RFC 3339 time.
func parseDay(v, name string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, errCode(http.StatusBadRequest, "invalid_"+name, name+" must be a date (YYYY-MM-DD) or an RFC 3339 time")
}

// rangeOf reads a [from, to) range; to defaults to now + 1 day, from to 90
// days before to.
func (a *App) rangeOf(from, to string) (time.Time, time.Time, error) {
	end := a.now().Add(24 * time.Hour)
	var err error
	if to != "" {
		if end, err = parseDay(to, "to"); err != nil {
			return end, end, err
		}
	}
	start := end.AddDate(0, 0, -90)
	if from != "" {
		if start, err = parseDay(from, "from"); err != nil {
			return start, end, err
		}
	}
	if !start.Before(end) {
		return start, end, errCode(http.StatusUnprocessableEntity, "invalid", "from must be before to")
	}
	return start, end, nil
}

func (a *App) rerunAttribution(c echo.Context) error {
	var in struct {
		From   string           `json:"from"`
		To     string           `json:"to"`
		Policy *jobs.PolicyJSON `json:"policy"`
		DryRun *bool            `json:"dry_run"`
	}
	if err := c.Bind(&in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be JSON")
	}
	from, to, err := a.rangeOf(in.From, in.To)
	if err != nil {
		return err
	}
	dry := in.DryRun == nil || *in.DryRun // applying must be asked for
	res, err := a.jobs.Rerun(c.Request().Context(), shopOf(c), from, to, in.Policy, dry, actorOf(c))
	if err != nil && strings.HasPrefix(err.Error(), "attribution:") {
		return errCode(http.StatusUnprocessableEntity, "invalid_policy", err.Error())
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

func (a *App) attributionModels(c echo.Context) error {
	from, to, err := a.rangeOf(c.QueryParam("from"), c.QueryParam("to"))
	if err != nil {
		return err
	}
	res, err := a.jobs.Models(c.Request().Context(), shopOf(c), from, to)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// statementJSON is one payout statement.
type statementJSON struct {
	ID          string              `json:"id"`
	PartnerID   string              `json:"partner_id"`
	PeriodStart string              `json:"period_start"`
	PeriodEnd   string              `json:"period_end"`
	Currency    string              `json:"currency"`
	Status      string              `json:"status"`
	Conversions int                 `json:"conversions"`
	Commission  string              `json:"commission"`
	Clawbacks   string              `json:"clawbacks"`
	Total       string              `json:"total"`
	PaidAt      *string             `json:"paid_at"`
	PaidBy      string              `json:"paid_by"`
	CreatedAt   string              `json:"created_at"`
	Lines       []statementLineJSON `json:"lines,omitempty"`
}

// statementLineJSON is one line of a statement.
type statementLineJSON struct {
	Kind         string `json:"kind"`
	ConversionID string `json:"conversion_id"`
	OrderID      string `json:"order_id"`
	OrderName    string `json:"order_name"`
	Amount       string `json:"amount"`
}

func toStatementJSON(s *store.Statement, lines []store.StatementLine) statementJSON {
	out := statementJSON{ID: idString(s.ID), PartnerID: idString(s.PartnerID), PeriodStart: s.PeriodStart.UTC().Format(time.RFC3339),
		PeriodEnd: s.PeriodEnd.UTC().Format(time.RFC3339), Currency: s.Currency, Status: s.Status, Conversions: s.Conversions,
		Commission: attribution.FormatMinor(s.CommissionMinor, s.Currency), Clawbacks: attribution.FormatMinor(s.ClawbackMinor, s.Currency),
		Total: attribution.FormatMinor(s.TotalMinor, s.Currency), PaidAt: rfc3339(s.PaidAt), PaidBy: s.PaidBy,
		CreatedAt: s.CreatedAt.UTC().Format(time.RFC3339)}
	for _, l := range lines {
		out.Lines = append(out.Lines, statementLineJSON{Kind: l.Kind, ConversionID: idString(l.ConversionID), OrderID: idString(l.OrderID),
			OrderName: l.OrderName, Amount: attribution.FormatMinor(l.AmountMinor, s.Currency)})
	}
	return out
}

func (a *App) listStatements(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	f := store.StatementFilter{ShopID: shopOf(c).ID, BeforeID: before, Limit: limit + 1, Status: c.QueryParam("status")}
	if f.PartnerID, err = queryID(c, "partner_id"); err != nil {
		return err
	}
	ss, err := a.store.ListStatements(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[statementJSON]{Items: []statementJSON{}}
	for i := range ss {
		if i == limit {
			out.NextCursor = idString(ss[i-1].ID)
			break
		}
		out.Items = append(out.Items, toStatementJSON(&ss[i], nil))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) createStatements(c echo.Context) error {
	var in struct {
		PeriodStart string `json:"period_start"`
		PeriodEnd   string `json:"period_end"`
	}
	if err := c.Bind(&in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be JSON")
	}
	if in.PeriodStart == "" || in.PeriodEnd == "" {
		return errCode(http.StatusUnprocessableEntity, "invalid", "period_start and period_end are required")
	}
	start, err := parseDay(in.PeriodStart, "period_start")
	if err != nil {
		return err
	}
	end, err := parseDay(in.PeriodEnd, "period_end")
	if err != nil {
		return err
	}
	if !start.Before(end) {
		return errCode(http.StatusUnprocessableEntity, "invalid", "period_start must be before period_end")
	}
	ss, err := a.store.BuildStatements(c.Request().Context(), shopOf(c).ID, start, end, a.now())
	if err != nil {
		return err
	}
	out := list[statementJSON]{Items: []statementJSON{}}
	for i := range ss {
		out.Items = append(out.Items, toStatementJSON(&ss[i], nil))
	}
	return c.JSON(http.StatusCreated, out)
}

func (a *App) loadStatement(c echo.Context) (*store.Statement, []store.StatementLine, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, nil, err
	}
	ctx := c.Request().Context()
	st, err := a.store.StatementByID(ctx, shopOf(c).ID, id, false)
	if err != nil {
		return nil, nil, err
	}
	lines, err := a.store.StatementLines(ctx, shopOf(c).ID, id)
	return st, lines, err
}

func (a *App) getStatement(c echo.Context) error {
	st, lines, err := a.loadStatement(c)
	if err != nil {
		return err
	}
	out := toStatementJSON(st, lines)
	if out.Lines == nil {
		out.Lines = []statementLineJSON{}
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) exportStatement(c echo.Context) error {
	st, lines, err := a.loadStatement(c)
	if err != nil {
		return err
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"statement_id", "partner_id", "period_start", "period_end", "kind", "conversion_id", "order_id", "order_name", "amount", "currency"})
	ps, pe := st.PeriodStart.UTC().Format(time.RFC3339), st.PeriodEnd.UTC().Format(time.RFC3339)
	for _, l := range lines {
		amt := l.AmountMinor
		if l.Kind == "clawback" {
			amt = -amt
		}
		_ = w.Write([]string{idString(st.ID), idString(st.PartnerID), ps, pe, l.Kind, idString(l.ConversionID), idString(l.OrderID),
			csvSafe(l.OrderName), attribution.FormatMinor(amt, st.Currency), st.Currency})
	}
	_ = w.Write([]string{idString(st.ID), idString(st.PartnerID), ps, pe, "total", "", "", "", attribution.FormatMinor(st.TotalMinor, st.Currency), st.Currency})
	w.Flush()
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="statement-%d.csv"`, st.ID))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (a *App) markStatementPaid(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	st, err := a.jobs.PayStatement(c.Request().Context(), shopOf(c).ID, id, actorOf(c))
	if err != nil {
		return err
	}
	lines, err := a.store.StatementLines(c.Request().Context(), shopOf(c).ID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toStatementJSON(st, lines))
}
