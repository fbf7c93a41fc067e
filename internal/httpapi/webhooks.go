package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/troth-app/troth/api"
	"github.com/troth-app/troth/internal/webhook"
)

func toAPIWebhook(e webhook.Endpoint) api.Webhook {
	out := api.Webhook{
		ID: e.ID, URL: e.URL, EventTypes: e.EventTypes, Description: e.Description, Enabled: e.Enabled(),
		PreviousSecretExpiresAt: e.PreviousExpiresAt, CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
	}
	if out.EventTypes == nil {
		out.EventTypes = []string{}
	}
	if !e.Enabled() {
		r := e.DisabledReason
		out.DisabledReason = &r
	}
	return out
}

func toAPIDelivery(d webhook.Delivery) api.WebhookDelivery {
	return api.WebhookDelivery{
		ID: d.ID, EventID: d.EventID, EventType: d.EventType, Status: d.Status, Attempt: d.Attempt,
		ResponseCode: d.ResponseCode, ResponseBody: d.ResponseBody, DurationMS: d.DurationMS, Error: d.Error,
		NextAttemptAt: d.NextAttemptAt, CreatedAt: d.CreatedAt, CompletedAt: d.CompletedAt,
	}
}

// createWebhook godoc
//
//	@Summary		Register a webhook endpoint
//	@Description	Events of the caller's relationships (and events addressed to the caller) are POSTed to the URL, signed per Standard Webhooks. The URL must be https and must not resolve to a loopback, private, link-local or reserved address.
//	@Description	The signing secret is in this response only.
//	@ID				createWebhook
//	@Tags			webhooks
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			Idempotency-Key	header		string						false	"makes retries safe: a replay returns the first answer"
//	@Param			body			body		api.CreateWebhookRequest	true	"the endpoint"
//	@Success		201				{object}	api.WebhookWithSecret
//	@Header			201				{string}	Location	"/v1/webhooks/{id} of the new endpoint"
//	@Failure		400				{object}	api.Problem
//	@Failure		401				{object}	api.Problem
//	@Failure		403				{object}	api.Problem	"insufficient_scope"
//	@Failure		409				{object}	api.Problem	"idempotency_in_flight"
//	@Failure		413				{object}	api.Problem
//	@Failure		415				{object}	api.Problem
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/webhooks [post]
func (h *handlers) createWebhook(c echo.Context) error {
	var req api.CreateWebhookRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	in := webhook.Input{URL: &req.URL, Description: &req.Description, Enabled: req.Enabled}
	if req.EventTypes != nil {
		in.EventTypes = &req.EventTypes
	}
	e, err := h.Webhooks.Create(c.Request().Context(), userID(c), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/webhooks/"+e.ID)
	return c.JSON(http.StatusCreated, api.WebhookWithSecret{Webhook: toAPIWebhook(e), Secret: e.Secret})
}

// listWebhooks godoc
//
//	@Summary	List the caller's webhook endpoints
//	@ID			listWebhooks
//	@Tags		webhooks
//	@Produce	json
//	@Security	BearerAuth
//	@Param		limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	api.WebhookPage
//	@Failure	400		{object}	api.Problem
//	@Failure	401		{object}	api.Problem
//	@Failure	429		{object}	api.Problem
//	@Router		/v1/webhooks [get]
func (h *handlers) listWebhooks(c echo.Context) error {
	p, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	res, err := h.Webhooks.List(c.Request().Context(), userID(c), p)
	if err != nil {
		return err
	}
	out := api.WebhookPage{Data: make([]api.Webhook, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, e := range res.Items {
		out.Data = append(out.Data, toAPIWebhook(e))
	}
	return c.JSON(http.StatusOK, out)
}

// getWebhook godoc
//
//	@Summary	One webhook endpoint
//	@ID			getWebhook
//	@Tags		webhooks
//	@Produce	json
//	@Security	BearerAuth
//	@Param		id				path		string	true	"webhook id"
//	@Param		If-None-Match	header		string	false	"an ETag from an earlier response"
//	@Success	200				{object}	api.Webhook
//	@Header		200				{string}	ETag	"entity tag"
//	@Success	304				"not modified"
//	@Failure	401				{object}	api.Problem
//	@Failure	404				{object}	api.Problem
//	@Failure	429				{object}	api.Problem
//	@Router		/v1/webhooks/{id} [get]
func (h *handlers) getWebhook(c echo.Context) error {
	e, err := h.Webhooks.Get(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, toAPIWebhook(e))
}

// updateWebhook godoc
//
//	@Summary		Change a webhook endpoint
//	@Description	Absent fields stay as they are. enabled=true re-enables an endpoint troth disabled, and forgets its failures. Send If-Match to refuse the change (412) if the endpoint changed since you read it.
//	@ID				updateWebhook
//	@Tags			webhooks
//	@Accept			json
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id			path		string						true	"webhook id"
//	@Param			If-Match	header		string						false	"the ETag the change is based on"
//	@Param			body		body		api.UpdateWebhookRequest	true	"the changes"
//	@Success		200			{object}	api.Webhook
//	@Header			200			{string}	ETag	"entity tag"
//	@Failure		400			{object}	api.Problem
//	@Failure		401			{object}	api.Problem
//	@Failure		403			{object}	api.Problem	"insufficient_scope"
//	@Failure		404			{object}	api.Problem
//	@Failure		412			{object}	api.Problem
//	@Failure		413			{object}	api.Problem
//	@Failure		415			{object}	api.Problem
//	@Failure		422			{object}	api.Problem
//	@Failure		429			{object}	api.Problem
//	@Router			/v1/webhooks/{id} [patch]
func (h *handlers) updateWebhook(c echo.Context) error {
	var req api.UpdateWebhookRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	ifMatch := c.Request().Header.Get("If-Match")
	in := webhook.Input{URL: req.URL, EventTypes: req.EventTypes, Description: req.Description, Enabled: req.Enabled}
	e, err := h.Webhooks.Update(c.Request().Context(), userID(c), c.Param("id"), in,
		func(cur webhook.Endpoint) error { return checkIfMatch(ifMatch, toAPIWebhook(cur)) })
	if err != nil {
		return err
	}
	return writeTagged(c, http.StatusOK, toAPIWebhook(e))
}

// deleteWebhook godoc
//
//	@Summary		Delete a webhook endpoint
//	@Description	Its delivery log goes with it; attempts not yet made are dropped.
//	@ID				deleteWebhook
//	@Tags			webhooks
//	@Security		BearerAuth
//	@Param			id			path	string	true	"webhook id"
//	@Param			If-Match	header	string	false	"the ETag the deletion is based on"
//	@Success		204
//	@Failure		401	{object}	api.Problem
//	@Failure		403	{object}	api.Problem	"insufficient_scope"
//	@Failure		404	{object}	api.Problem
//	@Failure		412	{object}	api.Problem
//	@Failure		429	{object}	api.Problem
//	@Router			/v1/webhooks/{id} [delete]
func (h *handlers) deleteWebhook(c echo.Context) error {
	ifMatch := c.Request().Header.Get("If-Match")
	err := h.Webhooks.Delete(c.Request().Context(), userID(c), c.Param("id"),
		func(cur webhook.Endpoint) error { return checkIfMatch(ifMatch, toAPIWebhook(cur)) })
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// rotateWebhookSecret godoc
//
//	@Summary		Rotate a webhook's signing secret
//	@Description	Returns the new secret, shown only here. For 24 hours requests carry two signatures, one with the previous secret and one with the new one, so receivers can switch without losing deliveries.
//	@ID				rotateWebhookSecret
//	@Tags			webhooks
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string	true	"webhook id"
//	@Param			Idempotency-Key	header		string	false	"makes retries safe: a replay returns the first answer"
//	@Success		200				{object}	api.WebhookWithSecret
//	@Failure		401				{object}	api.Problem
//	@Failure		403				{object}	api.Problem	"insufficient_scope"
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"idempotency_in_flight"
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/webhooks/{id}/rotate-secret [post]
func (h *handlers) rotateWebhookSecret(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	e, err := h.Webhooks.RotateSecret(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, api.WebhookWithSecret{Webhook: toAPIWebhook(e), Secret: e.Secret})
}

// pingWebhook godoc
//
//	@Summary		Send a test event
//	@Description	Records a webhook.ping event addressed to the caller and delivers it to this endpoint only, whatever its event types. Follow it in the delivery log.
//	@ID				pingWebhook
//	@Tags			webhooks
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string	true	"webhook id"
//	@Param			Idempotency-Key	header		string	false	"makes retries safe: a replay returns the first answer"
//	@Success		202				{object}	api.WebhookDelivery
//	@Failure		401				{object}	api.Problem
//	@Failure		403				{object}	api.Problem	"insufficient_scope"
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"webhook_disabled, idempotency_in_flight"
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/webhooks/{id}/ping [post]
func (h *handlers) pingWebhook(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	d, err := h.Webhooks.Ping(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, toAPIDelivery(d))
}

// listWebhookDeliveries godoc
//
//	@Summary		A webhook's delivery log
//	@Description	Newest first. Each delivery shows its latest attempt: status, response code, the first KiB of the response, duration, error and when the next attempt is due.
//	@ID				listWebhookDeliveries
//	@Tags			webhooks
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id		path		string	true	"webhook id"
//	@Param			limit	query		int		false	"page size (1–100)"	minimum(1)	maximum(100)	default(20)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	api.WebhookDeliveryPage
//	@Failure		400		{object}	api.Problem
//	@Failure		401		{object}	api.Problem
//	@Failure		404		{object}	api.Problem
//	@Failure		429		{object}	api.Problem
//	@Router			/v1/webhooks/{id}/deliveries [get]
func (h *handlers) listWebhookDeliveries(c echo.Context) error {
	p, err := pageRequest(c, 1)
	if err != nil {
		return err
	}
	res, err := h.Webhooks.Deliveries(c.Request().Context(), userID(c), c.Param("id"), p)
	if err != nil {
		return err
	}
	out := api.WebhookDeliveryPage{Data: make([]api.WebhookDelivery, 0, len(res.Items)), NextCursor: nextCursor(c, res.Next)}
	for _, d := range res.Items {
		out.Data = append(out.Data, toAPIDelivery(d))
	}
	return c.JSON(http.StatusOK, out)
}

// redeliverWebhook godoc
//
//	@Summary		Deliver an event again
//	@Description	Starts a new chain of attempts for the delivery's event, with the same webhook-id header (receivers that dedupe by it will see a duplicate). 410 when the event is past retention.
//	@ID				redeliverWebhook
//	@Tags			webhooks
//	@Produce		json
//	@Security		BearerAuth
//	@Param			id				path		string	true	"webhook id"
//	@Param			delivery_id		path		string	true	"delivery id"
//	@Param			Idempotency-Key	header		string	false	"makes retries safe: a replay returns the first answer"
//	@Success		202				{object}	api.WebhookDelivery
//	@Failure		401				{object}	api.Problem
//	@Failure		403				{object}	api.Problem	"insufficient_scope"
//	@Failure		404				{object}	api.Problem
//	@Failure		409				{object}	api.Problem	"webhook_disabled, idempotency_in_flight"
//	@Failure		410				{object}	api.Problem	"event_expired"
//	@Failure		422				{object}	api.Problem
//	@Failure		429				{object}	api.Problem
//	@Router			/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver [post]
func (h *handlers) redeliverWebhook(c echo.Context) error {
	if err := noBody(c); err != nil {
		return err
	}
	d, err := h.Webhooks.Redeliver(c.Request().Context(), userID(c), c.Param("id"), c.Param("delivery_id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, toAPIDelivery(d))
}
