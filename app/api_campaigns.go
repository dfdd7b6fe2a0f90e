package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/campaign"
	"github.com/coupontrail/coupontrail/app/codes"
	"github.com/coupontrail/coupontrail/app/shopify/payload"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/jobs"
)

// bindJSON decodes the request body into v; a malformed body is a 400.
func bindJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errCode(http.StatusBadRequest, "invalid_json", "body is not valid JSON for this endpoint: "+err.Error())
	}
	return nil
}

// validation turns a domain validation error into a 422 with its code.
func validation(err error) error {
	var ce *campaign.Error
	if errors.As(err, &ce) {
		return errCode(http.StatusUnprocessableEntity, ce.Code, ce.Message)
	}
	return err
}

// moneyEnv is the domain package's view of the shop's currency.
func moneyEnv(sh *store.Shop, now time.Time) (campaign.Env, error) {
	cur := strings.ToUpper(strings.TrimSpace(sh.Currency))
	if cur == "" {
		cur = "USD"
	}
	exp, err := payload.Exponent(cur)
	if err != nil {
		return campaign.Env{}, fmt.Errorf("shop %d currency %q: %w", sh.ID, sh.Currency, err)
	}
	return campaign.Env{
		Currency: cur, Exponent: exp, Now: now,
		ParseMinor: func(s string) (int64, error) { return payload.ParseMinor(s, cur) },
		CheckFormat: func(f campaign.CodeFormat) error {
			return codeFormat(f).Validate()
		},
	}, nil
}

func codeFormat(f campaign.CodeFormat) codes.Format {
	return codes.Format{Prefix: f.Prefix, Length: f.Length, CheckChar: f.CheckChar, Separator: f.Separator, GroupSize: f.GroupSize}
}

// parseFlexID reads an id sent as a JSON string or number ("123", 123, or a
// Shopify GID ending in the number); null or absent is nil.
func parseFlexID(raw json.RawMessage, field string) (*int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errCode(http.StatusUnprocessableEntity, "invalid_"+field, field+" must be an id")
		}
	} else {
		s = string(raw)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 && strings.HasPrefix(s, "gid://") {
		s = s[i+1:]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return nil, errCode(http.StatusUnprocessableEntity, "invalid_"+field, field+" must be a positive id")
	}
	return &n, nil
}

func idPtr(id *int64) *string {
	if id == nil {
		return nil
	}
	s := idString(*id)
	return &s
}

// ---------------------------------------------------------------- partners

// partnerJSON is a partner as the API shows it (PRODUCT.md §12).
type partnerJSON struct {
	ID            string               `json:"id"`
	Name          string               `json:"name"`
	Kind          string               `json:"kind"`
	Email         string               `json:"email"`
	CustomerID    *string              `json:"customer_id"`
	Commission    *campaign.Commission `json:"commission"`
	PayoutDetails json.RawMessage      `json:"payout_details"`
	Status        string               `json:"status"`
	Currency      string               `json:"currency"`
	CreatedAt     string               `json:"created_at"`
	UpdatedAt     string               `json:"updated_at"`
}

func toPartnerJSON(p *store.Partner, env campaign.Env) partnerJSON {
	out := partnerJSON{ID: idString(p.ID), Name: p.Name, Kind: p.Kind, Email: p.Email, CustomerID: idPtr(p.CustomerID),
		PayoutDetails: p.PayoutDetails, Status: p.Status, Currency: env.Currency,
		CreatedAt: p.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: p.UpdatedAt.UTC().Format(time.RFC3339)}
	switch {
	case p.CommissionPercent != nil:
		v := *p.CommissionPercent
		out.Commission = &campaign.Commission{Percent: &v}
	case p.CommissionFixedMinor != nil:
		d := campaign.Decimal(campaign.FormatMinor(*p.CommissionFixedMinor, env.Exponent))
		out.Commission = &campaign.Commission{Fixed: &d}
	}
	if len(out.PayoutDetails) == 0 {
		out.PayoutDetails = json.RawMessage("{}")
	}
	return out
}

// partnerIn is a create or PATCH body; absent fields keep their value.
type partnerIn struct {
	Name          *string         `json:"name"`
	Kind          *string         `json:"kind"`
	Email         *string         `json:"email"`
	Status        *string         `json:"status"`
	CustomerID    json.RawMessage `json:"customer_id"`
	Commission    json.RawMessage `json:"commission"`
	PayoutDetails json.RawMessage `json:"payout_details"`
}

// applyPartner applies in onto p and validates the result.
func applyPartner(p *store.Partner, in partnerIn, env campaign.Env) error {
	spec := campaign.PartnerSpec{Name: p.Name, Kind: p.Kind, Email: p.Email, Status: p.Status}
	if p.CommissionPercent != nil {
		v := *p.CommissionPercent
		spec.Commission = &campaign.Commission{Percent: &v}
	} else if p.CommissionFixedMinor != nil {
		d := campaign.Decimal(campaign.FormatMinor(*p.CommissionFixedMinor, env.Exponent))
		spec.Commission = &campaign.Commission{Fixed: &d}
	}
	if in.Name != nil {
		spec.Name = *in.Name
	}
	if in.Kind != nil {
		spec.Kind = strings.ToLower(strings.TrimSpace(*in.Kind))
	}
	if in.Email != nil {
		spec.Email = *in.Email
	}
	if in.Status != nil {
		spec.Status = *in.Status
	}
	if in.Commission != nil {
		if string(bytes.TrimSpace(in.Commission)) == "null" {
			spec.Commission = nil
		} else {
			var cm campaign.Commission
			dec := json.NewDecoder(bytes.NewReader(in.Commission))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&cm); err != nil {
				return errCode(http.StatusUnprocessableEntity, "invalid_commission", `commission is {"percent":10} or {"fixed":"5.00"}`)
			}
			if cm.Percent == nil && cm.Fixed == nil {
				return errCode(http.StatusUnprocessableEntity, "invalid_commission", `commission is {"percent":10} or {"fixed":"5.00"}`)
			}
			spec.Commission = &cm
		}
	}
	fixed, err := campaign.ValidatePartner(&spec, env)
	if err != nil {
		return validation(err)
	}
	if in.CustomerID != nil {
		id, err := parseFlexID(in.CustomerID, "customer_id")
		if err != nil {
			return err
		}
		p.CustomerID = id
	}
	if in.PayoutDetails != nil {
		pd := bytes.TrimSpace(in.PayoutDetails)
		if string(pd) == "null" {
			pd = []byte("{}")
		}
		var obj map[string]any
		if json.Unmarshal(pd, &obj) != nil || obj == nil {
			return errCode(http.StatusUnprocessableEntity, "invalid_payout_details", "payout_details must be a JSON object")
		}
		p.PayoutDetails = json.RawMessage(pd)
	}
	p.Name, p.Kind, p.Email, p.Status = spec.Name, spec.Kind, spec.Email, spec.Status
	p.CommissionPercent, p.CommissionFixedMinor = nil, nil
	if spec.Commission != nil {
		if spec.Commission.Percent != nil {
			v := *spec.Commission.Percent
			p.CommissionPercent = &v
		} else {
			p.CommissionFixedMinor = fixed
		}
	}
	return nil
}

func (a *App) createPartner(c echo.Context) error {
	var in partnerIn
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	sh := shopOf(c)
	env, err := moneyEnv(sh, a.now())
	if err != nil {
		return err
	}
	p := &store.Partner{ShopID: sh.ID, Status: "active"}
	if err := applyPartner(p, in, env); err != nil {
		return err
	}
	now := a.now()
	p.CreatedAt, p.UpdatedAt = now, now
	if err := a.store.CreatePartner(c.Request().Context(), p); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toPartnerJSON(p, env))
}

func (a *App) listPartners(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	kind, status := c.QueryParam("kind"), c.QueryParam("status")
	if kind != "" && !slices.Contains(campaign.PartnerKinds, kind) {
		return errCode(http.StatusBadRequest, "invalid_kind", "kind must be one of "+strings.Join(campaign.PartnerKinds, ", "))
	}
	if status != "" && !slices.Contains(campaign.PartnerStatuses, status) {
		return errCode(http.StatusBadRequest, "invalid_status", "status must be active or archived")
	}
	sh := shopOf(c)
	env, err := moneyEnv(sh, a.now())
	if err != nil {
		return err
	}
	ps, err := a.store.ListPartners(c.Request().Context(), store.PartnerFilter{ShopID: sh.ID, Kind: kind, Status: status, BeforeID: before, Limit: limit + 1})
	if err != nil {
		return err
	}
	out := list[partnerJSON]{Items: []partnerJSON{}}
	for i := range ps {
		if i == limit {
			out.NextCursor = idString(ps[i-1].ID)
			break
		}
		out.Items = append(out.Items, toPartnerJSON(&ps[i], env))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) getPartner(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	sh := shopOf(c)
	env, err := moneyEnv(sh, a.now())
	if err != nil {
		return err
	}
	p, err := a.store.PartnerByID(c.Request().Context(), sh.ID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPartnerJSON(p, env))
}

func (a *App) updatePartner(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var in partnerIn
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	sh := shopOf(c)
	env, err := moneyEnv(sh, a.now())
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var p *store.Partner
	err = a.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if p, err = a.store.PartnerByID(ctx, sh.ID, id); err != nil {
			return err
		}
		if err := applyPartner(p, in, env); err != nil {
			return err
		}
		return a.store.UpdatePartner(ctx, p, a.now())
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toPartnerJSON(p, env))
}

// --------------------------------------------------------------- campaigns

// campaignIn is a campaign create body, and the merged result of a PATCH.
type campaignIn struct {
	Name         string              `json:"name"`
	Goal         string              `json:"goal"`
	PartnerID    json.RawMessage     `json:"partner_id"`
	Discount     campaign.Discount   `json:"discount"`
	Code         campaign.CodeFormat `json:"code"`
	Usage        campaign.Usage      `json:"usage"`
	Rules        campaign.Rules      `json:"rules"`
	StartsAt     *string             `json:"starts_at"`
	EndsAt       *string             `json:"ends_at"`
	CodeTTLHours *int                `json:"code_ttl_hours"`
	Holdout      *float64            `json:"holdout"`
	HoldDays     *int                `json:"hold_days"`
}

// syncJSON is how far Shopify has caught up with the campaign.
type syncJSON struct {
	Status        string `json:"status"` // pending, synced, failed
	Error         string `json:"error"`
	RulesVersion  int    `json:"rules_version"`
	SyncedVersion int    `json:"synced_version"`
}

// campaignJSON is a campaign as the API shows it (PRODUCT.md §12).
type campaignJSON struct {
	ID                string              `json:"id"`
	Name              string              `json:"name"`
	Goal              string              `json:"goal"`
	Status            string              `json:"status"`
	PartnerID         *string             `json:"partner_id"`
	Discount          campaign.Discount   `json:"discount"`
	Code              campaign.CodeFormat `json:"code"`
	Usage             campaign.Usage      `json:"usage"`
	Rules             campaign.Rules      `json:"rules"`
	StartsAt          string              `json:"starts_at"`
	EndsAt            *string             `json:"ends_at"`
	CodeTTLHours      *int                `json:"code_ttl_hours"`
	Holdout           float64             `json:"holdout"`
	HoldDays          *int                `json:"hold_days"`
	Currency          string              `json:"currency"`
	ShopifyDiscountID *string             `json:"shopify_discount_id"`
	RulesVersion      int                 `json:"rules_version"`
	Sync              syncJSON            `json:"sync"`
	CreatedAt         string              `json:"created_at"`
	UpdatedAt         string              `json:"updated_at"`
}

func storedCampaign(c *store.Campaign) campaign.Stored {
	return campaign.Stored{Name: c.Name, Goal: c.Goal, PartnerID: c.PartnerID, Discount: c.Discount, Code: c.CodeFormat,
		Usage: c.Usage, Rules: c.Rules, StartsAt: c.StartsAt, EndsAt: c.EndsAt, CodeTTLHours: c.CodeTTLHours,
		Holdout: c.Holdout, HoldDays: c.HoldDays}
}

func toCampaignJSON(c *store.Campaign, currency string) (campaignJSON, error) {
	spec, err := campaign.SpecOf(storedCampaign(c))
	if err != nil {
		return campaignJSON{}, err
	}
	return campaignJSON{
		ID: idString(c.ID), Name: c.Name, Goal: c.Goal, Status: c.Status, PartnerID: idPtr(c.PartnerID),
		Discount: spec.Discount, Code: spec.Code, Usage: spec.Usage, Rules: spec.Rules,
		StartsAt: c.StartsAt.UTC().Format(time.RFC3339), EndsAt: rfc3339(c.EndsAt), CodeTTLHours: c.CodeTTLHours,
		Holdout: c.Holdout, HoldDays: c.HoldDays, Currency: currency, ShopifyDiscountID: c.ShopifyDiscountID,
		RulesVersion: c.RulesVersion,
		Sync:         syncJSON{Status: c.SyncStatus, Error: c.SyncError, RulesVersion: c.RulesVersion, SyncedVersion: c.SyncedVersion},
		CreatedAt:    c.CreatedAt.UTC().Format(time.RFC3339), UpdatedAt: c.UpdatedAt.UTC().Format(time.RFC3339),
	}, nil
}

func (a *App) respondCampaign(c echo.Context, status int, cp *store.Campaign) error {
	env, err := moneyEnv(shopOf(c), a.now())
	if err != nil {
		return err
	}
	out, err := toCampaignJSON(cp, env.Currency)
	if err != nil {
		return err
	}
	return c.JSON(status, out)
}

func parseTime(s *string, field string) (*time.Time, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(*s))
	if err != nil {
		return nil, errCode(http.StatusUnprocessableEntity, "invalid_"+field, field+" must be an RFC 3339 timestamp")
	}
	t = t.UTC().Truncate(time.Second)
	return &t, nil
}

// specFrom validates in for the calling shop (including that the partner is
// its own) and returns the normalised spec.
func (a *App) specFrom(ctx context.Context, sh *store.Shop, in campaignIn, env campaign.Env) (campaign.Spec, error) {
	s := campaign.Spec{Name: in.Name, Goal: strings.TrimSpace(in.Goal), Discount: in.Discount, Code: in.Code, Usage: in.Usage,
		Rules: in.Rules, CodeTTLHours: in.CodeTTLHours, HoldDays: in.HoldDays}
	if s.Code.Length == 0 {
		s.Code.Length = 8
	}
	if in.Holdout != nil {
		s.Holdout = *in.Holdout
	}
	starts, err := parseTime(in.StartsAt, "starts_at")
	if err != nil {
		return s, err
	}
	if starts == nil {
		now := env.Now.UTC().Truncate(time.Second)
		starts = &now
	}
	s.StartsAt = *starts
	if s.EndsAt, err = parseTime(in.EndsAt, "ends_at"); err != nil {
		return s, err
	}
	if s.PartnerID, err = parseFlexID(in.PartnerID, "partner_id"); err != nil {
		return s, errCode(http.StatusUnprocessableEntity, "invalid_partner", "partner_id must be the id of one of your partners")
	}
	if err := campaign.Validate(&s, env); err != nil {
		return s, validation(err)
	}
	if s.PartnerID != nil {
		if _, err := a.store.PartnerByID(ctx, sh.ID, *s.PartnerID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return s, errCode(http.StatusUnprocessableEntity, "invalid_partner", "partner_id is not one of your partners")
			}
			return s, err
		}
	}
	return s, nil
}

// applySpec writes spec into the row's columns.
func applySpec(c *store.Campaign, s campaign.Spec) error {
	var err error
	enc := func(v any) json.RawMessage {
		b, e := json.Marshal(v)
		if e != nil && err == nil {
			err = e
		}
		return b
	}
	c.Name, c.Goal, c.PartnerID = s.Name, s.Goal, s.PartnerID
	c.Discount, c.CodeFormat, c.Usage, c.Rules = enc(s.Discount), enc(s.Code), enc(s.Usage), enc(s.Rules)
	c.StartsAt, c.EndsAt, c.CodeTTLHours, c.Holdout, c.HoldDays = s.StartsAt, s.EndsAt, s.CodeTTLHours, s.Holdout, s.HoldDays
	return err
}

func (a *App) createCampaign(c echo.Context) error {
	var in campaignIn
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	sh := shopOf(c)
	now := a.now()
	env, err := moneyEnv(sh, now)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	spec, err := a.specFrom(ctx, sh, in, env)
	if err != nil {
		return err
	}
	var salt [16]byte
	if _, err := io.ReadFull(a.rand, salt[:]); err != nil {
		return fmt.Errorf("campaign salt: %w", err)
	}
	internal, err := jobs.NewInternalCode(spec.Code, a.rand)
	if err != nil {
		return validation(&campaign.Error{Code: "invalid_code_format", Message: err.Error()})
	}
	cp := &store.Campaign{ShopID: sh.ID, Status: campaign.StatusDraft, Salt: hex.EncodeToString(salt[:]),
		SyncStatus: store.SyncPending, RulesVersion: 1, CreatedAt: now, UpdatedAt: now}
	if err := applySpec(cp, spec); err != nil {
		return err
	}
	if err := a.store.CreateCampaign(ctx, cp, internal); err != nil {
		return err
	}
	return a.respondCampaign(c, http.StatusCreated, cp)
}

func (a *App) listCampaigns(c echo.Context) error {
	before, limit, err := cursorID(c)
	if err != nil {
		return err
	}
	f := store.CampaignFilter{ShopID: shopOf(c).ID, Status: c.QueryParam("status"), Goal: c.QueryParam("goal"), BeforeID: before, Limit: limit + 1}
	if f.Status != "" && !slices.Contains([]string{campaign.StatusDraft, campaign.StatusActive, campaign.StatusPaused, campaign.StatusEnded}, f.Status) {
		return errCode(http.StatusBadRequest, "invalid_status", "status must be draft, active, paused or ended")
	}
	if f.Goal != "" && !slices.Contains(campaign.Goals, f.Goal) {
		return errCode(http.StatusBadRequest, "invalid_goal", "goal must be one of "+strings.Join(campaign.Goals, ", "))
	}
	if v := c.QueryParam("partner_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return errCode(http.StatusBadRequest, "invalid_partner", "partner_id must be an id")
		}
		f.PartnerID = n
	}
	env, err := moneyEnv(shopOf(c), a.now())
	if err != nil {
		return err
	}
	cs, err := a.store.ListCampaigns(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := list[campaignJSON]{Items: []campaignJSON{}}
	for i := range cs {
		if i == limit {
			out.NextCursor = idString(cs[i-1].ID)
			break
		}
		j, err := toCampaignJSON(&cs[i], env.Currency)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, j)
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) getCampaign(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	cp, err := a.store.CampaignByID(c.Request().Context(), shopOf(c).ID, id)
	if err != nil {
		return err
	}
	return a.respondCampaign(c, http.StatusOK, cp)
}

// mergePatch overlays patch onto base (both JSON objects): top-level keys
// replace, except the nested objects discount, code, usage and rules, whose
// keys are merged one level deep so {"discount":{"value":20}} keeps the
// discount's type.
func mergePatch(base, patch map[string]json.RawMessage) map[string]json.RawMessage {
	for k, v := range patch {
		switch k {
		case "discount", "code", "usage", "rules":
			var bo, po map[string]json.RawMessage
			if json.Unmarshal(base[k], &bo) == nil && bo != nil && json.Unmarshal(v, &po) == nil && po != nil {
				for pk, pv := range po {
					bo[pk] = pv
				}
				b, _ := json.Marshal(bo)
				base[k] = b
				continue
			}
		}
		base[k] = v
	}
	return base
}

// campaignPatchable are the fields PATCH may change; others (id, status,
// sync, ...) are read-only and ignored, so a client may send back what GET
// returned.
var campaignPatchable = []string{"name", "goal", "partner_id", "discount", "code", "usage", "rules", "starts_at", "ends_at",
	"code_ttl_hours", "holdout", "hold_days"}

func (a *App) updateCampaign(c echo.Context) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var patch map[string]json.RawMessage
	if err := bindJSON(c, &patch); err != nil {
		return err
	}
	for k := range patch {
		if !slices.Contains(campaignPatchable, k) {
			delete(patch, k)
		}
	}
	sh := shopOf(c)
	now := a.now()
	env, err := moneyEnv(sh, now)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var cp *store.Campaign
	var bump bool
	err = a.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if cp, err = a.store.LockCampaign(ctx, sh.ID, id); err != nil {
			return err
		}
		if cp.Status == campaign.StatusEnded {
			return errCode(http.StatusConflict, "campaign_ended", "an ended campaign cannot be changed")
		}
		cur, err := toCampaignJSON(cp, env.Currency)
		if err != nil {
			return err
		}
		var base map[string]json.RawMessage
		b, _ := json.Marshal(cur)
		if err := json.Unmarshal(b, &base); err != nil {
			return err
		}
		merged, _ := json.Marshal(mergePatch(base, patch))
		var in campaignIn
		if err := json.Unmarshal(merged, &in); err != nil {
			return errCode(http.StatusBadRequest, "invalid_json", "body is not valid JSON for this endpoint: "+err.Error())
		}
		spec, err := a.specFrom(ctx, sh, in, env)
		if err != nil {
			return err
		}
		old, err := campaign.SpecOf(storedCampaign(cp))
		if err != nil {
			return err
		}
		bump = campaign.TermsOf(old, cp.ID).Fingerprint() != campaign.TermsOf(spec, cp.ID).Fingerprint()
		if err := applySpec(cp, spec); err != nil {
			return err
		}
		return a.store.UpdateCampaign(ctx, cp, bump, now)
	})
	if err != nil {
		return err
	}
	if bump {
		a.enqueueCampaignSync(ctx, cp)
	}
	return a.respondCampaign(c, http.StatusOK, cp)
}

// enqueueCampaignSync asks the worker to bring Shopify up to date, after the
// commit. Drafts never reach Shopify. A failed enqueue is only logged: the
// campaign stays pending and the sync sweep enqueues it again.
func (a *App) enqueueCampaignSync(ctx context.Context, cp *store.Campaign) {
	if cp.Status == campaign.StatusDraft {
		return
	}
	if err := jobs.EnqueueCampaignSync(ctx, a.queue, cp.ShopID, cp.ID, cp.RulesVersion); err != nil {
		a.log.WarnContext(ctx, "campaign sync not enqueued; the sweep will retry", "shop_id", cp.ShopID, "campaign_id", cp.ID, "err", err)
	}
}

// transition runs one lifecycle action. Every real status change bumps the
// rules version: Shopify must learn it (activate creates or activates the
// discount, pause and end deactivate it).
func (a *App) transition(c echo.Context, action string) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	sh := shopOf(c)
	now := a.now()
	ctx := c.Request().Context()
	var cp *store.Campaign
	var changed bool
	err = a.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if cp, err = a.store.LockCampaign(ctx, sh.ID, id); err != nil {
			return err
		}
		to, ch, err := campaign.Transition(cp.Status, action)
		if err != nil {
			return errCode(http.StatusConflict, "invalid_transition", err.Error())
		}
		if !ch {
			return nil
		}
		if to == campaign.StatusActive && cp.EndsAt != nil && !cp.EndsAt.After(now) {
			return errCode(http.StatusConflict, "campaign_expired", "the campaign's ends_at has passed; move it first")
		}
		changed = true
		cp.Status = to
		return a.store.UpdateCampaign(ctx, cp, true, now)
	})
	if err != nil {
		return err
	}
	if changed {
		a.enqueueCampaignSync(ctx, cp)
	}
	return a.respondCampaign(c, http.StatusOK, cp)
}

func (a *App) activateCampaign(c echo.Context) error { return a.transition(c, campaign.ActionActivate) }

func (a *App) pauseCampaign(c echo.Context) error { return a.transition(c, campaign.ActionPause) }

func (a *App) resumeCampaign(c echo.Context) error { return a.transition(c, campaign.ActionResume) }

func (a *App) endCampaign(c echo.Context) error { return a.transition(c, campaign.ActionEnd) }
