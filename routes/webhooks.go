package routes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/outbound"
	"github.com/playgram/playgram/internal/webhook"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/webhooks"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

func registerWebhooks(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	admin := Access{Scope: "webhooks", MinRole: collections.RoleAdmin}
	v1.POST("/webhooks/endpoints", createEndpoint(svc)).Bind(require(svc, admin))
	v1.POST("/webhooks/endpoints/{id}/rotate-secret", rotateEndpointSecret(svc)).Bind(require(svc, admin))
	v1.POST("/webhooks/endpoints/{id}/test", testEndpoint(svc)).Bind(require(svc, admin))
	v1.POST("/webhooks/endpoints/{id}/replay", replayEndpoint).Bind(require(svc, admin))
	v1.POST("/webhooks/deliveries/{id}/replay", replayDelivery).Bind(require(svc, admin))
	v1.GET("/webhooks/stats", webhookStats).Bind(require(svc, Access{Scope: "webhooks", MinRole: collections.RoleViewer}))
	registerPlayground(v1, svc)
}

type endpointRequest struct {
	URL         string            `json:"url"`
	Events      []string          `json:"events"`
	Description string            `json:"description"`
	Filter      string            `json:"filter"`
	Transform   json.RawMessage   `json:"transform"`
	Headers     map[string]string `json:"headers"`
	RateLimit   *int              `json:"rate_limit"`
	MaxInFlight *int              `json:"max_in_flight"`
	Enabled     *bool             `json:"enabled"`
}

// createEndpoint answers 201 with the endpoint and its signing secret, the only time the secret is shown.
func createEndpoint(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		raw, err := readBody(e)
		if err != nil {
			return err
		}
		var req endpointRequest
		if err := decodeJSON(e, raw, &req); err != nil {
			return err
		}
		if strings.TrimSpace(req.URL) == "" {
			return fieldError(e, "url", "validation_required", "is required")
		}
		if req.Events == nil {
			return fieldError(e, "events", "validation_required", `list the event types to receive, e.g. ["booking.*"], or ["*"] for all`)
		}
		p := platform.PrincipalOf(e)
		actor := platform.ActorFromRequest(e)
		return createOnce(e, raw, func(tx core.App) (int, any, error) {
			coll, err := tx.FindCachedCollectionByNameOrId(collections.WebhookEndpoints)
			if err != nil {
				return 0, nil, err
			}
			rec := core.NewRecord(coll)
			rec.Set("workspace", p.Workspace)
			rec.Set("url", strings.TrimSpace(req.URL))
			rec.Set("description", req.Description)
			rec.Set("events", req.Events)
			rec.Set("filter", req.Filter)
			if len(req.Transform) > 0 && string(req.Transform) != "null" {
				rec.Set("transform", req.Transform)
			}
			if req.Headers != nil {
				rec.Set("headers", req.Headers)
			}
			if req.RateLimit != nil {
				rec.Set("rate_limit", *req.RateLimit)
			}
			if req.MaxInFlight != nil {
				rec.Set("max_in_flight", *req.MaxInFlight)
			}
			rec.Set("enabled", req.Enabled == nil || *req.Enabled)
			secret, err := webhooks.SealNewSecret(svc.Box, rec, 0, time.Now())
			if err != nil {
				return 0, nil, err
			}
			platform.WithActor(rec, actor)
			if err := tx.Save(rec); err != nil {
				return 0, nil, saveError(e, err)
			}
			out := webhooks.EndpointView(rec)
			out["secret"] = secret
			return 201, out, nil
		})
	}
}

// saveError turns a record's validation errors into a 400 naming each field.
func saveError(e *core.RequestEvent, err error) error {
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		return e.BadRequestError("Invalid "+strings.Join(slices.Sorted(maps.Keys(verrs)), ", ")+"; see data for each problem.", verrs)
	}
	return err
}

func rotateEndpointSecret(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		grace, err := readGrace(e, 168)
		if err != nil {
			return err
		}
		rec, err := findInWorkspace(e, collections.WebhookEndpoints, e.Request.PathValue("id"))
		if err != nil {
			return err
		}
		secret, err := webhooks.SealNewSecret(svc.Box, rec, grace, time.Now())
		if err != nil {
			return err
		}
		platform.WithActor(rec, platform.ActorFromRequest(e))
		if err := e.App.Save(rec); err != nil {
			return saveError(e, err)
		}
		out := webhooks.EndpointView(rec)
		out["secret"] = secret
		return e.JSON(200, out)
	}
}

// readGrace reads a rotation body {grace_hours?}: how long the previous secret stays valid (24 h when absent).
func readGrace(e *core.RequestEvent, maxHours float64) (time.Duration, error) {
	var req struct {
		GraceHours *float64 `json:"grace_hours"`
	}
	if err := readJSON(e, &req); err != nil {
		return 0, err
	}
	if req.GraceHours == nil {
		return 24 * time.Hour, nil
	}
	if *req.GraceHours < 0 || *req.GraceHours > maxHours {
		return 0, fieldError(e, "grace_hours", "validation_out_of_range", fmt.Sprintf("must be between 0 and %g", maxHours))
	}
	return time.Duration(*req.GraceHours * float64(time.Hour)), nil
}

// testEndpoint sends a realistic sample of an event type to the endpoint now and shows the whole exchange.
// It is an explicit test, so it is the one webhook request made inside an HTTP request; it creates no delivery
// and a 410 does not disable the endpoint.
func testEndpoint(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error { return sendTest(e, svc) }
}

func sendTest(e *core.RequestEvent, svc *platform.Services) error {
	var req struct {
		EventType string `json:"event_type"`
	}
	if err := readJSON(e, &req); err != nil {
		return err
	}
	if err := webhook.ValidateEventType(req.EventType); err != nil {
		var fe *webhook.FieldError
		msg := err.Error()
		if errors.As(err, &fe) {
			msg = fe.Message
		}
		return fieldError(e, "event_type", "validation_invalid_event_type", msg)
	}
	rec, err := findInWorkspace(e, collections.WebhookEndpoints, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	engine := webhooks.Of(e.App)
	current, previous, err := webhooks.EndpointSecrets(svc.Box, rec)
	if err != nil {
		return e.BadRequestError("The endpoint's secret cannot be opened; rotate it.", nil)
	}
	secrets := []whsig.Secret{current}
	if previous != nil && rec.GetDateTime("previous_secret_expires_at").Time().After(time.Now()) {
		secrets = append(secrets, *previous)
	}
	transform, _ := webhook.ParseTransform([]byte(rec.GetString("transform")))
	data, ts, realEvent := webhooks.SampleData(e.App, rec.GetString("workspace"), req.EventType)
	body, err := webhook.BuildPayload(req.EventType, ts, data, transform)
	if err != nil {
		return fieldError(e, "event_type", "validation_invalid_event_type", err.Error())
	}
	var headers map[string]string
	_ = json.Unmarshal([]byte(rec.GetString("headers")), &headers)
	msgID := whsig.NewMessageID()
	ctx, cancel := context.WithTimeout(e.Request.Context(), engine.Options().Timeout)
	defer cancel()
	now := time.Now()
	httpReq, err := engine.NewRequest(ctx, rec.GetString("url"), headers, secrets, msgID, now, body)
	if err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	shown := map[string]any{"method": httpReq.Method, "url": httpReq.URL.String(), "headers": flatHeaders(httpReq.Header), "body": string(body)}
	out := map[string]any{"request": shown, "sample": !realEvent, "response": nil}
	resp, err := engine.Client().Do(httpReq)
	dur := time.Since(now)
	if resp != nil {
		excerpt, truncated, _ := outbound.ReadCapped(resp, webhooks.ResponseExcerpt)
		out["response"] = map[string]any{"status": resp.StatusCode, "headers": flatHeaders(resp.Header),
			"body": strings.ToValidUTF8(string(excerpt), "\uFFFD"), "body_truncated": truncated}
	}
	o := webhook.ClassifyResponse(resp, err, now)
	out["duration_ms"] = dur.Milliseconds()
	out["outcome"] = o.Action.String()
	if o.Action != webhook.ActionDelivered {
		out["error"] = o.Reason
	}
	return e.JSON(http.StatusOK, out)
}

func flatHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

func replayDelivery(e *core.RequestEvent) error {
	d, err := findInWorkspace(e, collections.WebhookDeliveries, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	if err := webhooks.ReplayDelivery(e.App, d); err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	if err := platform.Audit(e.App, platform.ActorFromRequest(e), d.GetString("workspace"), "webhook_delivery.replayed",
		collections.WebhookDeliveries, d.Id, map[string]any{"status": d.GetString("status")}, map[string]any{"status": "pending"}); err != nil {
		return err
	}
	return e.JSON(200, map[string]any{"id": d.Id, "status": "pending", "webhook_id": webhooks.MessageID(d.GetString("event"))})
}

func replayEndpoint(e *core.RequestEvent) error {
	var req struct {
		Since  string `json:"since"`
		Until  string `json:"until"`
		Status string `json:"status"`
	}
	if err := readJSON(e, &req); err != nil {
		return err
	}
	problems := map[string]string{}
	since, err := time.Parse(time.RFC3339, req.Since)
	if err != nil {
		problems["since"] = "Must be an RFC 3339 time such as 2026-11-24T00:00:00Z."
	}
	var until time.Time
	if req.Until != "" {
		if until, err = time.Parse(time.RFC3339, req.Until); err != nil {
			problems["until"] = "Must be an RFC 3339 time."
		} else if !until.After(since) {
			problems["until"] = "Must be after since."
		}
	}
	if req.Status == "" {
		req.Status = "dead"
	}
	if !slices.Contains(webhooks.ReplayStatuses, req.Status) {
		problems["status"] = "Must be one of " + strings.Join(webhooks.ReplayStatuses, ", ") + "."
	}
	if len(problems) > 0 {
		return fieldErrors(e, problems)
	}
	ep, err := findInWorkspace(e, collections.WebhookEndpoints, e.Request.PathValue("id"))
	if err != nil {
		return err
	}
	n, err := webhooks.ReplayEndpoint(e.App, ep, since, until, req.Status)
	if err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	if err := platform.Audit(e.App, platform.ActorFromRequest(e), ep.GetString("workspace"), "webhook_endpoint.replayed",
		collections.WebhookEndpoints, ep.Id, nil, map[string]any{"since": req.Since, "until": req.Until, "status": req.Status, "deliveries": n}); err != nil {
		return err
	}
	return e.JSON(200, map[string]any{"endpoint": ep.Id, "replayed": n, "status": req.Status})
}

func webhookStats(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	to, from := time.Now(), time.Time{}
	problems := map[string]string{}
	if v := q.Get("to"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			problems["to"] = "Must be an RFC 3339 time."
		}
		to = t
	}
	from = to.Add(-24 * time.Hour)
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			problems["from"] = "Must be an RFC 3339 time."
		}
		from = t
	}
	if len(problems) == 0 {
		if !to.After(from) {
			problems["to"] = "Must be after from."
		} else if to.Sub(from) > webhooks.MaxStatsRange {
			problems["from"] = "The range is at most 31 days."
		}
	}
	if len(problems) > 0 {
		return fieldErrors(e, problems)
	}
	endpoint := q.Get("endpoint")
	if endpoint != "" {
		if _, err := findInWorkspace(e, collections.WebhookEndpoints, endpoint); err != nil {
			return err
		}
	}
	s, err := webhooks.ComputeStats(e.App, platform.PrincipalOf(e).Workspace, endpoint, from, to)
	if err != nil {
		return err
	}
	return e.JSON(200, s)
}
