// Package httpapi is troth's HTTP layer: Echo routes, handlers that parse,
// call one service method and encode, middleware, strict JSON binding, and
// the mapping of errors to RFC 9457 problems. The swag annotations here
// generate docs/swagger.json and, from it, openapi.yaml.
//
//	@title						troth API
//	@version					1.0
//	@description				troth records the promises people make to each other, what actually happened, how consistently each person keeps their word, and how trust recovers after a breach.
//	@description				Errors are RFC 9457 problem documents (application/problem+json) with a stable `code`.
//	@BasePath					/
//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				An access token from /v1/auth/login, /v1/auth/register or /v1/auth/refresh, or a personal API key (troth_sk_…, from POST /v1/api-keys), sent as "Bearer <token>". Read-scoped keys may only GET (and HEAD).
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/apikey"
	"github.com/troth-app/troth/internal/event"
	"github.com/troth-app/troth/internal/export"
	"github.com/troth-app/troth/internal/idempotency"
	"github.com/troth-app/troth/internal/promise"
	"github.com/troth-app/troth/internal/relationship"
	"github.com/troth-app/troth/internal/scoring"
	"github.com/troth-app/troth/internal/token"
	"github.com/troth-app/troth/internal/trust"
	"github.com/troth-app/troth/internal/webhook"
)

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the HTTP layer calls.
type Deps struct {
	Accounts *account.Service
	Tokens   *token.Service
	// APIKeys serves personal API keys and authenticates requests made with them.
	APIKeys *apikey.Service
	// Idempotency keeps Idempotency-Key records.
	Idempotency idempotency.Store
	// Promises serves promises, occurrences, follow-through, renegotiation and pauses.
	Promises *promise.Service
	// Feed serves the event feed.
	Feed *event.Feed
	// Scores serves consistency scores and timelines.
	Scores *scoring.Service
	// Trust serves breaches and check-ins.
	Trust *trust.Service
	// Relationships serves relationships, members and invites.
	Relationships *relationship.Service
	DB            Pinger
	Metrics       *Metrics
	Log           *slog.Logger
	// OpenAPI is the openapi.yaml document served at /openapi.yaml.
	OpenAPI []byte
	// IPExtractor decides the client address used for rate limits.
	IPExtractor echo.IPExtractor
	// AuthRatePerMin limits /v1/auth/* per client address.
	AuthRatePerMin int
	// APIRatePerMin limits authenticated routes per caller; 0 disables.
	APIRatePerMin int
	// ReadConcurrency is how many API reads run at once, the rest queued
	// in arrival order; 0 admits them all.
	ReadConcurrency int
	// Now is the clock.
	Now func() time.Time
	// Outer middleware, outermost first (tests add response validation).
	Outer []echo.MiddlewareFunc

	// Webhooks serves webhook endpoints, their delivery log, pings and redelivery.
	Webhooks *webhook.Service
	// Export gathers the caller's data for GET /v1/me/export.
	Export *export.Service
}

type handlers struct {
	Deps
	authLimiter *limiter
	apiLimiter  *limiter
	// idem makes authenticated POSTs safe to retry; it runs after requireAuth.
	idem echo.MiddlewareFunc
	// gate queues authenticated reads (requireAuth runs them through it).
	gate *readGate
}

// New builds the Echo application with every route.
func New(d Deps) *echo.Echo {
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &handlers{Deps: d, authLimiter: newLimiter(d.AuthRatePerMin, d.Now), gate: newReadGate(d.ReadConcurrency)}
	h.idem = idempotent(d.Idempotency, d.Now, d.Log)
	if d.APIRatePerMin > 0 {
		h.apiLimiter = newLimiter(d.APIRatePerMin, d.Now)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Log)
	e.IPExtractor = d.IPExtractor
	if e.IPExtractor == nil {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	e.Pre(headAsGet)
	e.Use(d.Outer...)
	e.Use(requestID(), d.Metrics.middleware(), accessLog(d.Log), recoverPanic(d.Log), securityHeaders(), limitBody(), identityBodies(), queryGuard(d.OpenAPI))
	h.routes(e)
	return e
}

// routes lists every route of the API in one place.
func (h *handlers) routes(e *echo.Echo) {
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/metrics", echo.WrapHandler(h.metricsHandler()))
	e.GET("/openapi.yaml", h.openAPI)
	e.GET("/docs", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/docs/index.html") })
	e.GET("/docs/*", h.swaggerUI())
	e.GET("/.well-known/jwks.json", h.jwks)

	auth := h.authLimiter.byAddress()
	e.POST("/v1/auth/register", h.register, auth)
	e.POST("/v1/auth/login", h.login, auth)
	e.POST("/v1/auth/refresh", h.refresh, auth)
	e.POST("/v1/auth/logout", h.logout, auth)

	e.GET("/v1/me", h.getMe, h.requireAuth)
	e.PATCH("/v1/me", h.patchMe, h.requireAuth)
	e.DELETE("/v1/me", h.deleteMe, h.requireAuth)
	e.GET("/v1/me/export", h.exportMe, h.requireAuth)

	e.POST("/v1/api-keys", h.createAPIKey, h.requireAuth, userTokenOnly, h.idem)
	e.GET("/v1/api-keys", h.listAPIKeys, h.requireAuth, userTokenOnly)
	e.DELETE("/v1/api-keys/:id", h.revokeAPIKey, h.requireAuth, userTokenOnly)

	e.POST("/v1/relationships", h.createRelationship, h.requireAuth, h.idem)
	e.GET("/v1/relationships", h.listRelationships, h.requireAuth)
	e.GET("/v1/relationships/:id", h.getRelationship, h.requireAuth)
	e.PATCH("/v1/relationships/:id", h.updateRelationship, h.requireAuth)
	e.DELETE("/v1/relationships/:id", h.archiveRelationship, h.requireAuth)
	e.POST("/v1/relationships/:id/invites", h.createInvite, h.requireAuth, h.idem)
	e.GET("/v1/relationships/:id/invites", h.listInvites, h.requireAuth)
	e.DELETE("/v1/relationships/:id/invites/:invite_id", h.revokeInvite, h.requireAuth)
	e.POST("/v1/invites/:code/accept", h.acceptInvite, h.requireAuth, h.idem)
	e.GET("/v1/relationships/:id/members", h.listMembers, h.requireAuth)
	e.DELETE("/v1/relationships/:id/members/me", h.leaveRelationship, h.requireAuth)

	e.POST("/v1/relationships/:id/promises", h.createPromise, h.requireAuth, h.idem)
	e.GET("/v1/relationships/:id/promises", h.listPromises, h.requireAuth)
	e.GET("/v1/promises/:id", h.getPromise, h.requireAuth)
	e.PATCH("/v1/promises/:id", h.updatePromise, h.requireAuth)
	e.DELETE("/v1/promises/:id", h.cancelPromise, h.requireAuth)
	e.POST("/v1/promises/:id/pauses", h.createPause, h.requireAuth, h.idem)
	e.GET("/v1/promises/:id/pauses", h.listPauses, h.requireAuth)

	e.GET("/v1/promises/:id/occurrences", h.listPromiseOccurrences, h.requireAuth)
	e.GET("/v1/relationships/:id/occurrences", h.listRelationshipOccurrences, h.requireAuth)
	e.GET("/v1/occurrences/:id", h.getOccurrence, h.requireAuth)

	e.POST("/v1/occurrences/:id/follow-throughs", h.recordFollowThrough, h.requireAuth, h.idem)
	e.GET("/v1/occurrences/:id/follow-throughs", h.listOccurrenceFollowThroughs, h.requireAuth)
	e.GET("/v1/relationships/:id/follow-throughs", h.listRelationshipFollowThroughs, h.requireAuth)
	e.GET("/v1/follow-throughs/:id", h.getFollowThrough, h.requireAuth)
	e.POST("/v1/follow-throughs/:id/confirm", h.confirmFollowThrough, h.requireAuth, h.idem)
	e.POST("/v1/follow-throughs/:id/dispute", h.disputeFollowThrough, h.requireAuth, h.idem)

	e.POST("/v1/occurrences/:id/renegotiations", h.proposeRenegotiation, h.requireAuth, h.idem)
	e.GET("/v1/occurrences/:id/renegotiations", h.listOccurrenceRenegotiations, h.requireAuth)
	e.GET("/v1/relationships/:id/renegotiations", h.listRelationshipRenegotiations, h.requireAuth)
	e.GET("/v1/renegotiations/:id", h.getRenegotiation, h.requireAuth)
	e.POST("/v1/renegotiations/:id/accept", h.acceptRenegotiation, h.requireAuth, h.idem)
	e.POST("/v1/renegotiations/:id/decline", h.declineRenegotiation, h.requireAuth, h.idem)

	e.POST("/v1/relationships/:id/breaches", h.createBreach, h.requireAuth, h.idem)
	e.GET("/v1/relationships/:id/breaches", h.listBreaches, h.requireAuth)
	e.POST("/v1/relationships/:id/check-ins", h.createCheckIn, h.requireAuth, h.idem)
	e.GET("/v1/relationships/:id/check-ins", h.listCheckIns, h.requireAuth)

	e.GET("/v1/relationships/:id/scores", h.listScores, h.requireAuth)
	e.GET("/v1/relationships/:id/members/:user_id/score", h.getMemberScore, h.requireAuth)
	e.GET("/v1/promises/:id/score", h.getPromiseScore, h.requireAuth)
	e.GET("/v1/relationships/:id/timeline", h.getTimeline, h.requireAuth)
	e.GET("/v1/relationships/:id/timeline.svg", h.getTimelineSVG, h.requireAuth)

	e.GET("/v1/events", h.listEvents, h.requireAuth)

	e.POST("/v1/webhooks", h.createWebhook, h.requireAuth, h.idem)
	e.GET("/v1/webhooks", h.listWebhooks, h.requireAuth)
	e.GET("/v1/webhooks/:id", h.getWebhook, h.requireAuth)
	e.PATCH("/v1/webhooks/:id", h.updateWebhook, h.requireAuth)
	e.DELETE("/v1/webhooks/:id", h.deleteWebhook, h.requireAuth)
	e.POST("/v1/webhooks/:id/rotate-secret", h.rotateWebhookSecret, h.requireAuth, h.idem)
	e.POST("/v1/webhooks/:id/ping", h.pingWebhook, h.requireAuth, h.idem)
	e.GET("/v1/webhooks/:id/deliveries", h.listWebhookDeliveries, h.requireAuth)
	e.POST("/v1/webhooks/:id/deliveries/:delivery_id/redeliver", h.redeliverWebhook, h.requireAuth, h.idem)
}
