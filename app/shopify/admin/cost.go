package admin

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// ThrottleStatus is extensions.cost.throttleStatus: the shop's leaky bucket
// as Shopify last saw it.
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// Cost is extensions.cost of a response. ActualQueryCost is nil when the
// query did not run (THROTTLED, validation errors).
type Cost struct {
	RequestedQueryCost int            `json:"requestedQueryCost"`
	ActualQueryCost    *int           `json:"actualQueryCost"`
	ThrottleStatus     ThrottleStatus `json:"throttleStatus"`
}

// RetryAfterSeconds is how long until the bucket holds this query's cost:
// with diff = currentlyAvailable − (actualQueryCost, or requestedQueryCost
// when null), it is −diff/restoreRate when diff < 0, else 0. (Same rule as
// go-shopify's GraphQLCost.RetryAfterSeconds and its test vectors.)
func (c Cost) RetryAfterSeconds() float64 {
	used := float64(c.RequestedQueryCost)
	if c.ActualQueryCost != nil {
		used = float64(*c.ActualQueryCost)
	}
	diff := c.ThrottleStatus.CurrentlyAvailable - used
	if diff >= 0 || c.ThrottleStatus.RestoreRate <= 0 {
		return 0
	}
	return -diff / c.ThrottleStatus.RestoreRate
}

var (
	reFirstLast    = regexp.MustCompile(`\b(?:first|last)\s*:\s*(\d+)`)
	reFirstLastVar = regexp.MustCompile(`\b(?:first|last)\s*:\s*\$`)
	reOpName       = regexp.MustCompile(`^\s*(?:#[^\n]*\n\s*)*(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)`)
	reComment      = regexp.MustCompile(`#[^\n]*`)
)

// EstimateCost estimates a query's requested cost the way Shopify's
// calculator does, roughly: 1 for the root, 10 for a mutation, and for each
// connection with first/last n, (2 + n) times the sizes of the connections
// enclosing it (children assumed to cost 1 each; a variable page size counts
// as 10). It is only used to reserve budget; the response's throttleStatus
// corrects the limiter. The result is clamped to [1, 1000], Shopify's
// per-query maximum.
func EstimateCost(query string) int {
	q := reComment.ReplaceAllString(query, "")
	cost := 1.0
	if isMutation(q) {
		cost = 10
	}
	mult := []float64{1}
	pending := 0.0
	for i := 0; i < len(q) && cost < 1000; i++ {
		switch q[i] {
		case '"':
			// Skip string literals (search queries may hold braces).
			for i++; i < len(q) && q[i] != '"'; i++ {
				if q[i] == '\\' {
					i++
				}
			}
		case '(':
			depth, j := 1, i+1
			for ; j < len(q) && depth > 0; j++ {
				switch q[j] {
				case '(':
					depth++
				case ')':
					depth--
				case '"':
					for j++; j < len(q) && q[j] != '"'; j++ {
						if q[j] == '\\' {
							j++
						}
					}
				}
			}
			args := q[i:min(j, len(q))]
			if m := reFirstLast.FindStringSubmatch(args); m != nil {
				n, _ := strconv.Atoi(m[1])
				pending = float64(n)
			} else if reFirstLastVar.MatchString(args) {
				pending = 10
			}
			i = j - 1
		case '{':
			top := mult[len(mult)-1]
			if pending > 0 {
				cost += top * (2 + pending)
				top *= pending
				pending = 0
			}
			mult = append(mult, top)
		case '}':
			if len(mult) > 1 {
				mult = mult[:len(mult)-1]
			}
		}
	}
	return clampCost(int(math.Min(cost, 1000)))
}

func clampCost(c int) int {
	return int(math.Max(1, math.Min(1000, float64(c))))
}

func isMutation(q string) bool {
	return strings.HasPrefix(strings.TrimSpace(reComment.ReplaceAllString(q, "")), "mutation")
}

// operationName returns the query's operation name for metrics and errors,
// or "anonymous".
func operationName(query string) string {
	if m := reOpName.FindStringSubmatch(query); m != nil {
		return m[2]
	}
	return "anonymous"
}
