package fraud

import (
	"fmt"
	"slices"
	"time"
)

// Incident is one alert: orders flagged for the same kind of abuse by the
// same actor (a leaked code, a partner, an address block) close together in
// time. Its shape follows GET /api/v1/fraud/alerts (PRODUCT.md §12).
type Incident struct {
	// ID is deterministic (kind, key, first order), so re-grouping the same
	// assessments yields the same ids and alerts can be de-duplicated.
	ID        string       `json:"id"`
	Kind      IncidentKind `json:"kind"`
	Key       string       `json:"key"` // what the orders share: code, partner or prefix
	PartnerID string       `json:"partner_id,omitempty"`
	Code      string       `json:"code,omitempty"`
	Orders    []string     `json:"orders"`
	FirstSeen time.Time    `json:"first_seen"`
	LastSeen  time.Time    `json:"last_seen"`
	MaxScore  int          `json:"max_score"`
	// Evidence counts the signals behind the incident's orders.
	Evidence map[string]any `json:"evidence"`
}

// IncidentGap is how long an incident stays open after its last order; a
// later order of the same kind and key starts a new incident. Events that
// come in bursts (a leak, a click farm run, an automation ring) close after
// three quiet days; a partner's conduct (self-referral, a refund farm,
// breaking the campaign's rules) stays one incident for 30 days.
func IncidentGap(k IncidentKind) time.Duration {
	switch k {
	case KindSelfReferral, KindRefundFarm, KindRuleViolation:
		return 30 * 24 * time.Hour
	}
	return 72 * time.Hour
}

// Group turns assessments into incidents, with IncidentGap. Only
// assessments whose WouldAction is at least flag count — shadow mode groups
// exactly like enforce mode, so a shop can see what it would have been
// alerted about.
func Group(as []Assessment) []Incident { return GroupWithin(as, IncidentGap) }

// GroupWithin is Group with explicit gaps per kind. The grouping key depends
// on the kind: leaked codes by code; self-referral, bot clicks, duplicate
// clicks, refund farms, velocity and rule violations by partner (by code
// when there is no partner); datacenter traffic by partner, else by the /24
// or /48 it came from. Incidents are returned by first order time.
func GroupWithin(as []Assessment, gap func(IncidentKind) time.Duration) []Incident {
	idx := make([]int, 0, len(as))
	for i := range as {
		if as[i].WouldAction.Severity() > 0 && as[i].Kind != KindNone {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return as[a].At.Compare(as[b].At) })
	open := map[string]int{} // kind|key -> index into out
	var out []Incident
	for _, i := range idx {
		a := &as[i]
		key := groupKey(a)
		ok := string(a.Kind) + "|" + key
		j, found := open[ok]
		if !found || a.At.Sub(out[j].LastSeen) > gap(a.Kind) {
			out = append(out, Incident{
				ID:   fmt.Sprintf("%s:%s:%d", a.Kind, key, a.At.Unix()),
				Kind: a.Kind, Key: key, PartnerID: a.PartnerID, Code: a.Code,
				FirstSeen: a.At, Evidence: map[string]any{},
			})
			j = len(out) - 1
			open[ok] = j
		}
		in := &out[j]
		in.Orders = append(in.Orders, a.OrderID)
		in.LastSeen = a.At
		in.MaxScore = max(in.MaxScore, a.Score)
		if in.Code != a.Code {
			in.Code = "" // several codes: the key says what they share
		}
		for _, r := range a.Reasons {
			if r.Incident == a.Kind {
				n, _ := in.Evidence[string(r.Kind)].(int)
				in.Evidence[string(r.Kind)] = n + 1
			}
		}
	}
	for i := range out {
		out[i].Evidence["orders"] = len(out[i].Orders)
	}
	return out
}

func groupKey(a *Assessment) string {
	switch a.Kind {
	case KindLeakedCode:
		if a.Code != "" {
			return "code:" + a.Code
		}
	case KindDatacenterIP:
		if a.PartnerID == "" && a.Prefix.IsValid() {
			return "prefix:" + a.Prefix.String()
		}
	}
	if a.PartnerID != "" {
		return "partner:" + a.PartnerID
	}
	if a.Code != "" {
		return "code:" + a.Code
	}
	if a.Prefix.IsValid() {
		return "prefix:" + a.Prefix.String()
	}
	return "order:" + a.OrderID
}
