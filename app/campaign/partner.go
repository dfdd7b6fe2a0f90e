package campaign

import (
	"slices"
	"strings"
)

// Partner kinds and statuses.
var (
	PartnerKinds    = []string{"affiliate", "influencer", "agency"}
	PartnerStatuses = []string{"active", "archived"}
)

// Commission is a partner's commission rule: Percent of net attributed
// revenue, or Fixed (a decimal amount in shop currency) per conversion —
// exactly one.
type Commission struct {
	Percent *float64 `json:"percent,omitempty"`
	Fixed   *Decimal `json:"fixed,omitempty"`
}

// PartnerSpec is what a merchant decides about a partner.
type PartnerSpec struct {
	Name       string
	Kind       string
	Email      string
	Status     string
	Commission *Commission
}

// ValidatePartner checks p and normalises it in place (trimmed name, lower
// e-mail, money in the currency's exponent). It returns the fixed
// commission in minor units when there is one.
func ValidatePartner(p *PartnerSpec, env Env) (fixedMinor *int64, err error) {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || len(p.Name) > 200 {
		return nil, bad("invalid_name", "name is required and at most 200 characters")
	}
	if !slices.Contains(PartnerKinds, p.Kind) {
		return nil, bad("invalid_kind", "kind must be one of %s", strings.Join(PartnerKinds, ", "))
	}
	p.Email = strings.ToLower(strings.TrimSpace(p.Email))
	if p.Email != "" {
		at := strings.IndexByte(p.Email, '@')
		if at < 1 || at == len(p.Email)-1 || strings.ContainsAny(p.Email, " \t\r\n") || len(p.Email) > 320 {
			return nil, bad("invalid_email", "email %q is not an e-mail address", p.Email)
		}
	}
	if p.Status == "" {
		p.Status = "active"
	}
	if !slices.Contains(PartnerStatuses, p.Status) {
		return nil, bad("invalid_status", "status must be active or archived")
	}
	c := p.Commission
	if c == nil {
		return nil, nil
	}
	if c.Fixed != nil && *c.Fixed == "" {
		c.Fixed = nil
	}
	switch {
	case c.Percent != nil && c.Fixed != nil:
		return nil, bad("invalid_commission", "commission is either {\"percent\":N} or {\"fixed\":\"AMOUNT\"}, not both")
	case c.Percent != nil:
		if *c.Percent <= 0 || *c.Percent > 100 {
			return nil, bad("invalid_commission", "commission.percent must be in (0, 100]")
		}
	case c.Fixed != nil:
		if env.ParseMinor == nil {
			return nil, bad("invalid_commission", "the shop has no currency yet")
		}
		m, err := env.ParseMinor(string(*c.Fixed))
		if err != nil || m <= 0 {
			return nil, bad("invalid_commission", "commission.fixed must be an amount > 0 in %s", env.Currency)
		}
		s := Decimal(FormatMinor(m, env.Exponent))
		c.Fixed = &s
		return &m, nil
	default:
		p.Commission = nil
	}
	return nil, nil
}
