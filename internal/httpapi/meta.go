package httpapi

import (
	"context"
	"io/fs"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	echoSwagger "github.com/swaggo/echo-swagger"
	swaggerFiles "github.com/swaggo/files/v2"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/fault"
)

// healthz godoc
//
//	@Summary	Liveness: the process is up
//	@ID			healthz
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	api.Health
//	@Router		/healthz [get]
func (h *handlers) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, api.Health{Status: "ok"})
}

// readyz godoc
//
//	@Summary	Readiness: the database answers
//	@ID			readyz
//	@Tags		operations
//	@Produce	json
//	@Success	200	{object}	api.Health
//	@Failure	503	{object}	api.Problem
//	@Router		/readyz [get]
func (h *handlers) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := h.DB.Ping(ctx); err != nil {
		e := fault.New(fault.KindUnavailable, "unavailable", "the database does not answer")
		e.Err = err
		return e
	}
	return c.JSON(http.StatusOK, api.Health{Status: "ok"})
}

// jwks godoc
//
//	@Summary		Public keys that verify access tokens
//	@ID			getJWKS
//	@Description	A JSON Web Key Set (RFC 7517) of Ed25519 keys (RFC 8037). Match a token's `kid` header; keys rotated out stay listed until their tokens have expired.
//	@Tags			auth
//	@Produce		json
//	@Success		200	{object}	api.JWKS
//	@Router			/.well-known/jwks.json [get]
func (h *handlers) jwks(c echo.Context) error {
	keys := h.Tokens.JWKS(c.Request().Context())
	out := api.JWKS{Keys: make([]api.JWK, 0, len(keys))}
	for _, k := range keys {
		out.Keys = append(out.Keys, api.JWK{Kty: k.Kty, Crv: k.Crv, X: k.X, Kid: k.Kid, Alg: k.Alg, Use: k.Use})
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", h.OpenAPI)
}

// swaggerUI serves the Swagger UI under /docs/: its page and its static
// files. Anything else is a 404 problem like any unknown path (the UI's
// own file server answers text/plain).
func (h *handlers) swaggerUI() echo.HandlerFunc {
	ui := echoSwagger.EchoWrapHandler(func(cfg *echoSwagger.Config) {
		cfg.URLs = []string{"/openapi.yaml"}
		cfg.DocExpansion = "list"
	})
	return func(c echo.Context) error {
		switch name := c.Param("*"); name {
		case "":
			return c.Redirect(http.StatusMovedPermanently, "/docs/index.html")
		case "index.html":
		default:
			if st, err := fs.Stat(swaggerFiles.FS, name); err != nil || st.IsDir() || c.Request().URL.RawQuery != "" {
				return echo.ErrNotFound
			}
		}
		return ui(c)
	}
}

func (h *handlers) metricsHandler() http.Handler {
	return promhttp.HandlerFor(h.Metrics.Registry, promhttp.HandlerOpts{})
}
