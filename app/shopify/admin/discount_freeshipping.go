package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// DiscountClear names the values an update removes. Shopify removes a value
// that is sent as null: endsAt null is "no end", usageLimit null is
// "unlimited", and a minimum requirement goes when both its subtotal and
// its quantity are null (the documented way, whichever of the two was set).
type DiscountClear struct {
	EndsAt             bool
	UsageLimit         bool
	MinimumRequirement bool
}

// minimumRequirementNull removes either kind of minimum requirement.
const minimumRequirementNull = `{"quantity":{"greaterThanOrEqualToQuantity":null},"subtotal":{"greaterThanOrEqualToSubtotal":null}}`

// apply adds the nulls to an encoded input object, leaving fields that
// carry a value alone.
func (c DiscountClear) apply(b []byte) ([]byte, error) {
	if !c.EndsAt && !c.UsageLimit && !c.MinimumRequirement {
		return b, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	set := func(on bool, key, null string) {
		if _, has := m[key]; on && !has {
			m[key] = json.RawMessage(null)
		}
	}
	set(c.EndsAt, "endsAt", "null")
	set(c.UsageLimit, "usageLimit", "null")
	set(c.MinimumRequirement, "minimumRequirement", minimumRequirementNull)
	return json.Marshal(m)
}

// DiscountCodeFreeShippingInput is the 2026-07 DiscountCodeFreeShippingInput
// (discountCodeFreeShippingCreate / discountCodeFreeShippingUpdate). Nil
// pointers and empty strings are omitted, so the type serves create (Title,
// Code, StartsAt and Context required) and update (only what changes, plus
// Clear).
type DiscountCodeFreeShippingInput struct {
	Title    string     `json:"title,omitempty"`
	Code     string     `json:"code,omitempty"`
	StartsAt *time.Time `json:"startsAt,omitempty"`
	EndsAt   *time.Time `json:"endsAt,omitempty"`
	// Context says who is eligible (2025-10+; customerSelection is never sent).
	Context *DiscountContextInput `json:"context,omitempty"`
	// Destination is where shipping is free: all countries or a list.
	Destination        *DiscountShippingDestinationSelectionInput `json:"destination,omitempty"`
	MinimumRequirement *DiscountMinimumRequirementInput           `json:"minimumRequirement,omitempty"`
	// MaximumShippingPrice caps the shipping rate the discount covers
	// (decimal string in shop currency; "" for no cap).
	MaximumShippingPrice     string                     `json:"maximumShippingPrice,omitempty"`
	CombinesWith             *DiscountCombinesWithInput `json:"combinesWith,omitempty"`
	UsageLimit               *int                       `json:"usageLimit,omitempty"`
	AppliesOncePerCustomer   *bool                      `json:"appliesOncePerCustomer,omitempty"`
	AppliesOnOneTimePurchase *bool                      `json:"appliesOnOneTimePurchase,omitempty"`
	AppliesOnSubscription    *bool                      `json:"appliesOnSubscription,omitempty"`
	Clear                    DiscountClear              `json:"-"`
}

// MarshalJSON writes the set fields and the nulls Clear asks for.
func (in DiscountCodeFreeShippingInput) MarshalJSON() ([]byte, error) {
	type plain DiscountCodeFreeShippingInput
	b, err := json.Marshal(plain(in))
	if err != nil {
		return nil, err
	}
	return in.Clear.apply(b)
}

// DiscountShippingDestinationSelectionInput: All (every country) or
// Countries.
type DiscountShippingDestinationSelectionInput struct {
	All       *bool                   `json:"all,omitempty"`
	Countries *DiscountCountriesInput `json:"countries,omitempty"`
}

// DiscountCountriesInput lists ISO 3166-1 alpha-2 country codes;
// IncludeRestOfWorld adds every country without its own shipping zone.
type DiscountCountriesInput struct {
	Add                []string `json:"add,omitempty"`
	Remove             []string `json:"remove,omitempty"`
	IncludeRestOfWorld bool     `json:"includeRestOfWorld"`
}

// DestinationAll is free shipping to every country.
func DestinationAll() *DiscountShippingDestinationSelectionInput {
	all := true
	return &DiscountShippingDestinationSelectionInput{All: &all}
}

// Validate checks the input client-side, mirroring Shopify's rules.
func (in DiscountCodeFreeShippingInput) Validate(create bool) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, a...))
	}
	if create {
		switch {
		case in.Title == "":
			return bad("title is required")
		case in.Code == "":
			return bad("code is required")
		case in.StartsAt == nil:
			return bad("startsAt is required")
		case in.Context == nil:
			return bad("context is required (use ContextAll())")
		}
	}
	// The checks shared with the basic input.
	basic := DiscountCodeBasicInput{StartsAt: in.StartsAt, EndsAt: in.EndsAt, Context: in.Context,
		MinimumRequirement: in.MinimumRequirement, UsageLimit: in.UsageLimit}
	if err := basic.Validate(false); err != nil {
		return err
	}
	if d := in.Destination; d != nil && (d.All != nil) == (d.Countries != nil) {
		return bad("destination needs exactly one of all, countries")
	}
	return nil
}

const discountCodeFreeShippingCreateMutation = `mutation DiscountCodeFreeShippingCreate($input: DiscountCodeFreeShippingInput!) {
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $input) {
    codeDiscountNode { id }
    userErrors { field code message extraInfo }
  }
}`

// DiscountCodeFreeShippingCreate creates a free-shipping code discount and
// returns its DiscountCodeNode GID. A refused input is a [*UserErrors].
func (c *Client) DiscountCodeFreeShippingCreate(ctx context.Context, input DiscountCodeFreeShippingInput) (string, error) {
	if err := input.Validate(true); err != nil {
		return "", err
	}
	return c.codeDiscountCreate(ctx, "DiscountCodeFreeShippingCreate", discountCodeFreeShippingCreateMutation, input)
}

const discountCodeFreeShippingUpdateMutation = `mutation DiscountCodeFreeShippingUpdate($id: ID!, $input: DiscountCodeFreeShippingInput!) {
  discountCodeFreeShippingUpdate(id: $id, freeShippingCodeDiscount: $input) {
    codeDiscountNode { id }
    userErrors { field code message extraInfo }
  }
}`

// DiscountCodeFreeShippingUpdate changes the given fields of free-shipping
// discount id (a DiscountCodeNode GID) and removes those in input.Clear.
func (c *Client) DiscountCodeFreeShippingUpdate(ctx context.Context, id string, input DiscountCodeFreeShippingInput) error {
	return c.codeDiscountUpdate(ctx, "DiscountCodeFreeShippingUpdate", discountCodeFreeShippingUpdateMutation, id, input, input.Validate)
}
