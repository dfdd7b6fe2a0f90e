package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrCurrency reports a missing or malformed ISO 4217 currency code.
var ErrCurrency = errors.New("payload: invalid currency code")

// ErrAmount reports an amount that is not a plain decimal number.
var ErrAmount = errors.New("payload: invalid decimal amount")

// ErrPrecision reports an amount with more non-zero fractional digits than the
// currency allows (for example "1.5" JPY). Rounding money silently is never
// right for commissions, so the caller must decide.
var ErrPrecision = errors.New("payload: amount has more precision than the currency allows")

// ErrOverflow reports an amount whose minor units do not fit in an int64.
var ErrOverflow = errors.New("payload: amount overflows int64 minor units")

// ErrCurrencyMismatch reports money in a different currency than the one asked for.
var ErrCurrencyMismatch = errors.New("payload: currency mismatch")

// exponents lists the ISO 4217 currencies whose minor unit is not 2 decimals.
// Every other well-formed code uses 2.
var exponents = map[string]int{
	// 0 decimals
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
	"XPF": 0,
	// 3 decimals
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// 4 decimals
	"CLF": 4, "UYW": 4,
}

// normCurrency upper-cases and validates a three-letter currency code.
func normCurrency(currency string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(currency))
	if len(c) != 3 {
		return "", fmt.Errorf("%w: %q", ErrCurrency, currency)
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return "", fmt.Errorf("%w: %q", ErrCurrency, currency)
		}
	}
	return c, nil
}

// Exponent returns the number of minor-unit decimals of an ISO 4217 currency
// (JPY 0, USD 2, KWD 3). It returns an error wrapping [ErrCurrency] for a code
// that is not three letters.
func Exponent(currency string) (int, error) {
	c, err := normCurrency(currency)
	if err != nil {
		return 0, err
	}
	if e, ok := exponents[c]; ok {
		return e, nil
	}
	return 2, nil
}

// ParseMinor converts a decimal amount string such as "199.00", "-5.00" or
// "1000" into integer minor units of currency ("199.00" USD -> 19900,
// "1000" JPY -> 1000, "1.250" KWD -> 1250). It is exact: extra fractional
// digits are accepted only when they are zero ("1000.00" JPY -> 1000), otherwise
// it fails with [ErrPrecision]. Exponents, thousands separators and empty
// strings are rejected with [ErrAmount].
func ParseMinor(amount string, currency string) (int64, error) {
	exp, err := Exponent(currency)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(amount)
	if !validDecimal(s) {
		return 0, fmt.Errorf("%w: %q", ErrAmount, amount)
	}
	neg := s[0] == '-'
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, fmt.Errorf("%w: %q has %d decimals, %s allows %d", ErrPrecision, amount, len(frac), strings.ToUpper(currency), exp)
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return 0, nil
	}
	if neg {
		digits = "-" + digits
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", ErrOverflow, amount)
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validDecimal reports whether s is an optionally signed plain decimal
// ("12", "-5.00", ".5" is rejected).
func validDecimal(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return false
	}
	return !hasDot || frac != ""
}

// Decimal is a money amount kept as its exact decimal text. Shopify sends most
// amounts as JSON strings ("195.67") but some refund fields as JSON numbers
// (195.67); both decode to the same text without passing through float64.
// JSON null decodes to "". It always encodes as a JSON string.
type Decimal string

// UnmarshalJSON accepts a JSON string, a JSON number literal or null.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*d = ""
		return nil
	}
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("decimal: %w", err)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*d = ""
			return nil
		}
	} else {
		s = string(b)
	}
	if !validDecimal(s) {
		return fmt.Errorf("%w: %q", ErrAmount, s)
	}
	*d = Decimal(s)
	return nil
}

// Minor converts d to minor units of currency; see [ParseMinor]. An empty
// Decimal (absent or null in the payload) is zero.
func (d Decimal) Minor(currency string) (int64, error) {
	if d == "" {
		if _, err := Exponent(currency); err != nil {
			return 0, err
		}
		return 0, nil
	}
	return ParseMinor(string(d), currency)
}

// Money is one side of a Shopify money bag: an amount and its currency.
type Money struct {
	Amount       Decimal `json:"amount"`
	CurrencyCode string  `json:"currency_code"`
}

// Minor converts m to minor units of its own currency.
func (m Money) Minor() (int64, error) {
	return m.Amount.Minor(m.CurrencyCode)
}

// MoneySet is a Shopify "*_set" bag. Attribution always uses ShopMoney (the
// shop's currency); PresentmentMoney is what the buyer saw.
type MoneySet struct {
	ShopMoney        Money `json:"shop_money"`
	PresentmentMoney Money `json:"presentment_money"`
}

// shopMinor returns the shop-currency amount in minor units: shop_money of set
// when present, otherwise the legacy flat field (which REST documents as shop
// currency). Absent amounts are zero. currency is the shop currency; if the
// bag names another currency the result is an error, never a silent mix.
func shopMinor(set *MoneySet, flat Decimal, currency string) (int64, error) {
	if set != nil && set.ShopMoney.Amount != "" {
		code := set.ShopMoney.CurrencyCode
		if code == "" {
			code = currency
		} else if currency != "" && !strings.EqualFold(code, currency) {
			return 0, fmt.Errorf("%w: shop_money in %s, want %s", ErrCurrencyMismatch, code, currency)
		}
		return set.ShopMoney.Amount.Minor(code)
	}
	return flat.Minor(currency)
}
