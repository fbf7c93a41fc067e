package httpapi

import (
	"net/http"

	"github.com/troth-app/troth/internal/wire"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/promise"
)

// occurrenceFilter reads status, due_after and due_before.
func occurrenceFilter(c echo.Context) (promise.OccurrenceFilter, error) {
	var f promise.OccurrenceFilter
	f.Status = c.QueryParam("status")
	if err := oneOf("status", f.Status, promise.OccOpen, promise.OccResolved, promise.OccSkipped, promise.OccCancelled); err != nil {
		return f, err
	}
	var err error
	if f.DueAfter, err = queryTime(c, "due_after"); err != nil {
		return f, err
	}
	if f.DueBefore, err = queryTime(c, "due_before"); err != nil {
		return f, err
	}
	if f.DueAfter != nil && f.DueBefore != nil && f.DueBefore.Before(*f.DueAfter) {
		return f, badQuery("due_before", "before_due_after", "must not lie before due_after")
	}
	return f, nil
}

func (h *handlers) occurrencePage(c echo.Context, relID string, f promise.OccurrenceFilter) error {
	pr, err := pageRequest(c, 2)
	if err != nil {
		return err
	}
	res, err := h.Promises.Occurrences(c.Request().Context(), userID(c), relID, f, pr)
	if err != nil {
		return err
	}
	out := api.OccurrencePage{Data: make([]api.Occurrence, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, o := range res.Items {
		out.Data = append(out.Data, wire.Occurrence(o))
	}
	return c.JSON(http.StatusOK, out)
}

// listPromiseOccurrences godoc
//
//	@Summary	A promise's occurrences, by due time
//	@ID			listPromiseOccurrences
//	@Tags		occurrences
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id			path		string	true	"promise id"
//	@Param		status		query		string	false	"only occurrences in this status"	Enums(open,resolved,skipped,cancelled)
//	@Param		due_after	query		string	false	"only occurrences due at or after this RFC 3339 time"	format(date-time)
//	@Param		due_before	query		string	false	"only occurrences due before this RFC 3339 time"	format(date-time)
//	@Param		limit		query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor		query		string	false	"next_cursor of the previous page"
//	@Success	200			{object}	api.OccurrencePage
//	@Failure	400			{object}	api.Problem
//	@Failure	401			{object}	api.Problem
//	@Failure	404			{object}	api.Problem
//	@Failure	429			{object}	api.Problem
//	@Router		/v1/promises/{id}/occurrences [get]
func (h *handlers) listPromiseOccurrences(c echo.Context) error {
	f, err := occurrenceFilter(c)
	if err != nil {
		return err
	}
	f.PromiseID = c.Param("id")
	return h.occurrencePage(c, "", f)
}

// listRelationshipOccurrences godoc
//
//	@Summary	A relationship's occurrences, by due time
//	@ID			listRelationshipOccurrences
//	@Tags		occurrences
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id			path		string	true	"relationship id"
//	@Param		status		query		string	false	"only occurrences in this status"	Enums(open,resolved,skipped,cancelled)
//	@Param		due_after	query		string	false	"only occurrences due at or after this RFC 3339 time"	format(date-time)
//	@Param		due_before	query		string	false	"only occurrences due before this RFC 3339 time"	format(date-time)
//	@Param		limit		query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor		query		string	false	"next_cursor of the previous page"
//	@Success	200			{object}	api.OccurrencePage
//	@Failure	400			{object}	api.Problem
//	@Failure	401			{object}	api.Problem
//	@Failure	404			{object}	api.Problem
//	@Failure	429			{object}	api.Problem
//	@Router		/v1/relationships/{id}/occurrences [get]
func (h *handlers) listRelationshipOccurrences(c echo.Context) error {
	f, err := occurrenceFilter(c)
	if err != nil {
		return err
	}
	return h.occurrencePage(c, c.Param("id"), f)
}

// getOccurrence godoc
//
//	@Summary	One occurrence
//	@ID			getOccurrence
//	@Tags		occurrences
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id				path		string	true	"occurrence id"
//	@Param		If-None-Match	header		string	false	"an ETag from an earlier response"
//	@Success	200				{object}	api.Occurrence
//	@Header		200				{string}	ETag	"entity tag"
//	@Success	304				"not modified"
//	@Failure	401				{object}	api.Problem
//	@Failure	404				{object}	api.Problem
//	@Failure	429				{object}	api.Problem
//	@Router		/v1/occurrences/{id} [get]
func (h *handlers) getOccurrence(c echo.Context) error {
	o, err := h.Promises.Occurrence(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.Occurrence(o))
}

// recordFollowThrough godoc
//
//	@Summary		Record what happened
//	@Description	By the promisee: confirmed at once. By the promisor: unverified until the promisee confirms or disputes it, or stays silent past the dispute window (then accepted). Replaces a miss the system recorded; any other existing follow-through is a 409.
//	@ID				recordFollowThrough
//	@Tags			follow-through
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string							true	"occurrence id"
//	@Param			Idempotency-Key	header		string							false	"makes retries safe: a replay returns the first answer"
//	@Param			body			body		api.RecordFollowThroughRequest	true	"what happened"
//	@Success		201				{object}	api.FollowThrough
//	@Header			201				{string}	Location	"/v1/follow-throughs/{id} of the new follow-through"
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		403				{object}	api.Problem	"not_a_party"
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"already_recorded, occurrence_replaced, occurrence_skipped, occurrence_cancelled or relationship_archived"
//	@Failure		413				{object}	api.Problem
//	@Failure		415				{object}	api.Problem
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/occurrences/{id}/follow-throughs [post]
func (h *handlers) recordFollowThrough(c echo.Context) error {
	var req api.RecordFollowThroughRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	f, err := h.Promises.Record(c.Request().Context(), userID(c), c.Param("id"),
		promise.NewFollowThrough{Outcome: req.Outcome, OccurredAt: req.OccurredAt, Note: req.Note})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/follow-throughs/"+f.ID)
	return writeTagged(c, http.StatusCreated, wire.FollowThrough(f))
}

func (h *handlers) followThroughPage(c echo.Context, relID, occID string) error {
	pr, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	res, err := h.Promises.FollowThroughs(c.Request().Context(), userID(c), relID, occID, pr)
	if err != nil {
		return err
	}
	out := api.FollowThroughPage{Data: make([]api.FollowThrough, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, f := range res.Items {
		out.Data = append(out.Data, wire.FollowThrough(f))
	}
	return c.JSON(http.StatusOK, out)
}

// listOccurrenceFollowThroughs godoc
//
//	@Summary	An occurrence's follow-throughs (a replaced system miss included)
//	@ID			listOccurrenceFollowThroughs
//	@Tags		follow-through
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id		path		string	true	"occurrence id"
//	@Param		limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	api.FollowThroughPage
//	@Failure	400		{object}	api.Problem
//	@Failure	401		{object}	api.Problem
//	@Failure	404		{object}	api.Problem
//	@Failure	429		{object}	api.Problem
//	@Router		/v1/occurrences/{id}/follow-throughs [get]
func (h *handlers) listOccurrenceFollowThroughs(c echo.Context) error {
	return h.followThroughPage(c, "", c.Param("id"))
}

// listRelationshipFollowThroughs godoc
//
//	@Summary	A relationship's follow-throughs
//	@ID			listRelationshipFollowThroughs
//	@Tags		follow-through
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id		path		string	true	"relationship id"
//	@Param		limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	api.FollowThroughPage
//	@Failure	400		{object}	api.Problem
//	@Failure	401		{object}	api.Problem
//	@Failure	404		{object}	api.Problem
//	@Failure	429		{object}	api.Problem
//	@Router		/v1/relationships/{id}/follow-throughs [get]
func (h *handlers) listRelationshipFollowThroughs(c echo.Context) error {
	return h.followThroughPage(c, c.Param("id"), "")
}

// getFollowThrough godoc
//
//	@Summary	One follow-through
//	@ID			getFollowThrough
//	@Tags		follow-through
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id				path		string	true	"follow-through id"
//	@Param		If-None-Match	header		string	false	"an ETag from an earlier response"
//	@Success	200				{object}	api.FollowThrough
//	@Header		200				{string}	ETag	"entity tag"
//	@Success	304				"not modified"
//	@Failure	401				{object}	api.Problem
//	@Failure	404				{object}	api.Problem
//	@Failure	429				{object}	api.Problem
//	@Router		/v1/follow-throughs/{id} [get]
func (h *handlers) getFollowThrough(c echo.Context) error {
	f, err := h.Promises.FollowThrough(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.FollowThrough(f))
}

// confirmFollowThrough godoc
//
//	@Summary		Confirm the promisor's account
//	@Description	Promisee only, on an unverified follow-through.
//	@ID				confirmFollowThrough
//	@Tags			follow-through
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string	true	"follow-through id"
//	@Param			Idempotency-Key	header		string	false	"makes retries safe: a replay returns the first answer"
//	@Success		200				{object}	api.FollowThrough
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		403				{object}	api.Problem	"promisee_only"
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"not_unverified"
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/follow-throughs/{id}/confirm [post]
func (h *handlers) confirmFollowThrough(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	f, err := h.Promises.Confirm(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.FollowThrough(f))
}

// disputeFollowThrough godoc
//
//	@Summary		Dispute the promisor's account
//	@Description	Promisee only, on an unverified follow-through, with a reason. The promisee's account prevails: the occurrence scores as not kept.
//	@ID				disputeFollowThrough
//	@Tags			follow-through
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string				true	"follow-through id"
//	@Param			Idempotency-Key	header		string				false	"makes retries safe: a replay returns the first answer"
//	@Param			body			body		api.DisputeRequest	true	"why"
//	@Success		200				{object}	api.FollowThrough
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		403				{object}	api.Problem	"promisee_only"
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"not_unverified"
//	@Failure		413				{object}	api.Problem
//	@Failure		415				{object}	api.Problem
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/follow-throughs/{id}/dispute [post]
func (h *handlers) disputeFollowThrough(c echo.Context) error {
	var req api.DisputeRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	f, err := h.Promises.Dispute(c.Request().Context(), userID(c), c.Param("id"), req.Reason)
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.FollowThrough(f))
}

// proposeRenegotiation godoc
//
//	@Summary		Propose a new due time
//	@Description	Promisor only. Takes effect when the promisee accepts (until then the original time stands); at once when the promisee has not joined. Accepted before the due time, the occurrence simply moves. Proposed after the due time and its grace, the occurrence is scored missed and acceptance creates a new one.
//	@ID				proposeRenegotiation
//	@Tags			renegotiation
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string							true	"occurrence id"
//	@Param			Idempotency-Key	header		string							false	"makes retries safe: a replay returns the first answer"
//	@Param			body			body		api.ProposeRenegotiationRequest	true	"the proposal"
//	@Success		201				{object}	api.Renegotiation
//	@Header			201				{string}	Location	"/v1/renegotiations/{id} of the new renegotiation"
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		403				{object}	api.Problem	"promisor_only"
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"renegotiation_pending, occurrence_resolved, occurrence_replaced, occurrence_skipped, occurrence_cancelled, promise_closed or relationship_archived"
//	@Failure		413				{object}	api.Problem
//	@Failure		415				{object}	api.Problem
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/occurrences/{id}/renegotiations [post]
func (h *handlers) proposeRenegotiation(c echo.Context) error {
	var req api.ProposeRenegotiationRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	r, err := h.Promises.Propose(c.Request().Context(), userID(c), c.Param("id"), req.ProposedDueAt, req.Reason)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/renegotiations/"+r.ID)
	return writeTagged(c, http.StatusCreated, wire.Renegotiation(r))
}

func (h *handlers) renegotiationPage(c echo.Context, relID, occID string) error {
	pr, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if err := oneOf("status", status, promise.RenegPending, promise.RenegAccepted, promise.RenegDeclined); err != nil {
		return err
	}
	res, err := h.Promises.Renegotiations(c.Request().Context(), userID(c), relID, occID, status, pr)
	if err != nil {
		return err
	}
	out := api.RenegotiationPage{Data: make([]api.Renegotiation, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, r := range res.Items {
		out.Data = append(out.Data, wire.Renegotiation(r))
	}
	return c.JSON(http.StatusOK, out)
}

// listOccurrenceRenegotiations godoc
//
//	@Summary	An occurrence's renegotiations
//	@ID			listOccurrenceRenegotiations
//	@Tags		renegotiation
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id		path		string	true	"occurrence id"
//	@Param		status	query		string	false	"only proposals in this status"	Enums(pending,accepted,declined)
//	@Param		limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	api.RenegotiationPage
//	@Failure	400		{object}	api.Problem
//	@Failure	401		{object}	api.Problem
//	@Failure	404		{object}	api.Problem
//	@Failure	429		{object}	api.Problem
//	@Router		/v1/occurrences/{id}/renegotiations [get]
func (h *handlers) listOccurrenceRenegotiations(c echo.Context) error {
	return h.renegotiationPage(c, "", c.Param("id"))
}

// listRelationshipRenegotiations godoc
//
//	@Summary	A relationship's renegotiations
//	@ID			listRelationshipRenegotiations
//	@Tags		renegotiation
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id		path		string	true	"relationship id"
//	@Param		status	query		string	false	"only proposals in this status"	Enums(pending,accepted,declined)
//	@Param		limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	api.RenegotiationPage
//	@Failure	400		{object}	api.Problem
//	@Failure	401		{object}	api.Problem
//	@Failure	404		{object}	api.Problem
//	@Failure	429		{object}	api.Problem
//	@Router		/v1/relationships/{id}/renegotiations [get]
func (h *handlers) listRelationshipRenegotiations(c echo.Context) error {
	return h.renegotiationPage(c, c.Param("id"), "")
}

// getRenegotiation godoc
//
//	@Summary	One renegotiation
//	@ID			getRenegotiation
//	@Tags		renegotiation
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id				path		string	true	"renegotiation id"
//	@Param		If-None-Match	header		string	false	"an ETag from an earlier response"
//	@Success	200				{object}	api.Renegotiation
//	@Header		200				{string}	ETag	"entity tag"
//	@Success	304				"not modified"
//	@Failure	401				{object}	api.Problem
//	@Failure	404				{object}	api.Problem
//	@Failure	429				{object}	api.Problem
//	@Router		/v1/renegotiations/{id} [get]
func (h *handlers) getRenegotiation(c echo.Context) error {
	r, err := h.Promises.Renegotiation(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.Renegotiation(r))
}

// acceptRenegotiation godoc
//
//	@Summary	Accept a proposed time (promisee only)
//	@ID			acceptRenegotiation
//	@Tags		renegotiation
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id				path		string	true	"renegotiation id"
//	@Param		Idempotency-Key	header		string	false	"makes retries safe: a replay returns the first answer"
//	@Success	200				{object}	api.Renegotiation
//	@Failure	400				{object}	api.Problem
//	@Failure	401				{object}	api.Problem
//	@Failure	403				{object}	api.Problem	"promisee_only"
//	@Failure	404				{object}	api.Problem
//	@Failure	409				{object}	api.Problem	"renegotiation_accepted, renegotiation_declined, occurrence_resolved, occurrence_replaced, occurrence_cancelled, promise_closed or relationship_archived"
//	@Failure	422				{object}	api.Problem
//	@Failure	429				{object}	api.Problem
//	@Router		/v1/renegotiations/{id}/accept [post]
func (h *handlers) acceptRenegotiation(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	r, err := h.Promises.Accept(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wire.Renegotiation(r))
}

// declineRenegotiation godoc
//
//	@Summary	Decline a proposed time (promisee only); the original stands
//	@ID			declineRenegotiation
//	@Tags		renegotiation
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id				path		string	true	"renegotiation id"
//	@Param		Idempotency-Key	header		string	false	"makes retries safe: a replay returns the first answer"
//	@Success	200				{object}	api.Renegotiation
//	@Failure	400				{object}	api.Problem
//	@Failure	401				{object}	api.Problem
//	@Failure	403				{object}	api.Problem	"promisee_only"
//	@Failure	404				{object}	api.Problem
//	@Failure	409				{object}	api.Problem
//	@Failure	422				{object}	api.Problem
//	@Failure	429				{object}	api.Problem
//	@Router		/v1/renegotiations/{id}/decline [post]
func (h *handlers) declineRenegotiation(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	r, err := h.Promises.Decline(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, wire.Renegotiation(r))
}
