package admin

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound is returned by lookups whose node is null.
var ErrNotFound = errors.New("admin: not found")

// ErrTooManyCodes is returned, before any request, when more codes or ids
// are passed than Shopify's 250-item input limit allows.
var ErrTooManyCodes = errors.New("admin: more than 250 items in one call")

// ErrInvalidInput is wrapped by client-side input validation errors.
var ErrInvalidInput = errors.New("admin: invalid input")

// ErrOutcomeUnknown is wrapped around a 5xx or network failure of a
// mutation: Shopify may or may not have applied it, so it is not retried
// blindly. Reconcile (for example CodeDiscountNodeByCode) before repeating.
var ErrOutcomeUnknown = errors.New("admin: mutation outcome unknown")

// UserError is one entry of a mutation payload's userErrors
// (DiscountUserError or UserError). Code is empty when Shopify sends null or
// the error type has no code.
type UserError struct {
	Field     []string `json:"field"`
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	ExtraInfo string   `json:"extraInfo"`
}

// UserErrors is returned when a mutation's payload carries userErrors. The
// request succeeded at the HTTP and GraphQL level; the input was refused.
// These are business errors and are not retried (TAKEN needs a new code).
type UserErrors struct {
	// Operation is the root field (or alias) that reported them, for example
	// "discountCodeBasicCreate".
	Operation string
	Errors    []UserError
}

// Error implements error.
func (e *UserErrors) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, u := range e.Errors {
		s := u.Message
		if u.Code != "" {
			s = u.Code + ": " + s
		}
		if len(u.Field) > 0 {
			s += " (" + strings.Join(u.Field, ".") + ")"
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("admin: %s: user errors: %s", e.Operation, strings.Join(parts, "; "))
}

// Has reports whether any user error has the given code (for example "TAKEN").
func (e *UserErrors) Has(code string) bool {
	for _, u := range e.Errors {
		if u.Code == code {
			return true
		}
	}
	return false
}

// GraphQLErrorItem is one entry of a response's top-level errors array.
type GraphQLErrorItem struct {
	Message string `json:"message"`
	// Path is the response path, for example ["discountRedeemCodeBulkAdd","codes"].
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Code returns extensions.code ("THROTTLED", "MAX_INPUT_SIZE_EXCEEDED",
// "INVALID_VARIABLE", "ACCESS_DENIED", ...) or "".
func (i GraphQLErrorItem) Code() string {
	c, _ := i.Extensions["code"].(string)
	return c
}

// GraphQLError is returned when the response has a non-empty top-level errors
// array (syntax, validation, access, input size). THROTTLED is retried and
// only surfaces as [*ThrottledError] once retries are exhausted.
type GraphQLError struct {
	Operation string
	Errors    []GraphQLErrorItem
}

// Error implements error.
func (e *GraphQLError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, it := range e.Errors {
		if c := it.Code(); c != "" {
			parts = append(parts, c+": "+it.Message)
		} else {
			parts = append(parts, it.Message)
		}
	}
	return fmt.Sprintf("admin: %s: graphql errors: %s", e.Operation, strings.Join(parts, "; "))
}

// Has reports whether any error has the given extensions.code.
func (e *GraphQLError) Has(code string) bool {
	for _, it := range e.Errors {
		if it.Code() == code {
			return true
		}
	}
	return false
}

// ThrottledError is returned when the call was still throttled (GraphQL
// THROTTLED or HTTP 429) after the last attempt, or when the required wait
// would outlast the context deadline. A job runner should reschedule after
// RetryAfter rather than fail.
type ThrottledError struct {
	Operation  string
	RetryAfter time.Duration
	Err        error
}

// Error implements error.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("admin: %s: throttled, retry after %s: %v", e.Operation, e.RetryAfter, e.Err)
}

// Unwrap returns the underlying cause.
func (e *ThrottledError) Unwrap() error { return e.Err }

// HTTPError is a non-2xx response. 5xx and 429 are retried before it is
// returned; 401, 402, 403, 404 and 423 are not retried.
type HTTPError struct {
	Operation  string
	StatusCode int
	RetryAfter time.Duration
	// Body is the start of the response body, for logs.
	Body string
}

// Error implements error.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("admin: %s: http %d: %s", e.Operation, e.StatusCode, e.Body)
}

// ErrorCode returns the Shopify error code carried by err: a user error's
// code or a GraphQL error's extensions.code, or "" if none. It lets callers
// treat TAKEN or MAX_INPUT_SIZE_EXCEEDED the same way wherever they surface.
func ErrorCode(err error) string {
	var ue *UserErrors
	if errors.As(err, &ue) {
		for _, u := range ue.Errors {
			if u.Code != "" {
				return u.Code
			}
		}
	}
	var ge *GraphQLError
	if errors.As(err, &ge) {
		for _, it := range ge.Errors {
			if c := it.Code(); c != "" {
				return c
			}
		}
	}
	return ""
}
