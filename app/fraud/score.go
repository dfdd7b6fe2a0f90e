package fraud

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// IncidentKind is what kind of abuse a reason, an assessment or an incident
// points at; it is the "kind" of an alert (PRODUCT.md §12).
type IncidentKind string

// Incident kinds.
const (
	KindNone           IncidentKind = ""
	KindLeakedCode     IncidentKind = "leaked_code"
	KindSelfReferral   IncidentKind = "self_referral"
	KindBotClicks      IncidentKind = "bot_clicks"
	KindDuplicateClick IncidentKind = "duplicate_click"
	KindRefundFarm     IncidentKind = "refund_farm"
	KindRuleViolation  IncidentKind = "rule_violation"
	KindDatacenterIP   IncidentKind = "datacenter_ip"
	KindVelocity       IncidentKind = "velocity"
)

// incidentOrder is every incident kind, in a stable order.
var incidentOrder = [...]IncidentKind{
	KindLeakedCode, KindSelfReferral, KindBotClicks, KindDuplicateClick,
	KindRefundFarm, KindRuleViolation, KindDatacenterIP, KindVelocity,
}

// IncidentKinds lists every incident kind, in a stable order.
func IncidentKinds() []IncidentKind { return slices.Clone(incidentOrder[:]) }

// Action is what happens to a conversion because of its score.
type Action string

// Actions, from the mildest. ActionShadow is what a shop in shadow mode
// records instead of acting; the action it would have taken is in
// Assessment.WouldAction.
const (
	ActionNone   Action = "none"
	ActionShadow Action = "shadow"
	ActionFlag   Action = "flag"
	ActionHold   Action = "hold"
	ActionReject Action = "reject"
)

// Severity orders actions: none 0, flag 1, hold 2, reject 3 (shadow 0).
func (a Action) Severity() int {
	switch a {
	case ActionFlag:
		return 1
	case ActionHold:
		return 2
	case ActionReject:
		return 3
	}
	return 0
}

// Mode is how a shop uses the score.
type Mode string

// Modes. Shadow is the default for a new shop: it records what would have
// happened so the merchant can judge the thresholds before they act.
const (
	ModeShadow  Mode = "shadow"
	ModeEnforce Mode = "enforce"
)

// Thresholds are the per-shop scores at or above which an action is taken;
// 0 disables that action. Reject ≥ Hold ≥ Flag is expected.
type Thresholds struct {
	Flag   int `json:"flag"`
	Hold   int `json:"hold"`
	Reject int `json:"reject"`
}

// Config is one shop's fraud settings plus the operator's lists.
type Config struct {
	Mode       Mode       `json:"mode"`
	Thresholds Thresholds `json:"thresholds"`
	// Datacenters is the set of datacenter/anonymous ranges; nil disables
	// the datacenter signal.
	Datacenters *IPSet `json:"-"`
	// MinClickToOrder is the shortest believable time from a click to a
	// completed order: a human cannot land, fill a cart and pay faster.
	MinClickToOrder time.Duration `json:"min_click_to_order"`
	// ClickFloodLow and ClickFloodHigh bound the clicks per IP per hour
	// between which the click-flood signal ramps from nothing to its full
	// weight; offices and mobile carriers legitimately share an address.
	ClickFloodLow  int `json:"click_flood_low"`
	ClickFloodHigh int `json:"click_flood_high"`
	// MinBaselinePerDay is the least a code's or partner's baseline
	// redemption rate is assumed to be, so a young code's first day is
	// not a "burst".
	MinBaselinePerDay float64 `json:"min_baseline_per_day"`
	// Weights overrides the default weight of a signal (see DefaultWeights);
	// 0 switches a signal off.
	Weights map[Signal]float64 `json:"weights,omitempty"`
}

// DefaultConfig returns the settings a new shop starts with: shadow mode,
// flag at 50, hold at 70, reject at 90, the shipped datacenter list.
func DefaultConfig() Config {
	return Config{
		Mode:              ModeShadow,
		Thresholds:        Thresholds{Flag: 50, Hold: 70, Reject: 90},
		Datacenters:       DefaultDatacenters(),
		MinClickToOrder:   3 * time.Second,
		ClickFloodLow:     40,
		ClickFloodHigh:    150,
		MinBaselinePerDay: 1,
	}
}

// Reason is one signal that fired, with the evidence behind it. The signal
// functions (OtherShopper, ColdSurge, ...) fill Detail, Evidence and Weight;
// Score sets Kind and Incident.
type Reason struct {
	Kind     Signal         `json:"kind"`
	Incident IncidentKind   `json:"incident"`
	Detail   string         `json:"detail"`
	Evidence map[string]any `json:"evidence,omitempty"`
	// Weight is the probability that the order is abusive on this signal
	// alone; reasons combine by noisy-OR.
	Weight float64 `json:"weight"`
}

// Assessment is the verdict on one order.
type Assessment struct {
	OrderID   string       `json:"order_id"`
	At        time.Time    `json:"at"`
	PartnerID string       `json:"partner_id,omitempty"`
	Code      string       `json:"code,omitempty"`
	ClickID   string       `json:"click_id,omitempty"`
	Prefix    netip.Prefix `json:"prefix"` // the order IP's /24 or /48
	// Score is 0..100: 100 × (1 − Π(1 − Reason.Weight)).
	Score int `json:"score"`
	// Kind is the incident kind the evidence points at most strongly.
	Kind    IncidentKind `json:"kind,omitempty"`
	Reasons []Reason     `json:"reasons"`
	// Action is what to do; WouldAction is what the thresholds call for.
	// They differ only in shadow mode, where Action is ActionShadow (or
	// ActionNone when nothing would have happened).
	Action      Action `json:"action"`
	WouldAction Action `json:"would_action"`
}

// Score runs every signal over in and turns the reasons into a score, a kind
// and an action under cfg. It is pure and allocation-light: safe to call for
// every conversion inside attribution.
func Score(in Inputs, cfg Config) Assessment {
	a := Assessment{OrderID: in.Order.ID, At: in.Order.At, ClickID: in.Order.ClickID, Prefix: prefixOf(in.Order.IP)}
	if in.Code != nil {
		a.Code = in.Code.Code
	}
	if in.Partner != nil {
		a.PartnerID = in.Partner.ID
	}
	for _, s := range signals {
		r, ok := s.fn(&in, &cfg)
		if !ok {
			continue
		}
		r.Kind, r.Incident = s.kind, s.incident
		if w, set := cfg.Weights[s.kind]; set {
			r.Weight *= w / s.weight
		}
		if r.Weight <= 0 {
			continue
		}
		a.Reasons = append(a.Reasons, r)
	}
	foldVelocity(a.Reasons)
	// Strongest evidence first: it is what the UI shows.
	if len(a.Reasons) > 1 {
		slices.SortStableFunc(a.Reasons, func(x, y Reason) int {
			switch {
			case x.Weight > y.Weight:
				return -1
			case x.Weight < y.Weight:
				return 1
			}
			return 0
		})
	}
	keep := 1.0
	var perKind [len(incidentOrder)]float64 // noisy-OR per incident kind
	for _, r := range a.Reasons {
		keep *= 1 - r.Weight
		i := slices.Index(incidentOrder[:], r.Incident)
		perKind[i] = 1 - (1-perKind[i])*(1-r.Weight)
	}
	a.Score = int(100*(1-keep) + 0.5)
	best := 0.0
	for i, p := range perKind { // fixed order: ties resolve the same way every time
		if p > best {
			best, a.Kind = p, incidentOrder[i]
		}
	}
	a.WouldAction = cfg.Thresholds.action(a.Score)
	a.Action = a.WouldAction
	if cfg.Mode != ModeEnforce && a.WouldAction != ActionNone {
		a.Action = ActionShadow
	}
	return a
}

func (t Thresholds) action(score int) Action {
	switch {
	case t.Reject > 0 && score >= t.Reject:
		return ActionReject
	case t.Hold > 0 && score >= t.Hold:
		return ActionHold
	case t.Flag > 0 && score >= t.Flag:
		return ActionFlag
	}
	return ActionNone
}

// foldVelocity files a code's burst under leaked_code when the same order
// also shows the other marks of a leak: a burst of cold redemptions, or of a
// personal code used by strangers, is a leak; a burst with a click trail is
// just a busy day (or a velocity incident if it is extreme).
func foldVelocity(rs []Reason) {
	leak := false
	for _, r := range rs {
		if r.Incident == KindLeakedCode {
			leak = true
		}
	}
	if !leak {
		return
	}
	for i := range rs {
		if rs[i].Kind == SignalVelocity {
			rs[i].Incident = KindLeakedCode
		}
	}
}

func prefixOf(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	a = a.Unmap()
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// Summary renders an assessment's reasons on one line, for logs.
func (a Assessment) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "score %d %s", a.Score, a.WouldAction)
	for _, r := range a.Reasons {
		fmt.Fprintf(&b, "; %s %.2f: %s", r.Kind, r.Weight, r.Detail)
	}
	return b.String()
}

// Validate reports whether a shop's fraud settings make sense: a known mode,
// thresholds within 0..100 (0 = off) and, among those switched on,
// flag ≤ hold ≤ reject.
func (c Config) Validate() error {
	if c.Mode != ModeShadow && c.Mode != ModeEnforce {
		return fmt.Errorf("fraud: mode %q: must be shadow or enforce", c.Mode)
	}
	last := 0
	for _, th := range []struct {
		name string
		v    int
	}{{"flag", c.Thresholds.Flag}, {"hold", c.Thresholds.Hold}, {"reject", c.Thresholds.Reject}} {
		if th.v < 0 || th.v > 100 {
			return fmt.Errorf("fraud: %s threshold %d: must be 0 (off) to 100", th.name, th.v)
		}
		if th.v == 0 {
			continue
		}
		if th.v < last {
			return fmt.Errorf("fraud: %s threshold %d is below a milder action's %d", th.name, th.v, last)
		}
		last = th.v
	}
	return nil
}
