// Package oascheck is test support: an Echo middleware that checks every
// response the application sends against its OpenAPI 3 document.
//
// It reports (through a callback, typically t.Errorf) routes that Echo serves
// but the document does not declare, undocumented status codes, response
// bodies that do not match their schema (including fields the schema does not
// declare) and wrong content types (e.g. application/json where the document
// says application/problem+json). Requests are not validated: tests send bad
// requests on purpose.
//
// Register it as the first e.Use middleware so that it sees the final
// response. It buffers each response, so it is not suited to streaming or
// hijacked connections: skip those paths with SkipPrefix.
package oascheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/labstack/echo/v4"
)

func init() {
	// SVG documents (GET …/timeline.svg) are checked as text against their
	// string schema; kin-openapi knows no decoder for them.
	openapi3filter.RegisterBodyDecoder("image/svg+xml", openapi3filter.PlainBodyDecoder)
}

// Checker validates responses against an OpenAPI 3 document. It is safe for
// concurrent use.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
	skip   []string
}

// Option configures a Checker.
type Option func(*Checker)

// SkipPrefix makes the checker ignore requests whose path starts with one of
// prefixes (e.g. "/metrics", "/openapi.yaml", "/docs").
func SkipPrefix(prefixes ...string) Option {
	return func(c *Checker) { c.skip = append(c.skip, prefixes...) }
}

// New loads the OpenAPI 3 document (YAML bytes) and returns a checker.
//
// The checker works on its own copy of the document in which every object
// schema with declared properties that does not say otherwise gets
// additionalProperties: false, so that undocumented response fields are
// reported. Servers are reduced to their paths, so that requests match
// whatever host they were sent to.
func New(spec []byte, opts ...Option) (*Checker, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("oascheck: load document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("oascheck: invalid document: %w", err)
	}
	closeObjects(doc)
	doc.Servers = serverPaths(doc.Servers)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("oascheck: %w", err)
	}
	c := &Checker{doc: doc, router: router}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// Middleware returns Echo middleware that buffers the response, validates it,
// then writes it through. report is called once per problem found; it may be
// called from several goroutines at once.
//
// An error returned by the rest of the chain is rendered here with c.Error
// (Echo would otherwise render it only after every middleware has returned),
// so that the error response is validated too; the middleware then returns nil.
func (ck *Checker) Middleware(report func(msg string)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			for _, p := range ck.skip {
				if strings.HasPrefix(req.URL.Path, p) {
					return next(c)
				}
			}

			res := c.Response()
			orig := res.Writer
			rec := &recorder{header: orig.Header().Clone()}
			res.Writer = rec
			restored := false
			defer func() {
				// Only reached early on a panic: let it go on with the
				// real writer in place, the buffered output is dropped.
				if !restored {
					res.Writer = orig
				}
			}()

			if err := next(c); err != nil {
				c.Error(err)
			}
			res.Writer = orig
			restored = true

			ck.check(c, rec, report)

			h := orig.Header()
			for k := range h {
				delete(h, k)
			}
			for k, v := range rec.header {
				h[k] = v
			}
			if rec.wroteHeader {
				orig.WriteHeader(rec.status)
			}
			if rec.body.Len() > 0 {
				if _, err := orig.Write(rec.body.Bytes()); err != nil {
					return err
				}
			}
			return nil
		}
	}
}

func (ck *Checker) check(c echo.Context, rec *recorder, report func(string)) {
	req := c.Request()
	if !echoKnowsRoute(c) {
		// Echo's own 404/405: nothing the document has to declare.
		return
	}
	status := rec.status
	if !rec.wroteHeader {
		status = http.StatusOK // what net/http sends for an untouched response
	}
	where := fmt.Sprintf("%s %s (echo route %s) -> %d", req.Method, req.URL.RequestURI(), c.Path(), status)

	route, pathParams, err := ck.router.FindRoute(req)
	if err != nil {
		report(fmt.Sprintf("oascheck: %s: route not in the OpenAPI document: %v", where, err))
		return
	}
	if req.Method == http.MethodHead {
		return
	}

	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		// The body is reported once, below, rather than with every error.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:     req,
			PathParams:  pathParams,
			QueryParams: req.URL.Query(),
			Route:       route,
			Options:     opts,
		},
		Status:  status,
		Header:  rec.header.Clone(),
		Options: opts,
	}
	input.SetBodyBytes(bytes.Clone(rec.body.Bytes()))
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		report(fmt.Sprintf("oascheck: %s: response does not match the OpenAPI document: %s\nContent-Type: %q\nbody: %s",
			where, describe(err), rec.header.Get(echo.HeaderContentType), truncate(rec.body.String(), 2048)))
	}
	// openapi3filter checks the headers a response declares, not those it
	// sends: a Location the document does not declare would go unnoticed,
	// and clients generated from it would not know to read it.
	if rec.header.Get(echo.HeaderLocation) != "" && route.Operation.Responses != nil {
		if r := route.Operation.Responses.Status(status); r != nil && r.Value != nil && r.Value.Headers[echo.HeaderLocation] == nil {
			report(fmt.Sprintf("oascheck: %s: response sends a Location header the OpenAPI document does not declare", where))
		}
	}
}

// echoKnowsRoute reports whether Echo routed the request to a registered
// handler for its method, rather than to its not-found or
// method-not-allowed handler.
func echoKnowsRoute(c echo.Context) bool {
	path := c.Path()
	if path == "" {
		return false
	}
	method := c.Request().Method
	for _, r := range c.Echo().Routes() {
		if r.Path == path && r.Method == method {
			return true
		}
	}
	return false
}

// describe formats a validation error, one schema error per line.
func describe(err error) string {
	var re *openapi3filter.ResponseError
	var me openapi3.MultiError
	if errors.As(err, &re) && re.Err != nil && errors.As(re.Err, &me) {
		var b strings.Builder
		b.WriteString(re.Reason)
		for _, e := range me {
			b.WriteString("\n  - ")
			b.WriteString(e.Error())
		}
		return b.String()
	}
	return err.Error()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// recorder buffers a response.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.wroteHeader {
		return
	}
	r.status = code
	r.wroteHeader = true
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	return r.body.Write(b)
}

// Flush is a no-op: everything is written once the handler is done.
func (r *recorder) Flush() {}

// serverPaths keeps only the path of each server URL (dropping scheme and
// host, which the server side of a request does not know), without
// duplicates; it returns nil when that leaves only the root.
func serverPaths(servers openapi3.Servers) openapi3.Servers {
	var out openapi3.Servers
	seen := map[string]bool{}
	for _, s := range servers {
		if s == nil {
			continue
		}
		u := s.URL
		if i := strings.Index(u, "://"); i >= 0 {
			u = u[i+3:]
			if j := strings.IndexByte(u, '/'); j >= 0 {
				u = u[j:]
			} else {
				u = ""
			}
		}
		u = strings.TrimSuffix(u, "/")
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		cp := *s
		cp.URL = u
		out = append(out, &cp)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// closeObjects sets additionalProperties: false on every object schema of the
// document (components and inline, following references, cycles included)
// that declares properties and says nothing about additional properties.
//
// Left open: schemas combined with allOf/anyOf/oneOf (in OpenAPI 3.0
// additionalProperties only sees sibling properties, so closing them would
// reject the combined fields), members of a multi-member allOf for the same
// reason, and free-form objects without properties.
func closeObjects(doc *openapi3.T) {
	var roots []*openapi3.SchemaRef
	if comp := doc.Components; comp != nil {
		for _, s := range comp.Schemas {
			roots = append(roots, s)
		}
		for _, r := range comp.Responses {
			roots = append(roots, responseSchemas(r)...)
		}
	}
	if doc.Paths != nil {
		for _, item := range doc.Paths.Map() {
			for _, op := range item.Operations() {
				if op.Responses == nil {
					continue
				}
				for _, r := range op.Responses.Map() {
					roots = append(roots, responseSchemas(r)...)
				}
			}
		}
	}

	partial := map[*openapi3.Schema]bool{}
	walkSchemas(roots, func(s *openapi3.Schema) {
		if len(s.AllOf) > 1 {
			for _, m := range s.AllOf {
				if m != nil && m.Value != nil {
					partial[m.Value] = true
				}
			}
		}
	})
	walkSchemas(roots, func(s *openapi3.Schema) {
		if partial[s] ||
			len(s.Properties) == 0 ||
			!s.Type.Permits("object") ||
			s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil ||
			len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) > 0 {
			return
		}
		no := false
		s.AdditionalProperties.Has = &no
	})
}

func responseSchemas(r *openapi3.ResponseRef) []*openapi3.SchemaRef {
	if r == nil || r.Value == nil {
		return nil
	}
	var out []*openapi3.SchemaRef
	for _, mt := range r.Value.Content {
		if mt != nil && mt.Schema != nil {
			out = append(out, mt.Schema)
		}
	}
	return out
}

// walkSchemas calls fn once for every schema reachable from roots.
func walkSchemas(roots []*openapi3.SchemaRef, fn func(*openapi3.Schema)) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(*openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		fn(s)
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		walk(s.Not)
		for _, group := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, m := range group {
				walk(m)
			}
		}
	}
	for _, r := range roots {
		walk(r)
	}
}
