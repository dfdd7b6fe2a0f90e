package main

// Schemas of the attribution routes, inline (the components table lives in
// openapi.go). Money is a decimal string in the shop's currency.

func moneyStr(desc string) obj {
	return obj{"type": "string", "pattern": `^-?[0-9]+(\.[0-9]+)?$`, "description": desc + " (decimal string in the shop currency)"}
}

func intProp(desc string) obj { return obj{"type": "integer", "description": desc} }

func listOf(item obj) obj {
	return object([]string{"items", "next_cursor"}, obj{
		"items":       arr(item),
		"next_cursor": str("pass as ?cursor= for the next page; empty on the last page"),
	})
}

var moneySetSchema = object(nil, obj{
	"gross_revenue": moneyStr("line items before discounts"), "net_revenue": moneyStr("after discounts, no shipping or tax"),
	"discount_cost": moneyStr("discounts"), "commission": moneyStr("partner commission"),
})

var utmSchema = object(nil, obj{"source": str(""), "medium": str(""), "campaign": str(""), "content": str(""), "term": str("")})

var linkSchema = object([]string{"id", "slug", "url", "status"}, obj{
	"id": str("link id"), "slug": str("public slug: GET /l/{slug}"), "url": str("the shareable URL"),
	"partner_id": nullable("string", "partner credited by clicks"), "campaign_id": nullable("string", "campaign of the link"),
	"channel": str("channel of its clicks"), "destination": str("storefront path the shopper lands on"),
	"code_mode": enum("which code a click gets", "issue", "vanity", "none"), "vanity_code": str("the partner code (code_mode vanity)"),
	"utm": utmSchema,
	"routing": object(nil, obj{
		"countries":       obj{"type": "object", "additionalProperties": obj{"type": "string"}, "description": "country -> destination"},
		"devices":         obj{"type": "object", "additionalProperties": obj{"type": "string"}, "description": "device -> destination"},
		"block_countries": arr(str("")), "block_devices": arr(str("")),
	}),
	"status": enum("", "active", "archived"), "created_at": str("RFC 3339"),
})

var linkInputSchema = object(nil, obj{
	"partner_id": nullable("string", "partner (partner_id or campaign_id is required)"), "campaign_id": nullable("string", "campaign"),
	"channel": str(""), "destination": str("storefront path, default /"), "code_mode": enum("", "issue", "vanity", "none"),
	"vanity_code": str(""), "utm": utmSchema, "routing": obj{"type": "object"},
})

var clickSchema = object([]string{"id", "click_id", "link_id", "created_at"}, obj{
	"id": str(""), "click_id": str("travels in the landing URL as ct_click"), "link_id": str(""),
	"partner_id": nullable("string", ""), "campaign_id": nullable("string", ""), "channel": str(""),
	"ip": str(""), "user_agent": str(""), "referrer": str(""), "country": str(""), "device": str(""),
	"is_bot": obj{"type": "boolean"}, "code": str("code the click got"),
	"outcome": enum("", "code", "no_code", "blocked", "bot", "pool_empty"), "destination": str(""), "created_at": str("RFC 3339"),
})

var conversionSchema = object([]string{"id", "order_id", "order_name", "status", "campaign_id", "partner_id", "channel", "code", "currency",
	"gross_revenue", "net_revenue", "discount_cost", "commission", "hold_until", "fraud", "credit"}, obj{
	"id": str("conversion id"), "order_id": str("Shopify order id"), "order_name": str("#1001"),
	"status":      enum("held until hold_until, then approved; paid once its statement is paid", "held", "approved", "rejected", "reversed", "paid"),
	"campaign_id": nullable("string", "credited campaign (largest share)"), "partner_id": nullable("string", "credited partner (largest share)"),
	"channel": str(""), "code": str("credited code"), "currency": str("shop currency"),
	"gross_revenue": moneyStr("current gross"), "net_revenue": moneyStr("current net"), "discount_cost": moneyStr("current discount"),
	"commission": moneyStr("current commission"), "hold_until": str("RFC 3339: end of the refund window"),
	"fraud": object([]string{"score", "action", "reasons"}, obj{
		"score": obj{"type": "number"}, "action": str("none until the fraud layer acts"),
		"reasons": arr(object([]string{"kind", "detail"}, obj{"kind": str("second_redemption, wrong_shopper, usage_cap_exceeded, ..."), "detail": str("")})),
	}),
	"credit": object([]string{"rule", "evidence"}, obj{
		"rule":     enum("what credited it", "code", "click", "code_and_click", "coupon_wins", "click_wins", "split", "unattributed", "organic"),
		"policy":   str("crediting policy applied"),
		"evidence": obj{"type": "object", "description": "text for people, codes/click/utm/touchpoints for machines"},
	}),
	"click_id": str(""), "attributed": obj{"type": "boolean", "description": "a code or click was credited (false: an outcome only)"},
	"status_reason": str("reason of the last approve/reject/cancel"), "refunded": moneyStr("cumulative refunded net"),
	"clawback": moneyStr("commission refunded after payout"), "original": moneySetSchema,
	"lines": arr(object(nil, obj{
		"campaign_id": nullable("string", ""), "partner_id": nullable("string", ""), "channel": str(""), "code": str(""), "click_id": str(""),
		"share": str("percent of the credit"), "rule": str(""), "evidence": str(""), "current": moneySetSchema, "original": moneySetSchema,
	})),
	"order_created_at": str("RFC 3339"), "attributed_at": str("RFC 3339"), "approved_at": nullable("string", "RFC 3339"),
	"paid_at": nullable("string", "RFC 3339"), "statement_id": nullable("string", ""), "version": intProp("bumped on every change"),
	"touchpoints": arr(obj{"type": "object"}),
})

var statementSchema = object([]string{"id", "partner_id", "period_start", "period_end", "currency", "status", "total"}, obj{
	"id": str(""), "partner_id": str(""), "period_start": str("RFC 3339"), "period_end": str("RFC 3339 (exclusive)"), "currency": str(""),
	"status": enum("", "open", "paid"), "conversions": intProp("conversions paid by it"),
	"commission": moneyStr("commission of approved conversions"), "clawbacks": moneyStr("refunds after earlier payouts"),
	"total": moneyStr("commission − clawbacks"), "paid_at": nullable("string", "RFC 3339"), "paid_by": str("user:<id> or api_key:<id>"),
	"created_at": str("RFC 3339"),
	"lines": arr(object(nil, obj{"kind": enum("", "conversion", "clawback"), "conversion_id": str(""), "order_id": str(""),
		"order_name": str(""), "amount": moneyStr("")})),
})

var policySchema = obj{"description": "a policy name or {kind, window_days, overrides, fallback, split:{mode, coupon_weight, click_weight}}",
	"oneOf": []obj{enum("", "coupon_wins", "click_wins", "per_partner", "split"), object(nil, obj{
		"kind": enum("", "coupon_wins", "click_wins", "per_partner", "split"), "window_days": intProp("attribution window"),
		"overrides": obj{"type": "object", "additionalProperties": obj{"type": "string"}, "description": "partner id -> rule"},
		"fallback":  str(""), "split": object(nil, obj{"mode": enum("", "weighted", "equal"), "coupon_weight": intProp(""), "click_weight": intProp("")}),
	})}}

var deltaSchema = object(nil, obj{"key": str("partner id or channel (none: no partner)"), "before_net_minor": intProp(""),
	"after_net_minor": intProp(""), "before_commission_minor": intProp(""), "after_commission_minor": intProp("")})

var creditSchema = obj{"type": "object", "additionalProperties": obj{"type": "number"}, "description": "channel -> credited conversions"}

// attributionPaths documents SmartLinks, clicks, conversions, attribution
// and payouts.
func attributionPaths(idParam func(string) []obj) obj {
	nf := errResp("NotFound")
	bad := errResp("BadRequest")
	inv := errResp("Invalid")
	conflict := errResp("Conflict")
	reason := object(nil, obj{"reason": str("why (required to reject); recorded in the ledger with the user or API key")})
	rangeParams := []obj{query("from", "YYYY-MM-DD or RFC 3339 (orders created from; default to − 90 days)", nil),
		query("to", "YYYY-MM-DD or RFC 3339 (exclusive; default tomorrow)", nil)}
	return obj{
		"/links": obj{
			"get": operation("listLinks", "smartlinks", "The shop's SmartLinks, newest first.",
				append([]obj{query("partner_id", "", nil), query("campaign_id", "", nil)}, pageParams...), nil,
				obj{"200": resp("a page of links", listOf(linkSchema)), "400": bad}),
			"post": operation("createLink", "smartlinks", "Create a SmartLink for a partner or campaign.", nil, linkInputSchema,
				obj{"201": resp("the link", linkSchema), "400": bad, "422": inv}),
		},
		"/links/{id}": obj{"get": operation("getLink", "smartlinks", "One SmartLink.", idParam("link"), nil,
			obj{"200": resp("the link", linkSchema), "404": nf})},
		"/clicks": obj{"get": operation("listClicks", "smartlinks", "Recorded clicks, newest first.",
			append([]obj{query("link_id", "", nil), query("partner_id", "", nil)}, pageParams...), nil,
			obj{"200": resp("a page of clicks", listOf(clickSchema)), "400": bad})},
		"/conversions": obj{"get": operation("listConversions", "conversions", "Conversions (one per order, organic outcomes included), newest first.",
			append([]obj{query("order_id", "Shopify order id", nil), query("status", "held|approved|rejected|reversed|paid", nil),
				query("partner_id", "", nil)}, pageParams...), nil,
			obj{"200": resp("a page of conversions", listOf(conversionSchema)), "400": bad})},
		"/conversions/{id}": obj{"get": operation("getConversion", "conversions", "One conversion with its evidence and touchpoints.",
			idParam("conversion"), nil, obj{"200": resp("the conversion", conversionSchema), "404": nf})},
		"/conversions/{id}/approve": obj{"post": operation("approveConversion", "conversions", "Approve a held conversion early (approving an approved one is a no-op).",
			idParam("conversion"), reason, obj{"200": resp("the conversion", conversionSchema), "404": nf, "409": conflict, "422": inv})},
		"/conversions/{id}/reject": obj{"post": operation("rejectConversion", "conversions", "Reject a held conversion with a reason.",
			idParam("conversion"), reason, obj{"200": resp("the conversion", conversionSchema), "404": nf, "409": conflict, "422": inv})},
		"/attribution/rerun": obj{"post": operation("rerunAttribution", "attribution",
			"Re-run attribution of held and approved conversions over a date range; dry_run (the default) only shows the change.", nil,
			object(nil, obj{"from": str("YYYY-MM-DD or RFC 3339"), "to": str("exclusive"), "policy": policySchema,
				"dry_run": obj{"type": "boolean", "description": "default true"}}),
			obj{"200": resp("the change in credit", object(nil, obj{"dry_run": obj{"type": "boolean"}, "policy": str(""),
				"orders": intProp("conversions re-run"), "changed": intProp("conversions whose credit changes"),
				"skipped": intProp("rejected, reversed or paid"), "by_partner": arr(deltaSchema), "by_channel": arr(deltaSchema),
				"changes": arr(object(nil, obj{"conversion_id": str(""), "order_id": str(""), "before_rule": str(""), "after_rule": str(""),
					"before_partner_id": str(""), "after_partner_id": str("")}))})), "400": bad, "422": inv})},
		"/attribution/models": obj{"get": operation("attributionModels", "attribution",
			"Credit per channel under last/first-touch, linear, position-based, time-decay and Markov beside the crediting policy.", rangeParams, nil,
			obj{"200": resp("credit per model", object(nil, obj{"policy": str(""), "conversions": intProp(""),
				"models": object(nil, obj{"crediting_policy": creditSchema, "last_touch": creditSchema, "first_touch": creditSchema,
					"linear": creditSchema, "position_based": creditSchema, "time_decay": creditSchema, "markov": creditSchema}),
				"markov_error":           str("set when the Markov system cannot be solved"),
				"markov_removal_effects": obj{"type": "object", "additionalProperties": obj{"type": "number"}}})), "400": bad})},
		"/ledger/check": obj{"get": operation("ledgerCheck", "attribution",
			"Recompute every conversion from its ledger entries alone and compare.", nil, nil,
			obj{"200": resp("the check", object([]string{"ok", "checked", "mismatches"}, obj{"ok": obj{"type": "boolean"},
				"checked": intProp("conversions checked"), "entries": intProp("ledger entries replayed"),
				"mismatches": arr(object(nil, obj{"conversion_id": str(""), "order_id": str(""), "field": str(""),
					"ledger": intProp("minor units per the ledger"), "stored": intProp("minor units stored")}))}))})},
		"/payouts/statements": obj{
			"get": operation("listStatements", "payouts", "Partner statements, newest first.",
				append([]obj{query("partner_id", "", nil), query("status", "open|paid", nil)}, pageParams...), nil,
				obj{"200": resp("a page of statements", listOf(statementSchema)), "400": bad}),
			"post": operation("createStatements", "payouts",
				"Build per-partner statements of a period from approved conversions minus clawbacks (idempotent for the period).", nil,
				object([]string{"period_start", "period_end"}, obj{"period_start": str("YYYY-MM-DD or RFC 3339"), "period_end": str("exclusive")}),
				obj{"201": resp("the period's statements", listOf(statementSchema)), "400": bad, "422": inv}),
		},
		"/payouts/statements/{id}": obj{"get": operation("getStatement", "payouts", "One statement with its lines.", idParam("statement"), nil,
			obj{"200": resp("the statement", statementSchema), "404": nf})},
		"/payouts/statements/{id}/csv": obj{"get": operation("exportStatement", "payouts", "A statement as CSV (clawbacks negative, a total row).",
			idParam("statement"), nil, obj{"200": obj{"description": "CSV", "content": obj{"text/csv": obj{"schema": obj{"type": "string"}}}}, "404": nf})},
		"/payouts/statements/{id}/paid": obj{"post": operation("markStatementPaid", "payouts",
			"Mark a statement paid: its approved conversions become paid (ledger entries).", idParam("statement"), nil,
			obj{"200": resp("the statement", statementSchema), "404": nf})},
	}
}
