package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/codes"
	"github.com/coupontrail/coupontrail/app/shopify/admin"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// channels are the channels a code may carry (PRODUCT.md §4); "" is none.
var channels = map[string]bool{"": true, "email": true, "sms": true, "whatsapp": true, "push": true, "affiliate": true,
	"influencer": true, "paid": true, "organic": true, "tv": true, "other": true}

// maxImportBytes bounds a CSV import body (≈ 1M codes of 30 characters).
const maxImportBytes = 32 << 20

// maxImportRows bounds the rows of one import.
const maxImportRows = 1_000_000

// codeBatchJSON is GET /api/v1/code-batches/{id}.
type codeBatchJSON struct {
	ID         string  `json:"id"`
	Status     string  `json:"status"`
	CampaignID string  `json:"campaign_id"`
	PartnerID  *string `json:"partner_id"`
	Channel    string  `json:"channel"`
	Purpose    string  `json:"purpose"`
	Requested  int64   `json:"requested"`
	Generated  int64   `json:"generated"`
	Pushed     int64   `json:"pushed"`
	Failed     int64   `json:"failed"`
	Error      string  `json:"error"`
	CreatedAt  string  `json:"created_at"`
	UpdatedAt  string  `json:"updated_at"`
}

func optID(id *int64) *string {
	if id == nil {
		return nil
	}
	s := idString(*id)
	return &s
}

func toCodeBatchJSON(b *store.CodeBatch) codeBatchJSON {
	return codeBatchJSON{ID: idString(b.ID), Status: b.Status, CampaignID: idString(b.CampaignID), PartnerID: optID(b.PartnerID),
		Channel: b.Channel, Purpose: b.Purpose, Requested: b.Requested, Generated: b.Generated, Pushed: b.Pushed, Failed: b.Failed,
		Error: b.Error, CreatedAt: b.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: b.UpdatedAt.UTC().Format(time.RFC3339)}
}

// codeJSON is one item of GET /api/v1/codes.
type codeJSON struct {
	Code          string  `json:"code"`
	Status        string  `json:"status"`
	CustomerEmail *string `json:"customer_email"`
	PartnerID     *string `json:"partner_id"`
	Channel       string  `json:"channel"`
	IssuedAt      *string `json:"issued_at"`
	ExpiresAt     *string `json:"expires_at"`
	RedeemedAt    *string `json:"redeemed_at"`
	CampaignID    string  `json:"campaign_id"`
	Kind          string  `json:"kind"`
	ShopifyState  string  `json:"shopify_state"`
	UsageCap      *int    `json:"usage_cap,omitempty"`
}

func toCodeJSON(c *store.Code) codeJSON {
	return codeJSON{Code: c.Code, Status: c.Status, CustomerEmail: c.CustomerEmail, PartnerID: optID(c.PartnerID), Channel: c.Channel,
		IssuedAt: rfc3339(c.IssuedAt), ExpiresAt: rfc3339(c.ExpiresAt), RedeemedAt: rfc3339(c.RedeemedAt),
		CampaignID: idString(c.CampaignID), Kind: c.Kind, ShopifyState: c.ShopifyState, UsageCap: c.UsageCap}
}

// optionalID parses a JSON id that may be a string, a number or null.
func optionalID(raw json.RawMessage, field string) (*int64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" || s == `""` {
		return nil, nil
	}
	s = strings.Trim(s, `"`)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return nil, errCode(http.StatusUnprocessableEntity, "invalid", field+" is not an id")
	}
	return &id, nil
}

// codeCampaign loads the calling shop's campaign from the :id path parameter.
func (a *App) codeCampaign(c echo.Context) (*store.Campaign, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	camp, err := a.store.CodeCampaign(c.Request().Context(), shopOf(c).ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errCode(http.StatusNotFound, "not_found", "no such campaign")
	}
	return camp, err
}

// checkPartner verifies that partner id (if any) is the calling shop's.
func (a *App) checkPartner(c echo.Context, id *int64) error {
	if id == nil {
		return nil
	}
	err := a.store.CodePartnerExists(c.Request().Context(), shopOf(c).ID, *id)
	if errors.Is(err, store.ErrNotFound) {
		return errCode(http.StatusUnprocessableEntity, "invalid_partner", "partner_id is not one of this shop's partners")
	}
	return err
}

// keyspaceRefusal maps the generator's up-front refusals to 422s that carry
// the numbers.
func keyspaceRefusal(err error) error {
	var ke *codes.KeyspaceError
	var ce *codes.StoreCapError
	switch {
	case errors.As(err, &ce):
		return errCode(http.StatusUnprocessableEntity, "store_code_cap", strings.TrimPrefix(ce.Error(), "codes: "))
	case errors.As(err, &ke):
		return errCode(http.StatusUnprocessableEntity, "keyspace_too_small", strings.TrimPrefix(ke.Error(), "codes: "))
	case errors.Is(err, codes.ErrInvalidFormat):
		return errCode(http.StatusUnprocessableEntity, "invalid_code_format", err.Error())
	}
	return err
}

// createCodeBatch is POST /api/v1/campaigns/{id}/codes: check the keyspace
// and the store cap up front, record the batch, enqueue its generation
// after commit, answer 202.
func (a *App) createCodeBatch(c echo.Context) error {
	var in struct {
		Count     int64           `json:"count"`
		PartnerID json.RawMessage `json:"partner_id"`
		Channel   string          `json:"channel"`
	}
	if err := c.Bind(&in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be JSON")
	}
	camp, err := a.codeCampaign(c)
	if err != nil {
		return err
	}
	if in.Count < 1 || in.Count > codes.StoreCodeCap {
		return errCode(http.StatusUnprocessableEntity, "invalid_count", fmt.Sprintf("count must be between 1 and %d", codes.StoreCodeCap))
	}
	if !channels[in.Channel] {
		return errCode(http.StatusUnprocessableEntity, "invalid_channel", "unknown channel "+strconv.Quote(in.Channel))
	}
	pid, err := optionalID(in.PartnerID, "partner_id")
	if err != nil {
		return err
	}
	if pid == nil {
		pid = camp.PartnerID
	} else if err := a.checkPartner(c, pid); err != nil {
		return err
	}
	if camp.Status == "ended" {
		return errCode(http.StatusConflict, "campaign_ended", "the campaign has ended")
	}
	f, err := jobs.CampaignCodeFormat(camp)
	if err != nil {
		return keyspaceRefusal(err)
	}
	ctx := c.Request().Context()
	b := &store.CodeBatch{ShopID: camp.ShopID, CampaignID: camp.ID, PartnerID: pid, Channel: in.Channel,
		Purpose: store.BatchPurposeStock, Requested: in.Count}
	if err := a.store.CreateCodeBatch(ctx, b, func(existing int64) error {
		return codes.CheckKeyspace(f, in.Count, existing)
	}); err != nil {
		return keyspaceRefusal(err)
	}
	if err := jobs.EnqueueCodeBatch(ctx, a.queue, b.ID); err != nil {
		// The batch is recorded; the sweeper enqueues it.
		a.log.WarnContext(ctx, "enqueue code batch failed", "batch_id", b.ID, "err", err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"id": idString(b.ID), "status": b.Status})
}

func (a *App) getCodeBatch(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	b, err := a.store.ShopCodeBatch(c.Request().Context(), shopOf(c).ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return errCode(http.StatusNotFound, "not_found", "no such code batch")
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCodeBatchJSON(b))
}

func (a *App) listCodeBatches(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	f := store.CodeBatchFilter{ShopID: shopOf(c).ID, Status: c.QueryParam("status"), BeforeID: before, Limit: limit + 1}
	if v := c.QueryParam("campaign_id"); v != "" {
		if f.CampaignID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return errCode(http.StatusBadRequest, "invalid_campaign_id", "campaign_id is not an id")
		}
	}
	bs, err := a.store.ListCodeBatches(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[codeBatchJSON]{Items: []codeBatchJSON{}}
	for i := range bs {
		if i == limit {
			out.NextCursor = idString(bs[i-1].ID)
			break
		}
		out.Items = append(out.Items, toCodeBatchJSON(&bs[i]))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) listCodes(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	f := store.CodeFilter{ShopID: shopOf(c).ID, Status: c.QueryParam("status"), CustomerEmail: c.QueryParam("customer_email"),
		BeforeID: before, Limit: limit + 1}
	switch f.Status {
	case "", "available", "issued", "redeemed", "expired", "disabled":
	default:
		return errCode(http.StatusBadRequest, "invalid_status", "status must be available, issued, redeemed, expired or disabled")
	}
	if v := c.QueryParam("campaign_id"); v != "" {
		if f.CampaignID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return errCode(http.StatusBadRequest, "invalid_campaign_id", "campaign_id is not an id")
		}
	}
	if v := c.QueryParam("partner_id"); v != "" {
		if f.PartnerID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return errCode(http.StatusBadRequest, "invalid_partner_id", "partner_id is not an id")
		}
	}
	cs, err := a.store.ListCodes(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[codeJSON]{Items: []codeJSON{}}
	for i := range cs {
		if i == limit {
			out.NextCursor = idString(cs[i-1].ID)
			break
		}
		out.Items = append(out.Items, toCodeJSON(&cs[i]))
	}
	return c.JSON(http.StatusOK, out)
}

// exportCodes is GET /api/v1/campaigns/{id}/codes.csv: every code of the
// campaign, streamed from the database page by page (flat memory).
func (a *App) exportCodes(c echo.Context) error {
	camp, err := a.codeCampaign(c)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	switch status {
	case "", "available", "issued", "redeemed", "expired", "disabled":
	default:
		return errCode(http.StatusBadRequest, "invalid_status", "status must be available, issued, redeemed, expired or disabled")
	}
	res := c.Response()
	res.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	res.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="campaign-%d-codes.csv"`, camp.ID))
	res.WriteHeader(http.StatusOK)
	w := codes.NewCSVWriter(res)
	n := 0
	err = a.store.StreamCampaignCodes(c.Request().Context(), camp.ShopID, camp.ID, status, func(cd *store.Code) error {
		r := codes.ExportRow{Code: cd.Code, Status: cd.Status, Channel: cd.Channel}
		if cd.CustomerEmail != nil {
			r.CustomerEmail = *cd.CustomerEmail
		}
		if cd.PartnerID != nil {
			r.PartnerID = idString(*cd.PartnerID)
		}
		for _, t := range []struct {
			dst *time.Time
			src *time.Time
		}{{&r.IssuedAt, cd.IssuedAt}, {&r.ExpiresAt, cd.ExpiresAt}, {&r.RedeemedAt, cd.RedeemedAt}} {
			if t.src != nil {
				*t.dst = *t.src
			}
		}
		if err := w.Write(r); err != nil {
			return err
		}
		if n++; n%exportFlushEvery == 0 {
			if err := w.Flush(); err != nil {
				return err
			}
			res.Flush()
		}
		return nil
	})
	if err != nil {
		// Headers are sent: the truncated body (no final newline flush)
		// and the log are all we can give.
		a.log.ErrorContext(c.Request().Context(), "code export failed", "campaign_id", camp.ID, "rows", n, "err", err)
		return nil
	}
	return w.Flush()
}

// exportFlushEvery is how many rows are buffered before a flush to the client.
const exportFlushEvery = 5000

// importRowJSON is one row of the import report.
type importRowJSON struct {
	Line   int    `json:"line"`
	Code   string `json:"code"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// importCodes is POST /api/v1/campaigns/{id}/codes/import (a text/csv body,
// or multipart/form-data with the file in "file"): each
// row is validated (codes.ParseCSV), valid codes new to the shop are
// inserted as an 'import' batch and pushed like generated ones, and every
// row is reported.
func (a *App) importCodes(c echo.Context) error {
	camp, err := a.codeCampaign(c)
	if err != nil {
		return err
	}
	if camp.Status == "ended" {
		return errCode(http.StatusConflict, "campaign_ended", "the campaign has ended")
	}
	var body io.Reader = http.MaxBytesReader(c.Response(), c.Request().Body, maxImportBytes)
	if strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
		c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, maxImportBytes)
		fh, err := c.FormFile("file")
		if err != nil {
			return errCode(http.StatusBadRequest, "missing_file", "multipart import needs the CSV in a part named \"file\"")
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		body = f
	}
	rows, err := codes.ParseCSV(body, codes.ImportOptions{MaxRows: maxImportRows})
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errCode(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("import larger than %d bytes", maxImportBytes))
		}
		return errCode(http.StatusUnprocessableEntity, "invalid_csv", strings.TrimPrefix(err.Error(), "codes: "))
	}
	_, _ = io.Copy(io.Discard, body)
	var valid []string
	for _, r := range rows {
		if r.OK {
			valid = append(valid, r.Code)
		}
	}
	ctx := c.Request().Context()
	b := &store.CodeBatch{ShopID: camp.ShopID, CampaignID: camp.ID, PartnerID: camp.PartnerID, Purpose: store.BatchPurposeImport,
		Requested: int64(len(valid)), Status: store.BatchGenerating}
	if err := a.store.CreateCodeBatch(ctx, b, func(existing int64) error {
		if int64(len(valid)) > codes.StoreCodeCap-existing {
			return &codes.StoreCapError{Requested: int64(len(valid)), Existing: existing, Cap: codes.StoreCodeCap,
				Available: max(0, codes.StoreCodeCap-existing)}
		}
		return nil
	}); err != nil {
		return keyspaceRefusal(err)
	}
	inserted := map[string]bool{}
	if len(valid) > 0 {
		if inserted, err = a.store.InsertImportedCodes(ctx, b, valid); err != nil {
			_, _ = a.store.SetCodeBatchStatus(ctx, b.ID, nil, store.BatchFailed, "import failed")
			return err
		}
	}
	next := store.BatchPushing
	if len(inserted) == 0 {
		next = store.BatchDone
	}
	if _, err := a.store.SetCodeBatchStatus(ctx, b.ID, []string{store.BatchGenerating}, next, ""); err != nil {
		return err
	}
	if next == store.BatchPushing {
		if err := jobs.EnqueueCodePush(ctx, a.queue, b.ID, 0); err != nil {
			a.log.WarnContext(ctx, "enqueue code push failed", "batch_id", b.ID, "err", err)
		}
	}
	out := struct {
		BatchID  string          `json:"batch_id"`
		Accepted int             `json:"accepted"`
		Rejected int             `json:"rejected"`
		Rows     []importRowJSON `json:"rows"`
	}{BatchID: idString(b.ID), Rows: make([]importRowJSON, 0, len(rows))}
	for _, r := range rows {
		ir := importRowJSON{Line: r.Line, Code: r.Code, OK: r.OK, Reason: string(r.Reason), Detail: r.Detail}
		if r.OK && !inserted[r.Code] {
			ir.OK, ir.Reason, ir.Detail = false, "exists", "the shop already has this code"
		}
		if ir.OK {
			out.Accepted++
		} else {
			out.Rejected++
		}
		out.Rows = append(out.Rows, ir)
	}
	return c.JSON(http.StatusOK, out)
}

// campaignDiscount is the campaign's discount JSON as far as a vanity code
// needs it.
type campaignDiscount struct {
	Type        string          `json:"type"`
	Value       json.RawMessage `json:"value"`
	MinSubtotal *string         `json:"min_subtotal"`
}

// vanityInput builds the DiscountCodeBasicInput of a vanity code's own
// discount: the campaign's value, dates and minimum, usageLimit = cap.
func vanityInput(camp *store.Campaign, code string, usageCap int) (admin.DiscountCodeBasicInput, error) {
	var d campaignDiscount
	if err := json.Unmarshal(camp.Discount, &d); err != nil {
		return admin.DiscountCodeBasicInput{}, fmt.Errorf("campaign %d discount: %w", camp.ID, err)
	}
	val := strings.Trim(strings.TrimSpace(string(d.Value)), `"`)
	num, err := strconv.ParseFloat(val, 64)
	if err != nil && d.Type != "free_shipping" {
		return admin.DiscountCodeBasicInput{}, errCode(http.StatusUnprocessableEntity, "invalid_discount", "the campaign's discount has no usable value")
	}
	gets := &admin.DiscountCustomerGetsValueInput{}
	switch d.Type {
	case "percentage":
		p := num / 100
		gets.Percentage = &p
	case "fixed_amount", "fixed", "amount":
		gets.DiscountAmount = &admin.DiscountAmountInput{Amount: val}
	default:
		return admin.DiscountCodeBasicInput{}, errCode(http.StatusUnprocessableEntity, "unsupported_discount",
			"vanity codes need a percentage or fixed-amount campaign discount, not "+strconv.Quote(d.Type))
	}
	all := true
	starts := camp.StartsAt
	in := admin.DiscountCodeBasicInput{
		Title: fmt.Sprintf("%s – %s", camp.Name, code), Code: code, StartsAt: &starts, EndsAt: camp.EndsAt,
		Context:      admin.ContextAll(),
		CustomerGets: &admin.DiscountCustomerGetsInput{Value: gets, Items: &admin.DiscountItemsInput{All: &all}},
		UsageLimit:   &usageCap,
	}
	if d.MinSubtotal != nil && *d.MinSubtotal != "" {
		in.MinimumRequirement = &admin.DiscountMinimumRequirementInput{Subtotal: &admin.DiscountMinimumSubtotalInput{GreaterThanOrEqualToSubtotal: *d.MinSubtotal}}
	}
	return in, nil
}

// validVanity reports why a normalised vanity code cannot be used, or "".
func validVanity(code string) string {
	if code == "" {
		return "code is required"
	}
	if len(code) > codes.MaxCodeLength {
		return fmt.Sprintf("code is longer than %d characters", codes.MaxCodeLength)
	}
	for i := 0; i < len(code); i++ {
		if ch := code[i]; !(ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
			return fmt.Sprintf("character %q at %d is not in A-Z, 0-9, '-'", ch, i)
		}
	}
	return ""
}

// createVanityCode is POST /api/v1/campaigns/{id}/vanity-codes: a
// merchant-chosen, multi-use code with a cap. It gets its own Shopify
// discount (the campaign's value, usageLimit = usage_cap) so Shopify itself
// enforces the cap. The code row is reserved first (unique per shop,
// case-insensitively: 409), then the discount is created.
func (a *App) createVanityCode(c echo.Context) error {
	var in struct {
		Code      string          `json:"code"`
		PartnerID json.RawMessage `json:"partner_id"`
		Channel   string          `json:"channel"`
		UsageCap  *int            `json:"usage_cap"`
	}
	if err := c.Bind(&in); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body must be JSON")
	}
	camp, err := a.codeCampaign(c)
	if err != nil {
		return err
	}
	code := codes.Normalize(in.Code)
	if msg := validVanity(code); msg != "" {
		return errCode(http.StatusUnprocessableEntity, "invalid_code", msg)
	}
	if in.UsageCap == nil || *in.UsageCap < 1 {
		return errCode(http.StatusUnprocessableEntity, "invalid_usage_cap", "usage_cap must be a positive number of uses")
	}
	if !channels[in.Channel] {
		return errCode(http.StatusUnprocessableEntity, "invalid_channel", "unknown channel "+strconv.Quote(in.Channel))
	}
	pid, err := optionalID(in.PartnerID, "partner_id")
	if err != nil {
		return err
	}
	if err := a.checkPartner(c, pid); err != nil {
		return err
	}
	if camp.Status == "ended" {
		return errCode(http.StatusConflict, "campaign_ended", "the campaign has ended")
	}
	input, err := vanityInput(camp, code, *in.UsageCap)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	row := &store.Code{ShopID: camp.ShopID, CampaignID: camp.ID, Code: code, PartnerID: pid, Channel: in.Channel, UsageCap: in.UsageCap}
	if err := a.store.InsertVanityCode(ctx, row); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errCode(http.StatusConflict, "code_taken", "the shop already has the code "+code)
		}
		return err
	}
	discountID, err := a.createVanityDiscount(ctx, camp.ShopID, input)
	if err != nil {
		_ = a.store.DeleteCode(context.WithoutCancel(ctx), camp.ShopID, row.ID)
		var ue *admin.UserErrors
		if errors.As(err, &ue) && ue.Has("TAKEN") {
			return errCode(http.StatusConflict, "code_taken", "Shopify already has the code "+code)
		}
		if errors.As(err, &ue) {
			return errCode(http.StatusUnprocessableEntity, "shopify_refused", ue.Error())
		}
		return fmt.Errorf("vanity code %s: %w", code, err)
	}
	if err := a.store.SetVanityCodeLive(ctx, row.ID, discountID); err != nil {
		return err
	}
	row.ShopifyState = store.CodeStateLive
	row.ShopifyDiscountID = &discountID
	out := toCodeJSON(row)
	return c.JSON(http.StatusCreated, struct {
		codeJSON
		ShopifyDiscountID string `json:"shopify_discount_id"`
	}{out, discountID})
}

// createVanityDiscount creates the discount; when the outcome of the call is
// unknown (5xx, network) it looks the code up instead of creating twice.
func (a *App) createVanityDiscount(ctx context.Context, shopID int64, in admin.DiscountCodeBasicInput) (string, error) {
	client, err := a.shops.Admin(ctx, shopID)
	if err != nil {
		return "", err
	}
	id, err := client.DiscountCodeBasicCreate(ctx, in)
	if errors.Is(err, admin.ErrOutcomeUnknown) {
		if n, lerr := client.CodeDiscountNodeByCode(ctx, in.Code); lerr == nil && n.Title == in.Title {
			return n.ID, nil
		}
	}
	return id, err
}
