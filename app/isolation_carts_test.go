package main

import "testing"

// Cart recovery: shop A cannot read B's campaign report or read or change
// B's campaign config.
func init() {
	crossShopAreas = append(crossShopAreas, func(t *testing.T, s *stack, shopB string, b isoShopB) (map[string]crossShopCase, []string) {
		tokB := s.sessionToken(shopB)
		if code := s.api("PUT", "/api/v1/cart-recovery/campaigns/"+b.Campaign+"/config", tokB,
			map[string]any{"min_cart_value": "987.65", "once_per_days": 17}, nil); code != 200 {
			t.Fatalf("B's cart config: %d", code)
		}
		byID := func(id string) crossShopCase { return crossShopCase{params: map[string]string{"id": id}} }
		return map[string]crossShopCase{
			"/api/v1/cart-recovery/report":               {},
			"/api/v1/cart-recovery/campaigns/:id/config": byID(b.Campaign),
		}, []string{"987.65"}
	})
}
