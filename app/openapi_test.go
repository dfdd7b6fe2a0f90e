package main

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var echoParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// TestOpenAPICoversEveryRoute fails when a route registered under /api/v1
// is missing from GET /api/v1/openapi.json, or when the document describes
// a route that no longer exists. It also checks that every $ref resolves.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := newTestApp(t)
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas         map[string]json.RawMessage `json:"schemas"`
			Responses       map[string]json.RawMessage `json:"responses"`
			SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		} `json:"components"`
	}
	if code := e.getJSON("/api/v1/openapi.json", &doc); code != 200 {
		t.Fatalf("GET /api/v1/openapi.json = %d (it must be public)", code)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if doc.Components.SecuritySchemes["sessionToken"] == nil || doc.Components.SecuritySchemes["apiKey"] == nil {
		t.Fatalf("security schemes missing: %v", doc.Components.SecuritySchemes)
	}
	if doc.Components.Schemas["Error"] == nil {
		t.Fatal("no Error schema")
	}

	documented := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			documented[strings.ToUpper(m)+" "+p] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range e.a.newEcho().Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || strings.HasSuffix(r.Path, "/*") || r.Method == "echo_route_not_found" {
			continue
		}
		p := echoParam.ReplaceAllString(strings.TrimPrefix(r.Path, "/api/v1"), "{$1}")
		registered[r.Method+" "+p] = true
	}
	var missing, stale []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	for _, k := range missing {
		t.Errorf("route %s is registered but not in openapi.json", k)
	}
	for _, k := range stale {
		t.Errorf("openapi.json documents %s, which is not a registered route", k)
	}
	if len(registered) < 30 {
		t.Fatalf("only %d /api/v1 routes found; the walk is broken", len(registered))
	}

	// Every operation answers something, and every $ref points somewhere.
	raw, _ := json.Marshal(doc.Paths)
	refs := regexp.MustCompile(`"\$ref":"#/components/(schemas|responses)/([^"]+)"`).FindAllStringSubmatch(string(raw), -1)
	all, _ := json.Marshal(doc.Components.Schemas)
	refs = append(refs, regexp.MustCompile(`"\$ref":"#/components/(schemas|responses)/([^"]+)"`).FindAllStringSubmatch(string(all), -1)...)
	for _, m := range refs {
		var ok bool
		if m[1] == "schemas" {
			ok = doc.Components.Schemas[m[2]] != nil
		} else {
			ok = doc.Components.Responses[m[2]] != nil
		}
		if !ok {
			t.Errorf("dangling $ref #/components/%s/%s", m[1], m[2])
		}
	}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			var o struct {
				OperationID string                     `json:"operationId"`
				Responses   map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil || o.OperationID == "" || len(o.Responses) == 0 {
				t.Errorf("%s %s: operation without operationId or responses", m, p)
			}
		}
	}
}
