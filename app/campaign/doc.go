// Package campaign owns the rules of a coupon campaign and of a partner,
// independent of storage and transport: validation of what a merchant asks
// for, the lifecycle (draft -> active <-> paused -> ended), the mapping of a
// campaign's discount logic onto the terms of the one Shopify code discount
// that backs it (Terms), and the evaluation of the targeting rules Shopify
// cannot enforce (Check).
//
// It is pure: standard library only, no I/O, and whatever depends on the
// outside world (money parsing in the shop's currency, code-format checks,
// the current time) is passed in through Env. It must not import Echo, gorm,
// asynq or any other coupontrail package.
package campaign
