package routes

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/manychat/dynblock"
	"github.com/playgram/playgram/internal/outbound"
	"github.com/playgram/playgram/internal/verification"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/verify"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

func registerVerification(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services, hub *verify.Hub) {
	partner := Access{Scope: apikey.ScopeVerification, MinRole: collections.RoleManager}
	v1.POST("/verifications", createVerification(svc)).Bind(require(svc, partner))
	v1.GET("/verifications/stats", verificationStats).Bind(require(svc, Access{Scope: apikey.ScopeVerification, MinRole: collections.RoleAdmin}))
	v1.GET("/verifications/{id}", getVerification(svc))
	v1.GET("/verifications/{id}/events", watchVerification(svc, hub)).Bind(apis.SkipSuccessActivityLog())
	v1.POST("/manychat/verify", verifyByDM(svc, hub)).Bind(require(svc, Access{Scope: apikey.ScopeManychat, KeysOnly: true}), apis.SkipSuccessActivityLog())
	v1.POST("/api-keys/{id}/signing-secret", createSigningSecret(svc)).Bind(require(svc, Access{Scope: "admin", MinRole: collections.RoleAdmin}))
}

type createVerificationRequest struct {
	IGUsername  string          `json:"ig_username"`
	CallbackURL string          `json:"callback_url"`
	TTL         *int            `json:"ttl"`
	Metadata    json.RawMessage `json:"metadata"`
	Tool        string          `json:"tool"`
}

func createVerification(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req createVerificationRequest
		raw, err := readJSONRaw(e, &req)
		if err != nil {
			return err
		}
		p := platform.PrincipalOf(e)
		boundTool := ""
		if p.Key != nil {
			boundTool = p.Key.Tool
		}
		tool, cfg, err := verify.LoadConfig(e.App, p.Workspace, boundTool, req.Tool)
		if err != nil {
			return fieldError(e, "tool", "validation_not_found", err.Error())
		}
		if err := checkPartnerSignature(e, svc, p.Key, raw, cfg.RequireSignature); err != nil {
			return err
		}
		problems := map[string]string{}
		username := verification.NormalizeUsername(req.IGUsername)
		if username != "" && !verification.ValidUsername(username) {
			problems["ig_username"] = "Must be an Instagram username (letters, digits, . and _; at most 30)."
		}
		var ttl time.Duration
		if req.TTL != nil {
			if *req.TTL < 60 || *req.TTL > 24*3600 {
				problems["ttl"] = "Must be between 60 and 86400 seconds."
			}
			ttl = time.Duration(*req.TTL) * time.Second
		}
		if req.CallbackURL != "" {
			if err := outbound.ValidateURL(req.CallbackURL); err != nil {
				problems["callback_url"] = err.Error()
			} else if p.Key == nil || p.Key.SigningSecret == "" {
				problems["callback_url"] = "Callbacks are signed with the API key's signing secret: create one with POST /api/v1/api-keys/{id}/signing-secret first."
			}
		}
		metadata, err := decodeMetadataField(req.Metadata)
		if err != nil {
			problems["metadata"] = err.Error()
		}
		if len(problems) > 0 {
			return fieldErrors(e, problems)
		}
		if p.Key != nil {
			var recent int
			_ = e.App.DB().NewQuery("SELECT COUNT(*) FROM verifications WHERE key = {:k} AND created >= {:since}").
				Bind(dbx.Params{"k": p.Key.ID, "since": dt(time.Now().Add(-time.Minute))}).Row(&recent)
			if recent >= verify.MaxCreatesPerKeyMinute {
				e.Response.Header().Set("Retry-After", "60")
				return e.TooManyRequestsError(fmt.Sprintf("This key may create at most %d verifications a minute.", verify.MaxCreatesPerKeyMinute), nil)
			}
		}
		actor := platform.ActorFromRequest(e)
		return createOnce(e, raw, func(tx core.App) (int, any, error) {
			created, err := verify.Create(tx, svc.Box, verify.CreateInput{Workspace: p.Workspace, Tool: tool, Config: cfg, Key: p.Key,
				IGUsername: username, Callback: req.CallbackURL, TTL: ttl, Metadata: metadata, IP: e.RealIP(), Actor: actor}, time.Now())
			if err != nil {
				return 0, nil, err
			}
			return http.StatusCreated, created, nil
		})
	}
}

func decodeMetadataField(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if len(raw) > 4<<10 {
		return nil, fmt.Errorf("must be at most 4 KB")
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("must be a JSON object")
	}
	return m, nil
}

// checkPartnerSignature enforces signed requests for keys (or tools) that require them: Standard Webhooks
// headers made with the key's signing secret over the exact body, at most 5 minutes old, never replayed.
func checkPartnerSignature(e *core.RequestEvent, svc *platform.Services, key *apikey.Key, body []byte, toolRequires bool) error {
	if key == nil || (!key.RequireSignature && !toolRequires) {
		return nil
	}
	secret, ok, err := platform.KeySigningSecret(svc.Box, key)
	if err != nil {
		return err
	}
	if !ok {
		return e.UnauthorizedError("This tool requires signed requests, but the API key has no signing secret yet.", nil)
	}
	if err := svc.Replays.VerifyRequest(secret, e.Request.Header, body, time.Now()); err != nil {
		return e.UnauthorizedError("The request signature is missing or invalid: "+err.Error(), nil)
	}
	return nil
}

// findVerification authorises reading one verification: the creating key, a member of its workspace, or the
// watch token given to the website at creation (for browsers).
func findVerification(e *core.RequestEvent, svc *platform.Services) (*core.Record, error) {
	rec, err := e.App.FindRecordById(collections.Verifications, e.Request.PathValue("id"))
	if err != nil {
		return nil, e.NotFoundError("Not found.", nil)
	}
	if token := e.Request.URL.Query().Get("token"); token != "" {
		if svc.Box.VerifyMAC("verification-watch", rec.Id, token) {
			return rec, nil
		}
		return nil, e.NotFoundError("Not found.", nil)
	}
	p, err := authenticate(e, svc, Access{Scope: apikey.ScopeVerification, MinRole: collections.RoleViewer})
	if err != nil {
		return nil, err
	}
	if rec.GetString("workspace") != p.Workspace || (p.Key != nil && !apikey.HasScope(p.Key.Scopes, apikey.ScopeAdmin) && rec.GetString("key") != p.Key.ID) {
		return nil, e.NotFoundError("Not found.", nil)
	}
	return rec, nil
}

func getVerification(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		rec, err := findVerification(e, svc)
		if err != nil {
			return err
		}
		return e.JSON(http.StatusOK, verify.ResultOf(rec, time.Now()))
	}
}

// watchVerification streams the status as Server-Sent Events: the current state at once, then the final one
// as soon as it is known (or at expiry), then it closes.
func watchVerification(svc *platform.Services, hub *verify.Hub) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		rec, err := findVerification(e, svc)
		if err != nil {
			return err
		}
		updates, stop := hub.Watch(rec.Id) // before re-reading, so no completion slips between the two
		defer stop()
		if rec, err = e.App.FindRecordById(collections.Verifications, rec.Id); err != nil {
			return err
		}
		h := e.Response.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		e.Response.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(e.Response)
		send := func(r verify.Result) error {
			b, _ := json.Marshal(r)
			if _, err := fmt.Fprintf(e.Response, "event: status\ndata: %s\n\n", b); err != nil {
				return err
			}
			return rc.Flush()
		}
		current := verify.ResultOf(rec, time.Now())
		if err := send(current); err != nil || current.Final() {
			return nil
		}
		expiry := time.NewTimer(time.Until(rec.GetDateTime("expires_at").Time()) + 50*time.Millisecond)
		defer expiry.Stop()
		ping := time.NewTicker(15 * time.Second)
		defer ping.Stop()
		for {
			select {
			case r := <-updates:
				_ = send(r)
				return nil
			case <-expiry.C:
				if rec, err := e.App.FindRecordById(collections.Verifications, rec.Id); err == nil {
					_ = send(verify.ResultOf(rec, time.Now()))
				}
				return nil
			case <-ping.C:
				if _, err := fmt.Fprint(e.Response, ": ping\n\n"); err != nil {
					return nil
				}
				_ = rc.Flush()
			case <-e.Request.Context().Done():
				return nil
			}
		}
	}
}

type verifyDMRequest struct {
	Code         string `json:"code"`
	IGUsername   string `json:"ig_username"`
	SubscriberID string `json:"subscriber_id"`
}

// verifyByDM is called by a Manychat flow when someone DMs a code; it answers the text Manychat shows them.
func verifyByDM(svc *platform.Services, hub *verify.Hub) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req verifyDMRequest
		if err := readJSON(e, &req); err != nil {
			return err
		}
		problems := map[string]string{}
		if strings.TrimSpace(req.Code) == "" {
			problems["code"] = "The code from the DM is required (map it from the user's message)."
		}
		if req.IGUsername == "" || strings.HasPrefix(req.IGUsername, "{{") {
			problems["ig_username"] = "The sender's Instagram username is required (Manychat's {{ig_username}} field)."
		}
		if _, err := (platform.ContactRef{SubscriberID: req.SubscriberID}).Validate(); err != nil || req.SubscriberID == "" {
			problems["subscriber_id"] = "Must be the Manychat subscriber id (digits)."
		}
		if len(problems) > 0 {
			return fieldErrors(e, problems)
		}
		p := platform.PrincipalOf(e)
		reason, _, err := verify.VerifyDM(e.App, svc.Box, hub, verify.DMInput{Workspace: p.Workspace, Code: req.Code,
			IGUsername: req.IGUsername, SubscriberID: req.SubscriberID, IP: e.RealIP(), Actor: platform.ActorFromRequest(e)}, time.Now())
		if err != nil {
			return err
		}
		reply := dynblock.New(dynblock.Instagram).Text(verification.Messages[reason])
		return e.JSON(http.StatusOK, reply)
	}
}

func verificationStats(e *core.RequestEvent) error {
	p := platform.PrincipalOf(e)
	q := e.Request.URL.Query()
	from, to, err := timeRange(e, q.Get("from"), q.Get("to"), 30*24*time.Hour, 366*24*time.Hour)
	if err != nil {
		return err
	}
	key := ""
	if p.Key != nil && !apikey.HasScope(p.Key.Scopes, apikey.ScopeAdmin) {
		key = p.Key.ID // a partner sees its own key's numbers
	}
	days, err := verify.Stats(e.App, p.Workspace, key, from, to)
	if err != nil {
		return err
	}
	return e.JSON(http.StatusOK, map[string]any{"from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339), "days": days})
}

func createSigningSecret(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req struct {
			Require *bool `json:"require"`
		}
		if err := readJSON(e, &req); err != nil {
			return err
		}
		rec, err := findInWorkspace(e, collections.APIKeys, e.Request.PathValue("id"))
		if err != nil {
			return err
		}
		require := req.Require == nil || *req.Require
		secret, err := platform.CreateSigningSecret(e.App, svc.Box, rec, require, platform.ActorFromRequest(e))
		if err != nil {
			return err
		}
		out := platform.KeySummary(rec)
		out["signing_secret"] = secret
		return e.JSON(http.StatusOK, out)
	}
}
