package httpapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/event"
)

// ToAPIEvent is the wire form of an event (also the webhook payload's data source).
func toAPIEvent(e event.Event) api.Event {
	out := api.Event{ID: e.ID, Type: e.Type, ActorID: e.ActorID, CreatedAt: e.CreatedAt, Data: e.Data}
	if e.RelationshipID != "" {
		r := e.RelationshipID
		out.RelationshipID = &r
	}
	return out
}

// listEvents godoc
//
//	@Summary		The caller's event feed, for delta sync
//	@Description	Every change in the caller's relationships (and events addressed to the caller), in commit order. Page with after=next_cursor until has_more is false; keep the last cursor and ask again later. No event is ever skipped, even when writers commit out of order. A cursor older than the retention (90 days) answers 410: sync from scratch.
//	@ID				listEvents
//	@Tags			events
//	@Produce		json
//	@Security		BearerAuth
//	@Param			after	query		string	false	"next_cursor of the previous page; omit to start from the oldest retained event"
//	@Param			types	query		string	false	"comma-separated event types to include"
//	@Param			limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Success		200		{object}	api.EventPage
//	@Failure		400		{object}	api.Problem
//	@Failure		401		{object}	api.Problem
//	@Failure		410		{object}	api.Problem	"cursor_expired"
//	@Failure		422		{object}	api.Problem
//	@Failure		429		{object}	api.Problem
//	@Router			/v1/events [get]
func (h *handlers) listEvents(c echo.Context) error {
	p, err := pageRequest(c, 0)
	if err != nil {
		return err
	}
	var types []string
	if t := c.QueryParam("types"); t != "" {
		for _, x := range strings.Split(t, ",") {
			if x = strings.TrimSpace(x); x != "" {
				types = append(types, x)
			}
		}
	}
	res, err := h.Feed.List(c.Request().Context(), userID(c), c.QueryParam("after"), types, p.Limit)
	if err != nil {
		return err
	}
	out := api.EventPage{Data: make([]api.Event, 0, len(res.Events)), NextCursor: res.Next, HasMore: res.More}
	for _, e := range res.Events {
		out.Data = append(out.Data, toAPIEvent(e))
	}
	return c.JSON(http.StatusOK, out)
}
