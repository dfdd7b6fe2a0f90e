package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MaxInputItems is Shopify's limit on GraphQL input arrays (and redeem codes
// per discountRedeemCodeBulkAdd call).
const MaxInputItems = 250

// ShopInfo is the subset of the Shop object the app needs.
type ShopInfo struct {
	Name            string   `json:"name"`
	CurrencyCode    string   `json:"currencyCode"`
	IANATimezone    string   `json:"ianaTimezone"`
	MyshopifyDomain string   `json:"myshopifyDomain"`
	Plan            ShopPlan `json:"plan"`
}

// ShopPlan is the shop's billing plan. PublicDisplayName replaces the
// deprecated displayName (2025-07+).
type ShopPlan struct {
	PublicDisplayName  string `json:"publicDisplayName"`
	PartnerDevelopment bool   `json:"partnerDevelopment"`
	ShopifyPlus        bool   `json:"shopifyPlus"`
}

const shopQuery = `query Shop {
  shop {
    name
    currencyCode
    ianaTimezone
    myshopifyDomain
    plan { publicDisplayName partnerDevelopment shopifyPlus }
  }
}`

// Shop returns the shop's name, currency, plan, time zone and domain.
func (c *Client) Shop(ctx context.Context) (*ShopInfo, error) {
	var out struct {
		Shop *ShopInfo `json:"shop"`
	}
	if err := c.DoCost(ctx, 2, shopQuery, nil, &out); err != nil {
		return nil, err
	}
	if out.Shop == nil {
		return nil, fmt.Errorf("admin: Shop: %w", ErrNotFound)
	}
	return out.Shop, nil
}

// DiscountCodeBasicInput is the 2026-07 DiscountCodeBasicInput. Nil pointers
// and empty strings are omitted, so the same type serves create (where
// Title, Code, StartsAt, Context, CustomerGets are required) and update
// (only what changes).
type DiscountCodeBasicInput struct {
	Title    string     `json:"title,omitempty"`
	Code     string     `json:"code,omitempty"`
	StartsAt *time.Time `json:"startsAt,omitempty"`
	EndsAt   *time.Time `json:"endsAt,omitempty"`
	// Context says who is eligible (2025-10+, replaces the deprecated
	// customerSelection, which this type never sends).
	Context            *DiscountContextInput            `json:"context,omitempty"`
	CustomerGets       *DiscountCustomerGetsInput       `json:"customerGets,omitempty"`
	MinimumRequirement *DiscountMinimumRequirementInput `json:"minimumRequirement,omitempty"`
	// CombinesWith defaults to all false on Shopify's side when omitted.
	CombinesWith           *DiscountCombinesWithInput `json:"combinesWith,omitempty"`
	UsageLimit             *int                       `json:"usageLimit,omitempty"`
	AppliesOncePerCustomer *bool                      `json:"appliesOncePerCustomer,omitempty"`
	// Clear removes values on update (sent as explicit nulls); a field
	// that is also set is sent with its value instead.
	Clear DiscountClear `json:"-"`
}

// MarshalJSON writes the set fields and the nulls Clear asks for.
func (in DiscountCodeBasicInput) MarshalJSON() ([]byte, error) {
	type plain DiscountCodeBasicInput
	b, err := json.Marshal(plain(in))
	if err != nil {
		return nil, err
	}
	return in.Clear.apply(b)
}

// DiscountContextInput: exactly one of All ("ALL"), Customers or
// CustomerSegments.
type DiscountContextInput struct {
	All              string           `json:"all,omitempty"`
	Customers        *DiscountIDsEdit `json:"customers,omitempty"`
	CustomerSegments *DiscountIDsEdit `json:"customerSegments,omitempty"`
}

// ContextAll is the "everyone" eligibility: {all: ALL}.
func ContextAll() *DiscountContextInput { return &DiscountContextInput{All: "ALL"} }

// ContextCustomers restricts eligibility to the given Customer GIDs.
func ContextCustomers(gids ...string) *DiscountContextInput {
	return &DiscountContextInput{Customers: &DiscountIDsEdit{Add: gids}}
}

// DiscountIDsEdit adds and removes GIDs ({add, remove}).
type DiscountIDsEdit struct {
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// DiscountCustomerGetsInput is what the buyer gets and on which items.
type DiscountCustomerGetsInput struct {
	Value *DiscountCustomerGetsValueInput `json:"value,omitempty"`
	Items *DiscountItemsInput             `json:"items,omitempty"`
}

// DiscountCustomerGetsValueInput: exactly one of Percentage (0 < p ≤ 1, so
// 0.15 is 15 %) or DiscountAmount.
type DiscountCustomerGetsValueInput struct {
	Percentage     *float64             `json:"percentage,omitempty"`
	DiscountAmount *DiscountAmountInput `json:"discountAmount,omitempty"`
}

// DiscountAmountInput is a fixed amount off. Amount is a decimal string in
// shop currency ("10.00") so no float ever touches money.
type DiscountAmountInput struct {
	Amount            string `json:"amount"`
	AppliesOnEachItem bool   `json:"appliesOnEachItem"`
}

// DiscountItemsInput: exactly one of All, Products or Collections.
type DiscountItemsInput struct {
	All         *bool                     `json:"all,omitempty"`
	Products    *DiscountProductsInput    `json:"products,omitempty"`
	Collections *DiscountCollectionsInput `json:"collections,omitempty"`
}

// DiscountProductsInput entitles products and variants by GID.
type DiscountProductsInput struct {
	ProductsToAdd           []string `json:"productsToAdd,omitempty"`
	ProductsToRemove        []string `json:"productsToRemove,omitempty"`
	ProductVariantsToAdd    []string `json:"productVariantsToAdd,omitempty"`
	ProductVariantsToRemove []string `json:"productVariantsToRemove,omitempty"`
}

// DiscountCollectionsInput entitles collections by GID.
type DiscountCollectionsInput struct {
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// DiscountMinimumRequirementInput: Subtotal or Quantity, never both.
type DiscountMinimumRequirementInput struct {
	Subtotal *DiscountMinimumSubtotalInput `json:"subtotal,omitempty"`
	Quantity *DiscountMinimumQuantityInput `json:"quantity,omitempty"`
}

// DiscountMinimumSubtotalInput is a minimum subtotal, a decimal string.
type DiscountMinimumSubtotalInput struct {
	GreaterThanOrEqualToSubtotal string `json:"greaterThanOrEqualToSubtotal"`
}

// DiscountMinimumQuantityInput is a minimum item count (UnsignedInt64 as string).
type DiscountMinimumQuantityInput struct {
	GreaterThanOrEqualToQuantity string `json:"greaterThanOrEqualToQuantity"`
}

// DiscountCombinesWithInput says which other discount classes may stack.
// All three are always sent, so false is explicit.
type DiscountCombinesWithInput struct {
	OrderDiscounts    bool `json:"orderDiscounts"`
	ProductDiscounts  bool `json:"productDiscounts"`
	ShippingDiscounts bool `json:"shippingDiscounts"`
}

// Validate checks the input client-side, mirroring Shopify's rules, so a
// mistake costs no API budget. create demands the fields create requires.
func (in DiscountCodeBasicInput) Validate(create bool) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, a...))
	}
	if create {
		switch {
		case in.Title == "":
			return bad("title is required")
		case in.Code == "":
			return bad("code is required")
		case in.StartsAt == nil:
			return bad("startsAt is required")
		case in.Context == nil:
			return bad("context is required (use ContextAll())")
		case in.CustomerGets == nil || in.CustomerGets.Value == nil || in.CustomerGets.Items == nil:
			return bad("customerGets.value and customerGets.items are required")
		}
	}
	if in.StartsAt != nil && in.EndsAt != nil && !in.EndsAt.After(*in.StartsAt) {
		return bad("endsAt must be after startsAt")
	}
	if ctx := in.Context; ctx != nil {
		n := 0
		if ctx.All != "" {
			if ctx.All != "ALL" {
				return bad("context.all must be \"ALL\"")
			}
			n++
		}
		if ctx.Customers != nil {
			n++
		}
		if ctx.CustomerSegments != nil {
			n++
		}
		if n != 1 {
			return bad("context needs exactly one of all, customers, customerSegments")
		}
	}
	if g := in.CustomerGets; g != nil {
		if v := g.Value; v != nil {
			if (v.Percentage == nil) == (v.DiscountAmount == nil) {
				return bad("customerGets.value needs exactly one of percentage, discountAmount")
			}
			if v.Percentage != nil && (*v.Percentage <= 0 || *v.Percentage > 1) {
				return bad("percentage %v must be in (0, 1]; 0.15 means 15%%", *v.Percentage)
			}
			if v.DiscountAmount != nil && v.DiscountAmount.Amount == "" {
				return bad("discountAmount.amount is required")
			}
		}
		if it := g.Items; it != nil {
			n := 0
			if it.All != nil {
				n++
			}
			if it.Products != nil {
				n++
			}
			if it.Collections != nil {
				n++
			}
			if n != 1 {
				return bad("customerGets.items needs exactly one of all, products, collections")
			}
		}
	}
	if m := in.MinimumRequirement; m != nil && m.Subtotal != nil && m.Quantity != nil {
		return bad("minimumRequirement cannot have both subtotal and quantity")
	}
	if in.UsageLimit != nil && *in.UsageLimit < 1 {
		return bad("usageLimit must be positive (omit it for unlimited)")
	}
	return nil
}

const discountCodeBasicCreateMutation = `mutation DiscountCodeBasicCreate($input: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $input) {
    codeDiscountNode { id }
    userErrors { field code message extraInfo }
  }
}`

// DiscountCodeBasicCreate creates a basic code discount and returns its
// DiscountCodeNode GID. A refused input (for example a TAKEN code) is a
// [*UserErrors].
func (c *Client) DiscountCodeBasicCreate(ctx context.Context, input DiscountCodeBasicInput) (string, error) {
	if err := input.Validate(true); err != nil {
		return "", err
	}
	return c.codeDiscountCreate(ctx, "DiscountCodeBasicCreate", discountCodeBasicCreateMutation, input)
}

const discountCodeBasicUpdateMutation = `mutation DiscountCodeBasicUpdate($id: ID!, $input: DiscountCodeBasicInput!) {
  discountCodeBasicUpdate(id: $id, basicCodeDiscount: $input) {
    codeDiscountNode { id }
    userErrors { field code message extraInfo }
  }
}`

// DiscountCodeBasicUpdate changes the given fields of discount id (a
// DiscountCodeNode GID). Fields left zero in input are not sent.
func (c *Client) DiscountCodeBasicUpdate(ctx context.Context, id string, input DiscountCodeBasicInput) error {
	return c.codeDiscountUpdate(ctx, "DiscountCodeBasicUpdate", discountCodeBasicUpdateMutation, id, input, input.Validate)
}

// codeDiscountUpdate runs a code-discount update mutation (op names it) on
// discount id once validate accepts the input as an update.
func (c *Client) codeDiscountUpdate(ctx context.Context, op, mutation, id string, input any, validate func(create bool) error) error {
	if id == "" {
		return fmt.Errorf("%w: id is required", ErrInvalidInput)
	}
	if err := validate(false); err != nil {
		return err
	}
	_, err := c.codeDiscountNode(ctx, op, mutation, map[string]any{"id": id, "input": input})
	return err
}

// codeDiscountCreate runs a code-discount create mutation (op names it) and
// returns the new DiscountCodeNode GID.
func (c *Client) codeDiscountCreate(ctx context.Context, op, mutation string, input any) (string, error) {
	id, err := c.codeDiscountNode(ctx, op, mutation, map[string]any{"input": input})
	if err == nil && id == "" {
		err = fmt.Errorf("admin: %s: no codeDiscountNode and no userErrors", op)
	}
	return id, err
}

// codeDiscountNode runs a code-discount create or update mutation whose one
// root field carries codeDiscountNode and returns the node's id; a payload
// without the node (and without userErrors) is an error.
func (c *Client) codeDiscountNode(ctx context.Context, op, mutation string, vars map[string]any) (string, error) {
	var out map[string]struct {
		Node *struct {
			ID string `json:"id"`
		} `json:"codeDiscountNode"`
	}
	if err := c.DoCost(ctx, 10, mutation, vars, &out); err != nil {
		return "", err
	}
	for _, p := range out {
		if p.Node != nil {
			return p.Node.ID, nil
		}
	}
	return "", fmt.Errorf("admin: %s: no codeDiscountNode and no userErrors", op)
}

const discountRedeemCodeBulkAddMutation = `mutation DiscountRedeemCodeBulkAdd($discountId: ID!, $codes: [DiscountRedeemCodeInput!]!) {
  discountRedeemCodeBulkAdd(discountId: $discountId, codes: $codes) {
    bulkCreation { id done codesCount importedCount failedCount }
    userErrors { field code message extraInfo }
  }
}`

// DiscountRedeemCodeBulkAdd queues up to 250 redeem codes on discountID and
// returns the DiscountRedeemCodeBulkCreation GID to poll with
// [Client.DiscountRedeemCodeBulkCreation]. It is asynchronous: duplicate or
// invalid codes are not reported here (userErrors stay empty) but per code
// in the bulk creation. More than 250 codes fail with [ErrTooManyCodes]
// before any request.
func (c *Client) DiscountRedeemCodeBulkAdd(ctx context.Context, discountID string, codes []string) (string, error) {
	if discountID == "" || len(codes) == 0 {
		return "", fmt.Errorf("%w: discountID and at least one code are required", ErrInvalidInput)
	}
	if len(codes) > MaxInputItems {
		return "", fmt.Errorf("admin: DiscountRedeemCodeBulkAdd: %d codes: %w", len(codes), ErrTooManyCodes)
	}
	in := make([]map[string]string, len(codes))
	for i, code := range codes {
		if code == "" {
			return "", fmt.Errorf("%w: code %d is empty", ErrInvalidInput, i)
		}
		in[i] = map[string]string{"code": code}
	}
	var out struct {
		P struct {
			BulkCreation *struct {
				ID string `json:"id"`
			} `json:"bulkCreation"`
		} `json:"discountRedeemCodeBulkAdd"`
	}
	if err := c.DoCost(ctx, 10, discountRedeemCodeBulkAddMutation, map[string]any{"discountId": discountID, "codes": in}, &out); err != nil {
		return "", err
	}
	if out.P.BulkCreation == nil || out.P.BulkCreation.ID == "" {
		return "", errors.New("admin: DiscountRedeemCodeBulkAdd: no bulkCreation and no userErrors")
	}
	return out.P.BulkCreation.ID, nil
}

// BulkCreation is the state of a DiscountRedeemCodeBulkCreation.
type BulkCreation struct {
	ID            string
	Done          bool
	CodesCount    int
	ImportedCount int
	FailedCount   int
	// Codes is filled only once Done: one entry per submitted code.
	Codes []BulkCreationCode
}

// BulkCreationCode is the outcome for one submitted code. RedeemCodeID is
// set (and the code live) only when it was created; Errors explain why not
// (their Code is often empty: Shopify sends null, message "must be unique").
type BulkCreationCode struct {
	Code         string
	RedeemCodeID string
	Errors       []UserError
}

const bulkCreationStatusQuery = `query DiscountRedeemCodeBulkCreationStatus($id: ID!) {
  discountRedeemCodeBulkCreation(id: $id) { id done codesCount importedCount failedCount }
}`

const bulkCreationCodesQuery = `query DiscountRedeemCodeBulkCreationCodes($id: ID!, $after: String) {
  discountRedeemCodeBulkCreation(id: $id) {
    id done codesCount importedCount failedCount
    codes(first: 250, after: $after) {
      nodes { code discountRedeemCode { id code } errors { field code message extraInfo } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`

type bulkCreationJSON struct {
	ID            string `json:"id"`
	Done          bool   `json:"done"`
	CodesCount    int    `json:"codesCount"`
	ImportedCount int    `json:"importedCount"`
	FailedCount   int    `json:"failedCount"`
	Codes         *struct {
		Nodes []struct {
			Code               string `json:"code"`
			DiscountRedeemCode *struct {
				ID string `json:"id"`
			} `json:"discountRedeemCode"`
			Errors []UserError `json:"errors"`
		} `json:"nodes"`
		PageInfo struct {
			HasNextPage bool   `json:"hasNextPage"`
			EndCursor   string `json:"endCursor"`
		} `json:"pageInfo"`
	} `json:"codes"`
}

// DiscountRedeemCodeBulkCreation polls a bulk creation. While it is not done
// only the cheap counters are fetched (cost ≈ 1); once done the per-code
// results are fetched too (a 250-code page costs ≈ 750 requested points,
// most refunded). Returns [ErrNotFound] for an unknown id.
func (c *Client) DiscountRedeemCodeBulkCreation(ctx context.Context, id string) (*BulkCreation, error) {
	var st struct {
		B *bulkCreationJSON `json:"discountRedeemCodeBulkCreation"`
	}
	if err := c.DoCost(ctx, 1, bulkCreationStatusQuery, map[string]any{"id": id}, &st); err != nil {
		return nil, err
	}
	if st.B == nil {
		return nil, fmt.Errorf("admin: DiscountRedeemCodeBulkCreation %s: %w", id, ErrNotFound)
	}
	bc := &BulkCreation{ID: st.B.ID, Done: st.B.Done, CodesCount: st.B.CodesCount, ImportedCount: st.B.ImportedCount, FailedCount: st.B.FailedCount}
	if !bc.Done {
		return bc, nil
	}
	var after *string
	for page := 0; page < 100; page++ {
		var out struct {
			B *bulkCreationJSON `json:"discountRedeemCodeBulkCreation"`
		}
		if err := c.DoCost(ctx, 2+250*3, bulkCreationCodesQuery, map[string]any{"id": id, "after": after}, &out); err != nil {
			return nil, err
		}
		if out.B == nil || out.B.Codes == nil {
			return nil, fmt.Errorf("admin: DiscountRedeemCodeBulkCreation %s codes: %w", id, ErrNotFound)
		}
		bc.CodesCount, bc.ImportedCount, bc.FailedCount = out.B.CodesCount, out.B.ImportedCount, out.B.FailedCount
		for _, n := range out.B.Codes.Nodes {
			bcc := BulkCreationCode{Code: n.Code, Errors: n.Errors}
			if n.DiscountRedeemCode != nil {
				bcc.RedeemCodeID = n.DiscountRedeemCode.ID
			}
			bc.Codes = append(bc.Codes, bcc)
		}
		if !out.B.Codes.PageInfo.HasNextPage {
			break
		}
		cur := out.B.Codes.PageInfo.EndCursor
		after = &cur
	}
	return bc, nil
}

const discountCodeActivateMutation = `mutation DiscountCodeActivate($id: ID!) {
  discountCodeActivate(id: $id) {
    codeDiscountNode { id }
    userErrors { field code message extraInfo }
  }
}`

const discountCodeDeactivateMutation = `mutation DiscountCodeDeactivate($id: ID!) {
  discountCodeDeactivate(id: $id) {
    codeDiscountNode { id }
    userErrors { field code message extraInfo }
  }
}`

// DiscountCodeActivate makes discount id ACTIVE again.
func (c *Client) DiscountCodeActivate(ctx context.Context, id string) error {
	return c.simpleNodeMutation(ctx, discountCodeActivateMutation, "discountCodeActivate", id)
}

// DiscountCodeDeactivate ends discount id now (its status reads EXPIRED).
func (c *Client) DiscountCodeDeactivate(ctx context.Context, id string) error {
	return c.simpleNodeMutation(ctx, discountCodeDeactivateMutation, "discountCodeDeactivate", id)
}

func (c *Client) simpleNodeMutation(ctx context.Context, mutation, field, id string) error {
	if id == "" {
		return fmt.Errorf("%w: id is required", ErrInvalidInput)
	}
	var out map[string]*struct {
		Node *struct {
			ID string `json:"id"`
		} `json:"codeDiscountNode"`
	}
	if err := c.DoCost(ctx, 10, mutation, map[string]any{"id": id}, &out); err != nil {
		return err
	}
	if p := out[field]; p == nil || p.Node == nil {
		return fmt.Errorf("admin: %s: no codeDiscountNode and no userErrors", field)
	}
	return nil
}

const discountCodeRedeemCodeBulkDeleteMutation = `mutation DiscountCodeRedeemCodeBulkDelete($discountId: ID!, $ids: [ID!]) {
  discountCodeRedeemCodeBulkDelete(discountId: $discountId, ids: $ids) {
    job { id done }
    userErrors { field code message extraInfo }
  }
}`

// DiscountCodeRedeemCodeBulkDelete asynchronously deletes redeem codes (by
// DiscountRedeemCode GID, at most 250) from discountID, leaving its other
// codes alone, and returns the Job GID. (The mutation is
// discountCodeRedeemCodeBulkDelete(discountId: ID!, ids: [ID!] | search |
// savedSearchId); "discountRedeemCodeBulkDelete" does not exist.)
func (c *Client) DiscountCodeRedeemCodeBulkDelete(ctx context.Context, discountID string, ids []string) (string, error) {
	if discountID == "" || len(ids) == 0 {
		return "", fmt.Errorf("%w: discountID and at least one id are required", ErrInvalidInput)
	}
	if len(ids) > MaxInputItems {
		return "", fmt.Errorf("admin: DiscountCodeRedeemCodeBulkDelete: %d ids: %w", len(ids), ErrTooManyCodes)
	}
	var out struct {
		P struct {
			Job *struct {
				ID   string `json:"id"`
				Done bool   `json:"done"`
			} `json:"job"`
		} `json:"discountCodeRedeemCodeBulkDelete"`
	}
	if err := c.DoCost(ctx, 10, discountCodeRedeemCodeBulkDeleteMutation, map[string]any{"discountId": discountID, "ids": ids}, &out); err != nil {
		return "", err
	}
	if out.P.Job == nil {
		return "", errors.New("admin: DiscountCodeRedeemCodeBulkDelete: no job and no userErrors")
	}
	return out.P.Job.ID, nil
}

// CodeDiscountNode is a code discount found by one of its codes.
type CodeDiscountNode struct {
	ID string
	// Typename is the discount's GraphQL type, e.g. "DiscountCodeBasic";
	// the fields below are filled only for DiscountCodeBasic.
	Typename        string
	Title           string
	Status          string // ACTIVE, EXPIRED, SCHEDULED
	StartsAt        time.Time
	EndsAt          *time.Time
	UsageLimit      *int
	AsyncUsageCount int
	CodesCount      int
}

const codeDiscountNodeByCodeQuery = `query CodeDiscountNodeByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) {
    id
    codeDiscount {
      __typename
      ... on DiscountCodeBasic {
        title status startsAt endsAt usageLimit asyncUsageCount
        codesCount { count precision }
      }
    }
  }
}`

// CodeDiscountNodeByCode looks a discount up by code (case-insensitive exact
// match). It returns [ErrNotFound] when no discount has that code.
func (c *Client) CodeDiscountNodeByCode(ctx context.Context, code string) (*CodeDiscountNode, error) {
	var out struct {
		N *struct {
			ID string `json:"id"`
			D  struct {
				Typename        string     `json:"__typename"`
				Title           string     `json:"title"`
				Status          string     `json:"status"`
				StartsAt        time.Time  `json:"startsAt"`
				EndsAt          *time.Time `json:"endsAt"`
				UsageLimit      *int       `json:"usageLimit"`
				AsyncUsageCount int        `json:"asyncUsageCount"`
				CodesCount      *struct {
					Count int `json:"count"`
				} `json:"codesCount"`
			} `json:"codeDiscount"`
		} `json:"codeDiscountNodeByCode"`
	}
	if err := c.DoCost(ctx, 3, codeDiscountNodeByCodeQuery, map[string]any{"code": code}, &out); err != nil {
		return nil, err
	}
	if out.N == nil {
		return nil, fmt.Errorf("admin: CodeDiscountNodeByCode %q: %w", code, ErrNotFound)
	}
	n := &CodeDiscountNode{
		ID: out.N.ID, Typename: out.N.D.Typename, Title: out.N.D.Title, Status: out.N.D.Status,
		StartsAt: out.N.D.StartsAt, EndsAt: out.N.D.EndsAt, UsageLimit: out.N.D.UsageLimit,
		AsyncUsageCount: out.N.D.AsyncUsageCount,
	}
	if out.N.D.CodesCount != nil {
		n.CodesCount = out.N.D.CodesCount.Count
	}
	return n, nil
}

// MoneyV2 is a GraphQL money amount: a decimal string and its currency.
type MoneyV2 struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

// OrderSummary is one order as the nightly reconciliation needs it.
type OrderSummary struct {
	ID string `json:"id"`
	// LegacyResourceID is the numeric id webhooks use (UnsignedInt64, sent
	// as a JSON string).
	LegacyResourceID       int64      `json:"legacyResourceId,string"`
	Name                   string     `json:"name"`
	CreatedAt              time.Time  `json:"createdAt"`
	UpdatedAt              time.Time  `json:"updatedAt"`
	CancelledAt            *time.Time `json:"cancelledAt"`
	Test                   bool       `json:"test"`
	DisplayFinancialStatus string     `json:"displayFinancialStatus"`
	SourceName             string     `json:"sourceName"`
	CurrencyCode           string     `json:"currencyCode"`
	// DiscountCodes are the codes used, as typed by the buyer.
	DiscountCodes []string `json:"discountCodes"`
	// Amounts in shop currency (shopMoney).
	TotalPrice           MoneyV2 `json:"-"`
	CurrentTotalPrice    MoneyV2 `json:"-"`
	CurrentSubtotalPrice MoneyV2 `json:"-"`
}

// OrdersPage is one page of orders, oldest update first.
type OrdersPage struct {
	Orders      []OrderSummary
	HasNextPage bool
	EndCursor   string
}

// ordersPageSize keeps a page at about 2 + 50×7 = 352 requested points.
const ordersPageSize = 50

const ordersQuery = `query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id legacyResourceId name createdAt updatedAt cancelledAt test
      displayFinancialStatus sourceName currencyCode discountCodes
      totalPriceSet { shopMoney { amount currencyCode } }
      currentTotalPriceSet { shopMoney { amount currencyCode } }
      currentSubtotalPriceSet { shopMoney { amount currencyCode } }
    }
    pageInfo { hasNextPage endCursor }
  }
}`

// Orders returns orders updated at or after since, sorted by update time,
// starting after cursor after ("" for the first page). read_orders only sees
// the last 60 days.
func (c *Client) Orders(ctx context.Context, since time.Time, after string) (*OrdersPage, error) {
	type set struct {
		ShopMoney MoneyV2 `json:"shopMoney"`
	}
	var out struct {
		Orders struct {
			Nodes []struct {
				OrderSummary
				TotalPriceSet           set `json:"totalPriceSet"`
				CurrentTotalPriceSet    set `json:"currentTotalPriceSet"`
				CurrentSubtotalPriceSet set `json:"currentSubtotalPriceSet"`
			} `json:"nodes"`
			PageInfo struct {
				HasNextPage bool   `json:"hasNextPage"`
				EndCursor   string `json:"endCursor"`
			} `json:"pageInfo"`
		} `json:"orders"`
	}
	vars := map[string]any{
		"first": ordersPageSize,
		"query": fmt.Sprintf("updated_at:>='%s'", since.UTC().Format(time.RFC3339)),
	}
	if after != "" {
		vars["after"] = after
	}
	if err := c.DoCost(ctx, 2+ordersPageSize*7, ordersQuery, vars, &out); err != nil {
		return nil, err
	}
	p := &OrdersPage{HasNextPage: out.Orders.PageInfo.HasNextPage, EndCursor: out.Orders.PageInfo.EndCursor}
	for _, n := range out.Orders.Nodes {
		o := n.OrderSummary
		o.TotalPrice = n.TotalPriceSet.ShopMoney
		o.CurrentTotalPrice = n.CurrentTotalPriceSet.ShopMoney
		o.CurrentSubtotalPrice = n.CurrentSubtotalPriceSet.ShopMoney
		p.Orders = append(p.Orders, o)
	}
	return p, nil
}

// WebhookSubscriptionInput is the 2026-07 WebhookSubscriptionInput (URI
// replaced callbackUrl in 2025-10). Prefer app-specific subscriptions in
// shopify.app.toml; never subscribe a topic both ways (double deliveries).
type WebhookSubscriptionInput struct {
	// URI is an HTTPS URL, pubsub://project:topic or an EventBridge ARN.
	URI           string   `json:"uri"`
	Format        string   `json:"format,omitempty"` // JSON (default)
	IncludeFields []string `json:"includeFields,omitempty"`
	Filter        string   `json:"filter,omitempty"`
}

const webhookSubscriptionCreateMutation = `mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id }
    userErrors { field message }
  }
}`

// WebhookSubscriptionCreate subscribes the app to topic (an enum such as
// "ORDERS_CREATE") for this shop and returns the subscription GID. If
// IncludeFields is set it must contain updated_at (or deliveries are
// debounced away) and every field Filter uses.
func (c *Client) WebhookSubscriptionCreate(ctx context.Context, topic string, sub WebhookSubscriptionInput) (string, error) {
	if topic == "" || sub.URI == "" {
		return "", fmt.Errorf("%w: topic and uri are required", ErrInvalidInput)
	}
	var out struct {
		P struct {
			Sub *struct {
				ID string `json:"id"`
			} `json:"webhookSubscription"`
		} `json:"webhookSubscriptionCreate"`
	}
	if err := c.DoCost(ctx, 10, webhookSubscriptionCreateMutation, map[string]any{"topic": topic, "webhookSubscription": sub}, &out); err != nil {
		return "", err
	}
	if out.P.Sub == nil {
		return "", errors.New("admin: WebhookSubscriptionCreate: no webhookSubscription and no userErrors")
	}
	return out.P.Sub.ID, nil
}
