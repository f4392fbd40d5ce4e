package verify

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/playgram/playgram/internal/dbtime"
	"net/http"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/playgram/playgram/internal/outbound"
	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/internal/verification"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// CreateInput is a partner website's request for a code.
type CreateInput struct {
	Workspace  string
	Tool       *core.Record // nil: defaults
	Config     Config
	Key        *apikey.Key
	IGUsername string
	Callback   string
	TTL        time.Duration // 0: the tool's
	Metadata   map[string]any
	IP         string
	Actor      platform.Actor
}

// Created is the answer to a create: the code is shown only here.
type Created struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	ExpiresAt  string `json:"expires_at"`
	DMText     string `json:"dm_text"`
	DMLink     string `json:"dm_link"`
	Status     string `json:"status"`
	WatchToken string `json:"watch_token"`
}

// Create issues a code in tx. A code already pending in the workspace is drawn again.
func Create(tx core.App, box *secretbox.Box, in CreateInput, now time.Time) (*Created, error) {
	coll, err := tx.FindCachedCollectionByNameOrId(collections.Verifications)
	if err != nil {
		return nil, err
	}
	var code, hash string
	for attempt := 0; ; attempt++ {
		if attempt == 8 {
			return nil, errors.New("could not draw an unused code; raise code_length")
		}
		if code, err = verification.NewCode(in.Config.CodeLength); err != nil {
			return nil, err
		}
		hash = box.MAC(codePurpose, in.Workspace+"\x00"+code)
		n, err := tx.CountRecords(collections.Verifications, dbx.HashExp{"workspace": in.Workspace, "code_hash": hash, "status": verification.Pending})
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
	}
	ttl := in.TTL
	if ttl == 0 {
		ttl = time.Duration(in.Config.TTLMinutes) * time.Minute
	}
	r := core.NewRecord(coll)
	r.Set("workspace", in.Workspace)
	if in.Tool != nil {
		r.Set("tool", in.Tool.Id)
	}
	if in.Key != nil {
		r.Set("key", in.Key.ID)
	}
	r.Set("code_hash", hash)
	r.Set("status", verification.Pending)
	r.Set("ig_username", in.IGUsername)
	r.Set("callback_url", in.Callback)
	if in.Metadata != nil {
		r.Set("metadata", in.Metadata)
	}
	r.Set("expires_at", now.Add(ttl))
	r.Set("ip", in.IP)
	if err := tx.Save(r); err != nil {
		return nil, err
	}
	if _, err := platform.Emit(tx, platform.Event{Workspace: in.Workspace, Type: "verification.created", SubjectCollection: collections.Verifications,
		SubjectID: r.Id, Actor: in.Actor.String(), At: now, Data: map[string]any{"id": r.Id, "ig_username": in.IGUsername}}); err != nil {
		return nil, err
	}
	return &Created{ID: r.Id, Code: code, ExpiresAt: now.Add(ttl).UTC().Format(time.RFC3339),
		DMText: verification.DMText(in.Config.DMText, code), DMLink: verification.DMLink(in.Config.InstagramUsername),
		Status: verification.Pending, WatchToken: WatchToken(box, r.Id)}, nil
}

// WatchToken lets a browser watch one verification without the partner's API key.
func WatchToken(box *secretbox.Box, id string) string { return box.MAC(watchPurpose, id) }

// DMInput is what Manychat passes when someone DMs a code.
type DMInput struct {
	Workspace    string
	Code         string
	IGUsername   string
	SubscriberID string
	IP           string
	Actor        platform.Actor
}

// VerifyDM judges a DM'd code and records the attempt, in one transaction; reason is "" on success.
func VerifyDM(app core.App, box *secretbox.Box, hub *Hub, in DMInput, now time.Time) (reason string, rec *core.Record, err error) {
	candidates := verification.Candidates(in.Code)
	sender := verification.NormalizeUsername(in.IGUsername)
	err = platform.WriteTx(app, func(tx core.App) error {
		since := dbtime.Format(now.Add(-AttemptWindow))
		var failures int
		if in.SubscriberID != "" {
			if err := tx.DB().NewQuery(`SELECT COUNT(*) FROM verification_attempts WHERE workspace = {:ws} AND subscriber_id = {:sid}
				AND ok = FALSE AND created >= {:since}`).Bind(dbx.Params{"ws": in.Workspace, "sid": in.SubscriberID, "since": since}).Row(&failures); err != nil {
				return err
			}
		}
		if failures >= MaxFailuresPerSender {
			reason = verification.ReasonTooManyAttempts
			return recordAttempt(tx, in, "", sender, reason)
		}
		// The first word of the DM that is a code of this workspace is the one judged.
		for _, code := range candidates {
			found, err := tx.FindFirstRecordByFilter(collections.Verifications, "workspace = {:ws} && code_hash = {:h}",
				dbx.Params{"ws": in.Workspace, "h": box.MAC(codePurpose, in.Workspace+"\x00"+code)})
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if found != nil {
				rec = found
				break
			}
		}
		maxAttempts := 5
		var state *verification.State
		if rec != nil {
			if _, cfg, err := LoadConfig(tx, in.Workspace, rec.GetString("tool"), ""); err == nil {
				maxAttempts = cfg.MaxAttemptsPerCode
			}
			state = &verification.State{Status: rec.GetString("status"), ExpiresAt: rec.GetDateTime("expires_at").Time(),
				Username: rec.GetString("ig_username"), Attempts: rec.GetInt("attempts")}
		}
		reason = verification.Judge(state, sender, maxAttempts, now)
		verID := ""
		if rec != nil {
			verID = rec.Id
		}
		if err := recordAttempt(tx, in, verID, sender, reason); err != nil {
			return err
		}
		switch {
		case rec == nil || reason == verification.ReasonUsed:
			return nil
		case reason == verification.ReasonExpired:
			if rec.GetString("status") == verification.Pending {
				return complete(tx, hub, rec, verification.Expired, reason, now, in.Actor.String())
			}
			return nil
		case reason != "":
			rec.Set("attempts", rec.GetInt("attempts")+1)
			if rec.GetInt("attempts") >= maxAttempts && rec.GetString("status") == verification.Pending {
				return complete(tx, hub, rec, verification.Failed, verification.ReasonTooManyAttempts, now, in.Actor.String())
			}
			return tx.Save(rec)
		}
		contact, err := platform.ResolveContact(tx, in.Workspace, platform.ContactRef{SubscriberID: in.SubscriberID}, map[string]any{"ig_username": sender})
		if err == nil {
			rec.Set("contact", contact.Id)
		}
		rec.Set("verified_username", sender)
		rec.Set("subscriber_id", in.SubscriberID)
		rec.Set("attempts", rec.GetInt("attempts")+1)
		return complete(tx, hub, rec, verification.Verified, "", now, in.Actor.String())
	})
	return reason, rec, err
}

func recordAttempt(tx core.App, in DMInput, verificationID, sender, reason string) error {
	coll, err := tx.FindCachedCollectionByNameOrId(collections.VerificationAttempts)
	if err != nil {
		return err
	}
	a := core.NewRecord(coll)
	a.Set("workspace", in.Workspace)
	a.Set("verification", verificationID)
	a.Set("subscriber_id", in.SubscriberID)
	a.Set("ig_username", sender)
	a.Set("ip", in.IP)
	a.Set("ok", reason == "")
	a.Set("reason", reason)
	return tx.Save(a)
}

// sendCallback posts the result to the verification's callback_url, signed (Standard Webhooks) with the
// creating key's signing secret, through the SSRF-guarded client.
func sendCallback(ctx context.Context, app core.App, svc *platform.Services, id, eventType string) error {
	r, err := app.FindRecordById(collections.Verifications, id)
	if err != nil {
		return jobs.Permanent(err)
	}
	keyRec, err := app.FindRecordById(collections.APIKeys, r.GetString("key"))
	if err != nil {
		return jobs.Permanent(fmt.Errorf("the key that created verification %s is gone", id))
	}
	secret, ok, err := platform.KeySigningSecret(svc.Box, &apikey.Key{SigningSecret: keyRec.GetString("signing_secret")})
	if err != nil || !ok {
		return jobs.Permanent(errors.New("the key has no signing secret to sign the callback with"))
	}
	now := time.Now()
	body, err := json.Marshal(map[string]any{"type": eventType, "timestamp": now.UTC().Format(time.RFC3339), "data": ResultOf(r, now)})
	if err != nil {
		return err
	}
	msgID := "msg_verification_" + r.Id // the same id on every retry, so receivers can deduplicate
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.GetString("callback_url"), bytes.NewReader(body))
	if err != nil {
		return jobs.Permanent(err)
	}
	for k, v := range whsig.Headers(msgID, now, whsig.Sign(secret, msgID, now, body)) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := svc.Outbound.Do(req)
	if err != nil {
		var blocked *outbound.BlockedError
		if errors.As(err, &blocked) {
			return jobs.Permanent(err)
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback answered %d", resp.StatusCode)
	}
	return nil
}

// DayStats are one key's counts for one UTC day.
type DayStats struct {
	Key      string `db:"key" json:"key"`
	Day      string `db:"day" json:"day"`
	Issued   int    `db:"issued" json:"issued"`
	Verified int    `db:"verified" json:"verified"`
	Failed   int    `db:"failed" json:"failed"`
	Expired  int    `db:"expired" json:"expired"`
}

// Stats counts verifications per key and day in [from, to), for one key or ("" ) all of the workspace's.
func Stats(app core.App, workspace, key string, from, to time.Time) ([]DayStats, error) {
	where := dbx.And(dbx.HashExp{"workspace": workspace},
		dbx.NewExp("created >= {:from} AND created < {:to}", dbx.Params{"from": dbtime.Format(from), "to": dbtime.Format(to)}))
	if key != "" {
		where = dbx.And(where, dbx.HashExp{"key": key})
	}
	var out []DayStats
	err := app.DB().Select("key", "substr(created, 1, 10) AS day", "COUNT(*) AS issued",
		"SUM(status = 'verified') AS verified", "SUM(status = 'failed') AS failed",
		"SUM(status = 'expired' OR (status = 'pending' AND expires_at <= {:now})) AS expired").
		From(collections.Verifications).Where(where).Bind(dbx.Params{"now": dbtime.Format(time.Now())}).
		GroupBy("key", "day").OrderBy("day", "key").All(&out)
	if out == nil {
		out = []DayStats{}
	}
	return out, err
}
