package main

import "testing"

func init() {
	crossShopAreas = append(crossShopAreas, func(t *testing.T, s *stack, shopB string, b isoShopB) (map[string]crossShopCase, []string) {
		// B's alerts come from orders; none exist for a fresh shop, so the
		// alert id names nothing and the routes must still answer 404.
		tokB := s.sessionToken(shopB)
		if code := s.api("PATCH", "/api/v1/settings", tokB, map[string]any{"hold_days": 11,
			"fraud": map[string]any{"ip_lists": []string{"198.51.100.77/32"}}}, nil); code != 200 {
			t.Fatalf("B settings: %d", code)
		}
		byID := func(id string) crossShopCase { return crossShopCase{params: map[string]string{"id": id}} }
		return map[string]crossShopCase{
			"/api/v1/settings":                      {},
			"/api/v1/fraud/alerts":                  {},
			"/api/v1/fraud/alerts/:id":              byID("987654321"),
			"/api/v1/fraud/alerts/:id/disable-code": byID("987654321"),
			"/api/v1/partners/:id/events":           byID(b.Partner),
		}, []string{"198.51.100.77/32"}
	})
}
