package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/internal/chart"
)

// getTimelineSVG godoc
//
//	@Summary		The patience timeline as an SVG chart
//	@Description	The series of GET /v1/relationships/{id}/timeline drawn as a self-contained SVG document (no scripts, links or external fonts) for apps to embed as is: the score on the level bands, felt trust from check-ins (0–10), the latest breach, the milestones, the target and the projection, dates in the relationship's zone. Errors are problem documents, as elsewhere.
//	@ID				getTimelineSVG
//	@Tags			scores
//	@Produce		image/svg+xml
//	@Security		BearerAuth
//	@Param			id		path		string	true	"relationship id"
//	@Param			member	query		string	false	"the member (user id); default: the member of the latest breach, else the caller"
//	@Param			from	query		string	false	"RFC 3339; default: the member's latest breach at or before to, else the relationship's creation"	format(date-time)
//	@Param			to		query		string	false	"RFC 3339, not in the future; default now"	format(date-time)
//	@Param			bucket	query		string	false	"point size"	Enums(day,week)	default(day)
//	@Success		200		{string}	string	"an SVG document"
//	@Failure		400		{object}	api.Problem
//	@Failure		401		{object}	api.Problem
//	@Failure		404		{object}	api.Problem
//	@Failure		422		{object}	api.Problem
//	@Failure		429		{object}	api.Problem
//	@Router			/v1/relationships/{id}/timeline.svg [get]
func (h *handlers) getTimelineSVG(c echo.Context) error {
	q, err := h.timelineQuery(c)
	if err != nil {
		return err
	}
	t, err := h.Scores.Timeline(c.Request().Context(), userID(c), c.Param("id"), q)
	if err != nil {
		return err
	}
	// Cache-Control stays the no-store every /v1 answer carries: the chart
	// is personal data as much as the JSON timeline is.
	hd := c.Response().Header()
	// Opened on its own, the document may draw but not fetch or run anything.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	// The title names the member as the app shows them; one who has left
	// is named by their id.
	name := ""
	if rel, err := h.Relationships.Get(c.Request().Context(), userID(c), c.Param("id")); err == nil {
		for _, m := range rel.Members {
			if m.UserID == t.MemberID {
				name = m.DisplayName
			}
		}
	}
	return c.Blob(http.StatusOK, "image/svg+xml; charset=utf-8", chart.NamedTimeline(t, name, h.Now()))
}
