package main

// Schemas of the experiment (holdout readout) and insight routes.

func init() { areaPaths = append(areaPaths, experimentPaths) }

func experimentPaths(idParam func(string) []obj) obj {
	bad, nf, inv := errResp("BadRequest"), errResp("NotFound"), errResp("Invalid")
	number := func(desc string) obj { return obj{"type": []string{"number", "null"}, "description": desc} }
	interval := func(desc string) obj {
		return obj{"type": "array", "items": obj{"type": []string{"number", "null"}}, "minItems": 2, "maxItems": 2, "description": desc}
	}
	arm := object([]string{"shoppers", "orders", "conversion_rate", "revenue"}, obj{
		"shoppers": intProp("assigned shoppers"), "converters": intProp("shoppers with at least one order in the window"),
		"orders": intProp("every order of those shoppers in the window, coupon or not"), "conversion_rate": number("converters / shoppers"),
		"revenue": moneyStr("net revenue of those orders"), "cost": moneyStr("discounts and commission on those orders"),
	})
	readout := obj{
		"arms": object([]string{"treatment", "control"}, obj{"treatment": arm, "control": arm}),
		"lift": object([]string{"absolute", "absolute_ci", "relative", "relative_ci"}, obj{
			"absolute":    number("treatment rate − control rate"),
			"absolute_ci": interval("95% CI, Newcombe hybrid score"),
			"relative":    number("treatment rate / control rate − 1"),
			"relative_ci": interval("95% CI, delta method on the log rate ratio"),
		}),
		"incremental_orders":         number("treatment orders − control orders scaled to the treatment arm"),
		"incremental_revenue":        nullable("string", "same for net revenue (decimal string in the shop currency)"),
		"cost_per_incremental_order": nullable("string", "treatment cost / incremental orders; null unless incremental orders > 0"),
		"incremental_roas":           number("incremental revenue / treatment cost"),
		"sequential": object([]string{"p_value", "significant", "looks"}, obj{
			"p_value":     obj{"type": "number", "description": "always-valid p-value (mSPRT, normal mixture): valid at any look"},
			"significant": obj{"type": "boolean"}, "looks": intProp("daily looks so far"),
			"ci": interval("always-valid 95% interval of the absolute lift"), "method": str(""),
		}),
		"sample_size_needed": obj{"type": []string{"integer", "null"}, "description": "more shoppers (both arms) needed to detect the MDE at 80% power; null without a baseline"},
	}
	banditLevel := object([]string{"campaign_id", "level", "status", "traffic_share", "selection_share", "shoppers", "converters",
		"expected_profit_per_shopper", "p_loss", "retired_at", "reason"}, obj{
		"campaign_id": str("the level's campaign (the experiment's own or an arm campaign)"), "level": str("discount level, e.g. 15%"),
		"status":          enum("live: the issue API may serve it; retired: it lost money and is no longer served", "live", "retired"),
		"traffic_share":   obj{"type": "number", "description": "share of the treated shoppers counted in the snapshot that were served this level"},
		"selection_share": obj{"type": "number", "description": "probability that the bandit picks it now (Thompson sampling over the whole campaign; 0 once retired)"},
		"shoppers":        intProp("treated shoppers served this level"), "converters": intProp("of them, shoppers with at least one order in the window"),
		"expected_profit_per_shopper": nullable("string", "posterior mean of (uplift × margin × order value − discount on every treated order) per shopper, decimal string in the shop currency; null before the first snapshot"),
		"p_loss":                      number("posterior probability that the level loses money per shopper"),
		"retired_at":                  nullable("string", "RFC 3339; null while live"),
		"reason":                      str("why it was retired, with the numbers (empty while live)"),
	})
	bandit := obj{"type": []string{"object", "null"}, "description": "how the issue API splits treated shoppers over the levels (Thompson sampling per " +
		"channel × device segment; the holdout stays the permanent random control; a level losing money with ≥ 95% posterior probability after " +
		"200 treated shoppers is retired, never the last one); null without arm campaigns",
		"required": []string{"computed_at", "levels"}, "properties": obj{
			"computed_at": nullable("string", "RFC 3339 time of the snapshot the issue API decides on (refreshed every 5 minutes); null before the first"),
			"levels":      arr(banditLevel),
		}}
	experiment := object([]string{"campaign_id", "campaign_name", "holdout", "arms", "lift", "incremental_orders", "incremental_revenue",
		"cost_per_incremental_order", "incremental_roas", "sequential", "sample_size_needed"}, withProps(readout, obj{
		"campaign_id": str("the experiment's id is its campaign's id"), "campaign_name": str(""), "status": str("campaign status"),
		"holdout": obj{"type": "number", "description": "share of eligible shoppers held out (0..0.5)"}, "currency": str("shop currency"),
		"mde":        obj{"type": "number", "description": "minimum detectable effect, relative (0.1 = 10%)"},
		"margin":     obj{"type": "number", "description": "gross margin share used for profit"},
		"arm_levels": arr(object([]string{"campaign_id", "level"}, obj{"campaign_id": str(""), "level": str("discount level, e.g. 15%")})),
		"partners":   arr(object([]string{"partner_id"}, withProps(readout, obj{"partner_id": str("")}))),
		"bandit":     bandit,
	}))
	settings := object(nil, obj{
		"mde": obj{"type": "number", "description": "0 < mde ≤ 10"}, "margin": obj{"type": "number", "description": "0 < margin ≤ 1"},
		"arms": arr(str("ids of other campaigns of this shop whose discounts are the other levels of the offer")),
	})
	rec := object([]string{"segment", "customers", "arm", "channel", "when", "expected_uplift", "expected_profit", "reason"}, obj{
		"segment": str("channel · new or returning shopper"), "customers": intProp("shoppers in the segment"),
		"arm": str("discount level to give, or none"), "campaign_id": nullable("string", "campaign of that level"),
		"channel": str(""), "when": str("best daypart (UTC) or any time"),
		"expected_uplift": obj{"type": "number", "description": "conversion-rate uplift per shopper"},
		"expected_profit": moneyStr("over the segment: uplift × margin × order value − discount cost"),
		"exploration_share": obj{"type": "object", "additionalProperties": obj{"type": "number"},
			"description": "Thompson-sampling traffic share per level (probability it is the most profitable)"},
		"retired_arms": arr(str("levels retired: losing money with ≥ 95% posterior probability")), "reason": str(""),
	})
	model := object([]string{"version", "learner", "active"}, obj{
		"version": intProp("per shop"), "learner": str(""), "active": obj{"type": "boolean", "description": "the model the app uses"},
		"n_train": intProp(""), "n_holdout": intProp(""), "qini": number("held-out Qini coefficient"), "auuc": number(""),
		"uplift_at_30": number(""), "baseline_qini": number("the then-active model's Qini on the same held-out rows"),
		"reason": str("why it was or was not activated"), "trained_at": str("RFC 3339"),
	})
	return obj{
		"/experiments": obj{"get": operation("listExperiments", "experiments", "Holdout readouts, one per campaign with an experiment",
			pageParams, nil, obj{"200": resp("experiments", listOf(experiment)), "400": bad})},
		"/experiments/{id}": obj{
			"get": operation("getExperiment", "experiments", "One campaign's holdout readout, split per partner",
				idParam("campaign"), nil, obj{"200": resp("the experiment", experiment), "404": nf}),
			"patch": operation("updateExperiment", "experiments", "Set the MDE, margin and discount-level arms",
				idParam("campaign"), settings, obj{"200": resp("the experiment", experiment), "400": bad, "404": nf, "422": inv}),
		},
		"/insights/recommendations": obj{"get": operation("recommendations", "insights", "Who should get which discount, where and when, by expected profit",
			[]obj{query("campaign", "campaign id (required)", nil)}, nil, obj{"200": resp("recommendations", object([]string{"items", "next_cursor"}, obj{
				"campaign_id": str(""), "holdout": obj{"type": "number", "description": "permanent random holdout share"},
				"margin": obj{"type": "number"}, "model": obj{"type": []string{"object", "null"}, "description": "active uplift model used, if any"},
				"items": arr(rec), "next_cursor": str("always empty"),
			})), "400": bad, "404": nf})},
		"/insights/models": obj{"get": operation("listUpliftModels", "insights", "Trained uplift models, newest first",
			nil, nil, obj{"200": resp("models", listOf(model))})},
	}
}
