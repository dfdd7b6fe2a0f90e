package main

import "testing"

// Reports and partner page links: shop A's reports never include B's
// conversions or names, and A cannot list, create or revoke B's partner
// page links.
func init() {
	crossShopAreas = append(crossShopAreas, func(t *testing.T, s *stack, shopB string, b isoShopB) (map[string]crossShopCase, []string) {
		tokB := s.sessionToken(shopB)
		var pl pageLinkJSON
		if code := s.api("POST", "/api/v1/partners/"+b.Partner+"/page-links", tokB, nil, &pl); code != 201 {
			t.Fatalf("B's page link: %d", code)
		}
		byID := func(id string) crossShopCase { return crossShopCase{params: map[string]string{"id": id}} }
		return map[string]crossShopCase{
				"/api/v1/reports/summary":                  {},
				"/api/v1/reports/timeseries":               {},
				"/api/v1/reports/ltv":                      {},
				"/api/v1/reports/overview":                 {},
				"/api/v1/partners/:id/page-links":          byID(b.Partner),
				"/api/v1/partners/:id/page-links/:link_id": {params: map[string]string{"id": b.Partner, "link_id": pl.ID}},
			},
			// B's page URL (its token) must never reach A.
			[]string{pl.URL[len(pl.URL)-20:]}
	})
}
