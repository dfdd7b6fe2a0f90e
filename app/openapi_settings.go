package main

func init() { areaPaths = append(areaPaths, settingsPaths) }

var fraudSettingsSchema = object(nil, obj{
	"mode": enum("shadow records what the thresholds would have done and acts on nothing; enforce acts", "shadow", "enforce"),
	"thresholds": object(nil, obj{
		"flag":   intProp("score (0-100, 0 = off) at or above which an order is flagged; default 50"),
		"hold":   intProp("score at or above which the conversion is held for review (not approved when its hold ends); default 70"),
		"reject": intProp("score at or above which the conversion is rejected (a ledger entry; approving overturns it); default 90"),
	}),
	"auto_disable_leaked_codes": obj{"type": "boolean", "description": "enforce mode: disable a leaked code in Shopify and issue its partner a fresh vanity code"},
	"ip_lists":                  arr(str("extra datacenter / anonymous range (CIDR or address), on top of the shipped cloud ranges")),
})

var settingsSchema = object([]string{"hold_days", "crediting_policy", "attribution_window_days", "abandoned_checkout_delay_minutes", "fraud"}, obj{
	"hold_days":                        intProp("days a conversion is held (refund window), 0-365; default 30"),
	"crediting_policy":                 obj{"description": "policy name (coupon_wins, click_wins, split, ...) or policy object; default coupon_wins"},
	"attribution_window_days":          intProp("click and touchpoint lookback, 1-365; default 30"),
	"abandoned_checkout_delay_minutes": intProp("minutes after which a checkout counts as abandoned, 1-10080; default 60"),
	"fraud":                            fraudSettingsSchema,
})

func settingsPaths(_ func(string) []obj) obj {
	return obj{
		"/settings": obj{
			"get": operation("getSettings", "settings", "The shop's settings, defaults filled in.", nil, nil,
				obj{"200": resp("the settings", settingsSchema)}),
			"patch": operation("patchSettings", "settings",
				"Change settings: the keys present replace the stored ones (fraud key by key; null resets a key). A bad value is 422 with code invalid_<field>.",
				nil, settingsSchema,
				obj{"200": resp("the settings", settingsSchema), "400": errResp("BadRequest"), "422": errResp("Invalid")}),
		},
	}
}
