// Package shopify owns coupontrail's trust boundary with Shopify: webhook, OAuth and App Proxy HMACs, shop-domain
// validation, App Bridge session tokens, the token endpoint (token exchange, expiring-token refresh, legacy code
// exchange), the legacy authorization-code checks, and pointing go-shopify at the dev store through
// SHOPIFY_ADMIN_URL_TEMPLATE.
//
// Everything here is pure or takes its dependencies (http.Client, now) as arguments, so it is testable without
// Shopify. It depends on the standard library, go-shopify and golang-jwt only; it must not import Echo, gorm, asynq
// or the store. HTTP handlers, persistence and single-flight refresh locking live in the callers.
package shopify
