package devstore

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// routes is the whole HTTP surface: the Shopify stand-in under /store/{shop}, the control API under /_dev.
func (s *Store) routes() {
	m := http.NewServeMux()
	// Shopify, per shop (https://{shop}/X becomes BaseURL/store/{shop}/X)
	m.HandleFunc("GET /store/{shop}/admin/oauth/authorize", s.handleAuthorize)
	m.HandleFunc("POST /store/{shop}/admin/oauth/access_token", s.handleAccessToken)
	m.HandleFunc("POST /store/{shop}/admin/api/{version}/graphql.json", s.handleGraphQL)
	m.HandleFunc("GET /store/{shop}/discount/{code}", s.handleDiscountLink)
	m.HandleFunc("GET /store/{shop}/", s.handleStorefront)
	// control API
	m.HandleFunc("POST /_dev/shops", s.handleCreateShop)
	m.HandleFunc("GET /_dev/shops", s.handleListShops)
	m.HandleFunc("POST /_dev/session-token", s.handleSessionToken)
	m.HandleFunc("POST /_dev/shops/{shop}/tokens", s.handleIssueToken)
	m.HandleFunc("POST /_dev/shops/{shop}/orders", s.handleCreateOrder)
	m.HandleFunc("GET /_dev/shops/{shop}/orders", s.handleListOrders)
	m.HandleFunc("POST /_dev/shops/{shop}/orders/{id}/refunds", s.handleRefund)
	m.HandleFunc("POST /_dev/shops/{shop}/orders/{id}/cancel", s.handleCancel)
	m.HandleFunc("POST /_dev/shops/{shop}/checkouts", s.handleCreateCheckout)
	m.HandleFunc("POST /_dev/shops/{shop}/checkouts/{token}/complete", s.handleCompleteCheckout)
	m.HandleFunc("GET /_dev/shops/{shop}/discounts", s.handleDiscounts)
	m.HandleFunc("GET /_dev/shops/{shop}/visits", s.handleVisits)
	m.HandleFunc("POST /_dev/shops/{shop}/uninstall", s.handleUninstall)
	m.HandleFunc("POST /_dev/webhooks", s.handleSendWebhook)
	m.HandleFunc("PUT /_dev/faults", s.handlePutFaults)
	m.HandleFunc("GET /_dev/faults", s.handleGetFaults)
	m.HandleFunc("GET /_dev/deliveries", s.handleDeliveries)
	m.HandleFunc("POST /_dev/idle", s.handleIdle)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.mux = m
}

func writeAPIError(w http.ResponseWriter, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		ae = apiErr(http.StatusInternalServerError, "internal", "%v", err)
	}
	writeJSON(w, ae.Status, map[string]any{"error": ae})
}

func decodeBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return apiErr(http.StatusBadRequest, "invalid_body", "%v", err)
	}
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return apiErr(http.StatusBadRequest, "invalid_json", "%v", err)
	}
	return nil
}

func (s *Store) handleCreateShop(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Shop     string `json:"shop"`
		Plan     string `json:"plan"`
		Currency string `json:"currency"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	switch in.Plan {
	case "", PlanBasic, PlanStandard, PlanAdvanced, PlanPlus, "shopify", "enterprise":
	default:
		writeAPIError(w, apiErr(http.StatusUnprocessableEntity, "invalid_plan", "plan must be basic, standard, advanced, plus or enterprise"))
		return
	}
	if err := s.CreateShop(in.Shop, in.Plan); err != nil {
		writeAPIError(w, apiErr(http.StatusUnprocessableEntity, "invalid_shop", "%v", err))
		return
	}
	if in.Currency != "" {
		_ = s.SetShopCurrency(in.Shop, in.Currency)
	}
	s.mu.Lock()
	body := s.shopPayloadLocked(s.shops[in.Shop])
	body["shop"] = in.Shop
	body["plan"] = s.shops[in.Shop].plan
	body["admin_url"] = s.shopBase(in.Shop)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, body)
}

func (s *Store) handleListShops(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	items := []map[string]any{}
	for _, sh := range s.shops {
		p := s.shopPayloadLocked(sh)
		p["uninstalled"] = sh.uninstalled
		p["refresh_count"] = sh.refreshes
		items = append(items, p)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (s *Store) handleSessionToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Shop   string `json:"shop"`
		UserID any    `json:"user_id"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	uid := ""
	switch v := in.UserID.(type) {
	case string:
		uid = v
	case float64:
		uid = strconv.FormatInt(int64(v), 10)
	}
	tok, err := s.MintSessionToken(in.Shop, uid)
	if err != nil {
		writeAPIError(w, apiErr(http.StatusUnprocessableEntity, "invalid_shop", "%v", err))
		return
	}
	s.mu.Lock()
	s.ensureShopLocked(in.Shop, "")
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token": tok})
}

func (s *Store) handleIssueToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Expiring *bool `json:"expiring"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	domain := r.PathValue("shop")
	s.mu.Lock()
	_, ok := s.shops[domain]
	s.mu.Unlock()
	if !ok {
		writeAPIError(w, apiErr(http.StatusNotFound, "shop_not_found", "no shop %s", domain))
		return
	}
	writeJSON(w, http.StatusOK, s.IssueAccessToken(domain, in.Expiring == nil || *in.Expiring))
}

func (s *Store) handleCreateOrder(w http.ResponseWriter, r *http.Request) {
	var in OrderInput
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	o, err := s.CreateOrder(r.PathValue("shop"), in)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

func (s *Store) handleListOrders(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, aerr := s.shopLocked(r.PathValue("shop"))
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	items := []map[string]any{}
	for _, id := range sh.orderSeq {
		items = append(items, s.orderJSONLocked(sh.orders[id]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func pathOrderID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, apiErr(http.StatusNotFound, "order_not_found", "order id %q is not a number", r.PathValue("id"))
	}
	return id, nil
}

func (s *Store) handleRefund(w http.ResponseWriter, r *http.Request) {
	id, err := pathOrderID(r)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	var in RefundInput
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	rf, err := s.CreateRefund(r.PathValue("shop"), id, in)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, rf)
}

func (s *Store) handleCancel(w http.ResponseWriter, r *http.Request) {
	id, err := pathOrderID(r)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	var in struct {
		Reason string `json:"reason"`
		Refund bool   `json:"refund"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	o, err := s.CancelOrder(r.PathValue("shop"), id, in.Reason, in.Refund)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Store) handleCreateCheckout(w http.ResponseWriter, r *http.Request) {
	var in OrderInput
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	c, err := s.CreateCheckout(r.PathValue("shop"), in)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Store) handleCompleteCheckout(w http.ResponseWriter, r *http.Request) {
	var in OrderInput
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	o, err := s.CompleteCheckout(r.PathValue("shop"), r.PathValue("token"), in)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, o)
}

// DiscountInfo describes a discount and its redeem codes for GET /_dev/shops/{shop}/discounts.
type DiscountInfo struct {
	ID                     string     `json:"id"`
	LegacyID               int64      `json:"legacy_id"`
	Title                  string     `json:"title"`
	Status                 string     `json:"status"`
	StartsAt               time.Time  `json:"starts_at"`
	EndsAt                 *time.Time `json:"ends_at"`
	ValueType              string     `json:"value_type"`
	Value                  string     `json:"value"`
	UsageLimit             *int64     `json:"usage_limit"`
	MinSubtotal            string     `json:"min_subtotal,omitempty"`
	AppliesOncePerCustomer bool       `json:"applies_once_per_customer"`
	UsageCount             int64      `json:"usage_count"`
	CodesCount             int        `json:"codes_count"`
	Codes                  []CodeInfo `json:"codes"`
}

// CodeInfo is one redeem code with its usage count.
type CodeInfo struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	UsageCount int64  `json:"usage_count"`
}

// Discounts lists a shop's discounts with every redeem code and its usage.
func (s *Store) Discounts(domain string) ([]DiscountInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, aerr := s.shopLocked(domain)
	if aerr != nil {
		return nil, aerr
	}
	now := s.now()
	out := []DiscountInfo{}
	for _, id := range sh.discOrder {
		d := sh.discounts[id]
		info := DiscountInfo{ID: gid("DiscountCodeNode", d.id), LegacyID: d.id, Title: d.title, Status: d.status(now),
			StartsAt: d.startsAt, EndsAt: d.endsAt, ValueType: d.valueType(), UsageLimit: d.usageLimit,
			AppliesOncePerCustomer: d.appliesOncePerCustomer, UsageCount: d.usageCount(), CodesCount: len(d.codes),
			Codes: []CodeInfo{}}
		switch {
		case d.freeShipping:
		case d.percentage != nil:
			info.Value = strconv.FormatFloat(*d.percentage, 'f', -1, 64)
		default:
			info.Value = d.amount.String()
		}
		if d.minSubtotal != nil {
			info.MinSubtotal = d.minSubtotal.String()
		}
		for _, c := range d.codes {
			info.Codes = append(info.Codes, CodeInfo{ID: gid("DiscountRedeemCode", c.id), Code: c.code, UsageCount: c.usage})
		}
		out = append(out, info)
	}
	return out, nil
}

func (s *Store) handleDiscounts(w http.ResponseWriter, r *http.Request) {
	ds, err := s.Discounts(r.PathValue("shop"))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ds})
}

func (s *Store) handleVisits(w http.ResponseWriter, r *http.Request) {
	v := s.Visits(r.PathValue("shop"))
	if v == nil {
		v = []Visit{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": v})
}

// Uninstall revokes the shop's tokens and delivers app/uninstalled with the shop payload.
func (s *Store) Uninstall(domain string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, aerr := s.shopLocked(domain)
	if aerr != nil {
		return aerr
	}
	s.revokeShopTokensLocked(domain)
	sh.uninstalled = true
	sh.subs = nil
	s.enqueueLocked(sh, "app/uninstalled", s.shopPayloadLocked(sh))
	return nil
}

func (s *Store) handleUninstall(w http.ResponseWriter, r *http.Request) {
	if err := s.Uninstall(r.PathValue("shop")); err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"uninstalled": true})
}

func (s *Store) handleSendWebhook(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Shop    string          `json:"shop"`
		Topic   string          `json:"topic"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeAPIError(w, err)
		return
	}
	if !isShopDomain(in.Shop) || in.Topic == "" {
		writeAPIError(w, apiErr(http.StatusUnprocessableEntity, "invalid_webhook", "shop (myshopify domain) and topic are required"))
		return
	}
	payload := in.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("{}")
	}
	_ = s.SendWebhook(in.Shop, in.Topic, payload)
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": true})
}

func (s *Store) handleDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	items := []DeliveryRecord{}
	for _, d := range s.Deliveries() {
		if (q.Get("topic") == "" || q.Get("topic") == d.Topic) && (q.Get("shop") == "" || q.Get("shop") == d.Shop) {
			items = append(items, d)
		}
	}
	s.mu.Lock()
	pending := s.pending
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "pending": pending})
}

// handleIdle waits (up to ?timeout=, default 10s) until deliveries and bulk jobs settle: 200 when idle, 408 if not.
func (s *Store) handleIdle(w http.ResponseWriter, r *http.Request) {
	timeout := 10 * time.Second
	if t, err := time.ParseDuration(r.URL.Query().Get("timeout")); err == nil {
		timeout = t
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		writeAPIError(w, apiErr(http.StatusRequestTimeout, "not_idle", "deliveries still pending after %s", timeout))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"idle": true})
}
