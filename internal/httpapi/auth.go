package httpapi

import (
	"math"
	"net/http"

	"github.com/troth-app/troth/internal/wire"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/fault"
)

func (h *handlers) sessionResponse(c echo.Context, status int, s account.Session) error {
	// Token responses must never be cached (RFC 6749 §5.1).
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Pragma", "no-cache")
	return c.JSON(status, api.AuthResponse{
		User:                  wire.User(s.User),
		AccessToken:           s.AccessToken,
		RefreshToken:          s.RefreshToken,
		TokenType:             "Bearer",
		ExpiresIn:             int64(math.Ceil(s.AccessExpiresAt.Sub(h.Now()).Seconds())),
		RefreshTokenExpiresAt: s.RefreshExpiresAt.UTC(),
	})
}

// register godoc
//
//	@Summary		Create an account
//	@ID			register
//	@Description	Creates a user and returns a first pair of tokens. Emails are unique regardless of case.
//	@Tags			auth
//	@Accept			json
//	@Produce		json
//	@Param			body	body		api.RegisterRequest	true	"the new account"
//	@Success		201		{object}	api.AuthResponse
//	@Header			201		{string}	Location	"/v1/me, the new account"
//	@Failure		400		{object}	api.Problem	"malformed JSON, unknown or duplicate fields"
//	@Failure		409		{object}	api.Problem	"email_taken"
//	@Failure		413		{object}	api.Problem
//	@Failure		415		{object}	api.Problem
//	@Failure		422		{object}	api.Problem	"validation_failed"
//	@Failure		429		{object}	api.Problem
//	@Router			/v1/auth/register [post]
func (h *handlers) register(c echo.Context) error {
	var req api.RegisterRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	s, err := h.Accounts.Register(c.Request().Context(), account.Registration{
		Email: req.Email, Password: req.Password, DisplayName: req.DisplayName, TimeZone: req.TimeZone,
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/me")
	return h.sessionResponse(c, http.StatusCreated, s)
}

// login godoc
//
//	@Summary		Log in with email and password
//	@ID			login
//	@Description	An unknown email and a wrong password get the same answer, after the same work.
//	@Tags			auth
//	@Accept			json
//	@Produce		json
//	@Param			body	body		api.LoginRequest	true	"credentials"
//	@Success		200		{object}	api.AuthResponse
//	@Failure		400		{object}	api.Problem
//	@Failure		401		{object}	api.Problem	"invalid_credentials"
//	@Failure		413		{object}	api.Problem
//	@Failure		415		{object}	api.Problem
//	@Failure		422		{object}	api.Problem
//	@Failure		429		{object}	api.Problem
//	@Router			/v1/auth/login [post]
func (h *handlers) login(c echo.Context) error {
	var req api.LoginRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	var v fault.Validation
	v.Check(req.Email != "", "email", "required", "is required")
	v.Check(req.Password != "", "password", "required", "is required")
	if err := v.Err(); err != nil {
		return err
	}
	s, err := h.Accounts.Login(c.Request().Context(), req.Email, req.Password)
	if err != nil {
		return err
	}
	return h.sessionResponse(c, http.StatusOK, s)
}

// refresh godoc
//
//	@Summary		Exchange a refresh token for new tokens
//	@ID			refreshTokens
//	@Description	Every use returns a new refresh token and retires the old one. Presenting a retired token again revokes every token of that login (the family): treat it as stolen.
//	@Tags			auth
//	@Accept			json
//	@Produce		json
//	@Param			body	body		api.RefreshRequest	true	"the current refresh token"
//	@Success		200		{object}	api.AuthResponse
//	@Failure		400		{object}	api.Problem
//	@Failure		401		{object}	api.Problem	"invalid_refresh_token"
//	@Failure		413		{object}	api.Problem
//	@Failure		415		{object}	api.Problem
//	@Failure		422		{object}	api.Problem
//	@Failure		429		{object}	api.Problem
//	@Router			/v1/auth/refresh [post]
func (h *handlers) refresh(c echo.Context) error {
	var req api.RefreshRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	var v fault.Validation
	v.Check(req.RefreshToken != "", "refresh_token", "required", "is required")
	if err := v.Err(); err != nil {
		return err
	}
	s, err := h.Accounts.Refresh(c.Request().Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	return h.sessionResponse(c, http.StatusOK, s)
}

// logout godoc
//
//	@Summary		Log out
//	@ID			logout
//	@Description	Revokes the refresh token and every token rotated from the same login. Access tokens already issued stay valid until they expire (at most 15 minutes). An unknown token also answers 204.
//	@Tags			auth
//	@Accept			json
//	@Param			body	body	api.LogoutRequest	true	"the refresh token to revoke"
//	@Success		204
//	@Failure		400	{object}	api.Problem
//	@Failure		413	{object}	api.Problem
//	@Failure		415	{object}	api.Problem
//	@Failure		422	{object}	api.Problem
//	@Failure		429	{object}	api.Problem
//	@Router			/v1/auth/logout [post]
func (h *handlers) logout(c echo.Context) error {
	var req api.LogoutRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	var v fault.Validation
	v.Check(req.RefreshToken != "", "refresh_token", "required", "is required")
	if err := v.Err(); err != nil {
		return err
	}
	if err := h.Accounts.Logout(c.Request().Context(), req.RefreshToken); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
