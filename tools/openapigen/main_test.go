package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

const swagger2 = `{
  "swagger": "2.0",
  "info": {"title": "troth", "version": "1.0", "contact": {}},
  "basePath": "/api/v1",
  "paths": {
    "/things/{id}": {
      "get": {
        "security": [{"BearerAuth": []}],
        "produces": ["application/json"],
        "operationId": "getThing",
        "parameters": [{"type": "string", "name": "id", "in": "path", "required": true}],
        "responses": {
          "200": {"description": "OK", "schema": {"$ref": "#/definitions/Thing"}},
          "404": {"description": "Not Found", "schema": {"$ref": "#/definitions/Problem"}}
        }
      }
    }
  },
  "definitions": {
    "Thing": {
      "type": "object",
      "required": ["id"],
      "properties": {
        "id": {"type": "string"},
        "note": {"type": "string", "x-nullable": true}
      }
    },
    "Problem": {
      "type": "object",
      "properties": {"title": {"type": "string"}, "status": {"type": "integer"}}
    }
  },
  "securityDefinitions": {
    "BearerAuth": {"type": "apiKey", "name": "Authorization", "in": "header"}
  }
}`

func TestConvert(t *testing.T) {
	out, err := convert([]byte(swagger2))
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	again, err := convert([]byte(swagger2))
	if err != nil {
		t.Fatalf("convert (2nd run): %v", err)
	}
	if !bytes.Equal(out, again) {
		t.Errorf("output is not deterministic")
	}
	if !bytes.HasPrefix(out, []byte("openapi: 3.0.3\n")) {
		t.Errorf("output does not start with the openapi version:\n%s", out)
	}

	doc, err := openapi3.NewLoader().LoadFromData(out)
	if err != nil {
		t.Fatalf("load output: %v\n%s", err, out)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("output does not validate: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}

	schemes := doc.Components.SecuritySchemes
	if _, ok := schemes["BearerAuth"]; ok {
		t.Errorf("apiKey scheme BearerAuth was kept")
	}
	bearer := schemes[bearerSchemeName]
	if bearer == nil || bearer.Value == nil {
		t.Fatalf("no %s security scheme: %v", bearerSchemeName, schemes)
	}
	if v := bearer.Value; v.Type != "http" || v.Scheme != "bearer" || v.BearerFormat != "JWT" {
		t.Errorf("bearer scheme = %+v, want http/bearer/JWT", v)
	}

	op := doc.Paths.Find("/things/{id}").Get
	if op == nil {
		t.Fatal("GET /things/{id} missing")
	}
	if op.Security == nil || len(*op.Security) != 1 {
		t.Fatalf("security = %v, want one requirement", op.Security)
	}
	if _, ok := (*op.Security)[0][bearerSchemeName]; !ok || len((*op.Security)[0]) != 1 {
		t.Errorf("security requirement = %v, want only %s", (*op.Security)[0], bearerSchemeName)
	}

	ok := op.Responses.Status(200).Value.Content
	if ok.Get("application/json") == nil || len(ok) != 1 {
		t.Errorf("200 content types = %v, want only application/json", keys(ok))
	}
	if ref := ok.Get("application/json").Schema.Ref; ref != "#/components/schemas/Thing" {
		t.Errorf("200 schema ref = %q", ref)
	}
	nf := op.Responses.Status(404).Value.Content
	if _, has := nf["application/problem+json"]; !has || len(nf) != 1 {
		t.Errorf("404 content types = %v, want only application/problem+json", keys(nf))
	} else if ref := nf["application/problem+json"].Schema.Ref; ref != "#/components/schemas/Problem" {
		t.Errorf("404 schema ref = %q", ref)
	}

	if !doc.Components.Schemas["Thing"].Value.Properties["note"].Value.Nullable {
		t.Errorf("x-nullable was not turned into nullable: true")
	}
}

func TestConvertRejectsInvalid(t *testing.T) {
	// An operation requiring an undefined security scheme must fail.
	bad := bytes.Replace([]byte(swagger2), []byte(`[{"BearerAuth": []}]`), []byte(`[{"Nope": []}]`), 1)
	if _, err := convert(bad); err == nil {
		t.Fatal("convert accepted a requirement naming an undefined scheme")
	}
	if _, err := convert([]byte(`{"swagger": "2.0"`)); err == nil {
		t.Fatal("convert accepted malformed JSON")
	}
}

func TestIsErrorStatus(t *testing.T) {
	for status, want := range map[string]bool{
		"200": false, "204": false, "302": false, "399": false,
		"400": true, "404": true, "500": true, "4XX": true, "5xx": true, "default": true, "2XX": false,
	} {
		if got := isErrorStatus(status); got != want {
			t.Errorf("isErrorStatus(%q) = %v, want %v", status, got, want)
		}
	}
}

func keys(c openapi3.Content) []string {
	var out []string
	for k := range c {
		out = append(out, k)
	}
	return out
}

// Every POST, PATCH and PUT can meet the body limit and a body that is not
// JSON, and every operation taking an Idempotency-Key a malformed one: the
// middleware answers those whatever the annotations say. A GET meets only
// the query check's 400.
func TestConvertAddsMiddlewareProblems(t *testing.T) {
	const src = `{
  "swagger": "2.0",
  "info": {"title": "troth", "version": "1.0"},
  "paths": {
    "/things": {
      "get": {"responses": {"200": {"description": "OK"}}},
      "post": {
        "parameters": [{"type": "string", "name": "Idempotency-Key", "in": "header"}],
        "responses": {"201": {"description": "Created"}, "400": {"description": "bad input", "schema": {"$ref": "#/definitions/Problem"}}}
      },
      "patch": {"responses": {"200": {"description": "OK"}}}
    }
  },
  "definitions": {"Problem": {"type": "object", "properties": {"status": {"type": "integer"}}}}
}`
	out, err := convert([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(out)
	if err != nil {
		t.Fatal(err)
	}
	item := doc.Paths.Find("/things")
	for _, c := range []struct {
		name string
		op   *openapi3.Operation
		want map[string]string // status → description ("" absent)
	}{
		{"GET", item.Get, map[string]string{"400": "unknown_parameter", "413": "", "415": ""}},
		{"POST", item.Post, map[string]string{"400": "bad input", "413": "payload_too_large", "415": "unsupported_media_type"}},
		{"PATCH", item.Patch, map[string]string{"400": "unknown_parameter", "413": "payload_too_large", "415": "unsupported_media_type"}},
	} {
		for status, want := range c.want {
			r := c.op.Responses.Value(status)
			switch {
			case want == "" && r != nil:
				t.Errorf("%s documents a %s: %s", c.name, status, *r.Value.Description)
			case want != "" && (r == nil || !strings.HasPrefix(*r.Value.Description, want)):
				t.Errorf("%s %s: %v, want %q", c.name, status, r, want)
			case want != "" && r.Value.Content.Get("application/problem+json") == nil:
				t.Errorf("%s %s is not a problem", c.name, status)
			}
		}
	}
}

// Strings a YAML 1.1 reader would take for a number or a boolean stay
// quoted; the rest are written plain.
func TestJSONToYAMLQuotesWhatYAML11Misreads(t *testing.T) {
	js := `{"a":"20:00","b":"1:30:00","c":"yes","d":"off","e":"Ana","f":"2026-01-02","g":7,"h":"20:00 Berlin"}`
	out, err := jsonToYAML([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`a: "20:00"`, `b: "1:30:00"`, `c: "yes"`, `d: "off"`, "e: Ana", "g: 7", "h: 20:00 Berlin"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}
