package main

func init() { areaPaths = append(areaPaths, fraudPaths) }

var fraudAlertSchema = object([]string{"id", "kind", "partner_id", "code", "orders", "first_seen", "last_seen", "evidence"}, obj{
	"id": str("alert (incident) id"),
	"kind": enum("what kind of abuse", "leaked_code", "self_referral", "bot_clicks", "duplicate_click", "refund_farm",
		"rule_violation", "datacenter_ip", "velocity"),
	"partner_id": nullable("string", "partner involved"), "code": nullable("string", "code involved (leaked_code)"),
	"orders":     arr(str("Shopify order ids of the incident (the first 1000)")),
	"first_seen": str("RFC 3339: first order"), "last_seen": str("RFC 3339: latest order"),
	"max_score": intProp("highest fraud score among its orders"),
	"shadow":    obj{"type": "boolean", "description": "raised in shadow mode: nothing was done about it"},
	"evidence":  obj{"type": "object", "description": "counts of the signals behind it, an example detail each, orders"},
	"actions":   arr(object(nil, obj{"action": enum("", "code_disabled", "code_reissued"), "code": str(""), "partner_id": str(""), "at": str("RFC 3339"), "error": str("")})),
})

var partnerEventSchema = object([]string{"id", "partner_id", "kind", "detail", "created_at"}, obj{
	"id": str(""), "partner_id": str(""), "kind": enum("", "fraud_incident", "code_disabled", "code_reissued"),
	"detail": obj{"type": "object"}, "created_at": str("RFC 3339"),
})

func fraudPaths(idParam func(string) []obj) obj {
	nf := errResp("NotFound")
	return obj{
		"/fraud/alerts": obj{"get": operation("listFraudAlerts", "fraud", "Fraud alerts, one per incident, newest first.",
			append([]obj{query("kind", "alert kind", nil), query("partner_id", "", nil)}, pageParams...), nil,
			obj{"200": resp("a page of alerts", listOf(fraudAlertSchema)), "400": errResp("BadRequest")})},
		"/fraud/alerts/{id}": obj{"get": operation("getFraudAlert", "fraud", "One fraud alert.", idParam("alert"), nil,
			obj{"200": resp("the alert", fraudAlertSchema), "404": nf})},
		"/fraud/alerts/{id}/disable-code": obj{"post": operation("disableLeakedCode", "fraud",
			"Disable a leaked_code alert's code in Shopify and issue its partner a fresh vanity code.", idParam("alert"), nil,
			obj{"200": resp("the alert with its actions", fraudAlertSchema), "404": nf, "409": errResp("Conflict")})},
		"/partners/{id}/events": obj{"get": operation("listPartnerEvents", "partners", "The partner's record, newest first.",
			append(idParam("partner"), pageParams...), nil, obj{"200": resp("a page of events", listOf(partnerEventSchema)), "404": nf})},
	}
}
