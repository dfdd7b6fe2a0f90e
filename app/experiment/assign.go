package experiment

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"
)

// Arms of a holdout experiment.
const (
	Treatment = "treatment"
	Control   = "control"
)

// ShopperKey identifies a shopper across requests and orders:
// "customer:<id>" for a known customer, else "email:<lower-cased e-mail>";
// "" when neither is known (an anonymous shopper cannot be held out: nothing
// could join its outcomes). Cart recovery keys shoppers the same way, so a
// shopper has one arm per campaign whichever path reaches it.
func ShopperKey(customerID *int64, email string) string {
	if customerID != nil && *customerID > 0 {
		return "customer:" + strconv.FormatInt(*customerID, 10)
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if email != "" {
		return "email:" + email
	}
	return ""
}

// Bucket maps (shop, shopper, salt) to a uniform number in [0, 1): the top
// 53 of the first 64 bits of SHA-256("shop|salt|shopper") over 2^53. The same inputs always
// give the same bucket, on every process.
func Bucket(shopID int64, shopper, salt string) float64 {
	var buf [96]byte
	b := strconv.AppendInt(buf[:0], shopID, 10)
	b = append(b, '|')
	b = append(b, salt...)
	b = append(b, '|')
	b = append(b, shopper...)
	sum := sha256.Sum256(b)
	return float64(binary.BigEndian.Uint64(sum[:8])>>11) / (1 << 53)
}

// Assign returns the arm of a shopper in a campaign holding out share
// holdout (0..1): Control when its bucket falls below the share.
func Assign(shopID int64, shopper, salt string, holdout float64) string {
	if holdout <= 0 || shopper == "" {
		return Treatment
	}
	if Bucket(shopID, shopper, salt) < holdout {
		return Control
	}
	return Treatment
}
