package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultAPIVersion is the Admin API version coupontrail is built against.
const DefaultAPIVersion = "2026-07"

// maxResponseBytes bounds how much of a response we read.
const maxResponseBytes = 16 << 20

var reVersion = regexp.MustCompile(`^(\d{4}-\d{2}|unstable)$`)

// Options configures a [Client]. The zero value of each field has a sensible
// default except BaseURL.
type Options struct {
	// BaseURL returns the admin base for a shop, for example
	// func(s string) string { return "https://" + s } in production or
	// "http://127.0.0.1:8081/store/" + s for the dev store. The client
	// appends /admin/api/{version}/graphql.json. Validate the shop domain
	// before it gets here: it becomes part of a URL.
	BaseURL func(shop string) string
	// APIVersion is "YYYY-MM" or "unstable"; default [DefaultAPIVersion].
	// Unlike go-shopify, an invalid value is an error, never a silent
	// fallback to the unversioned (oldest) API.
	APIVersion string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// Limiter defaults to a fresh [MemoryLimiter] (per process; production
	// should pass the shared [RedisLimiter]).
	Limiter Limiter
	// Metrics defaults to [NopMetrics].
	Metrics Metrics
	// MaxAttempts is the total number of tries per call (default 5).
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the exponential backoff for 5xx and
	// network errors (defaults 500 ms and 30 s).
	BaseBackoff, MaxBackoff time.Duration
}

// Client calls the Admin GraphQL API of one shop with one access token. It
// holds no per-call state and is safe for concurrent use; build one per
// shop+token (cheap), typically per job or request.
type Client struct {
	shop, token, endpoint string
	hc                    *http.Client
	limiter               Limiter
	metrics               Metrics
	maxAttempts           int
	baseBackoff, maxBack  time.Duration
	// sleep is the ctx-aware wait between attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a client for shop (e.g. "acme.myshopify.com") using token.
func New(shop, token string, opts Options) (*Client, error) {
	if shop == "" || strings.ContainsAny(shop, "/?#@ \t\r\n") {
		return nil, fmt.Errorf("admin: invalid shop %q", shop)
	}
	if token == "" {
		return nil, errors.New("admin: empty access token")
	}
	if opts.BaseURL == nil {
		return nil, errors.New("admin: Options.BaseURL is required")
	}
	v := opts.APIVersion
	if v == "" {
		v = DefaultAPIVersion
	}
	if !reVersion.MatchString(v) {
		return nil, fmt.Errorf("admin: invalid API version %q", v)
	}
	base := strings.TrimRight(opts.BaseURL(shop), "/")
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return nil, fmt.Errorf("admin: base URL %q must be http(s)", base)
	}
	c := &Client{
		shop: shop, token: token,
		endpoint:    base + "/admin/api/" + v + "/graphql.json",
		hc:          opts.HTTPClient,
		limiter:     opts.Limiter,
		metrics:     opts.Metrics,
		maxAttempts: opts.MaxAttempts,
		baseBackoff: opts.BaseBackoff,
		maxBack:     opts.MaxBackoff,
		sleep:       sleepCtx,
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if c.limiter == nil {
		c.limiter = NewMemoryLimiter()
	}
	if c.metrics == nil {
		c.metrics = NopMetrics{}
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = 5
	}
	if c.baseBackoff <= 0 {
		c.baseBackoff = 500 * time.Millisecond
	}
	if c.maxBack <= 0 {
		c.maxBack = 30 * time.Second
	}
	return c, nil
}

// ShopDomain returns the shop this client is bound to.
func (c *Client) ShopDomain() string { return c.shop }

// Endpoint returns the versioned GraphQL URL the client posts to.
func (c *Client) Endpoint() string { return c.endpoint }

type gqlRequest struct {
	Query     string `json:"query"`
	Variables any    `json:"variables,omitempty"`
}

type gqlResponse struct {
	Data       json.RawMessage    `json:"data"`
	Errors     []GraphQLErrorItem `json:"errors"`
	Extensions *struct {
		Cost *Cost `json:"cost"`
	} `json:"extensions"`
}

// Do runs query with vars and decodes the response's data into out (a
// pointer, or nil to discard). The estimated cost ([EstimateCost]) is
// reserved from the limiter first.
//
// Retries: THROTTLED and 429 always (the query did not run); 5xx and
// network errors only for queries. A mutation failing that way returns an
// error wrapping [ErrOutcomeUnknown] instead, because it may have been
// applied.
//
// Errors: [*GraphQLError] for top-level errors (data, if any, is still
// decoded into out); [*UserErrors] when any root field of data carries a
// non-empty userErrors list (out is decoded too); [*ThrottledError] when still
// throttled after MaxAttempts or when the wait would outlast ctx's deadline;
// [*HTTPError] for non-retryable or exhausted HTTP failures; ctx.Err() (wrapped)
// when cancelled.
func (c *Client) Do(ctx context.Context, query string, vars any, out any) error {
	return c.do(ctx, EstimateCost(query), query, vars, out)
}

// DoCost is Do with an explicit cost estimate, for queries whose cost the
// heuristic gets wrong (variables in first:, nested connections).
func (c *Client) DoCost(ctx context.Context, cost int, query string, vars any, out any) error {
	return c.do(ctx, clampCost(cost), query, vars, out)
}

func (c *Client) do(ctx context.Context, cost int, query string, vars any, out any) error {
	op := operationName(query)
	mutation := isMutation(query)
	body, err := json.Marshal(gqlRequest{Query: query, Variables: vars})
	if err != nil {
		return fmt.Errorf("admin: %s: encode variables: %w", op, err)
	}
	var lastErr error
	for attempt := 0; attempt < c.maxAttempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("admin: %s: %w", op, err)
		}
		start := time.Now()
		if err := c.limiter.Wait(ctx, c.shop, cost); err != nil {
			return c.waitErr(op, lastErr, err)
		}
		c.metrics.LimiterWait(op, time.Since(start))

		wait, retryReason, err := c.attempt(ctx, op, body, out)
		if err == nil {
			return nil
		}
		lastErr = err
		if retryReason == "" {
			return err
		}
		if mutation && (retryReason == "http_5xx" || retryReason == "network") {
			// The mutation may have been applied before the failure; a blind
			// retry could create a second discount or report freshly added
			// codes as "must be unique". Let the caller reconcile.
			return fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		if attempt == c.maxAttempts-1 {
			break
		}
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		// Jitter de-synchronises replicas retrying the same shop.
		wait += time.Duration(rand.Int64N(int64(250 * time.Millisecond)))
		c.metrics.Retry(op, retryReason)
		if err := c.sleep(ctx, wait); err != nil {
			return c.waitErr(op, lastErr, err)
		}
	}
	return lastErr
}

// waitErr turns a failed wait into the error to return: a deadline too close
// for a throttled call becomes *ThrottledError (reschedulable).
func (c *Client) waitErr(op string, last, waitErr error) error {
	var te *ThrottledError
	if errors.As(last, &te) && errors.Is(waitErr, context.DeadlineExceeded) {
		return &ThrottledError{Operation: op, RetryAfter: te.RetryAfter, Err: waitErr}
	}
	if last != nil {
		return fmt.Errorf("admin: %s: %w (last error: %v)", op, waitErr, last)
	}
	return fmt.Errorf("admin: %s: %w", op, waitErr)
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.baseBackoff << attempt
	if d <= 0 || d > c.maxBack {
		d = c.maxBack
	}
	return d
}

// attempt performs one HTTP round trip. It returns a non-empty retryReason
// when the error is retryable, with the wait Shopify asked for (0 = use
// backoff).
func (c *Client) attempt(ctx context.Context, op string, body []byte, out any) (time.Duration, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, "", fmt.Errorf("admin: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, "", fmt.Errorf("admin: %s: %w", op, ctx.Err())
		}
		// Transport errors (reset, timeout, DNS) are retried: a GraphQL
		// query is idempotent, and a mutation that did not reach Shopify
		// is safe; one that did is protected by Shopify's uniqueness
		// (TAKEN) on codes.
		return 0, "network", fmt.Errorf("admin: %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, "network", fmt.Errorf("admin: %s: read response: %w", op, err)
	}
	retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())

	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		c.metrics.Throttled(op)
		// Some proxies answer THROTTLED as a 429 with the GraphQL body.
		var gr gqlResponse
		if json.Unmarshal(raw, &gr) == nil && gr.Extensions != nil && gr.Extensions.Cost != nil {
			c.limiter.Update(ctx, c.shop, gr.Extensions.Cost.ThrottleStatus)
			if retryAfter <= 0 {
				retryAfter = time.Duration(gr.Extensions.Cost.RetryAfterSeconds() * float64(time.Second))
			}
		}
		herr := &HTTPError{Operation: op, StatusCode: resp.StatusCode, RetryAfter: retryAfter, Body: snippet(raw)}
		return retryAfter, "http_429", &ThrottledError{Operation: op, RetryAfter: retryAfter, Err: herr}
	case resp.StatusCode >= 500:
		return retryAfter, "http_5xx", &HTTPError{Operation: op, StatusCode: resp.StatusCode, RetryAfter: retryAfter, Body: snippet(raw)}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return 0, "", &HTTPError{Operation: op, StatusCode: resp.StatusCode, Body: snippet(raw)}
	}

	var gr gqlResponse
	if err := json.Unmarshal(raw, &gr); err != nil {
		return 0, "", fmt.Errorf("admin: %s: decode response: %w", op, err)
	}
	var cost *Cost
	if gr.Extensions != nil && gr.Extensions.Cost != nil {
		cost = gr.Extensions.Cost
		c.limiter.Update(ctx, c.shop, cost.ThrottleStatus)
		actual := -1
		if cost.ActualQueryCost != nil {
			actual = *cost.ActualQueryCost
		}
		c.metrics.Cost(op, cost.RequestedQueryCost, actual)
	}
	for _, e := range gr.Errors {
		if e.Code() == "THROTTLED" {
			c.metrics.Throttled(op)
			var wait time.Duration
			if cost != nil {
				wait = time.Duration(cost.RetryAfterSeconds() * float64(time.Second))
			}
			if wait <= 0 {
				wait = retryAfter
			}
			return wait, "throttled", &ThrottledError{Operation: op, RetryAfter: wait, Err: &GraphQLError{Operation: op, Errors: gr.Errors}}
		}
	}
	if len(gr.Data) > 0 && string(gr.Data) != "null" && out != nil {
		if err := json.Unmarshal(gr.Data, out); err != nil {
			return 0, "", fmt.Errorf("admin: %s: decode data: %w", op, err)
		}
	}
	if len(gr.Errors) > 0 {
		return 0, "", &GraphQLError{Operation: op, Errors: gr.Errors}
	}
	if ue := findUserErrors(gr.Data); ue != nil {
		return 0, "", ue
	}
	return 0, "", nil
}

// findUserErrors returns the userErrors of the first root field whose
// payload has a non-empty list (mutation payloads live at the root).
func findUserErrors(data json.RawMessage) *UserErrors {
	if len(data) == 0 {
		return nil
	}
	var roots map[string]json.RawMessage
	if json.Unmarshal(data, &roots) != nil {
		return nil
	}
	var found *UserErrors
	for name, raw := range roots {
		var p struct {
			UserErrors []UserError `json:"userErrors"`
		}
		if json.Unmarshal(raw, &p) != nil || len(p.UserErrors) == 0 {
			continue
		}
		if found == nil {
			found = &UserErrors{Operation: name}
		} else {
			found.Operation += "," + name
		}
		found.Errors = append(found.Errors, p.UserErrors...)
	}
	return found
}

// parseRetryAfter reads a Retry-After header: delta seconds (integer or
// decimal) or an HTTP date. It returns 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f <= 0 || f > 24*3600 {
			return 0
		}
		return time.Duration(f * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func snippet(b []byte) string {
	const n = 512
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
