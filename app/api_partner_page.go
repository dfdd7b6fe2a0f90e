package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/attribution"
	"github.com/coupontrail/coupontrail/app/store"
)

// Partner page tokens: "pp_" + 18 random bytes + a 12-byte HMAC of them under
// the app secret (base64url, 40 characters). The MAC lets the public route
// turn away forged tokens without a database read; the database keeps only
// the SHA-256 of the whole token, so a leaked table cannot be replayed, and
// revoking is one UPDATE.
const (
	pageTokenPrefix = "pp_"
	pageTokenRand   = 18
	pageTokenMAC    = 12
)

func pageTokenMACOf(secret string, r []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("coupontrail partner page\x00"))
	m.Write(r)
	return m.Sum(nil)[:pageTokenMAC]
}

// newPageToken draws a token and returns it with its stored hash.
func (a *App) newPageToken() (string, []byte, error) {
	r := make([]byte, pageTokenRand)
	if _, err := io.ReadFull(a.rand, r); err != nil {
		return "", nil, err
	}
	tok := pageTokenPrefix + base64.RawURLEncoding.EncodeToString(append(r, pageTokenMACOf(a.cfg.ShopifyAPISecret, r)...))
	h := sha256.Sum256([]byte(tok))
	return tok, h[:], nil
}

// checkPageToken verifies the token's MAC (under the current or a previous
// secret) and returns its hash.
func (a *App) checkPageToken(tok string) ([]byte, bool) {
	raw, ok := strings.CutPrefix(tok, pageTokenPrefix)
	if !ok {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) != pageTokenRand+pageTokenMAC {
		return nil, false
	}
	r, mac := b[:pageTokenRand], b[pageTokenRand:]
	valid := false
	for _, sec := range append([]string{a.cfg.ShopifyAPISecret}, a.cfg.WebhookSecretsPrev...) {
		if sec != "" && hmac.Equal(mac, pageTokenMACOf(sec, r)) {
			valid = true
		}
	}
	if !valid {
		return nil, false
	}
	h := sha256.Sum256([]byte(tok))
	return h[:], true
}

// pageLinkJSON is a partner page link; url (with the token) is only in the
// answer that created it.
type pageLinkJSON struct {
	ID         string  `json:"id"`
	PartnerID  string  `json:"partner_id"`
	URL        string  `json:"url,omitempty"`
	Hint       string  `json:"hint"`
	CreatedAt  string  `json:"created_at"`
	RevokedAt  *string `json:"revoked_at"`
	LastUsedAt *string `json:"last_used_at"`
}

func toPageLinkJSON(l *store.PartnerPageLink) pageLinkJSON {
	return pageLinkJSON{ID: idString(l.ID), PartnerID: idString(l.PartnerID), Hint: l.Hint, CreatedAt: l.CreatedAt.UTC().Format(time.RFC3339),
		RevokedAt: rfc3339(l.RevokedAt), LastUsedAt: rfc3339(l.LastUsedAt)}
}

func (a *App) createPartnerPageLink(c echo.Context) error {
	pid, err := pathID(c, "id")
	if err != nil {
		return err
	}
	tok, hash, err := a.newPageToken()
	if err != nil {
		return err
	}
	l := &store.PartnerPageLink{ShopID: shopOf(c).ID, PartnerID: pid, TokenHash: hash, Hint: tok[len(tok)-4:], CreatedAt: a.now()}
	if err := a.store.CreatePartnerPageLink(c.Request().Context(), l); err != nil {
		return err
	}
	out := toPageLinkJSON(l)
	out.URL = strings.TrimRight(a.cfg.AppURL, "/") + "/p/" + tok
	return c.JSON(http.StatusCreated, out)
}

func (a *App) listPartnerPageLinks(c echo.Context) error {
	pid, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := a.store.PartnerByID(ctx, shopOf(c).ID, pid); err != nil {
		return err
	}
	ls, err := a.store.ListPartnerPageLinks(ctx, shopOf(c).ID, pid)
	if err != nil {
		return err
	}
	out := list[pageLinkJSON]{Items: make([]pageLinkJSON, 0, len(ls))}
	for i := range ls {
		out.Items = append(out.Items, toPageLinkJSON(&ls[i]))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) revokePartnerPageLink(c echo.Context) error {
	pid, err := pathID(c, "id")
	if err != nil {
		return err
	}
	lid, err := pathID(c, "link_id")
	if err != nil {
		return err
	}
	if err := a.store.RevokePartnerPageLink(c.Request().Context(), shopOf(c).ID, pid, lid, a.now()); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// partnerPageJSON is what the partner page shows (GET /p/{token}.json).
// It carries no shopper data: no e-mails, names, addresses or IPs.
type partnerPageJSON struct {
	Shop        string                  `json:"shop"`
	Partner     partnerPagePartner      `json:"partner"`
	Currency    string                  `json:"currency"`
	GeneratedAt string                  `json:"generated_at"`
	Totals      partnerPageTotals       `json:"totals"`
	Codes       []partnerPageCode       `json:"codes"`
	Links       []partnerPageLink       `json:"links"`
	Conversions []partnerPageConversion `json:"conversions"`
	Statements  []partnerPageStatement  `json:"statements"`
}

type partnerPagePartner struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Commission string `json:"commission"`
}

type partnerPageTotals struct {
	Clicks            int64  `json:"clicks"`
	Conversions       int    `json:"conversions"`
	Held              int    `json:"held"`
	Approved          int    `json:"approved"`
	Reversed          int    `json:"reversed"`
	Rejected          int    `json:"rejected"`
	CommissionHeld    string `json:"commission_held"`
	CommissionEarned  string `json:"commission_approved"`
	CommissionPaidOut string `json:"commission_paid"`
}

type partnerPageCode struct {
	Code       string  `json:"code"`
	Status     string  `json:"status"`
	Channel    string  `json:"channel"`
	Uses       int     `json:"uses"`
	ExpiresAt  *string `json:"expires_at"`
	RedeemedAt *string `json:"redeemed_at"`
}

type partnerPageLink struct {
	URL       string  `json:"url"`
	Channel   string  `json:"channel"`
	Code      string  `json:"code"`
	Clicks    int64   `json:"clicks"`
	Bots      int64   `json:"bot_clicks"`
	LastClick *string `json:"last_click_at"`
}

type partnerPageConversion struct {
	OrderName  string  `json:"order_name"`
	OrderedAt  string  `json:"ordered_at"`
	Status     string  `json:"status"`
	Reason     string  `json:"reason"`
	Code       string  `json:"code"`
	Channel    string  `json:"channel"`
	NetRevenue string  `json:"net_revenue"`
	Commission string  `json:"commission"`
	HoldUntil  string  `json:"hold_until"`
	DecidedAt  *string `json:"decided_at"`
}

type partnerPageStatement struct {
	ID          string  `json:"id"`
	PeriodStart string  `json:"period_start"`
	PeriodEnd   string  `json:"period_end"`
	Status      string  `json:"status"`
	Conversions int     `json:"conversions"`
	Commission  string  `json:"commission"`
	Clawbacks   string  `json:"clawbacks"`
	Total       string  `json:"total"`
	PaidAt      *string `json:"paid_at"`
}

// conversionReason says why a conversion is where it is, in the partner's
// words when the ledger gave none.
func conversionReason(c *store.Conversion) string {
	if c.StatusReason != "" {
		return c.StatusReason
	}
	switch c.Status {
	case store.ConversionHeld:
		return "in the refund window until " + c.HoldUntil.UTC().Format("2 Jan 2006")
	case store.ConversionApproved:
		return "refund window closed"
	case store.ConversionPaid:
		return "paid on a statement"
	case store.ConversionReversed:
		return "order refunded or cancelled"
	case store.ConversionRejected:
		return "rejected by the merchant"
	}
	return ""
}

// partnerPageLimit bounds each list on the page.
const partnerPageLimit = 200

func (a *App) partnerPageData(c echo.Context, l *store.PartnerPageLink) (*partnerPageJSON, error) {
	ctx := c.Request().Context()
	sh, err := a.store.ShopByID(ctx, l.ShopID)
	if err != nil {
		return nil, err
	}
	p, err := a.store.PartnerByID(ctx, l.ShopID, l.PartnerID)
	if err != nil {
		return nil, err
	}
	cur, err := a.reportCurrency(ctx, sh)
	if err != nil {
		return nil, err
	}
	f := func(v int64) string { return attribution.FormatMinor(v, cur) }
	out := &partnerPageJSON{Shop: firstNonEmpty(sh.Name, sh.Domain), Currency: cur, GeneratedAt: a.now().UTC().Format(time.RFC3339),
		Partner: partnerPagePartner{ID: idString(p.ID), Name: p.Name}, Codes: []partnerPageCode{}, Links: []partnerPageLink{},
		Conversions: []partnerPageConversion{}, Statements: []partnerPageStatement{}}
	switch {
	case p.CommissionPercent != nil:
		out.Partner.Commission = strconv.FormatFloat(*p.CommissionPercent, 'f', -1, 64) + "% of net revenue"
	case p.CommissionFixedMinor != nil:
		out.Partner.Commission = f(*p.CommissionFixedMinor) + " " + cur + " per order"
	}

	codes, err := a.store.ListCodes(ctx, store.CodeFilter{ShopID: sh.ID, PartnerID: p.ID, Limit: partnerPageLimit})
	if err != nil {
		return nil, err
	}
	for _, k := range codes {
		out.Codes = append(out.Codes, partnerPageCode{Code: k.Code, Status: k.Status, Channel: k.Channel, Uses: k.Uses,
			ExpiresAt: rfc3339(k.ExpiresAt), RedeemedAt: rfc3339(k.RedeemedAt)})
	}
	links, err := a.store.ListLinks(ctx, store.LinkFilter{ShopID: sh.ID, PartnerID: p.ID, Limit: partnerPageLimit})
	if err != nil {
		return nil, err
	}
	clicks, err := a.store.PartnerClickCounts(ctx, sh.ID, p.ID)
	if err != nil {
		return nil, err
	}
	for _, k := range links {
		n := clicks[k.ID]
		out.Totals.Clicks += n.Clicks
		out.Links = append(out.Links, partnerPageLink{URL: strings.TrimRight(a.cfg.AppURL, "/") + "/l/" + k.Slug, Channel: k.Channel,
			Code: k.VanityCode, Clicks: n.Clicks, Bots: n.Bots, LastClick: rfc3339(n.Last)})
	}
	convs, err := a.store.ListConversions(ctx, store.ConversionFilter{ShopID: sh.ID, PartnerID: p.ID, Limit: partnerPageLimit})
	if err != nil {
		return nil, err
	}
	var held, earned, paid int64
	for i := range convs {
		cv := &convs[i]
		decided := cv.ApprovedAt
		switch cv.Status {
		case store.ConversionRejected:
			decided = cv.RejectedAt
		case store.ConversionReversed:
			decided = cv.ReversedAt
		case store.ConversionPaid:
			decided = cv.PaidAt
		}
		out.Conversions = append(out.Conversions, partnerPageConversion{OrderName: cv.OrderName, OrderedAt: cv.OrderCreatedAt.UTC().Format(time.RFC3339),
			Status: cv.Status, Reason: conversionReason(cv), Code: cv.Code, Channel: cv.Channel, NetRevenue: f(cv.NetMinor),
			Commission: f(cv.CommissionMinor), HoldUntil: cv.HoldUntil.UTC().Format(time.RFC3339), DecidedAt: rfc3339(decided)})
		out.Totals.Conversions++
		switch cv.Status {
		case store.ConversionHeld:
			out.Totals.Held++
			held += cv.CommissionMinor
		case store.ConversionApproved:
			out.Totals.Approved++
			earned += cv.CommissionMinor
		case store.ConversionPaid:
			out.Totals.Approved++
			paid += cv.CommissionMinor
		case store.ConversionReversed:
			out.Totals.Reversed++
		case store.ConversionRejected:
			out.Totals.Rejected++
		}
	}
	out.Totals.CommissionHeld, out.Totals.CommissionEarned, out.Totals.CommissionPaidOut = f(held), f(earned), f(paid)
	sts, err := a.store.ListStatements(ctx, store.StatementFilter{ShopID: sh.ID, PartnerID: p.ID, Limit: partnerPageLimit})
	if err != nil {
		return nil, err
	}
	for _, st := range sts {
		sf := func(v int64) string { return attribution.FormatMinor(v, st.Currency) }
		out.Statements = append(out.Statements, partnerPageStatement{ID: idString(st.ID), PeriodStart: st.PeriodStart.UTC().Format(time.DateOnly),
			PeriodEnd: st.PeriodEnd.UTC().Format(time.DateOnly), Status: st.Status, Conversions: st.Conversions,
			Commission: sf(st.CommissionMinor), Clawbacks: sf(st.ClawbackMinor), Total: sf(st.TotalMinor), PaidAt: rfc3339(st.PaidAt)})
	}
	return out, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// partnerPage serves GET /p/{token} (HTML) and /p/{token}.json. Unknown,
// forged and revoked tokens all get the same 404.
func (a *App) partnerPage(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	tok, asJSON := strings.CutSuffix(c.Param("token"), ".json")
	notFound := func() error {
		if asJSON {
			return errCode(http.StatusNotFound, "not_found", "this partner page does not exist or was revoked")
		}
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
		c.Response().WriteHeader(http.StatusNotFound)
		return partnerPageMissing.Execute(c.Response(), nil)
	}
	hash, ok := a.checkPageToken(tok)
	if !ok {
		return notFound()
	}
	l, err := a.store.PartnerPageLinkByHash(c.Request().Context(), hash, a.now())
	if errors.Is(err, store.ErrNotFound) {
		return notFound()
	}
	if err != nil {
		return err
	}
	data, err := a.partnerPageData(c, l)
	if errors.Is(err, store.ErrNotFound) {
		return notFound()
	}
	if err != nil {
		return err
	}
	if asJSON {
		return c.JSON(http.StatusOK, data)
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return partnerPageTmpl.Execute(c.Response(), data)
}

const partnerPageCSS = `
*{box-sizing:border-box}body{margin:0;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;background:#f1f2f4;color:#303030}
header{background:#1a1a1a;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#b5b5b5}
main{max-width:1100px;margin:0 auto;padding:16px}section{background:#fff;border-radius:12px;box-shadow:0 1px 2px rgba(0,0,0,.08);margin:0 0 16px;padding:16px}
h2{font-size:15px;margin:0 0 12px}table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #ebebeb;vertical-align:top}
th{font-weight:600;color:#616161;font-size:12px}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}.tile{background:#fff;border-radius:12px;padding:12px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.tile b{display:block;font-size:20px}.tile span{color:#616161;font-size:12px}
.badge{display:inline-block;border-radius:8px;padding:0 8px;font-size:12px;background:#e3e3e3}.held{background:#ffef9d}.approved,.paid{background:#affebf}.reversed,.rejected{background:#fed1d7}
.empty{color:#616161}code{font-family:ui-monospace,Menlo,Consolas,monospace}a{color:#005bd3;word-break:break-all}footer{color:#616161;font-size:12px;text-align:center;padding:8px}`

var partnerPageTmpl = template.Must(template.New("partner").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex,nofollow"><title>{{.Partner.Name}} · {{.Shop}}</title><style>` + partnerPageCSS + `</style></head>
<body><header><h1>{{.Partner.Name}}</h1><p>Partner report from {{.Shop}}{{if .Partner.Commission}} · commission {{.Partner.Commission}}{{end}} · amounts in {{.Currency}}</p></header>
<main>
<div class="tiles" style="margin-bottom:16px">
<div class="tile"><b>{{.Totals.Clicks}}</b><span>clicks</span></div>
<div class="tile"><b>{{.Totals.Conversions}}</b><span>conversions</span></div>
<div class="tile"><b>{{.Totals.Held}}</b><span>held</span></div>
<div class="tile"><b>{{.Totals.Approved}}</b><span>approved</span></div>
<div class="tile"><b>{{.Totals.Reversed}}</b><span>reversed</span></div>
<div class="tile"><b>{{.Totals.CommissionHeld}}</b><span>commission held</span></div>
<div class="tile"><b>{{.Totals.CommissionEarned}}</b><span>commission approved</span></div>
</div>
<section><h2>Conversions</h2>{{if .Conversions}}<table><thead><tr><th>Order</th><th>Date</th><th>Status</th><th>Reason</th><th>Code</th><th class="num">Net revenue</th><th class="num">Commission</th></tr></thead><tbody>
{{range .Conversions}}<tr><td>{{.OrderName}}</td><td>{{.OrderedAt}}</td><td><span class="badge {{.Status}}">{{.Status}}</span></td><td>{{.Reason}}</td><td><code>{{.Code}}</code></td><td class="num">{{.NetRevenue}}</td><td class="num">{{.Commission}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">No conversions yet.</p>{{end}}</section>
<section><h2>SmartLinks</h2>{{if .Links}}<table><thead><tr><th>Link</th><th>Channel</th><th>Code</th><th class="num">Clicks</th><th class="num">Bot clicks</th><th>Last click</th></tr></thead><tbody>
{{range .Links}}<tr><td><a href="{{.URL}}" rel="noreferrer">{{.URL}}</a></td><td>{{.Channel}}</td><td><code>{{.Code}}</code></td><td class="num">{{.Clicks}}</td><td class="num">{{.Bots}}</td><td>{{with .LastClick}}{{.}}{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">No SmartLinks yet.</p>{{end}}</section>
<section><h2>Codes</h2>{{if .Codes}}<table><thead><tr><th>Code</th><th>Status</th><th>Channel</th><th class="num">Uses</th><th>Expires</th></tr></thead><tbody>
{{range .Codes}}<tr><td><code>{{.Code}}</code></td><td>{{.Status}}</td><td>{{.Channel}}</td><td class="num">{{.Uses}}</td><td>{{with .ExpiresAt}}{{.}}{{else}}never{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">No codes yet.</p>{{end}}</section>
<section><h2>Statements</h2>{{if .Statements}}<table><thead><tr><th>Period</th><th>Status</th><th class="num">Conversions</th><th class="num">Commission</th><th class="num">Clawbacks</th><th class="num">Total</th><th>Paid</th></tr></thead><tbody>
{{range .Statements}}<tr><td>{{.PeriodStart}} – {{.PeriodEnd}}</td><td><span class="badge {{.Status}}">{{.Status}}</span></td><td class="num">{{.Conversions}}</td><td class="num">{{.Commission}}</td><td class="num">{{.Clawbacks}}</td><td class="num">{{.Total}}</td><td>{{with .PaidAt}}{{.}}{{end}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="empty">No statements yet.</p>{{end}}</section>
</main><footer>Generated {{.GeneratedAt}} · read-only</footer></body></html>`))

var partnerPageMissing = template.Must(template.New("missing").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex,nofollow"><title>Page not found</title><style>` + partnerPageCSS + `</style></head>
<body><header><h1>Partner page not found</h1></header><main><section><p>This link does not exist or was revoked. Ask the store for a new one.</p></section></main></body></html>`))
