package httpapi

import (
	"net/http"

	"github.com/troth-app/troth/internal/wire"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/trust"
)

// createBreach godoc
//
//	@Summary		Record a breach of trust
//	@Description	Either member may record it, naming who broke trust. The latest breach starts the rebuilding period (the patience window).
//	@ID				createBreach
//	@Tags			trust
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string					true	"relationship id"
//	@Param			Idempotency-Key	header		string					false	"makes retries safe: a replay returns the first answer"
//	@Param			body			body		api.CreateBreachRequest	true	"the breach"
//	@Success		201				{object}	api.Breach
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem
//	@Failure		413				{object}	api.Problem
//	@Failure		415				{object}	api.Problem
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/relationships/{id}/breaches [post]
func (h *handlers) createBreach(c echo.Context) error {
	var req api.CreateBreachRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	b, err := h.Trust.RecordBreach(c.Request().Context(), userID(c), c.Param("id"), trust.NewBreach{
		MemberID: req.MemberID, Description: req.Description, Severity: req.Severity, OccurredAt: req.OccurredAt,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, wire.Breach(b))
}

// listBreaches godoc
//
//	@Summary	A relationship's breaches, oldest first
//	@ID			listBreaches
//	@Tags		trust
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id		path		string	true	"relationship id"
//	@Param		limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	api.BreachPage
//	@Failure	400		{object}	api.Problem
//	@Failure	401		{object}	api.Problem
//	@Failure	404		{object}	api.Problem
//	@Failure	429		{object}	api.Problem
//	@Router		/v1/relationships/{id}/breaches [get]
func (h *handlers) listBreaches(c echo.Context) error {
	pr, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	res, err := h.Trust.Breaches(c.Request().Context(), userID(c), c.Param("id"), pr)
	if err != nil {
		return err
	}
	out := api.BreachPage{Data: make([]api.Breach, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, b := range res.Items {
		out.Data = append(out.Data, wire.Breach(b))
	}
	return c.JSON(http.StatusOK, out)
}

// createCheckIn godoc
//
//	@Summary		Check in: how much do you trust them now?
//	@Description	Felt trust in another member, a whole number from 0 to 10, plotted beside the measured score.
//	@ID				createCheckIn
//	@Tags			trust
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string						true	"relationship id"
//	@Param			Idempotency-Key	header		string						false	"makes retries safe: a replay returns the first answer"
//	@Param			body			body		api.CreateCheckInRequest	true	"the check-in"
//	@Success		201				{object}	api.CheckIn
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem
//	@Failure		413				{object}	api.Problem
//	@Failure		415				{object}	api.Problem
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/relationships/{id}/check-ins [post]
func (h *handlers) createCheckIn(c echo.Context) error {
	var req api.CreateCheckInRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ci, err := h.Trust.RecordCheckIn(c.Request().Context(), userID(c), c.Param("id"),
		trust.NewCheckIn{SubjectID: req.SubjectID, FeltTrust: req.FeltTrust, Note: req.Note})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, wire.CheckIn(ci))
}

// listCheckIns godoc
//
//	@Summary	A relationship's check-ins, oldest first
//	@ID			listCheckIns
//	@Tags		trust
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id		path		string	true	"relationship id"
//	@Param		subject	query		string	false	"only check-ins about this user id"
//	@Param		limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	api.CheckInPage
//	@Failure	400		{object}	api.Problem
//	@Failure	401		{object}	api.Problem
//	@Failure	404		{object}	api.Problem
//	@Failure	429		{object}	api.Problem
//	@Router		/v1/relationships/{id}/check-ins [get]
func (h *handlers) listCheckIns(c echo.Context) error {
	pr, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	res, err := h.Trust.CheckIns(c.Request().Context(), userID(c), c.Param("id"), c.QueryParam("subject"), pr)
	if err != nil {
		return err
	}
	out := api.CheckInPage{Data: make([]api.CheckIn, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, ci := range res.Items {
		out.Data = append(out.Data, wire.CheckIn(ci))
	}
	return c.JSON(http.StatusOK, out)
}
