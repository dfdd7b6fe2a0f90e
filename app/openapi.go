package main

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/coupontrail/coupontrail/app/campaign"
)

// openAPI serves GET /api/v1/openapi.json: the OpenAPI 3.1 description of
// every /api/v1 route (TestOpenAPICoversEveryRoute keeps it complete). It
// is public: the description holds no shop data.
func (a *App) openAPI(c echo.Context) error {
	b, err := openAPIJSON()
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSONBlob(http.StatusOK, b)
}

var openAPIOnce = sync.OnceValues(func() ([]byte, error) { return json.Marshal(openAPIDoc()) })

func openAPIJSON() ([]byte, error) { return openAPIOnce() }

// obj is a JSON object in the document.
type obj = map[string]any

// areaPaths are the path tables of areas that describe their own routes in
// openapi_<area>.go (each appends itself in an init function).
var areaPaths []func(idParam func(string) []obj) obj

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func str(desc string) obj { return obj{"type": "string", "description": desc} }

func nullable(t string, desc string) obj {
	return obj{"type": []string{t, "null"}, "description": desc}
}

func enum(desc string, vals ...string) obj {
	return obj{"type": "string", "enum": vals, "description": desc}
}

func arr(items obj) obj { return obj{"type": "array", "items": items} }

func object(required []string, props obj) obj {
	o := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// listSchema is the {"items":[...],"next_cursor":"..."} envelope.
func listSchema(item string) obj {
	return object([]string{"items", "next_cursor"}, obj{
		"items":       arr(ref(item)),
		"next_cursor": str("pass as ?cursor= for the next page; empty on the last page"),
	})
}

func jsonContent(schema obj) obj { return obj{"application/json": obj{"schema": schema}} }

func resp(desc string, schema obj) obj {
	if schema == nil {
		return obj{"description": desc}
	}
	return obj{"description": desc, "content": jsonContent(schema)}
}

func errResp(desc string) obj { return obj{"$ref": "#/components/responses/" + desc} }

func pathParam(name, desc string) obj {
	return obj{"name": name, "in": "path", "required": true, "schema": obj{"type": "string"}, "description": desc}
}

func query(name, desc string, schema obj) obj {
	if schema == nil {
		schema = obj{"type": "string"}
	}
	return obj{"name": name, "in": "query", "required": false, "schema": schema, "description": desc}
}

var pageParams = []obj{
	query("cursor", "next_cursor of the previous page", nil),
	query("limit", "page size, 1..500 (default 50)", obj{"type": "integer", "minimum": 1, "maximum": 500}),
}

// operation builds one operation; every /api/v1 operation can answer 401
// (bad credentials) and 503 (a dependency is down) besides its own codes.
func operation(id, tag, summary string, params []obj, body obj, responses obj) obj {
	r := obj{"401": errResp("Unauthorized"), "503": errResp("Unavailable")}
	for k, v := range responses {
		r[k] = v
	}
	o := obj{"operationId": id, "tags": []string{tag}, "summary": summary, "responses": r}
	if len(params) > 0 {
		o["parameters"] = params
	}
	if body != nil {
		o["requestBody"] = obj{"required": true, "content": jsonContent(body)}
	}
	return o
}

func openAPIDoc() obj {
	idParam := func(what string) []obj { return []obj{pathParam("id", what+" id")} }
	codeParam := []obj{pathParam("code", "the code (case-insensitive)")}
	campaignOp := func(id, summary string) obj {
		return operation(id, "campaigns", summary, idParam("campaign"), nil, obj{
			"200": resp("the campaign after the change", ref("Campaign")), "404": errResp("NotFound"), "409": errResp("Conflict")})
	}
	paths := obj{
		"/openapi.json": obj{"get": obj{"operationId": "openAPI", "tags": []string{"meta"}, "summary": "This document.",
			"security": []any{}, "responses": obj{"200": resp("OpenAPI 3.1 document", obj{"type": "object"})}}},
		"/shop": obj{"get": operation("getShop", "shop", "The calling shop and how the caller authenticated.", nil, nil,
			obj{"200": resp("the shop", ref("Shop"))})},
		"/webhook-deliveries": obj{"get": operation("listWebhookDeliveries", "operations", "Shopify webhook deliveries received for the shop, newest first.",
			append([]obj{query("topic", "e.g. orders/create", nil), query("status", "received, processed, failed or ignored",
				enum("", "received", "processed", "failed", "ignored"))}, pageParams...), nil,
			obj{"200": resp("a page of deliveries", listSchema("WebhookDelivery")), "400": errResp("BadRequest")})},
		"/api-keys": obj{
			"get": operation("listAPIKeys", "api-keys", "The shop's API keys (never the key itself).", nil, nil,
				obj{"200": resp("the keys", listSchema("APIKey"))}),
			"post": operation("createAPIKey", "api-keys", "Create an API key; the key is shown once, in this answer.", nil,
				object(nil, obj{"name": str("a label, at most 100 characters")}),
				obj{"201": resp("the key, with `key` set", ref("APIKey")), "400": errResp("BadRequest"), "422": errResp("Invalid")}),
		},
		"/api-keys/{id}": obj{"delete": operation("revokeAPIKey", "api-keys", "Revoke an API key (idempotent).", idParam("API key"), nil,
			obj{"204": resp("revoked", nil), "404": errResp("NotFound")})},

		"/partners": obj{
			"post": operation("createPartner", "partners", "Create a partner (affiliate, influencer or agency).", nil, ref("PartnerInput"),
				obj{"201": resp("the partner", ref("Partner")), "400": errResp("BadRequest"), "422": errResp("Invalid")}),
			"get": operation("listPartners", "partners", "The shop's partners, newest first.",
				append([]obj{query("kind", "filter by kind", enum("", campaign.PartnerKinds...)),
					query("status", "filter by status", enum("", campaign.PartnerStatuses...))}, pageParams...), nil,
				obj{"200": resp("a page of partners", listSchema("Partner")), "400": errResp("BadRequest")}),
		},
		"/partners/{id}": obj{
			"get": operation("getPartner", "partners", "One partner.", idParam("partner"), nil,
				obj{"200": resp("the partner", ref("Partner")), "404": errResp("NotFound")}),
			"patch": operation("updatePartner", "partners", "Change some fields of a partner; absent fields keep their value, `commission: null` removes it.",
				idParam("partner"), ref("PartnerInput"),
				obj{"200": resp("the partner", ref("Partner")), "400": errResp("BadRequest"), "404": errResp("NotFound"), "422": errResp("Invalid")}),
		},

		"/campaigns": obj{
			"post": operation("createCampaign", "campaigns", "Create a campaign (status draft; nothing reaches Shopify before activation).", nil,
				ref("CampaignInput"), obj{"201": resp("the campaign", ref("Campaign")), "400": errResp("BadRequest"), "422": errResp("Invalid")}),
			"get": operation("listCampaigns", "campaigns", "The shop's campaigns, newest first.",
				append([]obj{query("status", "filter by status", enum("", "draft", "active", "paused", "ended")),
					query("goal", "filter by goal", enum("", campaign.Goals...)), query("partner_id", "filter by partner", nil)}, pageParams...), nil,
				obj{"200": resp("a page of campaigns", listSchema("Campaign")), "400": errResp("BadRequest")}),
		},
		"/campaigns/{id}": obj{
			"get": operation("getCampaign", "campaigns", "One campaign, with how far Shopify has caught up (`sync`).", idParam("campaign"), nil,
				obj{"200": resp("the campaign", ref("Campaign")), "404": errResp("NotFound")}),
			"patch": operation("updateCampaign", "campaigns", "Change some fields. Nested objects (discount, code, usage, rules) merge key by key. "+
				"A change Shopify must learn (discount, usage, window, name) bumps rules_version and re-syncs the discount. Ended campaigns answer 409.",
				idParam("campaign"), ref("CampaignInput"),
				obj{"200": resp("the campaign", ref("Campaign")), "400": errResp("BadRequest"), "404": errResp("NotFound"),
					"409": errResp("Conflict"), "422": errResp("Invalid")}),
		},
		"/campaigns/{id}/activate": obj{"post": campaignOp("activateCampaign", "draft -> active: creates (or activates) the campaign's Shopify discount. Repeating is harmless.")},
		"/campaigns/{id}/pause":    obj{"post": campaignOp("pauseCampaign", "active -> paused: deactivates the Shopify discount.")},
		"/campaigns/{id}/resume":   obj{"post": campaignOp("resumeCampaign", "paused -> active: activates the Shopify discount again. 409 for ended campaigns.")},
		"/campaigns/{id}/end":      obj{"post": campaignOp("endCampaign", "draft | active | paused -> ended (final): deactivates the Shopify discount.")},

		"/campaigns/{id}/codes": obj{"post": operation("createCodeBatch", "codes", "Generate unique codes for the campaign and push them to Shopify in the background.",
			idParam("campaign"), ref("CodeBatchInput"),
			obj{"202": resp("the batch, queued", ref("CodeBatch")), "400": errResp("BadRequest"), "404": errResp("NotFound"),
				"409": errResp("Conflict"), "422": errResp("Invalid")})},
		"/campaigns/{id}/codes.csv": obj{"get": operation("exportCodes", "codes", "Stream the campaign's codes as CSV.",
			append(idParam("campaign"), query("status", "filter by code status", nil)), nil,
			obj{"200": obj{"description": "CSV, one code per row with its status, partner, channel, customer and dates",
				"content": obj{"text/csv": obj{"schema": obj{"type": "string"}}}}, "404": errResp("NotFound")})},
		"/campaigns/{id}/codes/import": obj{"post": obj{
			"operationId": "importCodes", "tags": []string{"codes"}, "summary": "Import existing codes from CSV (validated, with a per-row report).",
			"parameters": idParam("campaign"),
			"requestBody": obj{"required": true, "content": obj{"text/csv": obj{"schema": obj{"type": "string"}},
				"multipart/form-data": obj{"schema": object(nil, obj{"file": obj{"type": "string", "contentMediaType": "text/csv"}})}}},
			"responses": obj{"200": resp("the import report", ref("ImportReport")), "201": resp("the import report", ref("ImportReport")),
				"202": resp("the import, queued", ref("ImportReport")), "400": errResp("BadRequest"), "401": errResp("Unauthorized"),
				"404": errResp("NotFound"), "413": errResp("TooLarge"), "422": errResp("Invalid"), "503": errResp("Unavailable")},
		}},
		"/campaigns/{id}/vanity-codes": obj{"post": operation("createVanityCode", "codes", "A merchant-chosen multi-use code (ANA10) for a partner or channel, with a usage cap.",
			idParam("campaign"), ref("VanityCodeInput"),
			obj{"201": resp("the code", ref("Code")), "400": errResp("BadRequest"), "404": errResp("NotFound"), "409": errResp("Conflict"), "422": errResp("Invalid")})},
		"/code-batches": obj{"get": operation("listCodeBatches", "codes", "Code generation batches, newest first.",
			append([]obj{query("campaign_id", "filter by campaign", nil), query("status", "filter by status", nil)}, pageParams...), nil,
			obj{"200": resp("a page of batches", listSchema("CodeBatch")), "400": errResp("BadRequest")})},
		"/code-batches/{id}": obj{"get": operation("getCodeBatch", "codes", "Progress of one generation batch.", idParam("batch"), nil,
			obj{"200": resp("the batch", ref("CodeBatch")), "404": errResp("NotFound")})},
		"/codes": obj{"get": operation("listCodes", "codes", "Codes, newest first.",
			append([]obj{query("campaign_id", "filter by campaign", nil), query("status", "available, issued, redeemed, expired or disabled", nil),
				query("customer_email", "filter by the shopper the code was issued to", nil), query("partner_id", "filter by partner", nil)}, pageParams...), nil,
			obj{"200": resp("a page of codes", listSchema("Code")), "400": errResp("BadRequest")})},
		"/codes/issue": obj{"post": func() obj {
			o := operation("issueCode", "codes", "Issue one code nobody else holds, from the campaign's pool of codes already live in Shopify. "+
				"The same shopper asking again gets the same code. An Idempotency-Key header replays the first answer.", []obj{
				{"name": "Idempotency-Key", "in": "header", "required": false, "schema": obj{"type": "string"}, "description": "replay protection"}},
				ref("IssueInput"), obj{
					"201": resp("the issued code", ref("IssuedCode")),
					"200": resp("the same shopper's existing code, or {\"holdout\":true} for a control shopper", obj{"oneOf": []obj{ref("IssuedCode"), ref("Holdout")}}),
					"400": errResp("BadRequest"), "404": errResp("NotFound"), "409": errResp("Conflict"),
					"422": resp("the request breaks a campaign rule; error.code names it", ref("Error")),
					"503": obj{"description": "the pool is empty; retry after Retry-After seconds", "headers": obj{"Retry-After": obj{"schema": obj{"type": "integer"}}},
						"content": jsonContent(ref("Error"))}})
			return o
		}()},
		"/codes/{code}": obj{"get": operation("getCode", "codes", "One code and its lifecycle.", codeParam, nil,
			obj{"200": resp("the code", ref("Code")), "404": errResp("NotFound")})},
		"/codes/{code}/disable": obj{"post": operation("disableCode", "codes", "Disable a code (leaked or misused); it is removed from Shopify.", codeParam,
			object(nil, obj{"reason": str("why, kept with the code")}),
			obj{"200": resp("the code", ref("Code")), "404": errResp("NotFound"), "409": errResp("Conflict")})},
		"/codes/{code}/enable": obj{"post": operation("enableCode", "codes", "Re-enable a disabled code.", codeParam, nil,
			obj{"200": resp("the code", ref("Code")), "404": errResp("NotFound"), "409": errResp("Conflict")})},

		"/webhook-endpoints": obj{
			"get": operation("listWebhookEndpoints", "outbound-webhooks", "The shop's outbound webhook endpoints.", pageParams, nil,
				obj{"200": resp("the endpoints", listSchema("WebhookEndpoint"))}),
			"post": operation("createWebhookEndpoint", "outbound-webhooks", "Subscribe a URL to events (code.issued, code.expired, code.disabled, ...); "+
				"the signing secret is shown once, in this answer.", nil, ref("WebhookEndpointInput"),
				obj{"201": resp("the endpoint, with `secret` set", ref("WebhookEndpoint")), "400": errResp("BadRequest"), "422": errResp("Invalid")}),
		},
		"/webhook-endpoints/{id}": obj{"delete": operation("deleteWebhookEndpoint", "outbound-webhooks", "Delete an endpoint.", idParam("endpoint"), nil,
			obj{"204": resp("deleted", nil), "404": errResp("NotFound")})},
		"/outbound-events": obj{"get": operation("listOutboundEvents", "outbound-webhooks", "Outbound events and their delivery state, newest first.",
			append([]obj{query("type", "e.g. code.issued", nil), query("status", "pending, delivered or failed", nil), query("endpoint_id", "filter by endpoint", nil)}, pageParams...), nil,
			obj{"200": resp("a page of events", listSchema("OutboundEvent")), "400": errResp("BadRequest")})},
	}

	for _, area := range append([]func(func(string) []obj) obj{attributionPaths}, areaPaths...) {
		for k, v := range area(idParam) {
			paths[k] = v
		}
	}

	money := func(desc string) obj {
		return obj{"type": "string", "pattern": `^-?\d+(\.\d+)?$`, "description": desc + " (decimal string in the shop's currency)"}
	}
	nullMoney := func(desc string) obj {
		return obj{"type": []string{"string", "null"}, "pattern": `^-?\d+(\.\d+)?$`, "description": desc + " (decimal string in the shop's currency)"}
	}
	ts := func(desc string) obj { return obj{"type": "string", "format": "date-time", "description": desc} }
	nullTS := func(desc string) obj {
		return obj{"type": []string{"string", "null"}, "format": "date-time", "description": desc}
	}
	id := str("id (a string)")
	discount := object([]string{"type"}, obj{
		"type":          enum("discount logic", campaign.DiscountPercentage, campaign.DiscountFixedAmount, campaign.DiscountFreeShipping),
		"value":         obj{"type": []string{"number", "string", "null"}, "description": "percentage: 0 < value <= 100 (15 = 15%); fixed_amount: amount > 0 in shop currency; free_shipping: none"},
		"min_subtotal":  nullMoney("minimum order subtotal"),
		"products":      arr(str("Shopify product GID or numeric id")),
		"collections":   arr(str("Shopify collection GID or numeric id")),
		"combines_with": object(nil, obj{"order_discounts": obj{"type": "boolean"}, "product_discounts": obj{"type": "boolean"}, "shipping_discounts": obj{"type": "boolean"}}),
	})
	codeFormat := object([]string{"length"}, obj{
		"prefix":     str("upper-case A-Z, 0-9 and inner '-', at most 20"),
		"length":     obj{"type": "integer", "minimum": 4, "maximum": 32, "description": "random symbols (prefix and check character not counted)"},
		"check_char": obj{"type": "boolean", "description": "append a check symbol that catches typos"},
		"separator":  enum("between prefix and body, and between groups", "", "-"),
		"group_size": obj{"type": "integer", "minimum": 0},
	})
	usage := object(nil, obj{
		"single_use":         obj{"type": "boolean", "description": "each code redeems once (Shopify usageLimit 1)"},
		"once_per_customer":  obj{"type": "boolean", "description": "Shopify appliesOncePerCustomer"},
		"total_cap":          nullable("integer", "redemptions across the campaign (Shopify usageLimit when not single-use)"),
		"budget":             nullMoney("discount budget, enforced by the app"),
		"codes_per_customer": nullable("integer", "codes one shopper may hold (default 1)"),
	})
	rules := object(nil, obj{
		"countries":        arr(obj{"type": "string", "pattern": "^[A-Z]{2}$"}),
		"devices":          arr(enum("", campaign.Devices...)),
		"traffic_sources":  arr(str("e.g. affiliate, google")),
		"channels":         arr(enum("", campaign.Channels...)),
		"partner_only":     obj{"type": "boolean"},
		"customer_segment": str("Shopify customer segment name or id"),
	})
	campaignFields := obj{
		"name": str("at most 200 characters"), "goal": enum("", campaign.Goals...),
		"partner_id":     nullable("string", "one of the shop's partners"),
		"discount":       ref("Discount"),
		"code":           ref("CodeFormat"),
		"usage":          ref("Usage"),
		"rules":          ref("Rules"),
		"starts_at":      nullTS("default now"),
		"ends_at":        nullTS("after starts_at; null = no end"),
		"code_ttl_hours": nullable("integer", "issued codes expire after this many hours; null = never"),
		"holdout":        obj{"type": "number", "minimum": 0, "maximum": 0.5, "description": "share of eligible shoppers held back as control"},
		"hold_days":      nullable("integer", "refund window before conversions are approved; null = shop default"),
	}
	campaignOut := obj{}
	for k, v := range campaignFields {
		campaignOut[k] = v
	}
	campaignOut["id"] = id
	campaignOut["status"] = enum("", "draft", "active", "paused", "ended")
	campaignOut["starts_at"] = ts("")
	campaignOut["currency"] = str("the shop's currency (ISO 4217)")
	campaignOut["shopify_discount_id"] = nullable("string", "gid://shopify/DiscountCodeNode/... once synced")
	campaignOut["rules_version"] = obj{"type": "integer", "description": "bumped by every change Shopify must learn"}
	campaignOut["sync"] = ref("Sync")
	campaignOut["created_at"] = ts("")
	campaignOut["updated_at"] = ts("")
	commission := obj{"oneOf": []obj{
		object([]string{"percent"}, obj{"percent": obj{"type": "number", "exclusiveMinimum": 0, "maximum": 100, "description": "percent of net attributed revenue"}}),
		object([]string{"fixed"}, obj{"fixed": money("per conversion")}),
	}}
	partnerFields := obj{
		"name": str("at most 200 characters"), "kind": enum("", campaign.PartnerKinds...), "email": obj{"type": "string", "format": "email"},
		"commission": obj{"oneOf": []obj{ref("Commission"), {"type": "null"}}}, "customer_id": nullable("string", "the partner's own Shopify customer id (self-referral checks)"),
		"payout_details": obj{"type": "object", "description": "free-form payout instructions"}, "status": enum("", campaign.PartnerStatuses...),
	}
	partnerOut := obj{"id": id, "currency": str("the shop's currency"), "created_at": ts(""), "updated_at": ts("")}
	for k, v := range partnerFields {
		partnerOut[k] = v
	}
	code := object([]string{"code", "status"}, obj{
		"code": str("upper-case"), "status": enum("", "available", "issued", "redeemed", "expired", "disabled"),
		"kind": enum("", "unique", "vanity"), "campaign_id": id, "partner_id": nullable("string", ""), "channel": str(""),
		"customer_email": nullable("string", ""), "customer_id": nullable("string", ""), "usage_cap": nullable("integer", "vanity codes"),
		"uses": obj{"type": "integer"}, "issued_at": nullTS(""), "expires_at": nullTS(""), "redeemed_at": nullTS(""),
		"shopify_state": enum("", "pending", "pushing", "live", "failed", "removed"), "disabled_reason": str(""),
	})
	code["additionalProperties"] = true

	schemas := obj{
		"Error": object([]string{"error"}, obj{"error": object([]string{"code", "message"}, obj{
			"code": str("stable machine-readable code, e.g. not_found, invalid_kind, invalid_discount, invalid_transition"), "message": str("for humans")})}),
		"Shop": object([]string{"id", "domain"}, obj{"id": id, "domain": str("myshopify domain"), "name": str(""), "currency": str("ISO 4217"),
			"plan": str(""), "timezone": str("IANA"), "scopes": str(""), "installed_at": nullTS(""), "auth": enum("", "session", "api_key"), "user_id": str("staff user, session tokens only")}),
		"WebhookDelivery": object(nil, obj{"id": id, "webhook_id": str("X-Shopify-Webhook-Id"), "topic": str(""),
			"status": enum("", "received", "processed", "failed", "ignored"), "received_at": ts(""), "processed_at": nullTS(""),
			"attempts": obj{"type": "integer"}, "error": str("")}),
		"APIKey": object(nil, obj{"id": id, "name": str(""), "prefix": str("first characters, to recognise a key"), "key": str("only in the create answer"),
			"created_at": ts(""), "last_used_at": nullTS(""), "revoked_at": nullTS("")}),
		"Commission":   commission,
		"PartnerInput": object(nil, partnerFields),
		"Partner":      object([]string{"id", "name", "kind", "status"}, partnerOut),
		"Discount":     discount,
		"CodeFormat":   codeFormat,
		"Usage":        usage,
		"Rules":        rules,
		"Sync": object([]string{"status"}, obj{"status": enum("pending: Shopify has not caught up yet; failed: Shopify refused (see error)", "pending", "synced", "failed"),
			"error": str("why the last sync failed or is being retried"), "rules_version": obj{"type": "integer"}, "synced_version": obj{"type": "integer"}}),
		"CampaignInput": object(nil, campaignFields),
		"Campaign":      object([]string{"id", "name", "goal", "status", "discount", "code", "usage", "rules", "starts_at", "sync"}, campaignOut),
		"CodeBatchInput": object([]string{"count"}, obj{"count": obj{"type": "integer", "minimum": 1}, "partner_id": nullable("string", ""),
			"channel": enum("", campaign.Channels...)}),
		"CodeBatch": object([]string{"id", "status"}, obj{"id": id, "campaign_id": id, "status": enum("", "queued", "generating", "pushing", "done", "failed"),
			"requested": obj{"type": "integer"}, "generated": obj{"type": "integer"}, "pushed": obj{"type": "integer"}, "failed": obj{"type": "integer"},
			"partner_id": nullable("string", ""), "channel": str(""), "error": str(""), "created_at": ts(""), "updated_at": ts("")}),
		"VanityCodeInput": object([]string{"code"}, obj{"code": str("the code, e.g. ANA10"), "partner_id": nullable("string", ""),
			"channel": enum("", campaign.Channels...), "usage_cap": nullable("integer", "redemptions allowed")}),
		"Code": code,
		"ImportReport": obj{"type": "object", "additionalProperties": true, "properties": obj{
			"batch_id": nullable("string", "the import batch that pushes the accepted codes"),
			"accepted": obj{"type": "integer"}, "rejected": obj{"type": "integer"},
			"rows": arr(object(nil, obj{"line": obj{"type": "integer"}, "code": str(""), "ok": obj{"type": "boolean"},
				"reason": str("empty, too_long, invalid_character, format_mismatch, duplicate or exists"), "detail": str("")}))}},
		"IssueInput": object([]string{"campaign_id"}, obj{"campaign_id": id, "customer_id": nullable("string", ""), "customer_email": nullable("string", ""),
			"channel": enum("", campaign.Channels...), "partner_id": nullable("string", ""), "ttl_hours": nullable("integer", "overrides the campaign's code_ttl_hours"),
			"country": str("ISO 3166-1 alpha-2"), "device": enum("", campaign.Devices...),
			"traffic_source": str("where the shopper came from, checked against the campaign's traffic_sources"),
			"redirect":       str("storefront path the share_url lands on (default /)")}),
		"IssuedCode": object([]string{"code"}, obj{"code": str(""), "expires_at": nullTS(""), "share_url": str("https://SHOP/discount/CODE?redirect=..."),
			"campaign_id": id, "partner_id": nullable("string", ""), "channel": str(""),
			"reused": obj{"type": "boolean", "description": "true when this is the shopper's existing code (status 200)"},
			"level":  str("the discount level (campaign id) the bandit chose for a multi-arm campaign; present only then")}),
		"Holdout": object([]string{"holdout"}, obj{"holdout": obj{"type": "boolean", "const": true}}),
		"WebhookEndpointInput": object([]string{"url"}, obj{"url": obj{"type": "string", "format": "uri"},
			"events": arr(str("event type; empty = every event"))}),
		"WebhookEndpoint": object([]string{"id", "url"}, obj{"id": id, "url": str(""), "events": arr(str("")), "active": obj{"type": "boolean"},
			"secret": str("signing secret, only in the create answer"), "created_at": ts("")}),
		"OutboundEvent": object([]string{"id", "type", "status"}, obj{"id": id, "event_id": str("same for every endpoint and retry"), "endpoint_id": id,
			"type": str("e.g. code.issued"), "payload": obj{"type": "object"}, "status": enum("", "pending", "delivered", "failed"),
			"attempts": obj{"type": "integer"}, "next_attempt_at": ts(""), "last_status": nullable("integer", "HTTP status of the last attempt"),
			"last_error": str(""), "created_at": ts(""), "delivered_at": nullTS("")}),
	}
	errorResponse := func(desc string) obj { return resp(desc, ref("Error")) }
	return obj{
		"openapi": "3.1.0",
		"info": obj{"title": "coupontrail API", "version": "1",
			"description": "Campaigns, partners and single-use codes for a Shopify shop. JSON; money as decimal strings in the shop's currency; " +
				"timestamps RFC 3339; ids are strings; lists are {\"items\",\"next_cursor\"}; errors are {\"error\":{\"code\",\"message\"}}."},
		"servers":  []obj{{"url": "/api/v1"}},
		"security": []obj{{"sessionToken": []string{}}, {"apiKey": []string{}}},
		"paths":    paths,
		"components": obj{
			"securitySchemes": obj{
				"sessionToken": obj{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "App Bridge session token (embedded admin). Invalid -> 401 with X-Shopify-Retry-Invalid-Session-Request: 1."},
				"apiKey": obj{"type": "http", "scheme": "bearer", "bearerFormat": "ct_...",
					"description": "Per-shop API key for server-to-server callers (Authorization: Bearer ct_...)."},
			},
			"schemas": schemas,
			"responses": obj{
				"BadRequest":   errorResponse("malformed request (invalid_json, invalid_cursor, invalid_limit, bad filter)"),
				"Unauthorized": errorResponse("missing, invalid or revoked credentials"),
				"NotFound":     errorResponse("no such object in the calling shop"),
				"Conflict":     errorResponse("the object's state does not allow this (e.g. invalid_transition, campaign_ended)"),
				"Invalid":      errorResponse("validation failed; error.code names the field (e.g. invalid_discount, invalid_commission)"),
				"TooLarge":     errorResponse("body too large"),
				"Unavailable":  errorResponse("a dependency is unavailable; retry later"),
			},
		},
	}
}
