package httpapi

import (
	"net/http"

	"github.com/troth-app/troth/internal/wire"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/account"
)

// getMe godoc
//
//	@Summary		The caller's profile
//	@ID			getMe
//	@Description	Carries an ETag; send it as If-None-Match to get 304 when nothing changed.
//	@Tags			me
//	@Produce		json
//	@Security		BearerAuth
//	@Param			If-None-Match	header		string	false	"an ETag from an earlier response"
//	@Success		200				{object}	api.User
//	@Header			200				{string}	ETag	"the representation's entity tag"
//	@Success		304				"not modified"
//	@Failure		401				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/me [get]
func (h *handlers) getMe(c echo.Context) error {
	u, err := h.Accounts.Get(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.User(u))
}

// patchMe godoc
//
//	@Summary		Change the caller's display name or time zone
//	@ID			updateMe
//	@Description	Absent fields stay as they are. Send If-Match with the ETag you last saw to refuse the change (412) if the profile changed since.
//	@Tags			me
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			If-Match	header		string				false	"the ETag the change is based on"
//	@Param			body		body		api.UpdateMeRequest	true	"the fields to change"
//	@Success		200			{object}	api.User
//	@Header			200			{string}	ETag	"the new representation's entity tag"
//	@Failure		400			{object}	api.Problem
//	@Failure		401			{object}	api.Problem
//	@Failure		412			{object}	api.Problem	"precondition_failed"
//	@Failure		413			{object}	api.Problem
//	@Failure		415			{object}	api.Problem
//	@Failure		422			{object}	api.Problem
//	@Failure		429			{object}	api.Problem
//	@Router			/v1/me [patch]
func (h *handlers) patchMe(c echo.Context) error {
	var req api.UpdateMeRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ifMatch := c.Request().Header.Get("If-Match")
	u, err := h.Accounts.Update(c.Request().Context(), userID(c),
		account.Changes{DisplayName: req.DisplayName, TimeZone: req.TimeZone},
		func(cur account.User) error { return checkIfMatch(ifMatch, wire.User(cur)) })
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.User(u))
}
