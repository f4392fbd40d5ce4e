package routes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
)

// IdempotencyWindow is how long a create remembers its Idempotency-Key.
const IdempotencyWindow = 24 * time.Hour

type replayed struct {
	status int
	body   json.RawMessage
}

func (replayed) Error() string { return "replayed" }

// createOnce runs create and answers with its result. With an Idempotency-Key header, the lookup, create and
// the stored response share one transaction: a retried request (Manychat retries on timeouts) gets the first
// response back, and the same key with a different body is a 422. create must not call outside services.
func createOnce(e *core.RequestEvent, raw []byte, create func(tx core.App) (int, any, error)) error {
	key := e.Request.Header.Get("Idempotency-Key")
	if key == "" {
		return createIn(e, platform.WriteTx, create)
	}
	if len(key) > 255 {
		return fieldError(e, "Idempotency-Key", "validation_length_out_of_range", "must be at most 255 characters")
	}
	scope := idempotencyScope(e)
	sum := sha256.Sum256(append([]byte(e.Request.Method+" "+e.Request.URL.Path+"\n"), raw...))
	hash := hex.EncodeToString(sum[:])

	var status int
	var body []byte
	err := platform.WriteTx(e.App, func(tx core.App) error {
		prev, err := tx.FindFirstRecordByFilter(collections.IdempotencyKeys, "scope = {:s} && key = {:k}", dbx.Params{"s": scope, "k": key})
		if err == nil {
			if time.Since(prev.GetDateTime("created").Time()) < IdempotencyWindow {
				if prev.GetString("request_hash") != hash {
					return router.NewApiError(http.StatusUnprocessableEntity, "This Idempotency-Key was already used with a different request body; use a new key for a new request.", nil)
				}
				return replayed{prev.GetInt("status"), json.RawMessage(prev.GetString("response"))}
			}
			if err := tx.Delete(prev); err != nil {
				return err
			}
		}
		var resp any
		status, resp, err = create(tx)
		if err != nil {
			return err
		}
		if body, err = json.Marshal(resp); err != nil {
			return err
		}
		coll, err := tx.FindCachedCollectionByNameOrId(collections.IdempotencyKeys)
		if err != nil {
			return err
		}
		rec := core.NewRecord(coll)
		rec.Set("scope", scope)
		rec.Set("key", key)
		rec.Set("request_hash", hash)
		rec.Set("status", status)
		rec.Set("response", string(body))
		return tx.Save(rec)
	})
	var again replayed
	if errors.As(err, &again) {
		e.Response.Header().Set("Idempotent-Replayed", "true")
		return e.Blob(again.status, "application/json", again.body)
	}
	if err != nil {
		return err
	}
	return e.Blob(status, "application/json", body)
}

// createIn runs create in the transaction that run makes and answers with its result.
func createIn(e *core.RequestEvent, run func(app core.App, fn func(tx core.App) error) error, create func(tx core.App) (int, any, error)) error {
	var status int
	var resp any
	err := run(e.App, func(tx core.App) error {
		var err error
		status, resp, err = create(tx)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(e, status, resp)
}

func writeJSON(e *core.RequestEvent, status int, resp any) error {
	body, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	return e.Blob(status, "application/json", body)
}

func idempotencyScope(e *core.RequestEvent) string {
	p := platform.PrincipalOf(e)
	switch {
	case p == nil:
		return "ip:" + e.RealIP()
	case p.Key != nil:
		return p.Workspace + ":key:" + p.Key.ID
	case p.User != nil:
		return p.Workspace + ":user:" + p.User.Id
	}
	return p.Workspace
}

// createGrouped is createOnce for routes called in bursts (Manychat pushes, bookings): without an
// Idempotency-Key the write shares a transaction with concurrent ones (platform.WriteGrouped, group commit);
// with a key it is createOnce. create may run twice (see platform.WriteGrouped), so it must not keep state
// between runs.
func createGrouped(e *core.RequestEvent, raw []byte, create func(tx core.App) (int, any, error)) error {
	if e.Request.Header.Get("Idempotency-Key") != "" {
		return createOnce(e, raw, create)
	}
	return createIn(e, platform.WriteGrouped, create)
}
