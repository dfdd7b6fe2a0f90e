// Package admin is coupontrail's Shopify Admin GraphQL client: one [Client]
// per shop and access token, GraphQL only, with the API version pinned in
// every URL ({base}/admin/api/{version}/graphql.json).
//
// It owns the cost budget: every call reserves its estimated query cost from
// a per-shop [Limiter] (Redis-backed and shared by all replicas in production,
// see [NewRedisLimiter]) and feeds the response's
// extensions.cost.throttleStatus back into it. THROTTLED responses, 429s, 5xx
// and network errors are retried with context-aware waits (Retry-After and the
// cost-derived wait are honoured; cancellation stops the wait at once).
// GraphQL top-level errors surface as [*GraphQLError]; mutation userErrors as
// [*UserErrors].
//
// The HTTP layer is our own rather than go-shopify v4.7.0's GraphQL.Query:
// that client hard-codes https://{shop}.myshopify.com (no dev-store base URL),
// retries THROTTLED with time.Sleep ignoring ctx, keeps per-call state on the
// shared Client (not goroutine-safe), never retries 5xx on GraphQL, drops error
// extension codes other than THROTTLED, and decodes only data, so cost and
// error details cannot be fed to a shared limiter. A [Client] here holds no
// mutable state and is safe for concurrent use.
//
// This package must not import the store, Echo, asynq or webhook code.
// Tokens are never logged.
package admin
