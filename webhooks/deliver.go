package webhooks

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/outbound"
	"github.com/playgram/playgram/internal/secretbox"
	"github.com/playgram/playgram/internal/webhook"
	"github.com/playgram/playgram/internal/whsig"
	"github.com/playgram/playgram/jobs"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// ResponseExcerpt is how much of a receiver's answer an attempt keeps.
const ResponseExcerpt = 4096

// MessageID is the webhook-id of every request made for an event: the same for every endpoint, retry and
// replay, so receivers deduplicate on it.
func MessageID(eventID string) string { return "msg_" + eventID }

// task is one claimed delivery on its way out.
type task struct {
	ID, Workspace, Endpoint, Event, EventType string
	EventTS                                   int64
	Attempts, AttemptBase                     int
	ep                                        *endpoint
	data                                      []byte
}

type claimedRow struct {
	ID          string `db:"id"`
	Workspace   string `db:"workspace"`
	Event       string `db:"event"`
	EventType   string `db:"event_type"`
	EventTS     int64  `db:"event_ts"`
	Attempts    int    `db:"attempts"`
	AttemptBase int    `db:"attempt_base"`
}

// result is what one request did.
type result struct {
	task        *task
	start       time.Time
	duration    time.Duration
	code        int
	body        string
	errText     string
	outcome     webhook.Outcome
	permanent   bool // no request could be built: retrying cannot help
	interrupted bool // shutdown cancelled it: hand it back without counting an attempt
}

func (e *Engine) box() *secretbox.Box {
	if e.svc == nil {
		return nil
	}
	return e.svc.Box
}

// claim takes, for every endpoint with deliveries due, as many as its in-flight bound and rate limit allow
// now, all in one transaction. It returns the claimed deliveries and how long until something may be due.
func (e *Engine) claim(ctx context.Context) ([]*task, time.Duration, error) {
	now := time.Now()
	nowMs := now.UnixMilli()
	wait := e.opts.PollInterval

	e.mu.Lock()
	var dueIDs []string
	for id, st := range e.states {
		if st.due == 0 {
			continue
		}
		if st.due > nowMs {
			wait = min(wait, time.Duration(st.due-nowMs)*time.Millisecond)
			continue
		}
		dueIDs = append(dueIDs, id)
	}
	e.mu.Unlock()
	if len(dueIDs) == 0 {
		return nil, wait, nil
	}
	if err := e.cache.refresh(e.app, false); err != nil {
		return nil, wait, err
	}

	type plan struct {
		ep     *endpoint
		budget int
	}
	var plans []plan
	for _, id := range dueIDs {
		ep, err := e.cache.get(e.app, e.box(), id)
		if err != nil {
			return nil, wait, err
		}
		if ep == nil || !ep.Enabled {
			// Deleted or disabled: its pending deliveries were removed or skipped by the hooks.
			e.mu.Lock()
			e.state(id).due = 0
			e.mu.Unlock()
			continue
		}
		budget, retry := e.reserve(ep, now, e.opts.Concurrency)
		if retry > 0 {
			wait = min(wait, retry)
		}
		if budget > 0 {
			plans = append(plans, plan{ep, budget})
		}
	}
	if len(plans) == 0 {
		return nil, wait, nil
	}

	var tasks []*task
	got := make([]int, len(plans))
	nextDue := make([]int64, len(plans))
	marks := make([]int64, len(plans))
	e.mu.Lock()
	for i, p := range plans {
		marks[i] = e.state(p.ep.ID).marks
	}
	e.mu.Unlock()
	err := platform.WriteTx(e.app, func(tx core.App) error {
		db := tx.NonconcurrentDB()
		q := db.NewQuery(`UPDATE ` + collections.WebhookDeliveries + ` SET status = 'sending', lease_owner = {:owner}, lease_until = {:lease}
			WHERE id IN (SELECT id FROM ` + collections.WebhookDeliveries + `
				WHERE status = 'pending' AND endpoint = {:ep} AND next_at <= {:now} ORDER BY next_at LIMIT {:n})
			RETURNING id, workspace, event, event_type, event_ts, attempts, attempt_base`).Prepare()
		defer q.Close()
		for i, p := range plans {
			var rows []claimedRow
			err := q.Bind(dbx.Params{"owner": e.owner, "lease": now.Add(e.opts.Lease).UnixMilli(), "ep": p.ep.ID, "now": nowMs, "n": p.budget}).All(&rows)
			if err != nil {
				return err
			}
			got[i] = len(rows)
			nextDue[i] = nowMs
			if len(rows) < p.budget {
				var next int64
				if err := db.NewQuery("SELECT COALESCE(MIN(next_at), 0) FROM " + collections.WebhookDeliveries + " WHERE status = 'pending' AND endpoint = {:ep}").
					Bind(dbx.Params{"ep": p.ep.ID}).Row(&next); err != nil {
					return err
				}
				nextDue[i] = next
			}
			for _, r := range rows {
				tasks = append(tasks, &task{ID: r.ID, Workspace: r.Workspace, Endpoint: p.ep.ID, Event: r.Event, EventType: r.EventType,
					EventTS: r.EventTS, Attempts: r.Attempts, AttemptBase: r.AttemptBase, ep: p.ep})
			}
		}
		return nil
	})
	if err == nil {
		// Events never change, so their data is read outside the writer's transaction.
		err = e.loadEventData(e.app, tasks)
		if err != nil {
			e.releaseTasks(tasks)
		}
	}
	e.mu.Lock()
	for i, p := range plans {
		st := e.state(p.ep.ID)
		unused := p.budget - got[i]
		if err != nil {
			unused = p.budget
		}
		e.unreserveLocked(p.ep, unused)
		if err == nil {
			if st.marks == marks[i] {
				st.due = nextDue[i]
			} else if nextDue[i] != 0 && nextDue[i] < st.due {
				st.due = nextDue[i] // something was marked due meanwhile: keep the earlier of the two
			}
			if st.due > nowMs {
				wait = min(wait, time.Duration(st.due-nowMs)*time.Millisecond)
			}
		}
	}
	e.mu.Unlock()
	if err != nil {
		return nil, wait, err
	}
	return tasks, wait, nil
}

// releaseTasks hands claimed deliveries back untouched (their data could not be read).
func (e *Engine) releaseTasks(tasks []*task) {
	ids := make([]any, len(tasks))
	for i, t := range tasks {
		ids[i] = t.ID
	}
	in, params := inList(ids)
	params["owner"] = e.owner
	_, err := e.app.NonconcurrentDB().NewQuery(`UPDATE ` + collections.WebhookDeliveries + ` SET status = 'pending', lease_owner = '', lease_until = 0
		WHERE lease_owner = {:owner} AND status = 'sending' AND id IN ` + in).Bind(params).Execute()
	if err != nil {
		e.app.Logger().Error("webhooks: releasing claimed deliveries failed", "error", err)
	}
}

// reserve takes up to want requests of the endpoint's capacity now: its in-flight bound, its rate limit (a
// bucket of one second's worth of tokens) and the engine's concurrency. When it gives nothing because of the
// endpoint's limits, retry says when capacity returns (0: when a request in flight ends).
func (e *Engine) reserve(ep *endpoint, now time.Time, want int) (n int, retry time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.state(ep.ID)
	if now.Before(st.pausedUntil) {
		return 0, st.pausedUntil.Sub(now)
	}
	limit := ep.MaxInFlight
	if limit <= 0 {
		limit = e.opts.DefaultMaxInFlight
	}
	n = min(want, limit-st.inflight, e.opts.Concurrency-e.inflightTotal)
	if ep.RateLimit > 0 {
		rate := float64(ep.RateLimit)
		if st.refilled.IsZero() {
			st.tokens = rate // a full bucket to start with
		} else {
			st.tokens = min(rate, st.tokens+now.Sub(st.refilled).Seconds()*rate)
		}
		st.refilled = now
		n = min(n, int(st.tokens))
		if int(st.tokens) < 1 {
			retry = time.Duration((1-st.tokens)/rate*float64(time.Second)) + time.Millisecond
		}
	}
	if n <= 0 {
		return 0, retry
	}
	st.inflight += n
	e.inflightTotal += n
	if ep.RateLimit > 0 {
		st.tokens -= float64(n)
	}
	return n, 0
}

// unreserveLocked gives back capacity that reserve took but no request used; the caller holds e.mu.
func (e *Engine) unreserveLocked(ep *endpoint, n int) {
	if n <= 0 {
		return
	}
	st := e.state(ep.ID)
	st.inflight -= n
	e.inflightTotal -= n
	if ep.RateLimit > 0 {
		st.tokens += float64(n)
	}
}

func (e *Engine) loadEventData(app core.App, tasks []*task) error {
	if len(tasks) == 0 {
		return nil
	}
	ids := make([]any, 0, len(tasks))
	seen := map[string]bool{}
	for _, t := range tasks {
		if !seen[t.Event] {
			seen[t.Event] = true
			ids = append(ids, t.Event)
		}
	}
	var rows []struct {
		ID   string         `db:"id"`
		Data sql.NullString `db:"data"`
	}
	if err := app.DB().Select("id", "data").From(collections.Events).Where(dbx.In("id", ids...)).All(&rows); err != nil {
		return err
	}
	data := make(map[string][]byte, len(rows))
	for _, r := range rows {
		data[r.ID] = []byte(r.Data.String)
	}
	for _, t := range tasks {
		t.data = data[t.Event]
	}
	return nil
}

// send makes one delivery request. It runs outside any transaction.
func (e *Engine) send(ctx context.Context, t *task) *result {
	r := &result{task: t, start: time.Now()}
	if t.ep.broken != "" {
		r.permanent, r.errText = true, t.ep.broken
		r.outcome = webhook.Outcome{Action: webhook.ActionRetry, Reason: t.ep.broken}
		return r
	}
	var data any // an event without data is sent with "data": {}
	if raw := bytes.TrimSpace(t.data); len(raw) > 0 && string(raw) != "null" {
		data = json.RawMessage(raw)
	}
	body, err := webhook.BuildPayload(t.EventType, time.UnixMilli(t.EventTS), data, t.ep.Transform)
	if err != nil {
		r.permanent, r.errText = true, "the payload cannot be built: "+err.Error()
		r.outcome = webhook.Outcome{Action: webhook.ActionRetry, Reason: r.errText}
		return r
	}
	req, err := e.NewRequest(ctx, t.ep.URL, t.ep.Headers, t.ep.Secrets, MessageID(t.Event), r.start, body)
	if err != nil {
		r.permanent, r.errText = true, err.Error()
		r.outcome = webhook.Outcome{Action: webhook.ActionRetry, Reason: r.errText}
		return r
	}
	resp, err := e.client.Do(req)
	if resp != nil {
		r.code = resp.StatusCode
		excerpt, _, _ := outbound.ReadCapped(resp, ResponseExcerpt)
		r.body = strings.ToValidUTF8(string(excerpt), "\uFFFD")
	}
	r.duration = time.Since(r.start)
	if resp == nil && ctx.Err() != nil {
		r.interrupted = true
		return r
	}
	r.outcome = webhook.ClassifyResponse(resp, err, r.start)
	if r.outcome.Action != webhook.ActionDelivered {
		r.errText = r.outcome.Reason
	}
	return r
}

// NewRequest builds a signed delivery request: the endpoint's custom headers, then Content-Type and the three
// Standard Webhooks headers, signed at ts with every secret given.
func (e *Engine) NewRequest(ctx context.Context, url string, headers map[string]string, secrets []whsig.Secret, msgID string, ts time.Time, body []byte) (*http.Request, error) {
	if len(secrets) == 0 {
		return nil, errors.New("the endpoint has no signing secret; rotate it")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range whsig.Headers(msgID, ts, whsig.SignAll(secrets, msgID, ts, body)) {
		req.Header[k] = v
	}
	return req, nil
}

// release gives the endpoint's in-flight slot back as soon as the request is over.
func (e *Engine) release(t *task, r *result) {
	e.mu.Lock()
	st := e.state(t.Endpoint)
	st.inflight--
	e.inflightTotal--
	if r.outcome.Throttle {
		// 429, 502, 504: the receiver is overloaded; give it a moment before anything else goes out.
		pause := min(max(r.outcome.RetryAfter, 5*time.Second), time.Minute)
		st.pausedUntil = time.Now().Add(pause)
	}
	limit := t.ep.MaxInFlight
	if limit <= 0 {
		limit = e.opts.DefaultMaxInFlight
	}
	wake := st.inflight <= limit/2
	e.mu.Unlock()
	if wake {
		e.WakeDeliver()
	}
}

type epOutcome struct {
	succeeded, failed bool
	disable           string
}

// record writes a batch of results in one transaction: an attempt row each, the delivery's new state (done,
// next retry, or dead), and the endpoints' health, disabling an endpoint that answered 410 or has failed
// without success for DisableAfter.
func (e *Engine) record(results []*result) error {
	now := time.Now()
	nowMs := now.UnixMilli()
	stamp := types.NowDateTime().String()
	retries := map[string]int64{}
	health := map[string]*epOutcome{}
	var attempts, updates [][]any
	var released []any
	for _, r := range results {
		t := r.task
		if r.interrupted {
			released = append(released, t.ID)
			retries[t.Endpoint] = nowMs
			continue
		}
		attempt := t.Attempts + 1
		h := health[t.Endpoint]
		if h == nil {
			h = &epOutcome{}
			health[t.Endpoint] = h
		}
		status, next, attemptStatus := "dead", int64(0), "failed"
		switch {
		case r.permanent:
		case r.outcome.Action == webhook.ActionDelivered:
			status, attemptStatus = "succeeded", "succeeded"
			h.succeeded = true
		case r.outcome.Action == webhook.ActionDisable:
			h.failed = true
			h.disable = "The receiver answered 410 Gone: it asked to stop deliveries."
		default:
			h.failed = true
			if at, ok := e.opts.Schedule.Next(attempt-t.AttemptBase, r.start, r.outcome, nil); ok {
				status, next = "pending", at.UnixMilli()
			}
		}
		if status == "pending" {
			if ep, _ := e.cache.get(e.app, e.box(), t.Endpoint); ep == nil || !ep.Enabled {
				status, next = "skipped", 0
			} else if cur, ok := retries[t.Endpoint]; !ok || next < cur {
				retries[t.Endpoint] = next
			}
		}
		errText := truncate(r.errText, 1000)
		attempts = append(attempts, []any{seqID(r.start), t.Workspace, t.Endpoint, t.ID, attempt, r.start.UnixMilli(), attemptStatus,
			r.code, truncate(r.body, ResponseExcerpt), r.duration.Milliseconds(), errText, stamp, stamp})
		updates = append(updates, []any{t.ID, status, attempt, next, r.code, errText, r.start.UnixMilli()})
	}
	err := platform.WriteTx(e.app, func(tx core.App) error {
		db := tx.NonconcurrentDB()
		if err := execRows(db, `INSERT INTO `+collections.WebhookAttempts+` (id, workspace, endpoint, delivery, attempt, ts, status,
				response_code, response_body, duration_ms, error, created, updated) VALUES `, "", nil, attempts); err != nil {
			return err
		}
		// Only rows this engine still holds are written: a claim that expired and was taken over is the other
		// process's to finish (the attempt above is logged either way).
		if err := execRows(db, `UPDATE `+collections.WebhookDeliveries+` SET status = v.column2, attempts = v.column3, next_at = v.column4,
				lease_owner = '', lease_until = 0, last_code = v.column5, last_error = v.column6, last_attempt_at = v.column7, updated = {:now}
			FROM (VALUES `, `) AS v WHERE `+collections.WebhookDeliveries+`.id = v.column1 AND lease_owner = {:owner} AND status = 'sending'`,
			dbx.Params{"now": stamp, "owner": e.owner}, updates); err != nil {
			return err
		}
		if len(released) > 0 {
			in, params := inList(released)
			params["owner"], params["now"] = e.owner, nowMs
			if _, err := db.NewQuery(`UPDATE ` + collections.WebhookDeliveries + ` SET status = 'pending', lease_owner = '', lease_until = 0,
					next_at = {:now} WHERE lease_owner = {:owner} AND status = 'sending' AND id IN ` + in).Bind(params).Execute(); err != nil {
				return err
			}
		}
		for _, id := range sortedKeys(keysOf(health)) {
			if err := e.updateHealth(tx, id, health[id], now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, at := range retries {
		e.markDue(id, at)
	}
	return nil
}

// inList renders "({:in0}, {:in1}, ...)" with its parameters.
func inList(values []any) (string, dbx.Params) {
	params := dbx.Params{}
	var sb strings.Builder
	sb.WriteByte('(')
	for i, v := range values {
		if i > 0 {
			sb.WriteByte(',')
		}
		name := "in" + strconv.Itoa(i)
		sb.WriteString("{:" + name + "}")
		params[name] = v
	}
	sb.WriteByte(')')
	return sb.String(), params
}

// rowsPerStatement bounds the rows of one multi-row statement (SQLite allows 32766 parameters).
const rowsPerStatement = 100

// execRows writes rows with as few statements as possible: head, then "(v, v, ...), (...)" for up to
// rowsPerStatement rows, then tail, with params bound as well.
func execRows(db dbx.Builder, head, tail string, params dbx.Params, rows [][]any) error {
	for start := 0; start < len(rows); start += rowsPerStatement {
		chunk := rows[start:min(start+rowsPerStatement, len(rows))]
		var sb strings.Builder
		bind := dbx.Params{}
		for k, v := range params {
			bind[k] = v
		}
		sb.WriteString(head)
		for i, row := range chunk {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			for j, v := range row {
				if j > 0 {
					sb.WriteByte(',')
				}
				name := "r" + strconv.Itoa(i) + "c" + strconv.Itoa(j)
				sb.WriteString("{:" + name + "}")
				bind[name] = v
			}
			sb.WriteByte(')')
		}
		sb.WriteString(tail)
		if _, err := db.NewQuery(sb.String()).Bind(bind).Execute(); err != nil {
			return err
		}
	}
	return nil
}

func keysOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// updateHealth keeps last_success_at and failing_since (written only when they change, or once a minute) and
// disables the endpoint when it must be.
func (e *Engine) updateHealth(tx core.App, id string, h *epOutcome, now time.Time) error {
	ep, err := e.cache.get(tx, e.box(), id)
	if err != nil || ep == nil {
		return err
	}
	db := tx.NonconcurrentDB()
	at, _ := types.ParseDateTime(now)
	switch {
	case h.succeeded:
		if !ep.FailingSince.IsZero() || now.Sub(ep.LastSuccess) > time.Minute {
			if _, err := db.NewQuery("UPDATE " + collections.WebhookEndpoints + " SET last_success_at = {:at}, failing_since = '' WHERE id = {:id}").
				Bind(dbx.Params{"at": at.String(), "id": id}).Execute(); err != nil {
				return err
			}
			ep.FailingSince, ep.LastSuccess = time.Time{}, now
		}
	case h.failed && ep.FailingSince.IsZero():
		if _, err := db.NewQuery("UPDATE " + collections.WebhookEndpoints + " SET failing_since = {:at} WHERE id = {:id} AND failing_since = ''").
			Bind(dbx.Params{"at": at.String(), "id": id}).Execute(); err != nil {
			return err
		}
		ep.FailingSince = now
	case h.failed && now.Sub(ep.FailingSince) >= e.opts.DisableAfter && h.disable == "":
		h.disable = "No delivery has succeeded since " + ep.FailingSince.UTC().Format(time.RFC3339) + " (" + humanDuration(now.Sub(ep.FailingSince)) + ")."
	}
	if h.disable != "" && ep.Enabled {
		return DisableEndpoint(tx, id, h.disable, true)
	}
	return nil
}

// DisableEndpoint turns an endpoint off with a reason (its pending deliveries become skipped through the
// endpoint hooks) and, when notify is set, queues an email to the workspace's owners and admins.
func DisableEndpoint(tx core.App, id, reason string, notify bool) error {
	rec, err := tx.FindRecordById(collections.WebhookEndpoints, id)
	if err != nil || !rec.GetBool("enabled") {
		return err
	}
	rec.Set("enabled", false)
	rec.Set("disabled_reason", truncate(reason, 1000))
	rec.Set("disabled_at", time.Now())
	platform.WithActor(rec, platform.SystemActor("webhooks"))
	if err := tx.Save(rec); err != nil {
		return err
	}
	if !notify {
		return nil
	}
	_, err = jobs.Enqueue(tx, jobs.New{Kind: jobs.KindWebhookDisabledEmail, Workspace: rec.GetString("workspace"),
		Payload: map[string]string{"endpoint": rec.Id, "url": rec.GetString("url"), "reason": reason}})
	return err
}

func humanDuration(d time.Duration) string {
	if d >= 48*time.Hour {
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	}
	return d.Round(time.Minute).String()
}

// recoverExpired hands back deliveries whose claim outlived its lease (the process that claimed them died):
// they become pending again, without counting an attempt, and go out with the same webhook-id.
func (e *Engine) recoverExpired() {
	nowMs := time.Now().UnixMilli()
	var eps []string
	err := e.app.NonconcurrentDB().NewQuery(`UPDATE ` + collections.WebhookDeliveries + ` SET status = 'pending', lease_owner = '', lease_until = 0,
			next_at = {:now} WHERE status = 'sending' AND lease_until < {:now} RETURNING endpoint`).
		Bind(dbx.Params{"now": nowMs}).Column(&eps)
	if err != nil {
		e.app.Logger().Error("webhooks: recovering expired leases failed", "error", err)
		return
	}
	if len(eps) > 0 {
		e.app.Logger().Warn("webhooks: recovered deliveries whose claim expired", "count", len(eps))
	}
	for _, id := range eps {
		e.markDue(id, nowMs)
	}
}

// RecoverExpired is recoverExpired for tests and the CLI.
func (e *Engine) RecoverExpired() { e.recoverExpired() }

// rescan learns, per endpoint, when its earliest pending delivery is due: at start, every RescanInterval, and
// so for deliveries written by another process. It walks the (status, endpoint, next_at) index one endpoint at a
// time, so it costs one index seek per endpoint, not one row per delivery.
func (e *Engine) rescan() {
	var rows []struct {
		Endpoint string        `db:"ep"`
		Due      sql.NullInt64 `db:"due"`
	}
	err := e.app.DB().NewQuery(`WITH RECURSIVE eps(ep) AS (
			SELECT MIN(endpoint) FROM ` + collections.WebhookDeliveries + ` WHERE status = 'pending'
			UNION ALL
			SELECT (SELECT MIN(endpoint) FROM ` + collections.WebhookDeliveries + ` WHERE status = 'pending' AND endpoint > eps.ep)
			FROM eps WHERE eps.ep IS NOT NULL)
		SELECT ep, (SELECT MIN(next_at) FROM ` + collections.WebhookDeliveries + ` WHERE status = 'pending' AND endpoint = eps.ep) AS due
		FROM eps WHERE ep IS NOT NULL`).All(&rows)
	if err != nil {
		e.app.Logger().Error("webhooks: rescanning pending deliveries failed", "error", err)
		return
	}
	for _, r := range rows {
		if r.Due.Valid {
			e.markDue(r.Endpoint, r.Due.Int64)
		}
	}
}

// releaseMine hands deliveries this engine still holds back to the queue without counting an attempt.
func (e *Engine) releaseMine() {
	_, err := e.app.NonconcurrentDB().NewQuery(`UPDATE ` + collections.WebhookDeliveries + ` SET status = 'pending', lease_owner = '',
			lease_until = 0, next_at = {:now} WHERE status = 'sending' AND lease_owner = {:owner}`).
		Bind(dbx.Params{"owner": e.owner, "now": time.Now().UnixMilli()}).Execute()
	if err != nil {
		e.app.Logger().Error("webhooks: releasing claimed deliveries on shutdown failed", "error", err)
	}
}
