package httpapi

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/account"
	"github.com/troth-app/troth/internal/export"
	"github.com/troth-app/troth/internal/fault"
	"github.com/troth-app/troth/internal/wire"
)

// exportMe godoc
//
//	@Summary		Export everything about the caller
//	@ID			exportMe
//	@Description	Everything the caller has written and everything about them, as one JSON document: the profile; every relationship they belong or belonged to, with their membership (each period of it, for one who left and came back) and the promises they made or that were made to them, those promises' occurrences, follow-throughs, renegotiations and pauses, breaches by or recorded by them and check-ins by or about them; their current score in each relationship; their API keys and webhooks (never secrets). Other members appear only as a member sees them.
//	@Tags			me
//	@Produce		json
//	@Security		BearerAuth
//	@Success		200	{object}	api.Export
//	@Header			200	{string}	Content-Disposition	"attachment, with the file name troth-export-<user id>.json"
//	@Failure		401	{object}	api.Problem
//	@Failure		429	{object}	api.Problem
//	@Router			/v1/me/export [get]
func (h *handlers) exportMe(c echo.Context) error {
	d, err := h.Export.Of(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="troth-export-%s.json"`, d.User.ID))
	return c.JSON(http.StatusOK, toAPIExport(d))
}

var errDeleteNeedsUserToken = fault.New(fault.KindForbidden, "user_token_required",
	"API keys cannot delete the account: use an access token from /v1/auth/login")

// deleteMe godoc
//
//	@Summary		Delete the caller's account
//	@ID			deleteMe
//	@Description	Deletes the account at once, in one transaction: every session and API key is revoked, webhooks are removed, the email, display name and password are erased, and every membership ends. Promises, follow-throughs and the rest of the history shared with another member stay for that member, showing the person as "former member"; a relationship nobody else belongs to is archived. Access tokens already issued stop working. Export first (GET /v1/me/export) to keep a copy. Needs an access token, not an API key. Send If-Match with the profile's ETag to refuse (412) if it changed since.
//	@Tags			me
//	@Security		BearerAuth
//	@Param			If-Match	header	string	false	"the profile ETag the deletion is based on"
//	@Success		204
//	@Failure		401	{object}	api.Problem
//	@Failure		403	{object}	api.Problem	"user_token_required"
//	@Failure		412	{object}	api.Problem	"precondition_failed"
//	@Failure		429	{object}	api.Problem
//	@Router			/v1/me [delete]
func (h *handlers) deleteMe(c echo.Context) error {
	if apiKeyScope(c) != "" {
		return errDeleteNeedsUserToken
	}
	ifMatch := c.Request().Header.Get("If-Match")
	err := h.Accounts.Delete(c.Request().Context(), userID(c),
		func(cur account.User) error { return checkIfMatch(ifMatch, wire.User(cur)) })
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func toAPIExport(d export.Data) api.Export {
	out := api.Export{
		ExportedAt: d.ExportedAt, User: wire.User(d.User),
		Relationships: make([]api.ExportRelationship, len(d.Relationships)),
		APIKeys:       make([]api.APIKey, len(d.APIKeys)),
		Webhooks:      make([]api.Webhook, len(d.Webhooks)),
	}
	for i, k := range d.APIKeys {
		out.APIKeys[i] = wire.APIKey(k)
	}
	for i, e := range d.Webhooks {
		out.Webhooks[i] = toAPIWebhook(e)
	}
	for i, r := range d.Relationships {
		m := r.Membership
		x := api.ExportRelationship{
			RelationshipID: r.RelationshipID,
			Membership:     api.ExportMembership{Role: m.Role, JoinedAt: m.JoinedAt, LeftAt: m.LeftAt, Periods: make([]api.ExportMembershipPeriod, len(r.Periods))},
			Promises:       make([]api.Promise, len(r.Promises)), Occurrences: make([]api.Occurrence, len(r.Occurrences)),
			FollowThroughs: make([]api.FollowThrough, len(r.FollowThroughs)), Renegotiations: make([]api.Renegotiation, len(r.Renegotiations)),
			Pauses: make([]api.Pause, len(r.Pauses)), Breaches: make([]api.Breach, len(r.Breaches)), CheckIns: make([]api.CheckIn, len(r.CheckIns)),
		}
		for j, p := range r.Periods {
			x.Membership.Periods[j] = api.ExportMembershipPeriod{JoinedAt: p.JoinedAt, LeftAt: p.LeftAt}
		}
		if r.Relationship != nil {
			rel := wire.Relationship(*r.Relationship)
			x.Relationship = &rel
		}
		for j, v := range r.Promises {
			x.Promises[j] = wire.Promise(v)
		}
		for j, v := range r.Occurrences {
			x.Occurrences[j] = wire.Occurrence(v)
		}
		for j, v := range r.FollowThroughs {
			x.FollowThroughs[j] = wire.FollowThrough(v)
		}
		for j, v := range r.Renegotiations {
			x.Renegotiations[j] = wire.Renegotiation(v)
		}
		for j, v := range r.Pauses {
			x.Pauses[j] = wire.Pause(v)
		}
		for j, v := range r.Breaches {
			x.Breaches[j] = wire.Breach(v)
		}
		for j, v := range r.CheckIns {
			x.CheckIns[j] = wire.CheckIn(v)
		}
		if r.Score != nil {
			s := wire.Score(*r.Score)
			x.Score = &s
		}
		out.Relationships[i] = x
	}
	return out
}
