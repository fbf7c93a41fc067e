// Package troth is the root of the troth module. It holds the generated
// OpenAPI document, embedded so the binary serves it, and the go:generate
// directives that regenerate every generated file: run `go generate ./...`.
package troth

import _ "embed"

// OpenAPI is openapi.yaml: the OpenAPI 3.0.3 description of the HTTP API,
// generated from the handlers' swag annotations.
//
//go:embed openapi.yaml
var OpenAPI []byte

//go:generate go tool swag init --quiet --generalInfo routes.go --dir ./internal/httpapi,./api --output ./docs --outputTypes json --parseInternal
//go:generate go run ./tools/openapigen -in docs/swagger.json -out openapi.yaml
//go:generate go tool oapi-codegen -generate types,client -package client -o api/client/client.gen.go openapi.yaml
