package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/apikey"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/wire"
)

var errUserTokenRequired = fault.New(fault.KindForbidden, "user_token_required",
	"API keys cannot manage API keys: use an access token from /v1/auth/login")

// userTokenOnly refuses callers authenticated with an API key, so that a
// leaked key cannot mint, list or revoke keys. It runs after requireAuth and
// before idem, so a refusal keeps nothing.
func userTokenOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if apiKeyScope(c) != "" {
			return errUserTokenRequired
		}
		return next(c)
	}
}

// createAPIKey godoc
//
//	@Summary		Create a personal API key
//	@Description	For a service that acts for the caller: send the secret as "Authorization: Bearer troth_sk_…". The secret is in this response only; troth keeps a hash of it.
//	@Description	A read key may only GET (and HEAD); other methods answer 403 insufficient_scope. Keys cannot create, list or revoke keys: these routes need an access token (403 user_token_required).
//	@ID				createAPIKey
//	@Tags			api-keys
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			Idempotency-Key	header		string					false	"makes retries safe: a replay returns the first answer"
//	@Param			body			body		api.CreateAPIKeyRequest	true	"the key"
//	@Success		201				{object}	api.NewAPIKey
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		403				{object}	api.Problem	"user_token_required, insufficient_scope"
//	@Failure		409				{object}	api.Problem	"idempotency_in_flight"
//	@Failure		413				{object}	api.Problem
//	@Failure		415				{object}	api.Problem
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/api-keys [post]
func (h *handlers) createAPIKey(c echo.Context) error {
	var req api.CreateAPIKeyRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	k, secret, err := h.APIKeys.Create(c.Request().Context(), userID(c), apikey.Input{Name: req.Name, Scope: req.Scope})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, api.NewAPIKey{APIKey: wire.APIKey(k), Secret: secret})
}

// listAPIKeys godoc
//
//	@Summary		List the caller's API keys
//	@Description	Keys that are not revoked, oldest first, without their secrets. Needs an access token (403 user_token_required for an API key).
//	@ID				listAPIKeys
//	@Tags			api-keys
//	@Produce		json
//	@Security		BearerAuth
//	@Param			limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	api.APIKeyPage
//	@Failure		400		{object}	api.Problem
//	@Failure		401		{object}	api.Problem
//	@Failure		403		{object}	api.Problem	"user_token_required"
//	@Failure		429		{object}	api.Problem
//	@Router			/v1/api-keys [get]
func (h *handlers) listAPIKeys(c echo.Context) error {
	p, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	res, err := h.APIKeys.List(c.Request().Context(), userID(c), p)
	if err != nil {
		return err
	}
	out := api.APIKeyPage{Data: make([]api.APIKey, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, k := range res.Items {
		out.Data = append(out.Data, wire.APIKey(k))
	}
	return c.JSON(http.StatusOK, out)
}

// revokeAPIKey godoc
//
//	@Summary		Revoke an API key
//	@Description	The key stops working at once. Unknown, already revoked and other people's keys are 404. Needs an access token (403 user_token_required for an API key).
//	@ID				revokeAPIKey
//	@Tags			api-keys
//	@Security		BearerAuth
//	@Param			id			path	string	true	"API key id"
//	@Param			If-Match	header	string	false	"a key has no ETag: only * lets the revocation go ahead, any entity tag is 412"
//	@Success		204
//	@Failure		401	{object}	api.Problem
//	@Failure		403	{object}	api.Problem	"user_token_required, insufficient_scope"
//	@Failure		404	{object}	api.Problem
//	@Failure		412	{object}	api.Problem
//	@Failure		429	{object}	api.Problem
//	@Router			/v1/api-keys/{id} [delete]
func (h *handlers) revokeAPIKey(c echo.Context) error {
	ifMatch := c.Request().Header.Get("If-Match")
	err := h.APIKeys.Revoke(c.Request().Context(), userID(c), c.Param("id"),
		func() error { return checkIfMatchUntagged(ifMatch) })
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
