package httpapi

import (
	"net/url"
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
// aid that indents a JSON answer, is let through anywhere.
func queryGuard(doc []byte) echo.MiddlewareFunc {
	params := documentedQueries(doc)
	// By Echo's route (method and pattern), found once per route.
	var byRoute sync.Map // [2]string → *operation
	lookup := func(method, path string) *operation {
		k := [2]string{method, path}
		if v, ok := byRoute.Load(k); ok {
			return v.(*operation)
		}
		op := params[routeKey(method, path)]
		if op != nil { // kept for documented routes only: a bounded set
			byRoute.Store(k, op)
		}
		return op
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			q := c.Request().URL.RawQuery
			if q == "" {
				return next(c)
			}
			// A pair Go cannot read (a bad %-escape, a ';') would be dropped
			// silently by the handlers: refuse the query instead.
			values, err := url.ParseQuery(q)
			if err != nil {
				return badQuery("query", "invalid_query", "is not a well-formed query string (a bad %-escape, or a ';')")
			}
			op := lookup(c.Request().Method, c.Path())
			if op == nil {
				return next(c) // not an operation of the API (/docs/*, /metrics)
			}
			if op.secured && c.Request().Header.Get(echo.HeaderAuthorization) == "" {
				return next(c) // unauthenticated: its 401 comes first
			}
			allowed := op.query
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

// operation is what the guard knows of an operation: its query
// parameters, and whether it needs credentials.
type operation struct {
	query   map[string]struct{}
	secured bool
}

// queryDocs keeps each document's parameters: every server of a test
// binary serves the same document.
var queryDocs sync.Map // string(doc) → map[string]*operation

// documentedQueries reads openapi.yaml's query parameters by operation.
// A document that cannot be read yields none, and the guard then checks
// nothing (the tests read the same document and would fail first).
func documentedQueries(doc []byte) map[string]*operation {
	if v, ok := queryDocs.Load(string(doc)); ok {
		return v.(map[string]*operation)
	}
	type param struct {
		Name string `yaml:"name"`
		In   string `yaml:"in"`
	}
	var d struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	out := map[string]*operation{}
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
				Parameters []param          `yaml:"parameters"`
				Security   []map[string]any `yaml:"security"`
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
			out[routeKey(strings.ToUpper(method), path)] = &operation{query: names, secured: len(op.Security) > 0}
		}
	}
	queryDocs.Store(string(doc), out)
	return out
}
