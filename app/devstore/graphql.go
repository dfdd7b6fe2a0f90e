package devstore

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"regexp"
	"time"
)

// maxQueryCost is Shopify's per-query ceiling on requested cost.
const maxQueryCost = 1000

// bucket is a shop's leaky bucket of GraphQL cost points.
type bucket struct {
	max, rate, available float64
	at                   time.Time
}

func newBucket(plan string, now time.Time) bucket {
	max, rate := 2000.0, 100.0
	switch plan {
	case PlanAdvanced:
		max, rate = 4000, 200
	case PlanPlus:
		max, rate = 20000, 1000
	case "enterprise":
		max, rate = 40000, 2000
	}
	return bucket{max: max, rate: rate, available: max, at: now}
}

func (b *bucket) refill(now time.Time) {
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.available = math.Min(b.max, b.available+el*b.rate)
	}
	b.at = now
}

func (b *bucket) status() map[string]any {
	return map[string]any{
		"maximumAvailable":   b.max,
		"currentlyAvailable": int(math.Floor(b.available)),
		"restoreRate":        b.rate,
	}
}

// SetBucketAvailable sets how many cost points a shop's bucket currently holds (tests use 0 to force THROTTLED).
func (s *Store) SetBucketAvailable(domain string, points float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh, ok := s.shops[domain]; ok {
		sh.bucket.refill(s.now())
		sh.bucket.available = math.Min(points, sh.bucket.max)
	}
}

type gqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

type gqlError map[string]any

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

var versionRe = regexp.MustCompile(`^\d{4}-\d{2}$|^unstable$`)

// handleGraphQL serves POST /store/{shop}/admin/api/{version}/graphql.json.
func (s *Store) handleGraphQL(w http.ResponseWriter, r *http.Request) {
	domain, version := r.PathValue("shop"), r.PathValue("version")
	if !versionRe.MatchString(version) {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
		return
	}
	w.Header().Set("X-Shopify-API-Version", version)
	f := s.Faults()
	if f.AdminLatencyMS > 0 {
		select {
		case <-time.After(time.Duration(f.AdminLatencyMS) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	if f.Admin5xxRate > 0 && s.float() < f.Admin5xxRate {
		w.Header().Set("X-Request-Id", newUUID())
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"errors": "Service Unavailable"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": "Bad Request"})
		return
	}
	var req gqlRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil || req.Query == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]any{"query": []string{"Required parameter missing or invalid"}}})
		return
	}

	s.mu.Lock()
	sh, err := s.authAdminLocked(domain, r.Header.Get("X-Shopify-Access-Token"))
	s.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}

	op, err := parseGraphQL(req.Query, req.OperationName, req.Variables)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"errors": []gqlError{{"message": err.Error(),
			"extensions": map[string]any{"code": "PARSE_ERROR"}}}})
		return
	}
	status, resp := s.execute(sh, op)
	writeJSON(w, status, resp)
}

// execute runs an operation under the store lock: the cost check, every root field in order, then the refund of
// unused cost.
func (s *Store) execute(sh *shop, op *gqlOp) (int, map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	sh.bucket.refill(now)
	requested := operationCost(op)
	cost := func(actual any) map[string]any {
		return map[string]any{"cost": map[string]any{
			"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": sh.bucket.status()}}
	}
	if requested > maxQueryCost {
		return http.StatusOK, map[string]any{
			"errors": []gqlError{{"message": "Query cost is " + itoa(requested) + ", which exceeds the single query max cost limit (1000).",
				"extensions": map[string]any{"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": maxQueryCost}}},
			"extensions": cost(nil),
		}
	}
	if float64(requested) > sh.bucket.available {
		return http.StatusOK, map[string]any{
			"errors": []gqlError{{"message": "Throttled", "extensions": map[string]any{"code": "THROTTLED",
				"documentation": "https://shopify.dev/api/usage/rate-limits"}}},
			"extensions": cost(nil),
		}
	}
	sh.bucket.available -= float64(requested)

	// Input-size limits are checked before anything runs, like Shopify's static validation.
	for _, sel := range op.sel {
		if f := sel.field; f != nil {
			for _, a := range []string{"codes", "ids"} {
				if l, ok := f.args[a].([]any); ok && len(l) > 250 {
					return http.StatusOK, map[string]any{
						"errors": []gqlError{{
							"message":    "The input array size of " + itoa(len(l)) + " is greater than the maximum allowed of 250.",
							"locations":  []map[string]int{{"line": f.line, "column": f.col}},
							"path":       []string{f.key(), a},
							"extensions": map[string]any{"code": "MAX_INPUT_SIZE_EXCEEDED"},
						}},
						"extensions": cost(nil),
					}
				}
			}
		}
	}

	data := &ordered{}
	var errs []gqlError
	roots := rootQuery
	typ := "QueryRoot"
	if op.kind == "mutation" {
		roots, typ = rootMutation, "Mutation"
	}
	var fields []*gqlField
	collectRootFields(op.sel, op.fragments, &fields)
	for _, f := range fields {
		if f.name == "__typename" {
			data.set(f.key(), typ)
			continue
		}
		fn, ok := roots[f.name]
		if !ok {
			errs = append(errs, gqlError{"message": "Field '" + f.name + "' doesn't exist on type '" + typ + "'",
				"locations": []map[string]int{{"line": f.line, "column": f.col}}, "path": []string{op.kind, f.key()},
				"extensions": map[string]any{"code": "undefinedField", "typeName": typ, "fieldName": f.name}})
			continue
		}
		v := fn(s, sh, f.args)
		if e, ok := v.(gqlError); ok {
			e["path"] = []string{f.key()}
			errs = append(errs, e)
			data.set(f.key(), nil)
			continue
		}
		data.set(f.key(), project(v, f.sel, op.fragments))
	}
	if len(errs) > 0 && len(data.keys) == 0 {
		return http.StatusOK, map[string]any{"errors": errs, "extensions": cost(nil)}
	}
	// Refund nothing: our actual cost equals the requested cost, which keeps the arithmetic easy to predict in tests.
	resp := map[string]any{"data": data, "extensions": cost(requested)}
	if len(errs) > 0 {
		resp["errors"] = errs
	}
	return http.StatusOK, resp
}

func collectRootFields(sel []gqlSel, frags map[string]gqlFragment, out *[]*gqlField) {
	for _, s := range sel {
		switch {
		case s.field != nil:
			*out = append(*out, s.field)
		case s.spread != "":
			collectRootFields(frags[s.spread].sel, frags, out)
		default:
			collectRootFields(s.sel, frags, out)
		}
	}
}

// operationCost follows Shopify's calculated cost rules loosely: mutations cost 10, objects 1, scalars 0,
// connections 2 + first x (cost of one node).
func operationCost(op *gqlOp) int {
	var fields []*gqlField
	collectRootFields(op.sel, op.fragments, &fields)
	total := 0
	for _, f := range fields {
		if op.kind == "mutation" {
			total += 10
			continue
		}
		total += fieldCost(f, op.fragments)
	}
	return total
}

func fieldCost(f *gqlField, frags map[string]gqlFragment) int {
	if f.sel == nil {
		return 0
	}
	child := selCost(f.sel, frags)
	if n := argInt(f.args, "first", argInt(f.args, "last", -1)); n >= 0 {
		return 2 + n*max(1, child)
	}
	return 1 + child
}

// selCost is the cost of a selection set: nested objects and connections count, scalars are free, and the
// nodes/edges/node wrappers of a connection are transparent (the connection's multiplier counts one object per item).
func selCost(sel []gqlSel, frags map[string]gqlFragment) int {
	c := 0
	for _, s := range sel {
		switch {
		case s.field != nil:
			switch s.field.name {
			case "pageInfo":
			case "nodes", "edges", "node":
				c += selCost(s.field.sel, frags)
			default:
				c += fieldCost(s.field, frags)
			}
		case s.spread != "":
			c += selCost(frags[s.spread].sel, frags)
		default:
			c += selCost(s.sel, frags)
		}
	}
	return c
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
