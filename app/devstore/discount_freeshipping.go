package devstore

import "fmt"

// Free-shipping code discounts: discountCodeFreeShippingCreate and
// discountCodeFreeShippingUpdate take a DiscountCodeFreeShippingInput (the
// basic input's dates, context, minimum requirement, usage limit and
// combinesWith, plus destination and maximumShippingPrice, without
// customerGets) and make a DiscountCodeFreeShipping, which shares the
// redeem codes, activation and deletion of every code discount.

func init() {
	rootMutation["discountCodeFreeShippingCreate"] = (*Store).mDiscountCodeFreeShippingCreate
	rootMutation["discountCodeFreeShippingUpdate"] = (*Store).mDiscountCodeFreeShippingUpdate
}

// inputName is the mutation argument that carries the discount's input
// (the root of userErrors' field paths).
func (d *discount) inputName() string {
	if d.freeShipping {
		return "freeShippingCodeDiscount"
	}
	return "basicCodeDiscount"
}

// freeShippingInput applies the fields only free shipping has.
func freeShippingInput(d *discount, in map[string]any) (errs []map[string]any) {
	if v, ok := in["maximumShippingPrice"]; ok {
		if v == nil {
			d.maxShippingPrice = nil
		} else if c, err := parseCents(fmt.Sprint(v)); err != nil || c < 0 {
			errs = append(errs, userError([]string{d.inputName(), "maximumShippingPrice"}, "INVALID", "Maximum shipping price is invalid"))
		} else {
			d.maxShippingPrice = &c
		}
	}
	if v, ok := in["destination"].(map[string]any); ok {
		all, hasAll := v["all"].(bool)
		countries, hasCountries := v["countries"].(map[string]any)
		switch {
		case hasAll && hasCountries:
			errs = append(errs, userError([]string{d.inputName(), "destination"}, "INVALID", "Destination can have all or countries, not both"))
		case hasCountries:
			var codes []any
			if add, ok := countries["add"].([]any); ok {
				codes = add
			}
			rest, _ := countries["includeRestOfWorld"].(bool)
			d.destination = map[string]any{"__typename": "DiscountCountries", "countries": codes, "includeRestOfWorld": rest}
		case hasAll && all:
			d.destination = nil
		}
	}
	return errs
}

func (s *Store) mDiscountCodeFreeShippingCreate(sh *shop, args map[string]any) any {
	in, ok := args["freeShippingCodeDiscount"].(map[string]any)
	if !ok {
		return gqlError{"message": "Variable $freeShippingCodeDiscount of type DiscountCodeFreeShippingInput! was provided invalid value",
			"extensions": map[string]any{"code": "INVALID_VARIABLE"}}
	}
	now := s.now()
	d := &discount{freeShipping: true, combinesWith: map[string]bool{}, usedBy: map[string]bool{}, createdAt: now, updatedAt: now}
	code, errs := s.discountInput(sh, d, in, true)
	errs = append(errs, freeShippingInput(d, in)...)
	if len(errs) == 0 && sh.redeemTotal >= s.codeCap {
		errs = append(errs, userError([]string{d.inputName(), "code"}, "EXCEEDED_MAX", "The shop has reached the maximum number of discount codes."))
	}
	if len(errs) > 0 {
		return map[string]any{"codeDiscountNode": nil, "userErrors": errs}
	}
	d.id = s.ids.id("DiscountCodeNode")
	sh.discounts[d.id] = d
	sh.discOrder = append(sh.discOrder, d.id)
	s.addCodeLocked(sh, d, code)
	s.enqueueLocked(sh, "discounts/create", s.discountWebhookLocked(sh, d))
	return map[string]any{"codeDiscountNode": s.discountNodeLocked(sh, d), "userErrors": []any{}}
}

func (s *Store) mDiscountCodeFreeShippingUpdate(sh *shop, args map[string]any) any {
	return s.updateCodeDiscount(sh, args, "freeShippingCodeDiscount", true)
}

// freeShippingNode turns the rendered DiscountCodeBasic fields into a
// DiscountCodeFreeShipping.
func freeShippingNode(node map[string]any, d *discount, sh *shop) {
	delete(node, "customerGets")
	node["__typename"] = "DiscountCodeFreeShipping"
	node["discountClasses"] = []string{"SHIPPING"}
	node["summary"] = "Free shipping on all products"
	node["appliesOnOneTimePurchase"] = true
	node["appliesOnSubscription"] = false
	dest := any(map[string]any{"__typename": "DiscountCountryAll", "allCountries": true})
	if d.destination != nil {
		dest = d.destination
	}
	node["destinationSelection"] = dest
	var maxPrice any
	if d.maxShippingPrice != nil {
		maxPrice = map[string]any{"amount": decimal(*d.maxShippingPrice), "currencyCode": sh.currency}
	}
	node["maximumShippingPrice"] = maxPrice
}
