package devstore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// rootFn resolves one root field. It runs under s.mu. It returns the full object (shaped later by the selection set)
// or a gqlError for a top-level error.
type rootFn func(s *Store, sh *shop, args map[string]any) any

var rootQuery = map[string]rootFn{
	"shop":                           (*Store).qShop,
	"currentAppInstallation":         (*Store).qAppInstallation,
	"codeDiscountNodeByCode":         (*Store).qCodeDiscountNodeByCode,
	"codeDiscountNode":               (*Store).qCodeDiscountNode,
	"discountNode":                   (*Store).qCodeDiscountNode,
	"codeDiscountNodes":              (*Store).qDiscountNodes,
	"discountNodes":                  (*Store).qDiscountNodes,
	"discountRedeemCodeBulkCreation": (*Store).qBulkCreation,
	"node":                           (*Store).qNode,
	"job":                            (*Store).qJob,
	"orders":                         (*Store).qOrders,
	"order":                          (*Store).qOrder,
	"webhookSubscriptions":           (*Store).qWebhookSubscriptions,
}

var rootMutation = map[string]rootFn{
	"discountCodeBasicCreate":          (*Store).mDiscountCodeBasicCreate,
	"discountCodeBasicUpdate":          (*Store).mDiscountCodeBasicUpdate,
	"discountRedeemCodeBulkAdd":        (*Store).mRedeemCodeBulkAdd,
	"discountCodeActivate":             (*Store).mDiscountActivate,
	"discountCodeDeactivate":           (*Store).mDiscountDeactivate,
	"discountCodeRedeemCodeBulkDelete": (*Store).mRedeemCodeBulkDelete,
	"discountCodeDelete":               (*Store).mDiscountCodeDelete,
	"webhookSubscriptionCreate":        (*Store).mWebhookSubscriptionCreate,
	"webhookSubscriptionDelete":        (*Store).mWebhookSubscriptionDelete,
}

func userError(field []string, code any, msg string) map[string]any {
	return map[string]any{"field": field, "code": code, "message": msg, "extraInfo": nil}
}

// parseGID returns the numeric id of a gid of the given kind (any kind when kind is "").
func parseGID(v any, kind string) (int64, string, bool) {
	s, _ := v.(string)
	rest, ok := strings.CutPrefix(s, "gid://shopify/")
	if !ok {
		return 0, "", false
	}
	k, idStr, ok := strings.Cut(rest, "/")
	if !ok || (kind != "" && k != kind) {
		return 0, "", false
	}
	idStr, _, _ = strings.Cut(idStr, "?")
	id, err := strconv.ParseInt(idStr, 10, 64)
	return id, k, err == nil
}

func cursorFor(id int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"last_id":%d,"last_value":"%d"}`, id, id)))
}

func cursorID(c string) (int64, bool) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	var v struct {
		LastID int64 `json:"last_id"`
	}
	if json.Unmarshal(b, &v) != nil {
		return 0, false
	}
	return v.LastID, true
}

// connection pages items (each with an "id" gid and a numeric key in ids) by first/after/last/before.
func connection(items []map[string]any, ids []int64, args map[string]any) map[string]any {
	start, end := 0, len(items)
	if a := argString(args, "after"); a != "" {
		if id, ok := cursorID(a); ok {
			for i, x := range ids {
				if x == id {
					start = i + 1
				}
			}
		}
	}
	if b := argString(args, "before"); b != "" {
		if id, ok := cursorID(b); ok {
			for i, x := range ids {
				if x == id {
					end = i
				}
			}
		}
	}
	if start > end {
		start = end
	}
	if n := argInt(args, "first", -1); n >= 0 && start+n < end {
		end = start + n
	} else if n := argInt(args, "last", -1); n >= 0 && end-n > start {
		start = end - n
	}
	page := items[start:end]
	edges := make([]map[string]any, len(page))
	for i := range page {
		edges[i] = map[string]any{"node": page[i], "cursor": cursorFor(ids[start+i])}
	}
	pi := map[string]any{"hasNextPage": end < len(items), "hasPreviousPage": start > 0, "startCursor": nil, "endCursor": nil}
	if len(page) > 0 {
		pi["startCursor"] = cursorFor(ids[start])
		pi["endCursor"] = cursorFor(ids[end-1])
	}
	return map[string]any{"nodes": page, "edges": edges, "pageInfo": pi}
}

// decimal renders a GraphQL Decimal the way Shopify does ("1.0", "10.5", "12.34").
func decimal(c cents) string {
	s := c.String()
	s = strings.TrimSuffix(s, "0")
	return s
}

func (s *Store) qShop(sh *shop, _ map[string]any) any {
	name := strings.TrimSuffix(sh.domain, ".myshopify.com")
	return map[string]any{
		"__typename": "Shop", "id": gid("Shop", sh.id), "name": name, "email": "owner@" + sh.domain,
		"contactEmail": "owner@" + sh.domain, "myshopifyDomain": sh.domain, "currencyCode": sh.currency,
		"ianaTimezone": "UTC", "timezoneAbbreviation": "UTC", "url": s.shopBase(sh.domain),
		"primaryDomain": map[string]any{"host": sh.domain, "url": "https://" + sh.domain},
		"plan": map[string]any{"displayName": planDisplay(sh.plan), "publicDisplayName": planDisplay(sh.plan),
			"partnerDevelopment": false, "shopifyPlus": sh.plan == PlanPlus},
		"createdAt": rfc3339(sh.createdAt),
	}
}

func (s *Store) qAppInstallation(sh *shop, _ map[string]any) any {
	var scopes []map[string]any
	for sc := range strings.SplitSeq(s.cfg.Scopes, ",") {
		scopes = append(scopes, map[string]any{"handle": sc})
	}
	return map[string]any{"id": gid("AppInstallation", sh.id), "accessScopes": scopes}
}

// discountNodeLocked renders a DiscountCodeNode with its DiscountCodeBasic.
func (s *Store) discountNodeLocked(sh *shop, d *discount) map[string]any {
	now := s.now()
	var value map[string]any
	summary := ""
	if d.percentage != nil {
		value = map[string]any{"__typename": "DiscountPercentage", "percentage": *d.percentage}
		summary = strconv.FormatFloat(*d.percentage*100, 'f', -1, 64) + "% off one-time purchase products"
	} else {
		value = map[string]any{"__typename": "DiscountAmount",
			"amount":            map[string]any{"amount": decimal(d.amount), "currencyCode": sh.currency},
			"appliesOnEachItem": d.appliesOnEachItem}
		summary = "$" + d.amount.String() + " off one-time purchase products"
	}
	var minReq any
	switch {
	case d.minSubtotal != nil:
		minReq = map[string]any{"__typename": "DiscountMinimumSubtotal",
			"greaterThanOrEqualToSubtotal": map[string]any{"amount": decimal(*d.minSubtotal), "currencyCode": sh.currency}}
		summary += " • Minimum purchase of $" + d.minSubtotal.String()
	case d.minQuantity != nil:
		minReq = map[string]any{"__typename": "DiscountMinimumQuantity",
			"greaterThanOrEqualToQuantity": strconv.FormatInt(*d.minQuantity, 10)}
	}
	var usageLimit any
	if d.usageLimit != nil {
		usageLimit = *d.usageLimit
	}
	var endsAt any
	if d.endsAt != nil {
		endsAt = rfc3339(*d.endsAt)
	}
	ctx := d.context
	if ctx == nil {
		ctx = map[string]any{"__typename": "DiscountBuyerSelectionAll", "all": "ALL"}
	}
	codes := d.codes
	basic := map[string]any{
		"__typename": "DiscountCodeBasic", "discountId": gid("DiscountCodeNode", d.id),
		"title": d.title, "status": d.status(now), "summary": summary,
		"startsAt": rfc3339(d.startsAt), "endsAt": endsAt, "createdAt": rfc3339(d.createdAt),
		"updatedAt": rfc3339(d.updatedAt), "asyncUsageCount": d.usageCount(), "usageLimit": usageLimit,
		"appliesOncePerCustomer": d.appliesOncePerCustomer, "discountClasses": []string{"ORDER"},
		"combinesWith": map[string]any{"productDiscounts": d.combinesWith["productDiscounts"],
			"orderDiscounts": d.combinesWith["orderDiscounts"], "shippingDiscounts": d.combinesWith["shippingDiscounts"]},
		"codesCount":        map[string]any{"count": len(codes), "precision": "EXACT"},
		"codeCount":         len(codes),
		"context":           ctx,
		"customerSelection": map[string]any{"__typename": "DiscountCustomerAll", "allCustomers": true},
		"customerGets": map[string]any{"value": value,
			"items":                    map[string]any{"__typename": "AllDiscountItems", "allItems": true},
			"appliesOnOneTimePurchase": true, "appliesOnSubscription": false},
		"minimumRequirement":  minReq,
		"hasTimelineComment":  false,
		"recurringCycleLimit": 0,
		"shareableUrls":       []any{},
		"totalSales":          nil,
		"codes": resolver(func(args map[string]any) any {
			items := make([]map[string]any, len(codes))
			ids := make([]int64, len(codes))
			for i, c := range codes {
				items[i] = redeemCodeObj(c)
				ids[i] = c.id
			}
			return connection(items, ids, args)
		}),
	}
	if d.freeShipping {
		freeShippingNode(basic, d, sh)
	}
	return map[string]any{"__typename": "DiscountCodeNode", "id": gid("DiscountCodeNode", d.id), "codeDiscount": basic, "discount": basic}
}

func redeemCodeObj(c *redeemCode) map[string]any {
	return map[string]any{"__typename": "DiscountRedeemCode", "id": gid("DiscountRedeemCode", c.id), "code": c.code,
		"asyncUsageCount": c.usage, "createdBy": nil}
}

func (s *Store) qCodeDiscountNodeByCode(sh *shop, args map[string]any) any {
	rc, ok := sh.codes[normCode(argString(args, "code"))]
	if !ok {
		return nil
	}
	return s.discountNodeLocked(sh, sh.discounts[rc.discountID])
}

func (s *Store) qCodeDiscountNode(sh *shop, args map[string]any) any {
	id, _, ok := parseGID(args["id"], "DiscountCodeNode")
	if !ok {
		return nil
	}
	d, ok := sh.discounts[id]
	if !ok {
		return nil
	}
	return s.discountNodeLocked(sh, d)
}

// qDiscountNodes lists discounts, filtered by query terms code:X (exact, case-insensitive), title:X and
// status:active|expired|scheduled.
func (s *Store) qDiscountNodes(sh *shop, args map[string]any) any {
	q := argString(args, "query")
	now := s.now()
	var items []map[string]any
	var ids []int64
	for _, id := range sh.discOrder {
		d := sh.discounts[id]
		ok := true
		for term := range strings.FieldsSeq(q) {
			k, v, found := strings.Cut(term, ":")
			v = strings.Trim(v, `'"`)
			switch {
			case found && k == "code":
				rc, has := sh.codes[normCode(v)]
				ok = ok && has && rc.discountID == d.id
			case found && k == "title":
				ok = ok && strings.Contains(strings.ToLower(d.title), strings.ToLower(v))
			case found && k == "status":
				ok = ok && strings.EqualFold(d.status(now), v)
			}
		}
		if ok {
			items = append(items, s.discountNodeLocked(sh, d))
			ids = append(ids, d.id)
		}
	}
	return connection(items, ids, args)
}

func (s *Store) qNode(sh *shop, args map[string]any) any {
	_, kind, ok := parseGID(args["id"], "")
	if !ok {
		return nil
	}
	switch kind {
	case "DiscountCodeNode":
		return s.qCodeDiscountNode(sh, args)
	case "DiscountRedeemCodeBulkCreation":
		return s.qBulkCreation(sh, args)
	case "Order":
		return s.qOrder(sh, args)
	case "Job":
		return s.qJob(sh, args)
	}
	return nil
}

func (s *Store) qJob(_ *shop, args map[string]any) any {
	id, _ := args["id"].(string)
	return map[string]any{"__typename": "Job", "id": id, "done": true, "query": nil}
}

func (s *Store) bulkObjLocked(sh *shop, b *bulkCreation) map[string]any {
	var dc any
	if d, ok := sh.discounts[b.discountID]; ok {
		dc = s.discountNodeLocked(sh, d)
	}
	codes := b.codes
	done := b.done
	return map[string]any{
		"__typename": "DiscountRedeemCodeBulkCreation", "id": gid("DiscountRedeemCodeBulkCreation", b.id),
		"createdAt": rfc3339(b.createdAt), "done": b.done, "codesCount": len(b.codes),
		"importedCount": b.imported, "failedCount": b.failed, "discountCode": dc,
		"codes": resolver(func(args map[string]any) any {
			items := make([]map[string]any, len(codes))
			ids := make([]int64, len(codes))
			for i, c := range codes {
				errs := []map[string]any{}
				var rc any
				if done && c.errMsg != "" {
					errs = append(errs, userError([]string{"code"}, nil, c.errMsg))
				}
				if done && c.rc != nil {
					rc = redeemCodeObj(c.rc)
				}
				items[i] = map[string]any{"code": c.code, "errors": errs, "discountRedeemCode": rc}
				ids[i] = int64(i + 1)
			}
			return connection(items, ids, args)
		}),
	}
}

func (s *Store) qBulkCreation(sh *shop, args map[string]any) any {
	id, _, ok := parseGID(args["id"], "DiscountRedeemCodeBulkCreation")
	if !ok {
		return nil
	}
	b, ok := sh.bulks[id]
	if !ok {
		return nil
	}
	return s.bulkObjLocked(sh, b)
}

// discountInput applies a DiscountCodeBasicInput to d. It returns user errors; create requires title, code and
// startsAt.
func (s *Store) discountInput(sh *shop, d *discount, in map[string]any, create bool) (code string, errs []map[string]any) {
	f := func(p ...string) []string { return append([]string{d.inputName()}, p...) }
	if v, ok := in["title"]; ok || create {
		t, _ := v.(string)
		if strings.TrimSpace(t) == "" {
			errs = append(errs, userError(f("title"), "BLANK", "Title can't be blank"))
		}
		d.title = t
	}
	if v, ok := in["code"]; ok || create {
		c, _ := v.(string)
		switch {
		case strings.TrimSpace(c) == "":
			errs = append(errs, userError(f("code"), "BLANK", "Code can't be blank"))
		case len(c) > 255:
			errs = append(errs, userError(f("code"), "TOO_LONG", "Code is too long (maximum is 255 characters)"))
		case strings.ContainsAny(c, "\r\n"):
			errs = append(errs, userError(f("code"), "INVALID", "Code cannot contain newline characters."))
		default:
			if rc, taken := sh.codes[normCode(c)]; taken && !(d.id != 0 && rc.discountID == d.id) {
				errs = append(errs, userError(f("code"), "TAKEN", "Code must be unique. Please try a different code."))
			}
		}
		code = c
	}
	if v, ok := in["startsAt"]; ok || create {
		t, err := time.Parse(time.RFC3339, fmt.Sprint(v))
		if err != nil {
			if v == nil && create {
				errs = append(errs, userError(f("startsAt"), "BLANK", "Starts at can't be blank"))
			} else {
				errs = append(errs, userError(f("startsAt"), "INVALID", "Starts at is invalid"))
			}
		} else {
			d.startsAt = t.UTC().Truncate(time.Second)
		}
	}
	if v, ok := in["endsAt"]; ok {
		if v == nil {
			d.endsAt = nil
		} else if t, err := time.Parse(time.RFC3339, fmt.Sprint(v)); err != nil {
			errs = append(errs, userError(f("endsAt"), "INVALID", "Ends at is invalid"))
		} else {
			t = t.UTC().Truncate(time.Second)
			d.endsAt = &t
		}
	}
	if d.endsAt != nil && !d.endsAt.After(d.startsAt) {
		errs = append(errs, userError(f("endsAt"), "INVALID", "Ends at needs to be after starts_at"))
	}
	if cg, ok := in["customerGets"].(map[string]any); ok {
		if val, ok := cg["value"].(map[string]any); ok {
			if p, ok := val["percentage"]; ok {
				pf, err := strconv.ParseFloat(fmt.Sprint(p), 64)
				if err != nil || pf <= 0 || pf > 1 {
					errs = append(errs, userError(f("customerGets", "value", "percentage"), "VALUE_OUTSIDE_RANGE",
						"Value must be between 0.0 and 1.0"))
				} else {
					d.percentage = &pf
				}
			} else if da, ok := val["discountAmount"].(map[string]any); ok {
				amt, err := parseCents(fmt.Sprint(da["amount"]))
				if err != nil || amt <= 0 {
					errs = append(errs, userError(f("customerGets", "value", "discountAmount", "amount"), "GREATER_THAN",
						"Value must be greater than 0"))
				} else {
					d.percentage, d.amount = nil, amt
				}
				d.appliesOnEachItem, _ = da["appliesOnEachItem"].(bool)
			}
		}
	} else if create && !d.freeShipping {
		errs = append(errs, userError(f("customerGets"), "BLANK", "Customer gets can't be blank"))
	}
	if mr, ok := in["minimumRequirement"]; ok {
		d.minSubtotal, d.minQuantity = nil, nil
		if m, ok := mr.(map[string]any); ok {
			// A null value (or a null object) is no requirement of that
			// kind: both null is how a requirement is removed.
			sub, hasSub := m["subtotal"].(map[string]any)
			qty, hasQty := m["quantity"].(map[string]any)
			hasSub = hasSub && sub["greaterThanOrEqualToSubtotal"] != nil
			hasQty = hasQty && qty["greaterThanOrEqualToQuantity"] != nil
			if hasSub && hasQty {
				errs = append(errs, userError(f("minimumRequirement"), "MINIMUM_SUBTOTAL_AND_QUANTITY_RANGE_BOTH_PRESENT",
					"Minimum subtotal cannot be defined when minimum quantity is."))
			}
			if hasSub {
				if c, err := parseCents(fmt.Sprint(sub["greaterThanOrEqualToSubtotal"])); err == nil {
					d.minSubtotal = &c
				}
			}
			if hasQty {
				if q, err := strconv.ParseInt(fmt.Sprint(qty["greaterThanOrEqualToQuantity"]), 10, 64); err == nil {
					d.minQuantity = &q
				}
			}
		}
	}
	if v, ok := in["usageLimit"]; ok {
		if v == nil {
			d.usageLimit = nil
		} else if n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64); err == nil && n > 0 {
			d.usageLimit = &n
		} else {
			errs = append(errs, userError(f("usageLimit"), "GREATER_THAN", "Usage limit must be greater than 0"))
		}
	}
	if v, ok := in["appliesOncePerCustomer"].(bool); ok {
		d.appliesOncePerCustomer = v
	}
	if cw, ok := in["combinesWith"].(map[string]any); ok {
		for _, k := range []string{"productDiscounts", "orderDiscounts", "shippingDiscounts"} {
			if b, ok := cw[k].(bool); ok {
				d.combinesWith[k] = b
			}
		}
	}
	if c, ok := in["context"].(map[string]any); ok {
		if cu, ok := c["customers"].(map[string]any); ok {
			var list []map[string]any
			if add, ok := cu["add"].([]any); ok {
				for _, id := range add {
					list = append(list, map[string]any{"id": id})
				}
			}
			d.context = map[string]any{"__typename": "DiscountCustomers", "customers": list}
		} else {
			d.context = map[string]any{"__typename": "DiscountBuyerSelectionAll", "all": "ALL"}
		}
	}
	return code, errs
}

func (s *Store) mDiscountCodeBasicCreate(sh *shop, args map[string]any) any {
	in, ok := args["basicCodeDiscount"].(map[string]any)
	if !ok {
		return gqlError{"message": "Variable $basicCodeDiscount of type DiscountCodeBasicInput! was provided invalid value",
			"extensions": map[string]any{"code": "INVALID_VARIABLE"}}
	}
	now := s.now()
	d := &discount{combinesWith: map[string]bool{}, usedBy: map[string]bool{}, createdAt: now, updatedAt: now}
	code, errs := s.discountInput(sh, d, in, true)
	if len(errs) == 0 && sh.redeemTotal >= s.codeCap {
		errs = append(errs, userError([]string{"basicCodeDiscount", "code"}, "EXCEEDED_MAX",
			"The shop has reached the maximum number of discount codes."))
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

func (s *Store) addCodeLocked(sh *shop, d *discount, code string) *redeemCode {
	rc := &redeemCode{id: s.ids.id("DiscountRedeemCode"), code: code, discountID: d.id, createdAt: s.now()}
	d.codes = append(d.codes, rc)
	sh.codes[normCode(code)] = rc
	sh.codesByID[rc.id] = rc
	sh.redeemTotal++
	return rc
}

func (s *Store) removeCodeLocked(sh *shop, d *discount, rc *redeemCode) {
	delete(sh.codes, normCode(rc.code))
	delete(sh.codesByID, rc.id)
	sh.redeemTotal--
	for i, c := range d.codes {
		if c == rc {
			d.codes = append(d.codes[:i:i], d.codes[i+1:]...)
			break
		}
	}
}

func (s *Store) discountWebhookLocked(sh *shop, d *discount) map[string]any {
	return map[string]any{"admin_graphql_api_id": gid("DiscountCodeNode", d.id), "title": d.title,
		"status": d.status(s.now()), "created_at": rfc3339(d.createdAt), "updated_at": rfc3339(d.updatedAt)}
}

func (s *Store) lookupDiscount(sh *shop, v any) (*discount, bool) {
	id, _, ok := parseGID(v, "DiscountCodeNode")
	if !ok {
		return nil, false
	}
	d, ok := sh.discounts[id]
	return d, ok
}

func (s *Store) mDiscountCodeBasicUpdate(sh *shop, args map[string]any) any {
	return s.updateCodeDiscount(sh, args, "basicCodeDiscount", false)
}

// updateCodeDiscount applies a code-discount update mutation: the input
// under inputKey on a copy, the copy kept only when every field is valid,
// the redeem code renamed when it changed, and discounts/update sent. A
// free-shipping update also reads its own fields and refuses other kinds.
func (s *Store) updateCodeDiscount(sh *shop, args map[string]any, inputKey string, freeShipping bool) any {
	d, ok := s.lookupDiscount(sh, args["id"])
	if !ok || (freeShipping && !d.freeShipping) {
		return map[string]any{"codeDiscountNode": nil, "userErrors": []any{userError([]string{"id"}, "INVALID", "Code discount does not exist.")}}
	}
	in, _ := args[inputKey].(map[string]any)
	cp := *d
	cp.combinesWith = map[string]bool{}
	for k, v := range d.combinesWith {
		cp.combinesWith[k] = v
	}
	code, errs := s.discountInput(sh, &cp, in, false)
	if freeShipping {
		errs = append(errs, freeShippingInput(&cp, in)...)
	}
	if len(errs) > 0 {
		return map[string]any{"codeDiscountNode": nil, "userErrors": errs}
	}
	cp.updatedAt = s.now()
	*d = cp
	if code != "" && len(d.codes) > 0 && normCode(code) != normCode(d.codes[0].code) {
		rc := d.codes[0]
		delete(sh.codes, normCode(rc.code))
		rc.code = code
		sh.codes[normCode(code)] = rc
	}
	s.enqueueLocked(sh, "discounts/update", s.discountWebhookLocked(sh, d))
	return map[string]any{"codeDiscountNode": s.discountNodeLocked(sh, d), "userErrors": []any{}}
}

func (s *Store) mDiscountActivate(sh *shop, args map[string]any) any {
	d, ok := s.lookupDiscount(sh, args["id"])
	if !ok {
		return map[string]any{"codeDiscountNode": nil, "userErrors": []any{userError([]string{"id"}, "INVALID", "Code discount does not exist.")}}
	}
	now := s.now().Truncate(time.Second)
	if d.startsAt.After(now) {
		d.startsAt = now
	}
	if d.endsAt != nil && !d.endsAt.After(now) {
		d.endsAt = nil
	}
	d.updatedAt = now
	s.enqueueLocked(sh, "discounts/update", s.discountWebhookLocked(sh, d))
	return map[string]any{"codeDiscountNode": s.discountNodeLocked(sh, d), "userErrors": []any{}}
}

func (s *Store) mDiscountDeactivate(sh *shop, args map[string]any) any {
	d, ok := s.lookupDiscount(sh, args["id"])
	if !ok {
		return map[string]any{"codeDiscountNode": nil, "userErrors": []any{userError([]string{"id"}, "INVALID", "Code discount does not exist.")}}
	}
	now := s.now().Truncate(time.Second)
	if d.status(now) != "EXPIRED" {
		if d.startsAt.After(now) {
			d.startsAt = now.Add(-time.Second)
		}
		d.endsAt = &now
	}
	d.updatedAt = now
	s.enqueueLocked(sh, "discounts/update", s.discountWebhookLocked(sh, d))
	return map[string]any{"codeDiscountNode": s.discountNodeLocked(sh, d), "userErrors": []any{}}
}

func (s *Store) mDiscountCodeDelete(sh *shop, args map[string]any) any {
	d, ok := s.lookupDiscount(sh, args["id"])
	if !ok {
		return map[string]any{"deletedCodeDiscountId": nil, "userErrors": []any{userError([]string{"id"}, "INVALID", "Code discount does not exist.")}}
	}
	for _, rc := range append([]*redeemCode(nil), d.codes...) {
		s.removeCodeLocked(sh, d, rc)
	}
	delete(sh.discounts, d.id)
	for i, id := range sh.discOrder {
		if id == d.id {
			sh.discOrder = append(sh.discOrder[:i:i], sh.discOrder[i+1:]...)
			break
		}
	}
	s.enqueueLocked(sh, "discounts/delete", map[string]any{"admin_graphql_api_id": gid("DiscountCodeNode", d.id),
		"deleted_at": rfc3339(s.now())})
	return map[string]any{"deletedCodeDiscountId": gid("DiscountCodeNode", d.id), "userErrors": []any{}}
}

func (s *Store) mRedeemCodeBulkAdd(sh *shop, args map[string]any) any {
	d, ok := s.lookupDiscount(sh, args["discountId"])
	if !ok {
		return map[string]any{"bulkCreation": nil, "userErrors": []any{userError([]string{"discountId"}, "INVALID", "Code discount does not exist.")}}
	}
	list, _ := args["codes"].([]any)
	if len(list) == 0 {
		return map[string]any{"bulkCreation": nil, "userErrors": []any{userError([]string{"codes"}, "BLANK", "Codes can't be blank")}}
	}
	b := &bulkCreation{id: s.ids.id("DiscountRedeemCodeBulkCreation"), discountID: d.id, createdAt: s.now()}
	for _, v := range list {
		m, _ := v.(map[string]any)
		c, _ := m["code"].(string)
		b.codes = append(b.codes, bulkCode{code: c})
	}
	sh.bulks[b.id] = b
	s.startBulkLocked(sh, b)
	return map[string]any{"bulkCreation": s.bulkObjLocked(sh, b), "userErrors": []any{}}
}

// startBulkLocked completes a bulk creation after cfg.BulkDelay, as Shopify does in the background. Per-code
// errors carry code null, as recorded from a real store.
func (s *Store) startBulkLocked(sh *shop, b *bulkCreation) {
	s.pending++
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(s.cfg.BulkDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.ctx.Done():
			s.mu.Lock()
			s.pending--
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.pending--
		d, ok := sh.discounts[b.discountID]
		seen := map[string]bool{}
		for i := range b.codes {
			c := &b.codes[i]
			n := normCode(c.code)
			switch {
			case !ok:
				c.errMsg = "Code discount does not exist."
			case c.code == "":
				c.errMsg = "is too short (minimum is 1 character)"
			case strings.ContainsAny(c.code, "\r\n"):
				c.errMsg = "cannot contain newline characters."
			case len(c.code) > 255:
				c.errMsg = "is too long (maximum is 255 characters)"
			case seen[n]:
				c.errMsg = "Codes must be unique within BulkDiscountCodeCreation"
			case sh.codes[n] != nil:
				c.errMsg = "must be unique. Please try a different code."
			case sh.redeemTotal >= s.codeCap:
				c.errMsg = "exceeds the maximum number of discount codes allowed for this shop (" + strconv.Itoa(s.codeCap) + ")"
			}
			seen[n] = true
			if c.errMsg != "" {
				b.failed++
				continue
			}
			c.rc = s.addCodeLocked(sh, d, c.code)
			b.imported++
		}
		b.done = true
		if ok {
			d.updatedAt = s.now()
		}
	}()
}

func (s *Store) mRedeemCodeBulkDelete(sh *shop, args map[string]any) any {
	d, ok := s.lookupDiscount(sh, args["discountId"])
	if !ok {
		return map[string]any{"job": nil, "userErrors": []any{userError([]string{"discountId"}, "INVALID", "Code discount does not exist.")}}
	}
	var victims []*redeemCode
	if ids, ok := args["ids"].([]any); ok {
		for _, v := range ids {
			if id, _, ok := parseGID(v, "DiscountRedeemCode"); ok {
				if rc, ok := sh.codesByID[id]; ok && rc.discountID == d.id {
					victims = append(victims, rc)
				}
			}
		}
	} else if q := argString(args, "search"); q != "" {
		for _, rc := range d.codes {
			if matchCodeSearch(rc, q) {
				victims = append(victims, rc)
			}
		}
	} else {
		return map[string]any{"job": nil, "userErrors": []any{userError(nil, "MISSING_ARGUMENT", "One of IDs, search argument or saved search ID is required.")}}
	}
	for _, rc := range victims {
		s.removeCodeLocked(sh, d, rc)
		s.enqueueLocked(sh, "discounts/redeemcode_removed", map[string]any{
			"admin_graphql_api_id": gid("DiscountCodeNode", d.id), "title": d.title, "status": d.status(s.now()),
			"updated_at": rfc3339(s.now()), "redeem_code": map[string]any{"id": gid("DiscountRedeemCode", rc.id), "code": rc.code}})
	}
	return map[string]any{"job": map[string]any{"__typename": "Job", "id": gid("Job", s.ids.id("Job")), "done": false}, "userErrors": []any{}}
}

// matchCodeSearch understands "times_used:N", "code:X" and a bare code.
func matchCodeSearch(rc *redeemCode, q string) bool {
	for term := range strings.FieldsSeq(q) {
		k, v, ok := strings.Cut(term, ":")
		switch {
		case ok && k == "times_used":
			n, _ := strconv.ParseInt(v, 10, 64)
			if rc.usage != n {
				return false
			}
		case ok && k == "code":
			if normCode(strings.Trim(v, `'"`)) != normCode(rc.code) {
				return false
			}
		case !ok:
			if normCode(term) != normCode(rc.code) {
				return false
			}
		}
	}
	return true
}

var webhookTopics = map[string]string{} // filled in init from the topic list

func init() {
	for _, t := range []string{"orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/delete",
		"orders/edited", "refunds/create", "checkouts/create", "checkouts/update", "checkouts/delete",
		"customers/create", "customers/update", "discounts/create", "discounts/update", "discounts/delete",
		"discounts/redeemcode_added", "discounts/redeemcode_removed", "app/uninstalled", "app/scopes_update",
		"shop/update"} {
		webhookTopics[strings.ToUpper(strings.NewReplacer("/", "_").Replace(t))] = t
	}
}

func subscriptionObj(sub *subscription) map[string]any {
	enum := strings.ToUpper(strings.ReplaceAll(sub.topic, "/", "_"))
	return map[string]any{"__typename": "WebhookSubscription", "id": gid("WebhookSubscription", sub.id), "topic": enum,
		"uri": sub.uri, "callbackUrl": sub.uri, "format": "JSON", "createdAt": rfc3339(sub.createdAt),
		"updatedAt": rfc3339(sub.createdAt), "includeFields": []string{}, "filter": nil,
		"apiVersion": map[string]any{"handle": APIVersion},
		"endpoint":   map[string]any{"__typename": "WebhookHttpEndpoint", "callbackUrl": sub.uri}}
}

func (s *Store) mWebhookSubscriptionCreate(sh *shop, args map[string]any) any {
	topicEnum := argString(args, "topic")
	topic, ok := webhookTopics[topicEnum]
	if !ok {
		return gqlError{"message": "Argument 'topic' on Field 'webhookSubscriptionCreate' has an invalid value (" + topicEnum + ").",
			"extensions": map[string]any{"code": "argumentLiteralsIncompatible"}}
	}
	in, _ := args["webhookSubscription"].(map[string]any)
	uri, _ := in["uri"].(string)
	if uri == "" {
		uri, _ = in["callbackUrl"].(string)
	}
	if uri == "" {
		return map[string]any{"webhookSubscription": nil, "userErrors": []any{map[string]any{"field": []string{"webhookSubscription", "callbackUrl"}, "message": "Address can't be blank"}}}
	}
	for _, sub := range sh.subs {
		if sub.topic == topic && sub.uri == uri {
			return map[string]any{"webhookSubscription": nil, "userErrors": []any{map[string]any{"field": []string{"webhookSubscription", "callbackUrl"}, "message": "Address for this topic has already been taken"}}}
		}
	}
	sub := &subscription{id: s.ids.id("WebhookSubscription"), topic: topic, uri: uri, createdAt: s.now()}
	sh.subs = append(sh.subs, sub)
	return map[string]any{"webhookSubscription": subscriptionObj(sub), "userErrors": []any{}}
}

func (s *Store) mWebhookSubscriptionDelete(sh *shop, args map[string]any) any {
	id, _, ok := parseGID(args["id"], "WebhookSubscription")
	for i, sub := range sh.subs {
		if ok && sub.id == id {
			sh.subs = append(sh.subs[:i:i], sh.subs[i+1:]...)
			return map[string]any{"deletedWebhookSubscriptionId": gid("WebhookSubscription", id), "userErrors": []any{}}
		}
	}
	return map[string]any{"deletedWebhookSubscriptionId": nil, "userErrors": []any{map[string]any{"field": []string{"id"}, "message": "Webhook subscription does not exist"}}}
}

func (s *Store) qWebhookSubscriptions(sh *shop, args map[string]any) any {
	items := make([]map[string]any, len(sh.subs))
	ids := make([]int64, len(sh.subs))
	for i, sub := range sh.subs {
		items[i] = subscriptionObj(sub)
		ids[i] = sub.id
	}
	return connection(items, ids, args)
}
