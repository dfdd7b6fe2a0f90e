package admin

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestDiscountCodeFreeShippingInputShapesAndClears(t *testing.T) {
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	in := DiscountCodeFreeShippingInput{Title: "Ship", Code: "SHIPFREE", StartsAt: &start, Context: ContextAll(), Destination: DestinationAll()}
	if err := in.Validate(true); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(in)
	if got := string(b); got != `{"title":"Ship","code":"SHIPFREE","startsAt":"2026-09-01T00:00:00Z","context":{"all":"ALL"},"destination":{"all":true}}` {
		t.Fatalf("create = %s", got)
	}
	limit := 5
	up := DiscountCodeFreeShippingInput{UsageLimit: &limit, Clear: DiscountClear{EndsAt: true, UsageLimit: true, MinimumRequirement: true}}
	b, _ = json.Marshal(up)
	want := `{"endsAt":null,"minimumRequirement":{"quantity":{"greaterThanOrEqualToQuantity":null},"subtotal":{"greaterThanOrEqualToSubtotal":null}},"usageLimit":5}`
	if string(b) != want {
		t.Fatalf("update = %s\nwant %s", b, want)
	}
	for _, bad := range []DiscountCodeFreeShippingInput{
		{Title: "x", Code: "C", StartsAt: &start}, // no context
		{Destination: &DiscountShippingDestinationSelectionInput{}},
		{MinimumRequirement: &DiscountMinimumRequirementInput{Subtotal: &DiscountMinimumSubtotalInput{"1"}, Quantity: &DiscountMinimumQuantityInput{"1"}}},
	} {
		if err := bad.Validate(bad.Title != ""); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
