package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func validInput() DiscountCodeBasicInput {
	starts := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	ends := starts.AddDate(0, 1, 0)
	return DiscountCodeBasicInput{
		Title: "ACME partner – cmp_42", Code: "ACME-7K3F9Q2M",
		StartsAt: &starts, EndsAt: &ends,
		Context: ContextAll(),
		CustomerGets: &DiscountCustomerGetsInput{
			Value: &DiscountCustomerGetsValueInput{Percentage: ptr(0.15)},
			Items: &DiscountItemsInput{All: ptr(true)},
		},
		MinimumRequirement:     &DiscountMinimumRequirementInput{Subtotal: &DiscountMinimumSubtotalInput{GreaterThanOrEqualToSubtotal: "50.00"}},
		CombinesWith:           &DiscountCombinesWithInput{ProductDiscounts: true, ShippingDiscounts: true},
		UsageLimit:             ptr(1),
		AppliesOncePerCustomer: ptr(true),
	}
}

// TestDiscountCodeBasicCreateShape checks the exact 2026-07 variables sent
// (the fact sheet's §4.2 example) and the id returned.
func TestDiscountCodeBasicCreateShape(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t, reply{body: string(fixture(t, "shopify-draft-proxy/graphql/discountCodeBasicCreate_success.json", "response"))})
	c, _ := newTestClient(t, f, nil, nil)
	id, err := c.DiscountCodeBasicCreate(context.Background(), validInput())
	if err != nil {
		t.Fatal(err)
	}
	if id != "gid://shopify/DiscountCodeNode/1660207006002" {
		t.Fatalf("id = %s", id)
	}
	req := f.requests()[0]
	mustContain(t, req.Query, "discountCodeBasicCreate(basicCodeDiscount: $input)")
	mustContain(t, req.Query, "userErrors { field code message extraInfo }")
	var want map[string]any
	_ = json.Unmarshal([]byte(`{
	  "title": "ACME partner – cmp_42", "code": "ACME-7K3F9Q2M",
	  "startsAt": "2026-09-01T00:00:00Z", "endsAt": "2026-10-01T00:00:00Z",
	  "context": {"all": "ALL"},
	  "customerGets": {"value": {"percentage": 0.15}, "items": {"all": true}},
	  "minimumRequirement": {"subtotal": {"greaterThanOrEqualToSubtotal": "50.00"}},
	  "combinesWith": {"orderDiscounts": false, "productDiscounts": true, "shippingDiscounts": true},
	  "usageLimit": 1, "appliesOncePerCustomer": true}`), &want)
	if got := req.Variables["input"]; !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		t.Fatalf("input = %s", g)
	}
}

func TestDiscountCodeBasicCreateVariants(t *testing.T) {
	t.Parallel()
	in := validInput()
	in.Context = ContextCustomers("gid://shopify/Customer/7391234567")
	in.CustomerGets = &DiscountCustomerGetsInput{
		Value: &DiscountCustomerGetsValueInput{DiscountAmount: &DiscountAmountInput{Amount: "10.00", AppliesOnEachItem: false}},
		Items: &DiscountItemsInput{Collections: &DiscountCollectionsInput{Add: []string{"gid://shopify/Collection/1"}}},
	}
	b, _ := json.Marshal(in)
	mustContain(t, string(b), `"context":{"customers":{"add":["gid://shopify/Customer/7391234567"]}}`)
	mustContain(t, string(b), `"value":{"discountAmount":{"amount":"10.00","appliesOnEachItem":false}}`)
	mustContain(t, string(b), `"items":{"collections":{"add":["gid://shopify/Collection/1"]}}`)
	if strings.Contains(string(b), "customerSelection") {
		t.Fatal("deprecated customerSelection sent")
	}
}

func TestDiscountInputValidation(t *testing.T) {
	t.Parallel()
	mut := map[string]func(*DiscountCodeBasicInput){
		"no code":     func(in *DiscountCodeBasicInput) { in.Code = "" },
		"percent > 1": func(in *DiscountCodeBasicInput) { in.CustomerGets.Value.Percentage = ptr(15.0) },
		"both values": func(in *DiscountCodeBasicInput) {
			in.CustomerGets.Value.DiscountAmount = &DiscountAmountInput{Amount: "1"}
		},
		"ends < starts": func(in *DiscountCodeBasicInput) { e := in.StartsAt.Add(-time.Hour); in.EndsAt = &e },
		"two contexts":  func(in *DiscountCodeBasicInput) { in.Context.Customers = &DiscountIDsEdit{Add: []string{"x"}} },
		"both minimums": func(in *DiscountCodeBasicInput) {
			in.MinimumRequirement.Quantity = &DiscountMinimumQuantityInput{GreaterThanOrEqualToQuantity: "2"}
		},
		"no items": func(in *DiscountCodeBasicInput) { in.CustomerGets.Items = &DiscountItemsInput{} },
	}
	f := newFakeShopify(t, reply{body: okBody(`{}`)})
	c, _ := newTestClient(t, f, nil, nil)
	for name, m := range mut {
		in := validInput()
		m(&in)
		if _, err := c.DiscountCodeBasicCreate(context.Background(), in); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Fatalf("%d requests sent for invalid input", n)
	}
}

// TestUserErrorsTaken replays the recorded TAKEN response.
func TestUserErrorsTaken(t *testing.T) {
	t.Parallel()
	var omnibus struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(fixture(t, "shopify-draft-proxy/graphql/discountCodeBasicCreate_userErrors_omnibus.json", "response"), &omnibus); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"data":{"discountCodeBasicCreate":%s}}`, omnibus.Data["duplicate"])
	f := newFakeShopify(t, reply{body: body})
	c, sleeps := newTestClient(t, f, nil, nil)
	_, err := c.DiscountCodeBasicCreate(context.Background(), validInput())
	var ue *UserErrors
	if !errors.As(err, &ue) || !ue.Has("TAKEN") || ErrorCode(err) != "TAKEN" {
		t.Fatalf("err = %v", err)
	}
	if got := ue.Errors[0]; !reflect.DeepEqual(got.Field, []string{"basicCodeDiscount", "code"}) || got.Message == "" || ue.Operation != "discountCodeBasicCreate" {
		t.Fatalf("user error = %+v", ue)
	}
	if len(*sleeps) != 0 || len(f.requests()) != 1 {
		t.Fatal("user errors must not be retried")
	}
}

func TestDiscountCodeBasicUpdate(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t, reply{body: okBody(`{"discountCodeBasicUpdate":{"codeDiscountNode":{"id":"gid://shopify/DiscountCodeNode/1"},"userErrors":[]}}`)})
	c, _ := newTestClient(t, f, nil, nil)
	ends := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := c.DiscountCodeBasicUpdate(context.Background(), "gid://shopify/DiscountCodeNode/1", DiscountCodeBasicInput{EndsAt: &ends}); err != nil {
		t.Fatal(err)
	}
	req := f.requests()[0]
	mustContain(t, req.Query, "discountCodeBasicUpdate(id: $id, basicCodeDiscount: $input)")
	if in := req.Variables["input"].(map[string]any); len(in) != 1 || in["endsAt"] != "2026-12-01T00:00:00Z" {
		t.Fatalf("input = %v", in)
	}
}

func TestBulkAddAndPoll(t *testing.T) {
	t.Parallel()
	const file = "shopify-draft-proxy/graphql/discountRedeemCodeBulkAdd_then_BulkCreation_existingCodeConflicts.json"
	f := newFakeShopify(t,
		reply{body: string(fixture(t, file, "responses", "add", "payload"))},
		reply{body: okBody(`{"discountRedeemCodeBulkCreation":{"id":"gid://shopify/DiscountRedeemCodeBulkCreation/799635374386","done":false,"codesCount":3,"importedCount":0,"failedCount":0}}`)},
		reply{body: okBody(`{"discountRedeemCodeBulkCreation":{"id":"gid://shopify/DiscountRedeemCodeBulkCreation/799635374386","done":true,"codesCount":3,"importedCount":1,"failedCount":2}}`)},
		reply{body: string(fixture(t, file, "responses", "finalRead", "payload"))},
	)
	c, _ := newTestClient(t, f, nil, nil)
	ctx := context.Background()
	id, err := c.DiscountRedeemCodeBulkAdd(ctx, "gid://shopify/DiscountCodeNode/1655830872370", []string{"HAR784BASE1782095860112", "HAR784CROSS1782095860112", "HAR784FRESH1782095860112"})
	if err != nil || id != "gid://shopify/DiscountRedeemCodeBulkCreation/799635374386" {
		t.Fatalf("id %q err %v", id, err)
	}
	add := f.requests()[0]
	mustContain(t, add.Query, "discountRedeemCodeBulkAdd(discountId: $discountId, codes: $codes)")
	if codes := add.Variables["codes"].([]any); len(codes) != 3 || codes[0].(map[string]any)["code"] != "HAR784BASE1782095860112" {
		t.Fatalf("codes = %v", codes)
	}
	bc, err := c.DiscountRedeemCodeBulkCreation(ctx, id)
	if err != nil || bc.Done || bc.Codes != nil {
		t.Fatalf("first poll %+v %v", bc, err)
	}
	bc, err = c.DiscountRedeemCodeBulkCreation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bc.Done || bc.ImportedCount != 1 || bc.FailedCount != 2 || len(bc.Codes) != 3 {
		t.Fatalf("bulk creation = %+v", bc)
	}
	if bc.Codes[0].RedeemCodeID != "" || len(bc.Codes[0].Errors) != 1 || bc.Codes[0].Errors[0].Code != "" || !strings.Contains(bc.Codes[0].Errors[0].Message, "unique") {
		t.Fatalf("code 0 = %+v", bc.Codes[0])
	}
	if bc.Codes[2].Code != "HAR784FRESH1782095860112" || len(bc.Codes[2].Errors) != 0 {
		t.Fatalf("code 2 = %+v", bc.Codes[2])
	}
}

func TestBulkAddTooMany(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t, reply{body: string(fixture(t, "shopify-draft-proxy/graphql/discountRedeemCodeBulkAdd_top_level_error_251_codes.json", "response"))})
	c, _ := newTestClient(t, f, nil, nil)
	codes := make([]string, 251)
	for i := range codes {
		codes[i] = fmt.Sprintf("C%d", i)
	}
	if _, err := c.DiscountRedeemCodeBulkAdd(context.Background(), "gid://shopify/DiscountCodeNode/1", codes); !errors.Is(err, ErrTooManyCodes) {
		t.Fatalf("err = %v", err)
	}
	if len(f.requests()) != 0 {
		t.Fatal("request sent for 251 codes")
	}
	// Had it gone out, Shopify answers with a top-level error.
	err := c.Do(context.Background(), discountRedeemCodeBulkAddMutation, map[string]any{"discountId": "x", "codes": codes}, nil)
	if ErrorCode(err) != "MAX_INPUT_SIZE_EXCEEDED" {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.DiscountCodeRedeemCodeBulkDelete(context.Background(), "gid://shopify/DiscountCodeNode/1", codes); !errors.Is(err, ErrTooManyCodes) {
		t.Fatalf("bulk delete err = %v", err)
	}
}

func TestBulkAddUnknownDiscount(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t, reply{body: string(fixture(t, "shopify-draft-proxy/graphql/discountRedeemCodeBulkAdd_userErrors_unknown_discount.json", "response"))})
	c, _ := newTestClient(t, f, nil, nil)
	_, err := c.DiscountRedeemCodeBulkAdd(context.Background(), "gid://shopify/DiscountCodeNode/0", []string{"A"})
	var ue *UserErrors
	if !errors.As(err, &ue) || !ue.Has("INVALID") || ue.Errors[0].Field[0] != "discountId" {
		t.Fatalf("err = %v", err)
	}
}

func TestActivateDeactivate(t *testing.T) {
	t.Parallel()
	var unknown struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(fixture(t, "shopify-draft-proxy/graphql/discountCodeDeactivate_userErrors_unknown_id.json", "response"), &unknown); err != nil {
		t.Fatal(err)
	}
	f := newFakeShopify(t,
		reply{body: string(fixture(t, "shopify-draft-proxy/graphql/discountCodeDeactivate_success.json", "response"))},
		reply{body: fmt.Sprintf(`{"data":{"discountCodeActivate":%s}}`, unknown.Data["codeActivate"])},
	)
	c, _ := newTestClient(t, f, nil, nil)
	ctx := context.Background()
	if err := c.DiscountCodeDeactivate(ctx, "gid://shopify/DiscountCodeNode/1660207006002"); err != nil {
		t.Fatal(err)
	}
	mustContain(t, f.requests()[0].Query, "discountCodeDeactivate(id: $id)")
	err := c.DiscountCodeActivate(ctx, "gid://shopify/DiscountCodeNode/0")
	var ue *UserErrors
	if !errors.As(err, &ue) || !ue.Has("INVALID") {
		t.Fatalf("err = %v", err)
	}
	mustContain(t, f.requests()[1].Query, "discountCodeActivate(id: $id)")
}

func TestRedeemCodeBulkDelete(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t, reply{body: okBody(`{"discountCodeRedeemCodeBulkDelete":{"job":{"id":"gid://shopify/Job/abc","done":false},"userErrors":[]}}`)})
	c, _ := newTestClient(t, f, nil, nil)
	job, err := c.DiscountCodeRedeemCodeBulkDelete(context.Background(), "gid://shopify/DiscountCodeNode/1", []string{"gid://shopify/DiscountRedeemCode/2"})
	if err != nil || job != "gid://shopify/Job/abc" {
		t.Fatalf("job %q err %v", job, err)
	}
	req := f.requests()[0]
	mustContain(t, req.Query, "discountCodeRedeemCodeBulkDelete(discountId: $discountId, ids: $ids)")
	if req.Variables["discountId"] != "gid://shopify/DiscountCodeNode/1" {
		t.Fatalf("vars %v", req.Variables)
	}
}

func TestCodeDiscountNodeByCode(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t,
		reply{body: okBody(`{"codeDiscountNodeByCode":{"id":"gid://shopify/DiscountCodeNode/9","codeDiscount":{"__typename":"DiscountCodeBasic","title":"T","status":"ACTIVE","startsAt":"2026-09-01T00:00:00Z","endsAt":null,"usageLimit":1,"asyncUsageCount":0,"codesCount":{"count":3,"precision":"EXACT"}}}}`)},
		reply{body: okBody(`{"codeDiscountNodeByCode":null}`)},
	)
	c, _ := newTestClient(t, f, nil, nil)
	n, err := c.CodeDiscountNodeByCode(context.Background(), "acme-7k3f9q2m")
	if err != nil || n.Status != "ACTIVE" || n.CodesCount != 3 || *n.UsageLimit != 1 || n.EndsAt != nil {
		t.Fatalf("node %+v err %v", n, err)
	}
	if _, err := c.CodeDiscountNodeByCode(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func TestOrders(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t, reply{body: okBody(`{"orders":{"nodes":[{"id":"gid://shopify/Order/9007199254740993","legacyResourceId":"9007199254740993","name":"#1001","createdAt":"2026-09-01T10:00:00Z","updatedAt":"2026-09-02T10:00:00Z","cancelledAt":null,"test":false,"displayFinancialStatus":"PAID","sourceName":"web","currencyCode":"USD","discountCodes":["ACME-7K3F9Q2M"],"totalPriceSet":{"shopMoney":{"amount":"199.0","currencyCode":"USD"}},"currentTotalPriceSet":{"shopMoney":{"amount":"150.0","currencyCode":"USD"}},"currentSubtotalPriceSet":{"shopMoney":{"amount":"140.0","currencyCode":"USD"}}}],"pageInfo":{"hasNextPage":true,"endCursor":"eyJ"}}}`)})
	c, _ := newTestClient(t, f, nil, nil)
	since := time.Date(2026, 9, 1, 2, 0, 0, 0, time.FixedZone("x", 2*3600))
	p, err := c.Orders(context.Background(), since, "cur1")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Orders) != 1 || !p.HasNextPage || p.EndCursor != "eyJ" {
		t.Fatalf("page %+v", p)
	}
	o := p.Orders[0]
	if o.LegacyResourceID != 9007199254740993 || o.CurrentTotalPrice.Amount != "150.0" || o.DiscountCodes[0] != "ACME-7K3F9Q2M" {
		t.Fatalf("order %+v", o)
	}
	req := f.requests()[0]
	if req.Variables["query"] != "updated_at:>='2026-09-01T00:00:00Z'" || req.Variables["after"] != "cur1" {
		t.Fatalf("vars %v", req.Variables)
	}
}

func TestWebhookSubscriptionCreate(t *testing.T) {
	t.Parallel()
	f := newFakeShopify(t,
		reply{body: okBody(`{"webhookSubscriptionCreate":{"webhookSubscription":{"id":"gid://shopify/WebhookSubscription/1"},"userErrors":[]}}`)},
		reply{body: okBody(`{"webhookSubscriptionCreate":{"webhookSubscription":null,"userErrors":[{"field":["webhookSubscription","callbackUrl"],"message":"Address for this topic has already been taken"}]}}`)},
	)
	c, _ := newTestClient(t, f, nil, nil)
	sub := WebhookSubscriptionInput{URI: "https://app.example.com/webhooks", IncludeFields: []string{"id", "updated_at"}}
	id, err := c.WebhookSubscriptionCreate(context.Background(), "ORDERS_CREATE", sub)
	if err != nil || id != "gid://shopify/WebhookSubscription/1" {
		t.Fatalf("id %q err %v", id, err)
	}
	req := f.requests()[0]
	if req.Variables["topic"] != "ORDERS_CREATE" || req.Variables["webhookSubscription"].(map[string]any)["uri"] != "https://app.example.com/webhooks" {
		t.Fatalf("vars %v", req.Variables)
	}
	var ue *UserErrors
	if _, err := c.WebhookSubscriptionCreate(context.Background(), "ORDERS_CREATE", sub); !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
}
