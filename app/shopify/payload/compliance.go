package payload

import "time"

// Shop is the app/uninstalled payload (the REST Shop resource), reduced.
// Never call the Admin API while handling it: the token is already revoked.
type Shop struct {
	ID              int64  `json:"id"`
	Name            string `json:"name,omitempty"`
	Domain          string `json:"domain,omitempty"`
	MyshopifyDomain string `json:"myshopify_domain,omitempty"`
	Email           string `json:"email,omitempty"`
	Currency        string `json:"currency,omitempty"`
	IANATimezone    string `json:"iana_timezone,omitempty"`
	PlanName        string `json:"plan_name,omitempty"`
}

// ComplianceCustomer identifies the customer in customers/* compliance payloads.
type ComplianceCustomer struct {
	ID    int64  `json:"id"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// CustomersDataRequest is the customers/data_request compliance payload.
type CustomersDataRequest struct {
	ShopID          int64              `json:"shop_id"`
	ShopDomain      string             `json:"shop_domain"`
	OrdersRequested []int64            `json:"orders_requested,omitempty"`
	Customer        ComplianceCustomer `json:"customer"`
	DataRequest     struct {
		ID int64 `json:"id"`
	} `json:"data_request"`
}

// CustomersRedact is the customers/redact compliance payload.
type CustomersRedact struct {
	ShopID         int64              `json:"shop_id"`
	ShopDomain     string             `json:"shop_domain"`
	Customer       ComplianceCustomer `json:"customer"`
	OrdersToRedact []int64            `json:"orders_to_redact,omitempty"`
}

// ShopRedact is the shop/redact compliance payload, sent 48 hours after
// uninstall.
type ShopRedact struct {
	ShopID     int64  `json:"shop_id"`
	ShopDomain string `json:"shop_domain"`
}

// ScopesUpdate is the app/scopes_update payload.
type ScopesUpdate struct {
	ID        int64      `json:"id"`
	Previous  []string   `json:"previous"`
	Current   []string   `json:"current"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}
