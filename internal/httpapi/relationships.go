package httpapi

import (
	"net/http"

	"github.com/troth-app/troth/internal/wire"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/relationship"
)

func settingsInput(in *api.RelationshipSettingsInput) relationship.SettingsInput {
	if in == nil {
		return relationship.SettingsInput{}
	}
	return relationship.SettingsInput{
		HalfLifeDays: in.HalfLifeDays, GraceMinutes: in.GraceMinutes, DisputeWindowHours: in.DisputeWindowHours,
		RemindMinutes: in.RemindMinutes, TargetScore: in.TargetScore, PatienceDays: in.PatienceDays,
	}
}

// createRelationship godoc
//
//	@Summary		Create a relationship
//	@Description	The caller becomes its first member (role owner). Invite the other person with POST /v1/relationships/{id}/invites.
//	@ID				createRelationship
//	@Tags			relationships
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			Idempotency-Key	header		string							false	"makes retries safe: a replay returns the first answer"
//	@Param			body			body		api.CreateRelationshipRequest	true	"the relationship"
//	@Success		201				{object}	api.Relationship
//	@Header			201				{string}	Location	"/v1/relationships/{id} of the new relationship"
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"idempotency_in_flight"
//	@Failure		413				{object}	api.Problem
//	@Failure		415				{object}	api.Problem
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/relationships [post]
func (h *handlers) createRelationship(c echo.Context) error {
	var req api.CreateRelationshipRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	in := relationship.Input{PartnerName: req.PartnerName, Settings: settingsInput(req.Settings)}
	in.Name, in.TimeZone = &req.Name, &req.TimeZone
	if req.Name == "" {
		in.Name = nil
	}
	if req.TimeZone == "" {
		in.TimeZone = nil
	}
	r, err := h.Relationships.Create(c.Request().Context(), userID(c), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/relationships/"+r.ID)
	return writeTagged(c, http.StatusCreated, wire.Relationship(r))
}

// listRelationships godoc
//
//	@Summary	List the caller's relationships
//	@ID			listRelationships
//	@Tags		relationships
//	@Produce	json
//	@Security	BearerAuth
//	@Param		limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	api.RelationshipPage
//	@Failure	400		{object}	api.Problem
//	@Failure	401		{object}	api.Problem
//	@Failure	429		{object}	api.Problem
//	@Router		/v1/relationships [get]
func (h *handlers) listRelationships(c echo.Context) error {
	p, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	res, err := h.Relationships.List(c.Request().Context(), userID(c), p)
	if err != nil {
		return err
	}
	out := api.RelationshipPage{Data: make([]api.Relationship, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, r := range res.Items {
		out.Data = append(out.Data, wire.Relationship(r))
	}
	return c.JSON(http.StatusOK, out)
}

// getRelationship godoc
//
//	@Summary	One relationship
//	@ID			getRelationship
//	@Tags		relationships
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id				path		string	true	"relationship id"
//	@Param		If-None-Match	header		string	false	"an ETag from an earlier response"
//	@Success	200				{object}	api.Relationship
//	@Header		200				{string}	ETag	"entity tag"
//	@Success	304				"not modified"
//	@Failure	401				{object}	api.Problem
//	@Failure	404				{object}	api.Problem
//	@Failure	429				{object}	api.Problem
//	@Router		/v1/relationships/{id} [get]
func (h *handlers) getRelationship(c echo.Context) error {
	r, err := h.Relationships.Get(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.Relationship(r))
}

// updateRelationship godoc
//
//	@Summary		Change a relationship's name, time zone, partner name or settings
//	@Description	Absent fields stay as they are. Send If-Match to refuse the change (412) if the relationship changed since you read it.
//	@ID				updateRelationship
//	@Tags			relationships
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id			path		string							true	"relationship id"
//	@Param			If-Match	header		string							false	"the ETag the change is based on"
//	@Param			body		body		api.UpdateRelationshipRequest	true	"the changes"
//	@Success		200			{object}	api.Relationship
//	@Header			200			{string}	ETag	"entity tag"
//	@Failure		400			{object}	api.Problem
//	@Failure		401			{object}	api.Problem
//	@Failure		404			{object}	api.Problem
//	@Failure		409			{object}	api.Problem	"relationship_archived"
//	@Failure		412			{object}	api.Problem
//	@Failure		413			{object}	api.Problem
//	@Failure		415			{object}	api.Problem
//	@Failure		422			{object}	api.Problem
//	@Failure		429			{object}	api.Problem
//	@Router			/v1/relationships/{id} [patch]
func (h *handlers) updateRelationship(c echo.Context) error {
	var req api.UpdateRelationshipRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ifMatch := c.Request().Header.Get("If-Match")
	r, err := h.Relationships.Update(c.Request().Context(), userID(c), c.Param("id"),
		relationship.Input{Name: req.Name, TimeZone: req.TimeZone, PartnerName: req.PartnerName, Settings: settingsInput(req.Settings)},
		func(cur relationship.Relationship) error { return checkIfMatch(ifMatch, wire.Relationship(cur)) })
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.Relationship(r))
}

// archiveRelationship godoc
//
//	@Summary		Archive a relationship
//	@Description	An archived relationship stays readable to its members and changes no more. Archiving twice is not an error.
//	@ID				archiveRelationship
//	@Tags			relationships
//	@Security		BearerAuth
//	@Param			id			path	string	true	"relationship id"
//	@Param			If-Match	header	string	false	"the ETag the change is based on"
//	@Success		204
//	@Failure		401	{object}	api.Problem
//	@Failure		404	{object}	api.Problem
//	@Failure		412	{object}	api.Problem
//	@Failure		429	{object}	api.Problem
//	@Router			/v1/relationships/{id} [delete]
func (h *handlers) archiveRelationship(c echo.Context) error {
	ifMatch := c.Request().Header.Get("If-Match")
	err := h.Relationships.Archive(c.Request().Context(), userID(c), c.Param("id"),
		func(cur relationship.Relationship) error { return checkIfMatch(ifMatch, wire.Relationship(cur)) })
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// createInvite godoc
//
//	@Summary		Invite someone into a relationship
//	@Description	Returns a single-use code, valid for 7 days, for the other person to accept with POST /v1/invites/{code}/accept, and the invite's id, to revoke it with DELETE /v1/relationships/{id}/invites/{invite_id}.
//	@ID				createInvite
//	@Tags			relationships
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string	true	"relationship id"
//	@Param			Idempotency-Key	header		string	false	"makes retries safe: a replay returns the first answer"
//	@Success		201				{object}	api.Invite
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"relationship_archived"
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/relationships/{id}/invites [post]
func (h *handlers) createInvite(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	inv, code, err := h.Relationships.CreateInvite(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, api.Invite{ID: inv.ID, Code: code, RelationshipID: inv.RelationshipID,
		CreatedBy: inv.CreatedBy, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt})
}

// listInvites godoc
//
//	@Summary		A relationship's pending invites
//	@Description	The invites that can still be accepted (not used, expired or revoked), oldest first, without their codes: troth keeps only a hash of a code. An archived relationship has none.
//	@ID				listInvites
//	@Tags			relationships
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string	true	"relationship id"
//	@Param			limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	api.PendingInvitePage
//	@Failure		400		{object}	api.Problem
//	@Failure		401		{object}	api.Problem
//	@Failure		404		{object}	api.Problem
//	@Failure		429		{object}	api.Problem
//	@Router			/v1/relationships/{id}/invites [get]
func (h *handlers) listInvites(c echo.Context) error {
	p, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	res, err := h.Relationships.PendingInvites(c.Request().Context(), userID(c), c.Param("id"), p)
	if err != nil {
		return err
	}
	out := api.PendingInvitePage{Data: make([]api.PendingInvite, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, inv := range res.Items {
		out.Data = append(out.Data, wire.PendingInvite(inv))
	}
	return c.JSON(http.StatusOK, out)
}

// revokeInvite godoc
//
//	@Summary		Revoke a pending invite
//	@Description	Its code lets nobody in from now on: accepting it answers 404, as for an unknown code. An unknown, used, expired or already revoked invite, or another relationship's, is 404. Any member may revoke any pending invite of the relationship.
//	@ID				revokeInvite
//	@Tags			relationships
//	@Security		BearerAuth
//	@Param			id			path	string	true	"relationship id"
//	@Param			invite_id	path	string	true	"invite id"
//	@Param			If-Match	header	string	false	"an invite has no ETag: only * lets the revocation go ahead, any entity tag is 412"
//	@Success		204
//	@Failure		401	{object}	api.Problem
//	@Failure		403	{object}	api.Problem	"insufficient_scope"
//	@Failure		404	{object}	api.Problem
//	@Failure		409	{object}	api.Problem	"relationship_archived"
//	@Failure		412	{object}	api.Problem
//	@Failure		429	{object}	api.Problem
//	@Router			/v1/relationships/{id}/invites/{invite_id} [delete]
func (h *handlers) revokeInvite(c echo.Context) error {
	ifMatch := c.Request().Header.Get("If-Match")
	err := h.Relationships.RevokeInvite(c.Request().Context(), userID(c), c.Param("id"), c.Param("invite_id"),
		func() error { return checkIfMatchUntagged(ifMatch) })
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// acceptInvite godoc
//
//	@Summary		Join a relationship with an invite code
//	@Description	An unknown, used, expired or revoked code answers 404. The first person to join a relationship that has a partner name becomes the promisee of the promises made to that partner.
//	@ID				acceptInvite
//	@Tags			relationships
//	@Produce		json
//	@Security		BearerAuth
//	@Param			code			path		string	true	"the invite code (case and dashes do not matter)"
//	@Param			Idempotency-Key	header		string	false	"makes retries safe: a replay returns the first answer"
//	@Success		200				{object}	api.Relationship
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"already_member"
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/invites/{code}/accept [post]
func (h *handlers) acceptInvite(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	r, err := h.Relationships.AcceptInvite(c.Request().Context(), userID(c), c.Param("code"))
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, wire.Relationship(r))
}

// listMembers godoc
//
//	@Summary	A relationship's current members
//	@ID			listMembers
//	@Tags		relationships
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id	path		string	true	"relationship id"
//	@Success	200	{object}	api.MemberList
//	@Failure	401	{object}	api.Problem
//	@Failure	404	{object}	api.Problem
//	@Failure	429	{object}	api.Problem
//	@Router		/v1/relationships/{id}/members [get]
func (h *handlers) listMembers(c echo.Context) error {
	ms, err := h.Relationships.Members(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	out := api.MemberList{Data: make([]api.Member, 0, len(ms))}
	for _, m := range ms {
		out.Data = append(out.Data, wire.Member(m))
	}
	return c.JSON(http.StatusOK, out)
}

// leaveRelationship godoc
//
//	@Summary		Leave a relationship
//	@Description	The relationship and everything in it disappear from the caller's view; the history stays for the other members. The promises the caller made or was made are cancelled (in an archived relationship nothing changes). The last member to leave archives the relationship, so that no invite made before lets anyone in.
//	@ID				leaveRelationship
//	@Tags			relationships
//	@Security		BearerAuth
//	@Param			id			path	string	true	"relationship id"
//	@Param			If-Match	header	string	false	"a membership has no ETag: only * lets the caller leave, any entity tag is 412"
//	@Success		204
//	@Failure		401	{object}	api.Problem
//	@Failure		404	{object}	api.Problem
//	@Failure		412	{object}	api.Problem
//	@Failure		429	{object}	api.Problem
//	@Router			/v1/relationships/{id}/members/me [delete]
func (h *handlers) leaveRelationship(c echo.Context) error {
	ifMatch := c.Request().Header.Get("If-Match")
	err := h.Relationships.Leave(c.Request().Context(), userID(c), c.Param("id"),
		func() error { return checkIfMatchUntagged(ifMatch) })
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
