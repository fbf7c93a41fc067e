package oascheck

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
)

const spec = `
openapi: 3.0.3
info: {title: test, version: "1"}
servers:
  - url: http://api.example.com/api
paths:
  /things/{id}:
    get:
      security: [{bearerAuth: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: OK
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
        "404":
          description: Not Found
          content:
            application/problem+json:
              schema: {$ref: '#/components/schemas/Problem'}
    delete:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "204": {description: No Content}
  /things:
    post:
      responses:
        "201":
          description: Created
          headers:
            Location: {schema: {type: string}}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
        "202":
          description: Accepted
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
  /pages:
    get:
      responses:
        "200":
          description: OK
          content:
            application/json:
              schema:
                allOf:
                  - $ref: '#/components/schemas/Page'
                  - type: object
                    properties:
                      items:
                        type: array
                        items: {$ref: '#/components/schemas/Thing'}
components:
  securitySchemes:
    bearerAuth: {type: http, scheme: bearer, bearerFormat: JWT}
  schemas:
    Thing:
      type: object
      required: [id]
      properties:
        id: {type: string}
        children:
          type: array
          items: {$ref: '#/components/schemas/Thing'}
    Page:
      type: object
      required: [items, total]
      properties:
        items: {type: array, items: {}}
        total: {type: integer}
    Problem:
      type: object
      properties:
        title: {type: string}
        status: {type: integer}
`

type sink struct {
	mu   sync.Mutex
	msgs []string
}

func (s *sink) report(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, msg)
}

func (s *sink) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgs
	s.msgs = nil
	return m
}

func problemHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code := http.StatusInternalServerError
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(code)
	_, _ = fmt.Fprintf(c.Response(), `{"title":%q,"status":%d}`, http.StatusText(code), code)
}

func newApp(t *testing.T, s *sink) *echo.Echo {
	t.Helper()
	ck, err := New([]byte(spec), SkipPrefix("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = problemHandler
	e.Use(ck.Middleware(s.report))

	e.GET("/api/things/:id", func(c echo.Context) error {
		switch c.Param("id") {
		case "good":
			return c.JSON(http.StatusOK, map[string]any{"id": "good", "children": []any{map[string]any{"id": "kid"}}})
		case "extra":
			return c.JSON(http.StatusOK, map[string]any{"id": "extra", "secret": "leaked"})
		case "nestedextra":
			return c.JSON(http.StatusOK, map[string]any{"id": "x", "children": []any{map[string]any{"id": "kid", "oops": 1}}})
		case "noid":
			return c.JSON(http.StatusOK, map[string]any{"children": []any{}})
		case "teapot":
			return c.JSON(http.StatusTeapot, map[string]any{"id": "teapot"})
		case "plainjson404":
			return c.JSON(http.StatusNotFound, map[string]any{"title": "Not Found"})
		default:
			return echo.NewHTTPError(http.StatusNotFound)
		}
	})
	e.DELETE("/api/things/:id", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	e.POST("/api/things", func(c echo.Context) error {
		status := http.StatusCreated
		if c.QueryParam("later") != "" { // a 202 does not declare Location
			status = http.StatusAccepted
		}
		c.Response().Header().Set(echo.HeaderLocation, "/api/things/new")
		return c.JSON(status, map[string]any{"id": "new"})
	})
	e.GET("/api/pages", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]any{"items": []any{map[string]any{"id": "a"}}, "total": 1})
	})
	e.GET("/api/undocumented", func(c echo.Context) error { return c.String(http.StatusOK, "hi") })
	e.GET("/metrics", func(c echo.Context) error { return c.String(http.StatusOK, "up 1") })
	return e
}

func TestMiddleware(t *testing.T) {
	s := &sink{}
	e := newApp(t, s)

	tests := []struct {
		method, path string
		status       int
		contentType  string
		bodyContains string
		reports      []string // substrings, one per expected report
	}{
		{"GET", "/api/things/good", 200, "application/json", `"id":"good"`, nil},
		{"GET", "/api/things/missing", 404, "application/problem+json", `"status":404`, nil},
		{"DELETE", "/api/things/x", 204, "", "", nil},
		{"GET", "/api/pages", 200, "application/json", `"total":1`, nil},
		{"GET", "/api/things/good?x=1", 200, "application/json", `"id":"good"`, nil},
		{"GET", "/metrics", 200, "text/plain", "up 1", nil},
		// Echo's own 404 and 405 are not the document's business.
		{"GET", "/api/nowhere", 404, "application/problem+json", "", nil},
		{"PUT", "/api/things/x", 405, "application/problem+json", "", nil},

		{"GET", "/api/things/extra", 200, "application/json", `"secret":"leaked"`, []string{"secret"}},
		{"GET", "/api/things/nestedextra", 200, "application/json", `"oops":1`, []string{"oops"}},
		{"GET", "/api/things/noid", 200, "application/json", "", []string{`"id"`}},
		{"GET", "/api/things/teapot", 418, "application/json", "teapot", []string{"status is not supported"}},
		{"GET", "/api/things/plainjson404", 404, "application/json", "Not Found", []string{"Content-Type"}},
		{"GET", "/api/undocumented", 200, "text/plain", "hi", []string{"route not in the OpenAPI document"}},
		{"POST", "/api/things", 201, "application/json", `"id":"new"`, nil},
		{"POST", "/api/things?later=1", 202, "application/json", `"id":"new"`, []string{"Location header the OpenAPI document does not declare"}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))

			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.status)
			}
			if ct := rec.Header().Get(echo.HeaderContentType); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type = %q, want %q", ct, tc.contentType)
			}
			if !strings.Contains(rec.Body.String(), tc.bodyContains) {
				t.Errorf("body %q does not contain %q", rec.Body.String(), tc.bodyContains)
			}

			got := s.take()
			if len(got) != len(tc.reports) {
				t.Fatalf("got %d reports, want %d:\n%s", len(got), len(tc.reports), strings.Join(got, "\n---\n"))
			}
			for i, want := range tc.reports {
				if !strings.Contains(got[i], want) {
					t.Errorf("report %q does not mention %q", got[i], want)
				}
			}
		})
	}
}

func TestMiddlewareConcurrent(t *testing.T) {
	s := &sink{}
	e := newApp(t, s)

	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/api/things/good"
			if i%2 == 1 {
				path = "/api/things/extra"
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusOK {
				t.Errorf("%s: status %d", path, rec.Code)
			}
		}()
	}
	wg.Wait()
	if got := len(s.take()); got != n/2 {
		t.Errorf("got %d reports, want %d", got, n/2)
	}
}

func TestNewRejectsBadDocument(t *testing.T) {
	if _, err := New([]byte("openapi: 3.0.3\ninfo: {}\npaths: {}\n")); err == nil {
		t.Fatal("New accepted an invalid document")
	}
	if _, err := New([]byte("{")); err == nil {
		t.Fatal("New accepted malformed input")
	}
}
