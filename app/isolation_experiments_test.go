package main

import "testing"

// Experiments and insights: shop A never reads, changes or gets
// recommendations from B's experiments.
func init() {
	crossShopAreas = append(crossShopAreas, func(t *testing.T, s *stack, shopB string, b isoShopB) (map[string]crossShopCase, []string) {
		tokB := s.sessionToken(shopB)
		var e experimentJSON
		if code := s.api("PATCH", "/api/v1/experiments/"+b.Campaign, tokB, map[string]any{"mde": 0.37}, &e); code != 200 {
			t.Fatalf("B's experiment settings: %d", code)
		}
		return map[string]crossShopCase{
				"/api/v1/experiments":              {},
				"/api/v1/experiments/:id":          {params: map[string]string{"id": b.Campaign}},
				"/api/v1/insights/recommendations": {},
				"/api/v1/insights/models":          {},
			},
			[]string{"Bravo Spring"}
	})
}
