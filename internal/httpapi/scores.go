package httpapi

import (
	"net/http"
	"strconv"

	"github.com/troth-app/troth/internal/wire"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/scoring"
)

// listScores godoc
//
//	@Summary		Every member's consistency score
//	@Description	How consistently each current member keeps the promises they make in the relationship, now.
//	@ID				listScores
//	@Tags			scores
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id	path		string	true	"relationship id"
//	@Success		200	{object}	api.ScoreList
//	@Failure		401	{object}	api.Problem
//	@Failure		404	{object}	api.Problem
//	@Failure		429	{object}	api.Problem
//	@Router			/v1/relationships/{id}/scores [get]
func (h *handlers) listScores(c echo.Context) error {
	rs, err := h.Scores.Scores(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	out := api.ScoreList{Data: make([]api.Score, 0, len(rs))}
	for _, r := range rs {
		out.Data = append(out.Data, wire.Score(r))
	}
	return c.JSON(http.StatusOK, out)
}

// getMemberScore godoc
//
//	@Summary		One member's consistency score
//	@Description	Optionally as it stood at an earlier time (at).
//	@ID				getMemberScore
//	@Tags			scores
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string	true	"relationship id"
//	@Param			user_id	path		string	true	"the member's user id"
//	@Param			at		query		string	false	"evaluate at this RFC 3339 time (not in the future); default now"	format(date-time)
//	@Success		200		{object}	api.Score
//	@Failure		400		{object}	api.Problem
//	@Failure		401		{object}	api.Problem
//	@Failure		404		{object}	api.Problem
//	@Failure		422		{object}	api.Problem
//	@Failure		429		{object}	api.Problem
//	@Router			/v1/relationships/{id}/members/{user_id}/score [get]
func (h *handlers) getMemberScore(c echo.Context) error {
	at, err := queryTime(c, "at")
	if err != nil {
		return err
	}
	r, err := h.Scores.MemberScore(c.Request().Context(), userID(c), c.Param("id"), c.Param("user_id"), at)
	if err != nil {
		return err
	}
	return writeScore(c, wire.Score(r))
}

// getPromiseScore godoc
//
//	@Summary	One promise's consistency score
//	@ID			getPromiseScore
//	@Tags		scores
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id	path		string	true	"promise id"
//	@Param		at	query		string	false	"evaluate at this RFC 3339 time (not in the future); default now"	format(date-time)
//	@Success	200	{object}	api.Score
//	@Failure	400	{object}	api.Problem
//	@Failure	401	{object}	api.Problem
//	@Failure	404	{object}	api.Problem
//	@Failure	422	{object}	api.Problem
//	@Failure	429	{object}	api.Problem
//	@Router		/v1/promises/{id}/score [get]
func (h *handlers) getPromiseScore(c echo.Context) error {
	at, err := queryTime(c, "at")
	if err != nil {
		return err
	}
	r, err := h.Scores.PromiseScore(c.Request().Context(), userID(c), c.Param("id"), at)
	if err != nil {
		return err
	}
	return writeScore(c, wire.Score(r))
}

func (h *handlers) timelineQuery(c echo.Context) (scoring.TimelineQuery, error) {
	q := scoring.TimelineQuery{MemberID: c.QueryParam("member"), Bucket: c.QueryParam("bucket")}
	var err error
	if q.From, err = queryTime(c, "from"); err != nil {
		return q, err
	}
	if q.To, err = queryTime(c, "to"); err != nil {
		return q, err
	}
	return q, nil
}

func toAPITimeline(t scoring.Timeline) api.Timeline {
	out := toAPITimelineHead(t)
	out.Points = make([]api.TimelinePoint, 0, len(t.Points))
	for _, p := range t.Points {
		out.Points = append(out.Points, apiPoint(p))
	}
	return out
}

// toAPITimelineHead is toAPITimeline but the points (nil).
func toAPITimelineHead(t scoring.Timeline) api.Timeline {
	out := api.Timeline{
		RelationshipID: t.RelationshipID, MemberID: t.MemberID, TimeZone: t.TimeZone, Bucket: t.Bucket,
		From: t.From, To: t.To, Milestones: make([]api.Milestone, 0, len(t.Milestones)),
		Patience: api.Patience{StartedAt: t.Patience.StartedAt, EndsAt: t.Patience.EndsAt,
			ElapsedDays: t.Patience.ElapsedDays, RemainingDays: t.Patience.RemainingDays},
		Projection: api.Projection{Cadence: t.Projection.Cadence, TargetScore: t.Projection.Target,
			EstimatedDate: t.Projection.EstimatedDate, OccurrencesNeeded: t.Projection.OccurrencesNeeded,
			WithinPatience: t.Projection.WithinPatience},
		Current: wire.Score(t.Current),
	}
	if t.Projection.Reason != "" {
		r := t.Projection.Reason
		out.Projection.Reason = &r
	}
	for _, m := range t.Milestones {
		out.Milestones = append(out.Milestones, api.Milestone{Name: m.Name, ReachedAt: m.ReachedAt})
	}
	return out
}

func apiPoint(p scoring.Point) api.TimelinePoint {
	return api.TimelinePoint{Date: p.Date, Score: p.Score, Level: p.Level, Kept: p.Kept, Late: p.Late,
		Partial: p.Partial, Missed: p.Missed, Open: p.Open, FeltTrust: p.FeltTrust}
}

// finishedJSON keys the JSON of a timeline's finished points
// (scoring.Finished.Derived); keptJSON is that JSON.
type (
	finishedJSON struct{}
	keptJSON     struct {
		b   []byte
		err error
	}
)

// getTimeline godoc
//
//	@Summary		The patience timeline
//	@Description	A member's score over time in the relationship's zone (one point a day or week, the value at the bucket's end), felt trust beside it, the milestones since the latest breach, the patience window and a projection of when trust is back if every promise is kept. At most 1000 points.
//	@ID				getTimeline
//	@Tags			scores
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string	true	"relationship id"
//	@Param			member	query		string	false	"the member (user id); default: the member of the latest breach, else the caller"
//	@Param			from	query		string	false	"RFC 3339; default: the member's latest breach at or before to, else the relationship's creation"	format(date-time)
//	@Param			to		query		string	false	"RFC 3339, not in the future; default now"	format(date-time)
//	@Param			bucket	query		string	false	"point size"	Enums(day,week)	default(day)
//	@Success		200		{object}	api.Timeline
//	@Failure		400		{object}	api.Problem
//	@Failure		401		{object}	api.Problem
//	@Failure		404		{object}	api.Problem
//	@Failure		422		{object}	api.Problem
//	@Failure		429		{object}	api.Problem
//	@Router			/v1/relationships/{id}/timeline [get]
func (h *handlers) getTimeline(c echo.Context) error {
	q, err := h.timelineQuery(c)
	if err != nil {
		return err
	}
	t, err := h.Scores.TimelineParts(c.Request().Context(), userID(c), c.Param("id"), q)
	if err != nil {
		return err
	}
	if c.QueryParams().Has("pretty") {
		return c.JSON(http.StatusOK, toAPITimeline(t.Whole())) // indented, as Echo does for ?pretty
	}
	finished := t.Finished.Points
	point := func(i int) api.TimelinePoint {
		if i < len(finished) {
			return apiPoint(finished[i])
		}
		return apiPoint(t.Last)
	}
	// The finished points are the same for every request that reads the
	// same rows: their JSON is written once and kept with them.
	kept := t.Finished.Derived(finishedJSON{}, func() any {
		b, err := appendPoints(nil, 0, len(finished), point)
		return keptJSON{b, err}
	}).(keptJSON)
	if kept.err != nil {
		return kept.err
	}
	buf := timelineBufs.Get().(*[]byte)
	body, err := timelineWithPoints((*buf)[:0], toAPITimelineHead(t.Timeline), true, kept.b, len(finished), len(finished)+1, point)
	if err != nil {
		return err
	}
	// With the newline c.JSON's encoder ends every other body with, and
	// its length (not chunked); the response writer copies the bytes.
	body = append(body, '\n')
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	err = c.JSONBlob(http.StatusOK, body)
	if cap(body) <= 1<<20 {
		*buf = body[:0]
		timelineBufs.Put(buf)
	}
	return err
}
