package main

// attributionPaths documents SmartLinks, clicks, conversions, attribution
// and payouts.
func attributionPaths(idParam func(string) []obj) obj {
	todo := func(id, tag, summary string, params []obj) obj {
		return operation(id, tag, summary, params, nil, obj{"501": resp("not implemented yet", ref("Error"))})
	}
	return obj{
		"/links": obj{
			"get":  todo("listLinks", "smartlinks", "The shop's SmartLinks.", nil),
			"post": todo("createLink", "smartlinks", "Create a SmartLink for a partner or campaign.", nil),
		},
		"/links/{id}":                   obj{"get": todo("getLink", "smartlinks", "One SmartLink.", idParam("link"))},
		"/clicks":                       obj{"get": todo("listClicks", "smartlinks", "Recorded clicks, newest first.", nil)},
		"/conversions":                  obj{"get": todo("listConversions", "conversions", "Attributed conversions.", nil)},
		"/conversions/{id}":             obj{"get": todo("getConversion", "conversions", "One conversion with its evidence.", idParam("conversion"))},
		"/conversions/{id}/approve":     obj{"post": todo("approveConversion", "conversions", "Approve a held conversion early.", idParam("conversion"))},
		"/conversions/{id}/reject":      obj{"post": todo("rejectConversion", "conversions", "Reject a conversion with a reason.", idParam("conversion"))},
		"/attribution/rerun":            obj{"post": todo("rerunAttribution", "attribution", "Re-run attribution over a date range (dry_run shows the change).", nil)},
		"/attribution/models":           obj{"get": todo("attributionModels", "attribution", "Credit under multi-touch models beside the crediting policy.", nil)},
		"/ledger/check":                 obj{"get": todo("ledgerCheck", "attribution", "Prove conversions and ledger agree.", nil)},
		"/payouts/statements":           obj{"get": todo("listStatements", "payouts", "Partner statements.", nil), "post": todo("createStatements", "payouts", "Build statements for a period.", nil)},
		"/payouts/statements/{id}":      obj{"get": todo("getStatement", "payouts", "One statement.", idParam("statement"))},
		"/payouts/statements/{id}/csv":  obj{"get": todo("exportStatement", "payouts", "A statement as CSV.", idParam("statement"))},
		"/payouts/statements/{id}/paid": obj{"post": todo("markStatementPaid", "payouts", "Mark a statement paid.", idParam("statement"))},
	}
}
