// Package payload decodes Shopify webhook payloads (the REST JSON representation
// of orders, refunds, checkouts, the shop, and the compliance topics) into small,
// exact Go types for coupon attribution.
//
// It owns two rules that are easy to get wrong:
//
//   - Ids are 64-bit integers that exceed 2^53, so they are decoded straight into
//     int64 (encoding/json parses the literal; no float64 round trip). Send them to
//     JavaScript as strings.
//   - Money stays a decimal string ([Decimal]) until it is converted, exactly, to
//     integer minor units with a currency-aware exponent ([ParseMinor]): JPY has 0
//     decimals, KWD 3. Amounts are taken from the shop_money side of the *_set
//     bags (shop currency), never presentment money.
//
// The package is pure: standard library only. It must not import Echo, gorm,
// asynq or any Shopify client; webhook verification and persistence live
// elsewhere.
package payload
