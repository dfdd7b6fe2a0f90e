package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/coupontrail/coupontrail/app/store"
)

// topicTable maps every webhook topic the app subscribes to onto its handler.
// It is the one place that says what each topic does; shopify.app.toml names
// these handlers in its "# Handled by:" comments. Topics missing here are
// recorded and marked ignored.
func (j *Jobs) topicTable() map[string]TopicHandler {
	return map[string]TopicHandler{
		"app/uninstalled":        j.appUninstalled,
		"app/scopes_update":      j.appScopesUpdate,
		"customers/data_request": j.customersDataRequest,
		"customers/redact":       j.customersRedact,
		"shop/redact":            j.shopRedact,
		"orders/create":          j.orderEvent,
		"orders/paid":            j.orderEvent,
		"orders/updated":         j.orderEvent,
		"orders/cancelled":       j.orderCancelled,
		"refunds/create":         j.refundCreated,
		"checkouts/create":       j.checkoutEvent,
		"checkouts/update":       j.checkoutEvent,
	}
}

// shopFor loads the delivery's shop; a delivery for a shop the app never
// installed is ignored.
func (j *Jobs) shopFor(ctx context.Context, d *store.Delivery) (*store.Shop, error) {
	m := memoOf(ctx)
	if m != nil {
		if sh, ok := m.shops[d.ShopDomain]; ok {
			return sh, nil
		}
	}
	sh, err := j.Store.ShopByDomain(ctx, d.ShopDomain)
	if err == nil && m != nil {
		m.shops[d.ShopDomain] = sh
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: shop %s is not known", errIgnore, d.ShopDomain)
	}
	return sh, err
}

func decode(d *store.Delivery, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(d.Payload)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, d.Topic, err)
	}
	return nil
}

// appUninstalled marks the shop uninstalled and drops its tokens. Scheduled
// work checks Installed() before it runs, so nothing more runs for the shop.
// Repeat-safe: the first uninstall time is kept.
func (j *Jobs) appUninstalled(ctx context.Context, d *store.Delivery) error {
	var p map[string]any
	if err := decode(d, &p); err != nil {
		return err
	}
	sh, err := j.shopFor(ctx, d)
	if err != nil {
		return err
	}
	if err := j.Store.MarkUninstalled(ctx, sh.ID, j.Now()); err != nil {
		return err
	}
	return j.Store.Audit(ctx, &store.AuditEvent{ShopID: &sh.ID, ActorType: "webhook", ActorID: d.WebhookID, Action: "shop.uninstalled", CreatedAt: j.Now()})
}

// appScopesUpdate records the scopes the merchant granted.
func (j *Jobs) appScopesUpdate(ctx context.Context, d *store.Delivery) error {
	var p struct {
		Current []string `json:"current"`
	}
	if err := decode(d, &p); err != nil {
		return err
	}
	sh, err := j.shopFor(ctx, d)
	if err != nil {
		return err
	}
	return j.Store.UpdateShopScopes(ctx, sh.ID, strings.Join(p.Current, ","), j.Now())
}

// CustomerRef names a customer in a compliance request.
type CustomerRef struct {
	ID    json.Number `json:"id"`
	Email string      `json:"email"`
	Phone string      `json:"phone"`
}

type complianceCustomer struct {
	ShopID          json.Number   `json:"shop_id"`
	ShopDomain      string        `json:"shop_domain"`
	Customer        CustomerRef   `json:"customer"`
	OrdersRequested []json.Number `json:"orders_requested"`
	OrdersToRedact  []json.Number `json:"orders_to_redact"`
	DataRequest     struct {
		ID json.Number `json:"id"`
	} `json:"data_request"`
}

// customersDataRequest assembles everything stored about the customer into a
// data export the merchant can hand over.
func (j *Jobs) customersDataRequest(ctx context.Context, d *store.Delivery) error {
	var p complianceCustomer
	if err := decode(d, &p); err != nil {
		return err
	}
	sh, err := j.shopFor(ctx, d)
	if err != nil {
		return err
	}
	export, err := j.Store.CustomerData(ctx, sh.ID, d.ShopDomain, store.CustomerKey{ID: p.Customer.ID.String(), Email: p.Customer.Email})
	if err != nil {
		return err
	}
	return j.Store.SaveDataExport(ctx, sh.ID, p.DataRequest.ID.String(), p.Customer.Email, export, j.Now())
}

// customersRedact erases the customer's personal data everywhere it is
// stored; anonymous aggregates stay.
func (j *Jobs) customersRedact(ctx context.Context, d *store.Delivery) error {
	var p complianceCustomer
	if err := decode(d, &p); err != nil {
		return err
	}
	sh, err := j.shopFor(ctx, d)
	if err != nil {
		return err
	}
	n, err := j.Store.RedactCustomer(ctx, sh.ID, d.ShopDomain, store.CustomerKey{ID: p.Customer.ID.String(), Email: p.Customer.Email}, d.ID)
	if err != nil {
		return err
	}
	return j.Store.Audit(ctx, &store.AuditEvent{ShopID: &sh.ID, ActorType: "webhook", ActorID: d.WebhookID, Action: "customer.redacted",
		Detail: json.RawMessage(fmt.Sprintf(`{"rows":%d}`, n)), CreatedAt: j.Now()})
}

// shopRedact deletes the shop's data (sent 48 hours after uninstall).
func (j *Jobs) shopRedact(ctx context.Context, d *store.Delivery) error {
	var p struct {
		ShopDomain string `json:"shop_domain"`
	}
	if err := decode(d, &p); err != nil {
		return err
	}
	if _, err := j.Store.ShopByDomain(ctx, d.ShopDomain); errors.Is(err, store.ErrNotFound) {
		return nil // nothing stored: done
	}
	return j.Store.DeleteShopData(ctx, d.ShopDomain)
}
