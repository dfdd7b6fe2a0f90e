package main

// Schemas of the cart-recovery routes. The Flow action
// (POST /flow/actions/issue-code) and the app proxy (GET /proxy/code) are
// signed by Shopify and live outside /api/v1.

func init() { areaPaths = append(areaPaths, cartPaths) }

func cartPaths(idParam func(string) []obj) obj {
	rateProp := func(desc string) obj { return obj{"type": []string{"number", "null"}, "description": desc} }
	report := object([]string{"campaign_id", "currency", "abandoned_checkouts", "codes_sent", "recovered_orders", "recovered_revenue",
		"recovery_rate", "incremental_recovery_rate"}, obj{
		"campaign_id":               str(""),
		"currency":                  str("shop currency"),
		"abandoned_checkouts":       intProp("abandoned checkouts the check assigned to this campaign (sent, holdout or skipped by a rule)"),
		"codes_sent":                intProp("checkouts that received a recovery code"),
		"holdout_checkouts":         intProp("checkouts of holdout shoppers (no code)"),
		"skipped_checkouts":         intProp("checkouts a rule refused (cart value threshold, cooldown, once per customer)"),
		"recovered_orders":          intProp("checkouts with a code that later became an order"),
		"recovered_revenue":         moneyStr("total of those orders"),
		"recovery_rate":             rateProp("recovered_orders / codes_sent; null without codes sent"),
		"holdout_recovered_orders":  intProp("holdout checkouts that became an order anyway"),
		"holdout_recovery_rate":     rateProp("holdout_recovered_orders / holdout_checkouts"),
		"incremental_recovery_rate": rateProp("recovery_rate - holdout_recovery_rate; null without a holdout arm"),
		"redeemed_codes":            intProp("codes of the campaign redeemed by an order"),
		"attributed_orders":         intProp("conversions credited to the campaign"),
		"attributed_revenue":        moneyStr("net revenue of those conversions"),
		"onsite_codes":              intProp("codes shown by the storefront triggers"),
		"onsite_holdout":            intProp("storefront visitors held out"),
		"flow_deliveries":           intProp("codes returned to Shopify Flow"),
		"webhook_deliveries":        intProp("checkout.recovery_code events emitted to endpoints"),
		"generated_at":              str("RFC 3339"),
	})
	config := object([]string{"campaign_id", "min_cart_value", "currency", "once_per_days"}, obj{
		"campaign_id":    str(""),
		"min_cart_value": moneyStr("a checkout or storefront cart below this value gets no code"),
		"currency":       str("shop currency"),
		"once_per_days":  intProp("one recovery code per shopper per this many days (0: no limit; default 30)"),
	})
	configIn := object(nil, obj{"min_cart_value": moneyStr(""), "once_per_days": intProp("0..3650")})
	return obj{
		"/cart-recovery/report": obj{"get": operation("cartRecoveryReport", "cart-recovery",
			"Per campaign: abandoned checkouts, codes sent, recovered orders and revenue, recovery rate and, with a holdout, the incremental recovery rate.",
			[]obj{query("campaign_id", "the campaign (required)", nil)}, nil,
			obj{"200": resp("the report", report), "404": errResp("NotFound"), "422": errResp("Invalid")})},
		"/cart-recovery/campaigns/{id}/config": obj{
			"get": operation("getCartRecoveryConfig", "cart-recovery", "The campaign's cart value threshold and per-shopper cooldown (defaults when never set).",
				idParam("campaign"), nil, obj{"200": resp("the config", config), "404": errResp("NotFound")}),
			"put": operation("putCartRecoveryConfig", "cart-recovery", "Set the campaign's cart value threshold and per-shopper cooldown; omitted fields keep their value.",
				idParam("campaign"), configIn, obj{"200": resp("the config", config), "400": errResp("BadRequest"), "404": errResp("NotFound"), "422": errResp("Invalid")}),
		},
	}
}
