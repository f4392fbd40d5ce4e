package routes

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/crm"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/platform"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

func registerCRM(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	admin := Access{MinRole: collections.RoleAdmin, Scope: apikey.ScopeAdmin}
	manychatKey := Access{Scope: apikey.ScopeManychat}
	v1.POST("/manychat/connect", connectManychat(svc)).Bind(require(svc, admin))
	v1.POST("/manychat/test-connection", testManychat(svc)).Bind(require(svc, admin))
	v1.POST("/manychat/sync", startSync).Bind(require(svc, admin))
	v1.POST("/manychat/contacts", upsertContact).Bind(require(svc, manychatKey), apis.SkipSuccessActivityLog())
	v1.POST("/manychat/events", manychatEvent).Bind(require(svc, manychatKey), apis.SkipSuccessActivityLog())
	v1.POST("/manychat/messages", manychatMessage).Bind(require(svc, manychatKey), apis.SkipSuccessActivityLog())
	v1.POST("/manychat/actions", queueActions).Bind(require(svc, Access{Scope: apikey.ScopeManychat, MinRole: collections.RoleManager}))
	registerContacts(v1, svc)
}

type pageAnswer struct {
	OK    bool           `json:"ok"`
	Page  map[string]any `json:"page,omitempty"`
	Error string         `json:"error,omitempty"`
}

// pageInfo is the one synchronous Manychat call of the API: an admin asked to check the token.
func pageInfo(e *core.RequestEvent, svc *platform.Services, token string) (pageAnswer, *manychat.Page, error) {
	client, err := crm.NewClient(e.App, svc, token)
	if err != nil {
		return pageAnswer{Error: err.Error()}, nil, err
	}
	ctx, cancel := context.WithTimeout(e.Request.Context(), 15*time.Second)
	defer cancel()
	page, err := client.GetPageInfo(ctx)
	if err != nil {
		return pageAnswer{Error: manychatWords(err)}, nil, err
	}
	return pageAnswer{OK: true, Page: map[string]any{"id": page.ID.String(), "name": page.Name, "username": page.Username, "timezone": page.Timezone}}, page, nil
}

// manychatWords is Manychat's error as a sentence for people.
func manychatWords(err error) string {
	var api *manychat.APIError
	if errors.As(err, &api) {
		msg := api.Message
		if msg == "" {
			msg = strings.TrimPrefix(api.Error(), "manychat: ")
		}
		if manychat.IsAuth(err) {
			return "Manychat refused the token: " + msg
		}
		return "Manychat answered HTTP " + strconv.Itoa(api.HTTPStatus) + ": " + msg
	}
	return "Manychat could not be reached: " + err.Error()
}

func connectManychat(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req struct {
			Token string `json:"token"`
		}
		if err := readJSON(e, &req); err != nil {
			return err
		}
		req.Token = strings.TrimSpace(req.Token)
		if req.Token == "" {
			return fieldError(e, "token", "validation_required", "is required (Manychat → Settings → API → Generate your token)")
		}
		ans, page, err := pageInfo(e, svc, req.Token)
		if err != nil {
			if manychat.IsAuth(err) || errors.As(err, new(*manychat.FieldError)) {
				return fieldError(e, "token", "validation_manychat_refused", ans.Error)
			}
			return router.NewApiError(502, ans.Error, nil)
		}
		p := platform.PrincipalOf(e)
		actor := platform.ActorFromRequest(e)
		err = platform.WriteTx(e.App, func(tx core.App) error {
			return crm.Connect(tx, svc, p.Workspace, req.Token, page, actor)
		})
		if err != nil {
			return err
		}
		return e.JSON(200, ans)
	}
}

func testManychat(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		ws, err := e.App.FindRecordById(collections.Workspaces, platform.PrincipalOf(e).Workspace)
		if err != nil {
			return err
		}
		token, err := platform.Secret(svc.Box, ws, "manychat_token")
		if err != nil {
			return err
		}
		if token == "" {
			return e.BadRequestError(crm.ErrNotConnected.Error()+".", nil)
		}
		ans, _, _ := pageInfo(e, svc, token)
		return e.JSON(200, ans)
	}
}

func startSync(e *core.RequestEvent) error {
	raw, err := readBody(e)
	if err != nil {
		return err
	}
	var req struct {
		Kind  string `json:"kind"`
		Days  int    `json:"days"`
		Batch int    `json:"batch"`
	}
	if err := decodeJSON(e, raw, &req); err != nil {
		return err
	}
	kinds := []string{req.Kind}
	if req.Kind == "all" {
		kinds = crm.SyncKinds
	} else if !slices.Contains(crm.SyncKinds, req.Kind) {
		return fieldError(e, "kind", "validation_invalid_value", "must be tags, fields, contacts or all")
	}
	if req.Days < 0 || req.Days > 365 {
		return fieldError(e, "days", "validation_invalid_value", "must be from 1 to 365")
	}
	if req.Batch < 0 || req.Batch > 5000 {
		return fieldError(e, "batch", "validation_invalid_value", "must be from 1 to 5000")
	}
	p := platform.PrincipalOf(e)
	actor := platform.ActorFromRequest(e)
	return createOnce(e, raw, func(tx core.App) (int, any, error) {
		var out []map[string]any
		for _, k := range kinds {
			job, err := crm.StartSync(tx, p.Workspace, k, &crm.SyncParams{Days: req.Days, Batch: req.Batch}, actor)
			if err != nil {
				return 0, nil, err
			}
			out = append(out, map[string]any{"kind": k, "job": job.Id, "status": job.GetString("status")})
		}
		return 202, map[string]any{"syncs": out}, nil
	})
}

// manychatError turns a parse error of an External Request body into a 400 naming the field.
func manychatError(e *core.RequestEvent, err error) error {
	var fe *manychat.FieldError
	if errors.As(err, &fe) {
		return e.BadRequestError("Invalid "+fe.Field+": "+fe.Message+".", validation.Errors{fe.Field: validation.NewError("validation_"+fe.Code, fe.Message)})
	}
	return err
}

func upsertContact(e *core.RequestEvent) error {
	raw, err := readBody(e)
	if err != nil {
		return err
	}
	in, err := crm.ParseIncoming(raw)
	if err != nil {
		return manychatError(e, err)
	}
	p := platform.PrincipalOf(e)
	actor := platform.ActorFromRequest(e)
	return createGrouped(e, raw, func(tx core.App) (int, any, error) {
		res, err := crm.Upsert(tx, p.Workspace, in, actor)
		if err != nil {
			return 0, nil, err
		}
		sum, err := crm.Summarize(tx, res.Contact, res.Created)
		if err != nil {
			return 0, nil, err
		}
		sum.Created, sum.Applied = res.Created, res.Applied
		return 200, sum, nil
	})
}

type eventRequest struct {
	SubscriberID string `json:"subscriber_id"`
	Type         string `json:"type"`
	Text         string `json:"text"`
	At           string `json:"at"`
}

func manychatEvent(e *core.RequestEvent) error {
	raw, err := readBody(e)
	if err != nil {
		return err
	}
	var req eventRequest
	if err := decodeJSON(e, raw, &req); err != nil {
		return err
	}
	if field, err := (platform.ContactRef{SubscriberID: req.SubscriberID}).Validate(); err != nil || req.SubscriberID == "" {
		if err == nil {
			field, err = "subscriber_id", errors.New("is required")
		}
		return fieldError(e, field, "validation_invalid_value", err.Error())
	}
	if !slices.Contains(crm.EventKinds, req.Type) {
		return fieldError(e, "type", "validation_invalid_value", "must be one of "+strings.Join(crm.EventKinds, ", "))
	}
	if len(req.Text) > 4000 {
		return fieldError(e, "text", "validation_length_out_of_range", "must be at most 4000 characters")
	}
	at := time.Now()
	if req.At != "" {
		if at, err = time.Parse(time.RFC3339, req.At); err != nil {
			return fieldError(e, "at", "validation_invalid_date", "must be an RFC 3339 time such as 2026-05-01T14:30:00Z")
		}
		if at.After(time.Now().Add(5 * time.Minute)) {
			return fieldError(e, "at", "validation_invalid_date", "must not be in the future")
		}
	}
	p := platform.PrincipalOf(e)
	actor := platform.ActorFromRequest(e)
	return createGrouped(e, raw, func(tx core.App) (int, any, error) {
		c, err := crm.RecordEvent(tx, p.Workspace, req.SubscriberID, req.Type, req.Text, at, actor)
		if err != nil {
			return 0, nil, err
		}
		sum, err := crm.Summarize(tx, c, false)
		return 200, sum, err
	})
}

func manychatMessage(e *core.RequestEvent) error {
	raw, err := readBody(e)
	if err != nil {
		return err
	}
	var req struct {
		SubscriberID string `json:"subscriber_id"`
		Text         string `json:"text"`
	}
	if err := decodeJSON(e, raw, &req); err != nil {
		return err
	}
	if field, err := (platform.ContactRef{SubscriberID: req.SubscriberID}).Validate(); err != nil || req.SubscriberID == "" {
		if err == nil {
			field, err = "subscriber_id", errors.New("is required")
		}
		return fieldError(e, field, "validation_invalid_value", err.Error())
	}
	if len(req.Text) > 4000 {
		return fieldError(e, "text", "validation_length_out_of_range", "must be at most 4000 characters")
	}
	p := platform.PrincipalOf(e)
	actor := platform.ActorFromRequest(e)
	return createGrouped(e, raw, func(tx core.App) (int, any, error) {
		res, err := crm.HandleMessage(tx, p.Workspace, req.SubscriberID, req.Text, actor)
		if err != nil {
			return 0, nil, err
		}
		// Set before the answer is written (createGrouped writes it); a second run of this function resets it.
		e.Response.Header().Del("X-Playgram-Rule")
		if res.Rule != nil {
			e.Response.Header().Set("X-Playgram-Rule", res.Rule.ID)
		}
		return 200, res.Reply, nil
	})
}

func queueActions(e *core.RequestEvent) error {
	raw, err := readBody(e)
	if err != nil {
		return err
	}
	var req struct {
		crm.Action
		Actions       []crm.Action   `json:"actions"`
		Contacts      []string       `json:"contacts"`
		SubscriberIDs []string       `json:"subscriber_ids"`
		Filter        map[string]any `json:"filter"`
	}
	if err := decodeJSON(e, raw, &req); err != nil {
		return err
	}
	actions := req.Actions
	if req.Type != "" {
		actions = append([]crm.Action{req.Action}, actions...)
	}
	if len(actions) == 0 {
		return fieldError(e, "type", "validation_required", "name an action (add_tag, remove_tag, set_field, send_flow) or list actions")
	}
	if len(actions) > 10 {
		return fieldError(e, "actions", "validation_length_out_of_range", "must list at most 10 actions")
	}
	for i, a := range actions {
		if field, msg := a.Validate(); field != "" {
			if len(req.Actions) > 0 {
				field = "actions." + strconv.Itoa(i) + "." + field
			}
			return fieldError(e, field, "validation_invalid_value", msg)
		}
	}
	targets := 0
	for _, n := range []int{len(req.Contacts), len(req.SubscriberIDs), map[bool]int{true: 1}[req.Filter != nil]} {
		if n > 0 {
			targets++
		}
	}
	if targets != 1 {
		return fieldError(e, "contacts", "validation_required", "name the targets with exactly one of contacts, subscriber_ids or filter")
	}
	if len(req.Contacts)+len(req.SubscriberIDs) > 1000 {
		return fieldError(e, "contacts", "validation_length_out_of_range", "list at most 1000 contacts; use filter for more")
	}
	p := platform.PrincipalOf(e)
	var t crm.Targets
	if req.Filter != nil {
		q, problems := crm.ParseQuery(filterValues(req.Filter))
		if len(problems) > 0 {
			prefixed := map[string]string{}
			for k, v := range problems {
				prefixed["filter."+k] = v
			}
			return fieldErrors(e, prefixed)
		}
		t.Filter = &q
	}
	actor := platform.ActorFromRequest(e)
	return createOnce(e, raw, func(tx core.App) (int, any, error) {
		for _, id := range req.Contacts {
			c, err := tx.FindRecordById(collections.Contacts, id)
			if err != nil || c.GetString("workspace") != p.Workspace {
				return 0, nil, fieldError(e, "contacts", "validation_not_found", "no contact "+id+" in this workspace")
			}
			t.Contacts = append(t.Contacts, id)
		}
		for _, sid := range req.SubscriberIDs {
			if _, err := (platform.ContactRef{SubscriberID: sid}).Validate(); err != nil {
				return 0, nil, fieldError(e, "subscriber_ids", "validation_invalid_value", sid+" "+err.Error())
			}
			c, err := platform.ResolveContact(tx, p.Workspace, platform.ContactRef{SubscriberID: sid}, nil)
			if err != nil {
				return 0, nil, err
			}
			t.Contacts = append(t.Contacts, c.Id)
		}
		jobs, err := crm.QueueActions(tx, p.Workspace, actions, t, actor)
		if err != nil {
			return 0, nil, err
		}
		ids := make([]string, len(jobs))
		for i, j := range jobs {
			ids[i] = j.Id
		}
		return 202, map[string]any{"jobs": ids, "status": "queued"}, nil
	})
}
