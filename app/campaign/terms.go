package campaign

import (
	"encoding/json"
	"strconv"
	"time"
)

// Terms are what Shopify must know about a campaign's one code discount:
// the part of the campaign that Shopify itself enforces at checkout. The
// sync job turns them into a DiscountCodeBasicInput; a change of Terms is
// what bumps a campaign's rules_version.
type Terms struct {
	Title string
	// Exactly one of Percentage (0 < p <= 1: 0.15 is 15 %), Amount (a
	// decimal string in shop currency) or FreeShipping.
	Percentage   *float64
	Amount       string
	FreeShipping bool
	// MinSubtotal is a decimal string in shop currency, or "".
	MinSubtotal string
	Products    []string
	Collections []string
	StartsAt    time.Time
	EndsAt      *time.Time
	// UsageLimit is Shopify's usageLimit: 1 for single-use codes (each
	// redeem code once, shopify-platform.md §4.1), else the total cap, else
	// nil (unlimited).
	UsageLimit      *int
	OncePerCustomer bool
	CombinesWith    CombinesWith
}

// TermsOf maps a valid spec onto its Shopify terms. The title names the
// campaign and its id so merchants recognise it in the Shopify admin.
func TermsOf(s Spec, campaignID int64) Terms {
	t := Terms{
		Title:           s.Name + " (coupontrail #" + strconv.FormatInt(campaignID, 10) + ")",
		StartsAt:        s.StartsAt.UTC().Truncate(time.Second),
		OncePerCustomer: s.Usage.OncePerCustomer,
	}
	// nil and empty lists mean the same (every item); keep the fingerprint
	// independent of how the JSON spelled them.
	if len(s.Discount.Products) > 0 {
		t.Products = s.Discount.Products
	}
	if len(s.Discount.Collections) > 0 {
		t.Collections = s.Discount.Collections
	}
	if s.EndsAt != nil {
		e := s.EndsAt.UTC().Truncate(time.Second)
		t.EndsAt = &e
	}
	switch s.Discount.Type {
	case DiscountPercentage:
		p, _ := strconv.ParseFloat(string(s.Discount.Value), 64)
		// Round to 4 decimals so 15 -> 0.15 exactly as Shopify shows it.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(p/100, 'f', 6, 64), 64)
		t.Percentage = &f
	case DiscountFixedAmount:
		t.Amount = string(s.Discount.Value)
	case DiscountFreeShipping:
		t.FreeShipping = true
	}
	if s.Discount.MinSubtotal != nil {
		t.MinSubtotal = string(*s.Discount.MinSubtotal)
	}
	switch {
	case s.Usage.SingleUse:
		one := 1
		t.UsageLimit = &one
	case s.Usage.TotalCap != nil:
		n := *s.Usage.TotalCap
		t.UsageLimit = &n
	}
	if s.Discount.CombinesWith != nil {
		t.CombinesWith = *s.Discount.CombinesWith
	}
	return t
}

// Fingerprint is a stable text form of t; two specs whose terms have the
// same fingerprint need no Shopify update.
func (t Terms) Fingerprint() string {
	b, _ := json.Marshal(t)
	return string(b)
}
