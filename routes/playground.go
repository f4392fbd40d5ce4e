package routes

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/webhooks"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
	"github.com/pocketbase/pocketbase/tools/security"
)

func registerPlayground(v1 *router.RouterGroup[*core.RequestEvent], svc *platform.Services) {
	manager := Access{Scope: "webhooks", MinRole: collections.RoleManager}
	v1.POST("/playground/bins", createBin(svc)).Bind(require(svc, manager))
	// The capture URL is public (the bin's token is the secret) and takes every method (GET also answers HEAD)
	// and any sub-path.
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		v1.Route(method, "/playground/bins/{token}/capture", captureRequest).Bind(apis.SkipSuccessActivityLog())
		v1.Route(method, "/playground/bins/{token}/capture/{path...}", captureRequest).Bind(apis.SkipSuccessActivityLog())
	}
	v1.POST("/playground/requests/{id}/verify", verifyCapture(svc)).Bind(require(svc, manager))
}

type binResponse struct {
	Status  *int              `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	DelayMs *int              `json:"delay_ms"`
}

func createBin(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		raw, err := readBody(e)
		if err != nil {
			return err
		}
		var req struct {
			Name        string      `json:"name"`
			Response    binResponse `json:"response"`
			MaxRequests *int        `json:"max_requests"`
		}
		if err := decodeJSON(e, raw, &req); err != nil {
			return err
		}
		problems := map[string]string{}
		if s := req.Response.Status; s != nil && (*s < 100 || *s > 599) {
			problems["response.status"] = "Must be an HTTP status from 100 to 599."
		}
		if d := req.Response.DelayMs; d != nil && (*d < 0 || *d > int(webhooks.MaxBinDelay/time.Millisecond)) {
			problems["response.delay_ms"] = "Must be between 0 and 30000."
		}
		if m := req.MaxRequests; m != nil && (*m < 1 || *m > 1000) {
			problems["max_requests"] = "Must be between 1 and 1000."
		}
		if len(problems) > 0 {
			return fieldErrors(e, problems)
		}
		p := platform.PrincipalOf(e)
		return createOnce(e, raw, func(tx core.App) (int, any, error) {
			n, err := tx.CountRecords(collections.PlaygroundBins, dbx.HashExp{"workspace": p.Workspace})
			if err != nil {
				return 0, nil, err
			}
			if n >= webhooks.MaxBinsPerWorkspace {
				return 0, nil, e.BadRequestError("A workspace keeps at most 20 bins; delete one first.", nil)
			}
			coll, err := tx.FindCachedCollectionByNameOrId(collections.PlaygroundBins)
			if err != nil {
				return 0, nil, err
			}
			bin := core.NewRecord(coll)
			bin.Set("workspace", p.Workspace)
			bin.Set("name", req.Name)
			bin.Set("token", security.RandomStringWithAlphabet(32, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
			bin.Set("response_status", 200)
			if req.Response.Status != nil {
				bin.Set("response_status", *req.Response.Status)
			}
			if req.Response.Headers != nil {
				bin.Set("response_headers", req.Response.Headers)
			}
			bin.Set("response_body", req.Response.Body)
			if req.Response.DelayMs != nil {
				bin.Set("response_delay_ms", *req.Response.DelayMs)
			}
			bin.Set("max_requests", webhooks.DefaultBinRequests)
			if req.MaxRequests != nil {
				bin.Set("max_requests", *req.MaxRequests)
			}
			if err := tx.Save(bin); err != nil {
				return 0, nil, saveError(e, err)
			}
			return 201, binView(svc, bin), nil
		})
	}
}

func binView(svc *platform.Services, bin *core.Record) map[string]any {
	return map[string]any{
		"id":           bin.Id,
		"workspace":    bin.GetString("workspace"),
		"name":         bin.GetString("name"),
		"token":        bin.GetString("token"),
		"capture_url":  svc.PublicURL() + "/api/v1/playground/bins/" + bin.GetString("token") + "/capture",
		"max_requests": bin.GetInt("max_requests"),
		"response": map[string]any{
			"status":   bin.GetInt("response_status"),
			"headers":  bin.Get("response_headers"),
			"body":     bin.GetString("response_body"),
			"delay_ms": bin.GetInt("response_delay_ms"),
		},
		"created": bin.GetDateTime("created"),
	}
}

// maxCapturedHeaders caps the stored headers of one captured request.
const maxCapturedHeaders = 24 << 10

// captureRequest stores whatever arrives at a bin's capture URL (members of its workspace see it appear in
// realtime through playground_requests) and answers with the bin's mock response.
func captureRequest(e *core.RequestEvent) error {
	bin, err := e.App.FindFirstRecordByData(collections.PlaygroundBins, "token", e.Request.PathValue("token"))
	if err != nil {
		return e.NotFoundError("No such bin.", nil)
	}
	body, err := io.ReadAll(io.LimitReader(e.Request.Body, webhooks.MaxCaptureBody))
	if err != nil {
		return e.BadRequestError("Could not read the request body.", nil)
	}
	rest, _ := io.Copy(io.Discard, e.Request.Body)
	size := int64(len(body)) + rest

	headers := map[string][]string{}
	budget := maxCapturedHeaders
	for k, vs := range e.Request.Header {
		n := len(k)
		for _, v := range vs {
			n += len(v) + 8
		}
		if n > budget {
			continue
		}
		budget -= n
		headers[k] = vs
	}
	coll, err := e.App.FindCachedCollectionByNameOrId(collections.PlaygroundRequests)
	if err != nil {
		return err
	}
	rec := core.NewRecord(coll)
	rec.Set("workspace", bin.GetString("workspace"))
	rec.Set("bin", bin.Id)
	rec.Set("method", e.Request.Method)
	rec.Set("path", "/"+e.Request.PathValue("path"))
	rec.Set("query", e.Request.URL.Query())
	rec.Set("headers", headers)
	if utf8.Valid(body) {
		rec.Set("body", string(body))
		rec.Set("body_encoding", "text")
	} else {
		rec.Set("body", base64.StdEncoding.EncodeToString(body))
		rec.Set("body_encoding", "base64")
	}
	rec.Set("body_size", size)
	rec.Set("body_truncated", rest > 0)
	rec.Set("ip", e.RealIP())
	rec.Set("ts", time.Now().UnixMilli())
	if err := e.App.Save(rec); err != nil {
		return err
	}
	trimBin(e.App, bin)

	if d := time.Duration(bin.GetInt("response_delay_ms")) * time.Millisecond; d > 0 {
		t := time.NewTimer(min(d, webhooks.MaxBinDelay))
		select {
		case <-t.C:
		case <-e.Request.Context().Done():
			t.Stop()
			return nil
		}
	}
	var mockHeaders map[string]string
	_ = json.Unmarshal([]byte(bin.GetString("response_headers")), &mockHeaders)
	for k, v := range mockHeaders {
		e.Response.Header().Set(k, v)
	}
	status := bin.GetInt("response_status")
	if status == 0 {
		status = http.StatusOK
	}
	if e.Response.Header().Get("Content-Type") == "" {
		e.Response.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	e.Response.WriteHeader(status)
	_, err = io.Copy(e.Response, strings.NewReader(bin.GetString("response_body")))
	return err
}

// trimBin deletes a bin's oldest captures beyond its max_requests (through the model, so realtime sees it).
func trimBin(app core.App, bin *core.Record) {
	keep := max(bin.GetInt("max_requests"), 1)
	old, err := app.FindRecordsByFilter(collections.PlaygroundRequests, "bin = {:bin}", "-ts,-id", 50, keep, dbx.Params{"bin": bin.Id})
	if err != nil {
		return
	}
	for _, r := range old {
		if err := app.Delete(r); err != nil {
			app.Logger().Warn("playground: trimming a bin failed", "bin", bin.Id, "error", err)
			return
		}
	}
}

func verifyCapture(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req struct {
			Endpoint string `json:"endpoint"`
		}
		if err := readJSON(e, &req); err != nil {
			return err
		}
		if req.Endpoint == "" {
			return fieldError(e, "endpoint", "validation_required", "name the endpoint whose secret should have signed the request")
		}
		captured, err := findInWorkspace(e, collections.PlaygroundRequests, e.Request.PathValue("id"))
		if err != nil {
			return err
		}
		ep, err := findInWorkspace(e, collections.WebhookEndpoints, req.Endpoint)
		if err != nil {
			return fieldError(e, "endpoint", "validation_not_found", "is not an endpoint of this workspace")
		}
		return e.JSON(200, webhooks.VerifyCaptured(svc.Box, ep, captured))
	}
}
