package httpapi

import (
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v4"
)

// queryGuard refuses, on every route openapi.yaml documents, a query
// parameter the operation does not take (400 unknown_parameter: a typo
// such as ?updated_snce= would otherwise return everything, silently) and
// one given more than once (400 duplicate_parameter: only one value would
// be read). It reads the parameters from the document the server serves,
// so the check and the contract cannot drift apart. ?pretty, a reading
// aid that indents the JSON where Echo writes it, is let through anywhere.
func queryGuard(doc []byte) echo.MiddlewareFunc {
	params := documentedQueries(doc)
	// By Echo's route (method and pattern), found once per route.
	var byRoute sync.Map // [2]string → map[string]struct{} (nil: not documented)
	lookup := func(method, path string) map[string]struct{} {
		k := [2]string{method, path}
		if v, ok := byRoute.Load(k); ok {
			return v.(map[string]struct{})
		}
		allowed := params[routeKey(method, path)]
		if allowed != nil { // kept for documented routes only: a bounded set
			byRoute.Store(k, allowed)
		}
		return allowed
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			q := c.Request().URL.RawQuery
			if q == "" {
				return next(c)
			}
			allowed := lookup(c.Request().Method, c.Path())
			if allowed == nil {
				return next(c) // not an operation of the API (/docs/*, /metrics)
			}
			values := c.QueryParams()
			names := make([]string, 0, len(values))
			for name := range values {
				names = append(names, name)
			}
			sort.Strings(names) // the same answer for the same query
			for _, name := range names {
				if _, ok := allowed[name]; !ok && name != "pretty" {
					return badQuery(name, "unknown_parameter", "is not a query parameter of this operation"+known(allowed))
				}
				if len(values[name]) > 1 {
					return badQuery(name, "duplicate_parameter", "is given more than once; give it once")
				}
			}
			return next(c)
		}
	}
}

// known lists the parameters an operation takes, for the problem's detail.
func known(allowed map[string]struct{}) string {
	if len(allowed) == 0 {
		return " (it takes none)"
	}
	names := make([]string, 0, len(allowed))
	for n := range allowed {
		names = append(names, n)
	}
	sort.Strings(names)
	return " (it takes " + strings.Join(names, ", ") + ")"
}

var pathParam = regexp.MustCompile(`\{[^}]*\}|:[^/]+`)

// routeKey names an operation by method and path, its path parameters
// reduced to {} (openapi's {id} and Echo's :id alike).
func routeKey(method, path string) string {
	return method + " " + pathParam.ReplaceAllString(path, "{}")
}

// queryDocs keeps each document's parameters: every server of a test
// binary serves the same document.
var queryDocs sync.Map // string(doc) → map[string]map[string]struct{}

// documentedQueries reads openapi.yaml's query parameters by operation.
// A document that cannot be read yields none, and the guard then checks
// nothing (the tests read the same document and would fail first).
func documentedQueries(doc []byte) map[string]map[string]struct{} {
	if v, ok := queryDocs.Load(string(doc)); ok {
		return v.(map[string]map[string]struct{})
	}
	type param struct {
		Name string `yaml:"name"`
		In   string `yaml:"in"`
	}
	var d struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	out := map[string]map[string]struct{}{}
	if err := yaml.Unmarshal(doc, &d); err != nil {
		return out
	}
	for path, item := range d.Paths {
		var shared []param
		if n, ok := item["parameters"]; ok {
			_ = n.Decode(&shared)
		}
		for method, n := range item {
			if method == "parameters" || strings.HasPrefix(method, "x-") {
				continue
			}
			var op struct {
				Parameters []param `yaml:"parameters"`
			}
			if err := n.Decode(&op); err != nil {
				continue
			}
			names := map[string]struct{}{}
			for _, p := range append(shared, op.Parameters...) {
				if p.In == "query" {
					names[p.Name] = struct{}{}
				}
			}
			out[routeKey(strings.ToUpper(method), path)] = names
		}
	}
	queryDocs.Store(string(doc), out)
	return out
}
