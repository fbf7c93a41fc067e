package httpapi

import (
	"net/http"

	"github.com/troth-app/troth/internal/wire"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/promise"
)

func recurrenceInput(r *api.RecurrenceInput) *promise.RecurrenceInput {
	if r == nil {
		return nil
	}
	return &promise.RecurrenceInput{RRule: r.RRule, TimeZone: r.TimeZone, LocalTime: r.LocalTime, StartsOn: r.StartsOn}
}

// createPromise godoc
//
//	@Summary		Make a promise
//	@Description	The caller is the promisor. Give due_at (a one-off; it may lie up to 365 days in the past, for promises logged after the fact) or recurrence (e.g. every Sunday at 20:00 Europe/Berlin). Occurrences are created at once: one for a one-off, the next 60 days' for a recurring promise.
//	@ID				createPromise
//	@Tags			promises
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string						true	"relationship id"
//	@Param			Idempotency-Key	header		string						false	"makes retries safe: a replay returns the first answer"
//	@Param			body			body		api.CreatePromiseRequest	true	"the promise"
//	@Success		201				{object}	api.Promise
//	@Header			201				{string}	Location	"/v1/promises/{id} of the new promise"
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem
//	@Failure		413				{object}	api.Problem
//	@Failure		415				{object}	api.Problem
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/relationships/{id}/promises [post]
func (h *handlers) createPromise(c echo.Context) error {
	var req api.CreatePromiseRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	p, err := h.Promises.Create(c.Request().Context(), userID(c), c.Param("id"), promise.NewPromise{
		PromiseeID: req.PromiseeID, Title: req.Title, Details: req.Details, DueAt: req.DueAt, Recurrence: recurrenceInput(req.Recurrence),
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/promises/"+p.ID)
	return writeTagged(c, http.StatusCreated, wire.Promise(p))
}

// listPromises godoc
//
//	@Summary	List a relationship's promises
//	@ID			listPromises
//	@Tags		promises
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id				path		string	true	"relationship id"
//	@Param		status			query		string	false	"only promises in this status"	Enums(active,completed,cancelled,archived)
//	@Param		promisor		query		string	false	"only promises made by this user id"
//	@Param		promisee		query		string	false	"only promises made to this user id"
//	@Param		updated_since	query		string	false	"only promises changed at or after this RFC 3339 time (delta sync)"	format(date-time)
//	@Param		limit			query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor			query		string	false	"next_cursor of the previous page"
//	@Success	200				{object}	api.PromisePage
//	@Failure	400				{object}	api.Problem
//	@Failure	401				{object}	api.Problem
//	@Failure	404				{object}	api.Problem
//	@Failure	429				{object}	api.Problem
//	@Router		/v1/relationships/{id}/promises [get]
func (h *handlers) listPromises(c echo.Context) error {
	p, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	since, err := queryTime(c, "updated_since")
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if err := oneOf("status", status, promise.StatusActive, promise.StatusCompleted, promise.StatusCancelled, promise.StatusArchived); err != nil {
		return err
	}
	res, err := h.Promises.List(c.Request().Context(), userID(c), c.Param("id"), promise.PromiseFilter{
		Status: status, PromisorID: c.QueryParam("promisor"), PromiseeID: c.QueryParam("promisee"), UpdatedSince: since,
	}, p)
	if err != nil {
		return err
	}
	out := api.PromisePage{Data: make([]api.Promise, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, x := range res.Items {
		out.Data = append(out.Data, wire.Promise(x))
	}
	return c.JSON(http.StatusOK, out)
}

// getPromise godoc
//
//	@Summary	One promise
//	@ID			getPromise
//	@Tags		promises
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id				path		string	true	"promise id"
//	@Param		If-None-Match	header		string	false	"an ETag from an earlier response"
//	@Success	200				{object}	api.Promise
//	@Header		200				{string}	ETag	"entity tag"
//	@Success	304				"not modified"
//	@Failure	401				{object}	api.Problem
//	@Failure	404				{object}	api.Problem
//	@Failure	429				{object}	api.Problem
//	@Router		/v1/promises/{id} [get]
func (h *handlers) getPromise(c echo.Context) error {
	p, err := h.Promises.Get(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.Promise(p))
}

// updatePromise godoc
//
//	@Summary		Edit a promise
//	@Description	Promisor only. A new recurrence replaces the open occurrences from now on; what is past stays. Status can only become "archived". To move a due time, renegotiate the occurrence.
//	@ID				updatePromise
//	@Tags			promises
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id			path		string						true	"promise id"
//	@Param			If-Match	header		string						false	"the ETag the change is based on"
//	@Param			body		body		api.UpdatePromiseRequest	true	"the changes"
//	@Success		200			{object}	api.Promise
//	@Header			200			{string}	ETag	"entity tag"
//	@Failure		400			{object}	api.Problem
//	@Failure		401			{object}	api.Problem
//	@Failure		403			{object}	api.Problem	"promisor_only"
//	@Failure		404			{object}	api.Problem
//	@Failure		409			{object}	api.Problem	"promise_closed"
//	@Failure		412			{object}	api.Problem
//	@Failure		413			{object}	api.Problem
//	@Failure		415			{object}	api.Problem
//	@Failure		422			{object}	api.Problem
//	@Failure		429			{object}	api.Problem
//	@Router			/v1/promises/{id} [patch]
func (h *handlers) updatePromise(c echo.Context) error {
	var req api.UpdatePromiseRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ifMatch := c.Request().Header.Get("If-Match")
	p, err := h.Promises.Update(c.Request().Context(), userID(c), c.Param("id"), promise.Changes{
		Title: req.Title, Details: req.Details, Recurrence: recurrenceInput(req.Recurrence), Status: req.Status,
	}, func(cur promise.Promise) error { return checkIfMatch(ifMatch, wire.Promise(cur)) })
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.Promise(p))
}

// cancelPromise godoc
//
//	@Summary		Cancel a promise
//	@Description	Promisor only. Open occurrences from now on are cancelled and never scored; what already happened stays.
//	@ID				cancelPromise
//	@Tags			promises
//	@Security		BearerAuth
//	@Param			id			path	string	true	"promise id"
//	@Param			If-Match	header	string	false	"the ETag the change is based on"
//	@Success		204
//	@Failure		401	{object}	api.Problem
//	@Failure		403	{object}	api.Problem
//	@Failure		404	{object}	api.Problem
//	@Failure		409	{object}	api.Problem
//	@Failure		412	{object}	api.Problem
//	@Failure		429	{object}	api.Problem
//	@Router			/v1/promises/{id} [delete]
func (h *handlers) cancelPromise(c echo.Context) error {
	ifMatch := c.Request().Header.Get("If-Match")
	err := h.Promises.Cancel(c.Request().Context(), userID(c), c.Param("id"),
		func(cur promise.Promise) error { return checkIfMatch(ifMatch, wire.Promise(cur)) })
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// createPause godoc
//
//	@Summary		Pause a recurring promise
//	@Description	For a range of local dates agreed ahead (holidays, illness): occurrences on those dates are skipped, not scored, and break no streak. A start before today is refused.
//	@ID				createPause
//	@Tags			promises
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string					true	"promise id"
//	@Param			Idempotency-Key	header		string					false	"makes retries safe: a replay returns the first answer"
//	@Param			body			body		api.CreatePauseRequest	true	"the dates"
//	@Success		201				{object}	api.Pause
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		403				{object}	api.Problem
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"not_recurring"
//	@Failure		413				{object}	api.Problem
//	@Failure		415				{object}	api.Problem
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/promises/{id}/pauses [post]
func (h *handlers) createPause(c echo.Context) error {
	var req api.CreatePauseRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	p, err := h.Promises.CreatePause(c.Request().Context(), userID(c), c.Param("id"),
		promise.NewPause{StartsOn: req.StartsOn, EndsOn: req.EndsOn, Reason: req.Reason})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, wire.Pause(p))
}

// listPauses godoc
//
//	@Summary	A promise's pauses
//	@ID			listPauses
//	@Tags		promises
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id		path		string	true	"promise id"
//	@Param		limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	api.PausePage
//	@Failure	400		{object}	api.Problem
//	@Failure	401		{object}	api.Problem
//	@Failure	404		{object}	api.Problem
//	@Failure	429		{object}	api.Problem
//	@Router		/v1/promises/{id}/pauses [get]
func (h *handlers) listPauses(c echo.Context) error {
	pr, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	res, err := h.Promises.Pauses(c.Request().Context(), userID(c), c.Param("id"), pr)
	if err != nil {
		return err
	}
	out := api.PausePage{Data: make([]api.Pause, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, p := range res.Items {
		out.Data = append(out.Data, wire.Pause(p))
	}
	return c.JSON(http.StatusOK, out)
}
