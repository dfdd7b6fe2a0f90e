package main

// Schemas of the reporting routes and the partner page links.

func init() { areaPaths = append(areaPaths, reportPaths) }

// reportMetricProps are the measures every report row, point and tile has.
func reportMetricProps() obj {
	count := func(desc string) obj { return obj{"type": "integer", "description": desc} }
	return obj{
		"redemptions":       count("codes redeemed by the orders"),
		"orders":            count("orders (conversions, organic included; rejected excluded)"),
		"attributed_orders": count("orders credited to a code or click"),
		"gross_revenue":     moneyStr("line items before discounts"),
		"net_revenue":       moneyStr("after discounts and refunds, no shipping or tax"),
		"discount_cost":     moneyStr("discounts given"),
		"commission":        moneyStr("partner commission"),
		"roas":              obj{"type": []string{"string", "null"}, "description": "net_revenue / (discount_cost + commission), two decimals; null when that cost is 0"},
		"aov":               moneyStr("average order value: net_revenue / orders"),
		"held":              moneyStr("net revenue of held conversions"),
		"approved":          moneyStr("net revenue of approved and paid conversions"),
		"reversed":          moneyStr("original net revenue of reversed conversions"),
		"held_orders":       count(""), "approved_orders": count("approved and paid"), "reversed_orders": count(""),
		"rejected_orders": count(""), "fraud_flagged": count("conversions the fraud layer flagged, held or rejected"),
	}
}

var reportMetricRequired = []string{"redemptions", "orders", "gross_revenue", "net_revenue", "discount_cost", "commission", "roas", "aov",
	"held", "approved", "reversed", "fraud_flagged"}

func withProps(base obj, more obj) obj {
	out := obj{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

func reportPaths(idParam func(string) []obj) obj {
	bad := errResp("BadRequest")
	nf := errResp("NotFound")
	metrics := object(reportMetricRequired, reportMetricProps())
	rangeParams := []obj{
		query("from", "first day, YYYY-MM-DD (UTC) or RFC 3339; default 29 days before to", nil),
		query("to", "last day (inclusive), YYYY-MM-DD (UTC) or RFC 3339; default today", nil),
	}
	filterParams := []obj{
		query("campaign_id", "only this campaign (none: conversions without one)", nil),
		query("partner_id", "only this partner (none: conversions without one)", nil),
		query("channel", "only this channel (none: conversions without one)", nil),
	}
	row := object(append([]string{"key", "label"}, reportMetricRequired...), withProps(reportMetricProps(), obj{
		"key":   str("campaign or partner id (\"\" for none), channel, or day YYYY-MM-DD"),
		"label": str("campaign or partner name, channel, or day"),
	}))
	point := object(append([]string{"day"}, reportMetricRequired...), withProps(reportMetricProps(), obj{"day": str("YYYY-MM-DD (UTC)")}))
	pageLink := object([]string{"id", "created_at"}, obj{
		"id": str("link id"), "partner_id": str(""), "url": str("the page URL with its token; only in the answer that created the link"),
		"hint": str("last characters of the token"), "created_at": str("RFC 3339"),
		"revoked_at": nullable("string", "RFC 3339"), "last_used_at": nullable("string", "RFC 3339"),
	})
	partnerLinkParams := append(idParam("partner"), pathParam("link_id", "page link id"))
	return obj{
		"/reports/summary": obj{"get": operation("reportSummary", "reports",
			"Totals by campaign, partner, channel or day over a range of UTC days, from incrementally maintained rollups (a conversion counts as soon as it is recorded).",
			append(append([]obj{query("group_by", "campaign (default), partner, channel or day", enum("", "campaign", "partner", "channel", "day"))}, rangeParams...), filterParams...), nil,
			obj{"200": resp("the rows", object([]string{"currency", "rows"}, obj{
				"currency": str("shop currency"), "group_by": str(""), "from": str("YYYY-MM-DD"), "to": str("YYYY-MM-DD"),
				"rows": arr(row), "total": metrics,
			})), "400": bad})},
		"/reports/timeseries": obj{"get": operation("reportTimeseries", "reports", "One point per UTC day of the range (days without orders are zero).",
			append(rangeParams, filterParams...), nil,
			obj{"200": resp("the points", object([]string{"currency", "points"}, obj{
				"currency": str("shop currency"), "from": str("YYYY-MM-DD"), "to": str("YYYY-MM-DD"), "points": arr(point),
			})), "400": bad})},
		"/reports/ltv": obj{"get": operation("reportLTV", "reports",
			"Customer lifetime value by acquisition cohort: the campaign, partner or channel of a customer's first attributed order, and the average net revenue of the customer's orders within 30, 90 and 365 days of it.",
			[]obj{query("group_by", "campaign (default), partner or channel", enum("", "campaign", "partner", "channel"))}, nil,
			obj{"200": resp("the cohorts", object([]string{"currency", "rows"}, obj{
				"currency": str("shop currency"), "group_by": str(""),
				"rows": arr(object([]string{"key", "label", "customers", "ltv_30", "ltv_90", "ltv_365"}, obj{
					"key": str("campaign or partner id (\"\" for none) or channel"), "label": str(""),
					"customers": obj{"type": "integer", "description": "customers acquired"},
					"ltv_30":    moneyStr("average net revenue per customer within 30 days"),
					"ltv_90":    moneyStr("within 90 days"), "ltv_365": moneyStr("within 365 days"),
				})),
			})), "400": bad})},
		"/reports/overview": obj{"get": operation("reportOverview", "reports", "The dashboard tiles: today's and the last 30 days' totals, incremental lift and fraud counts.",
			nil, nil, obj{"200": resp("the tiles", object([]string{"currency", "today", "last_30_days", "incremental_lift", "fraud"}, obj{
				"currency": str("shop currency"), "as_of": str("RFC 3339"), "today": metrics, "last_30_days": metrics,
				"incremental_lift": obj{"type": []string{"number", "null"}, "description": "relative lift in conversion rate (0.12 = +12%) of the newest campaign running a holdout experiment; null until it has shoppers in both arms"},
				"lift_experiment": obj{"type": []string{"object", "null"}, "description": "the experiment behind incremental_lift", "properties": obj{
					"campaign_id": str(""), "campaign_name": str(""), "relative_ci": arr(obj{"type": []string{"number", "null"}}),
					"incremental_orders": obj{"type": []string{"number", "null"}}, "incremental_revenue": obj{"type": []string{"string", "null"}},
					"significant": obj{"type": "boolean", "description": "the always-valid sequential test rejects no effect"},
				}},
				"fraud": object(nil, obj{"flagged_today": intProp(""), "flagged_30_days": intProp(""), "rejected_30_days": intProp("")}),
			}))})},
		"/partners/{id}/page-links": obj{
			"post": operation("createPartnerPageLink", "partners",
				"Create a signed link to the partner's read-only page (codes, SmartLinks, clicks, conversions with reasons, statements; no Shopify login). The URL is shown once.",
				idParam("partner"), nil, obj{"201": resp("the link, with url", pageLink), "404": nf}),
			"get": operation("listPartnerPageLinks", "partners", "The partner's page links (without their tokens), newest first.",
				idParam("partner"), nil, obj{"200": resp("the links", listOf(pageLink)), "404": nf}),
		},
		"/partners/{id}/page-links/{link_id}": obj{"delete": operation("revokePartnerPageLink", "partners",
			"Revoke a partner page link: its URL answers 404 from now on (idempotent).", partnerLinkParams, nil,
			obj{"204": resp("revoked", nil), "404": nf})},
	}
}
