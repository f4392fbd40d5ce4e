package platform

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/apikey"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
	"github.com/pocketbase/pocketbase/tools/types"
)

// keyCacheTTL bounds how long a key change made by another process can go unseen; changes made through this
// process clear the cache at once.
const keyCacheTTL = 30 * time.Second

// KeyAuth authenticates API keys from memory and counts their use without a database write per request.
type KeyAuth struct {
	mu    sync.RWMutex
	cache map[string]cachedKey // by presented secret's hash

	usageMu sync.Mutex
	usage   map[usageKey]*atomic.Int64
}

type cachedKey struct {
	key      *apikey.Key // nil: no such key (negative cache)
	loadedAt time.Time
}

type usageKey struct {
	keyID, workspace, day string
}

// KeyAuthStoreKey is where Register keeps the app's KeyAuth in app.Store(), for commands and tests.
const KeyAuthStoreKey = "playgram.keyauth"

// NewKeyAuth returns an empty authenticator.
func NewKeyAuth() *KeyAuth {
	return &KeyAuth{cache: map[string]cachedKey{}, usage: map[usageKey]*atomic.Int64{}}
}

// Forget drops every cached key, after a key was changed, rotated or revoked.
func (k *KeyAuth) Forget() {
	k.mu.Lock()
	k.cache = map[string]cachedKey{}
	k.mu.Unlock()
}

// Lookup finds the key a secret belongs to; nil means unknown.
func (k *KeyAuth) Lookup(app core.App, secret string, now time.Time) (*apikey.Key, error) {
	hash := apikey.Hash(secret)
	k.mu.RLock()
	c, ok := k.cache[hash]
	k.mu.RUnlock()
	if ok && now.Sub(c.loadedAt) < keyCacheTTL {
		return c.key, nil
	}
	key, err := loadKey(app, hash)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	if len(k.cache) > 50_000 { // unknown secrets must not grow memory without bound
		k.cache = map[string]cachedKey{}
	}
	k.cache[hash] = cachedKey{key: key, loadedAt: now}
	k.mu.Unlock()
	return key, nil
}

type keyRow struct {
	ID                string `db:"id"`
	Workspace         string `db:"workspace"`
	Prefix            string `db:"prefix"`
	Hash              string `db:"hash"`
	PreviousExpiresAt string `db:"previous_expires_at"`
	Scopes            string `db:"scopes"`
	Tool              string `db:"tool"`
	AllowIPs          string `db:"allow_ips"`
	ExpiresAt         string `db:"expires_at"`
	Revoked           bool   `db:"revoked"`
	SigningSecret     string `db:"signing_secret"`
	RequireSignature  bool   `db:"require_signature"`
}

func loadKey(app core.App, hash string) (*apikey.Key, error) {
	var row keyRow
	err := app.DB().NewQuery(`SELECT id, workspace, prefix, hash, previous_expires_at, scopes, tool, allow_ips, expires_at, revoked,
		signing_secret, require_signature FROM api_keys WHERE hash = {:h} OR previous_hash = {:h} LIMIT 1`).Bind(dbx.Params{"h": hash}).One(&row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	key := &apikey.Key{ID: row.ID, Workspace: row.Workspace, Prefix: row.Prefix, Tool: row.Tool, Revoked: row.Revoked,
		SigningSecret: row.SigningSecret, RequireSignature: row.RequireSignature}
	_ = json.Unmarshal([]byte(row.Scopes), &key.Scopes)
	var ips []string
	_ = json.Unmarshal([]byte(row.AllowIPs), &ips)
	key.AllowList, _ = apikey.ParseAllowList(ips)
	if row.ExpiresAt != "" {
		d, _ := types.ParseDateTime(row.ExpiresAt)
		key.ExpiresAt = d.Time()
	}
	if row.Hash != hash { // the previous secret of a rotated key
		d, _ := types.ParseDateTime(row.PreviousExpiresAt)
		key.GraceUntil = d.Time()
		if key.GraceUntil.IsZero() {
			key.GraceUntil = time.Unix(1, 0)
		}
	}
	return key, nil
}

// Count adds one use of a key to the in-memory counter of its UTC day.
func (k *KeyAuth) Count(key *apikey.Key, now time.Time) {
	uk := usageKey{key.ID, key.Workspace, now.UTC().Format(time.DateOnly)}
	k.usageMu.Lock()
	c, ok := k.usage[uk]
	if !ok {
		c = &atomic.Int64{}
		k.usage[uk] = c
	}
	k.usageMu.Unlock()
	c.Add(1)
}

// Flush writes the counted uses to api_key_usage (one upsert per key and day) and last_used_at, in one
// transaction. Counts are taken out of memory first and put back if the write fails, so none are lost.
func (k *KeyAuth) Flush(app core.App) error {
	k.usageMu.Lock()
	pending := k.usage
	k.usage = map[usageKey]*atomic.Int64{}
	k.usageMu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	now := types.NowDateTime().String()
	err := WriteTx(app, func(tx core.App) error {
		for uk, c := range pending {
			n := c.Load()
			if n == 0 {
				continue
			}
			_, err := tx.DB().NewQuery(`INSERT INTO api_key_usage (id, workspace, key, day, count, created, updated)
				VALUES ({:id}, {:ws}, {:key}, {:day}, {:n}, {:now}, {:now})
				ON CONFLICT(key, day) DO UPDATE SET count = count + excluded.count, updated = excluded.updated`).
				Bind(dbx.Params{"id": security.RandomStringWithAlphabet(15, core.DefaultIdAlphabet), "ws": uk.workspace, "key": uk.keyID, "day": uk.day, "n": n, "now": now}).Execute()
			if err != nil {
				return err
			}
			if _, err := tx.DB().NewQuery(`UPDATE api_keys SET last_used_at = {:now} WHERE id = {:key}`).
				Bind(dbx.Params{"now": now, "key": uk.keyID}).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		k.usageMu.Lock()
		for uk, c := range pending {
			if cur, ok := k.usage[uk]; ok {
				cur.Add(c.Load())
			} else {
				k.usage[uk] = c
			}
		}
		k.usageMu.Unlock()
	}
	return err
}

// NewKeyParams are the choices a person makes when creating a key.
type NewKeyParams struct {
	Name      string
	Scopes    []string
	Tool      string
	AllowIPs  []string
	ExpiresAt time.Time
}

// Validate returns field-level problems in PocketBase's error-data shape.
func (p NewKeyParams) Validate(app core.App, workspace string) map[string]string {
	problems := map[string]string{}
	if strings.TrimSpace(p.Name) == "" {
		problems["name"] = "A name is required, so the key can be recognised later."
	} else if len(p.Name) > 100 {
		problems["name"] = "Must be at most 100 characters."
	}
	if err := apikey.ValidateScopes(p.Scopes); err != nil {
		problems["scopes"] = err.Error()
	}
	if _, err := apikey.ParseAllowList(p.AllowIPs); err != nil {
		problems["allow_ips"] = err.Error()
	}
	if !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(time.Now()) {
		problems["expires_at"] = "Must be in the future."
	}
	if p.Tool != "" {
		tool, err := app.FindRecordById(collections.Tools, p.Tool)
		if err != nil || tool.GetString("workspace") != workspace {
			problems["tool"] = "No tool with this id in the workspace."
		}
	}
	return problems
}

// CreateKey stores a new key (hash and prefix only) and its audit row in one transaction and returns the
// secret, which is never stored or shown again.
func CreateKey(app core.App, workspace string, p NewKeyParams, actor Actor) (secret string, rec *core.Record, err error) {
	secret, hash, prefix, err := apikey.Generate()
	if err != nil {
		return "", nil, err
	}
	err = WriteTx(app, func(tx core.App) error {
		coll, err := tx.FindCachedCollectionByNameOrId(collections.APIKeys)
		if err != nil {
			return err
		}
		rec = core.NewRecord(coll)
		rec.Set("workspace", workspace)
		rec.Set("name", strings.TrimSpace(p.Name))
		rec.Set("prefix", prefix)
		rec.Set("hash", hash)
		rec.Set("scopes", p.Scopes)
		rec.Set("tool", p.Tool)
		rec.Set("allow_ips", nonNil(p.AllowIPs))
		if !p.ExpiresAt.IsZero() {
			rec.Set("expires_at", p.ExpiresAt)
		}
		rec.Set("created_by", actor.String())
		if err := tx.Save(rec); err != nil {
			return err
		}
		return Audit(tx, actor, workspace, "api_key.created", collections.APIKeys, rec.Id, nil, KeySummary(rec))
	})
	return secret, rec, err
}

// RotateKey gives a key a new secret; the old one keeps working until grace has passed.
func RotateKey(app core.App, rec *core.Record, grace time.Duration, actor Actor) (string, error) {
	if rec.GetBool("revoked") {
		return "", errors.New("a revoked key cannot be rotated")
	}
	secret, hash, prefix, err := apikey.Generate()
	if err != nil {
		return "", err
	}
	before := KeySummary(rec)
	err = WriteTx(app, func(tx core.App) error {
		rec.Set("previous_hash", rec.GetString("hash"))
		rec.Set("previous_expires_at", time.Now().Add(grace))
		rec.Set("hash", hash)
		rec.Set("prefix", prefix)
		if err := tx.Save(rec); err != nil {
			return err
		}
		after := KeySummary(rec)
		after["grace_until"] = rec.GetDateTime("previous_expires_at").Time().UTC().Format(time.RFC3339)
		return Audit(tx, actor, rec.GetString("workspace"), "api_key.rotated", collections.APIKeys, rec.Id, before, after)
	})
	return secret, err
}

// RevokeKey stops a key, and its previous secret, at once.
func RevokeKey(app core.App, rec *core.Record, actor Actor) error {
	before := KeySummary(rec)
	return WriteTx(app, func(tx core.App) error {
		rec.Set("revoked", true)
		rec.Set("revoked_at", time.Now())
		if err := tx.Save(rec); err != nil {
			return err
		}
		return Audit(tx, actor, rec.GetString("workspace"), "api_key.revoked", collections.APIKeys, rec.Id, before, KeySummary(rec))
	})
}

// KeySummary is what the audit log and API responses may show of a key: never its hash.
func KeySummary(rec *core.Record) map[string]any {
	out := map[string]any{
		"id":         rec.Id,
		"name":       rec.GetString("name"),
		"prefix":     rec.GetString("prefix"),
		"scopes":     rec.GetStringSlice("scopes"),
		"tool":       rec.GetString("tool"),
		"allow_ips":  rec.Get("allow_ips"),
		"revoked":    rec.GetBool("revoked"),
		"expires_at": dateOrNil(rec.GetDateTime("expires_at")),
		// whether a signing secret exists and is required; the secret itself is never shown again
		"has_signing_secret": rec.GetString("signing_secret") != "",
		"require_signature":  rec.GetBool("require_signature"),
	}
	return out
}

func dateOrNil(d types.DateTime) any {
	if d.IsZero() {
		return nil
	}
	return d.Time().UTC().Format(time.RFC3339)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
