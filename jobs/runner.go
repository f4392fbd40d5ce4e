// Package jobs is Playgram's durable job runner. A job is a row in the jobs collection, written in the same
// transaction as the change that needs it, so a crash between the two cannot lose the side effect. Workers
// claim due rows with one conditional UPDATE (a lease with an owner), so no job runs twice at once; an
// expired lease is claimed again after a crash; failures back off exponentially with jitter until the job is
// dead, from where an admin can revive it.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/playgram/playgram/internal/dbtime"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

// Job statuses.
const (
	StatusQueued  = "queued"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusDead    = "dead"
)

// DefaultMaxAttempts bounds retries of a job that did not set its own.
const DefaultMaxAttempts = 8

const storeKey = "playgram.jobs.runner"

// Handler does one job. A returned error retries the job later, unless it is Permanent.
type Handler func(ctx context.Context, app core.App, job *Job) error

// Job is a claimed job as a handler sees it.
type Job struct {
	ID          string
	Kind        string
	Workspace   string
	Payload     json.RawMessage
	Attempt     int // 1 for the first run
	MaxAttempts int
	// Result, when set by the handler, is stored on the job row.
	Result any
}

// Decode unmarshals the payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return Permanent(fmt.Errorf("job %s: bad payload: %w", j.ID, err))
	}
	return nil
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent marks an error that retrying cannot fix; the job goes straight to dead.
func Permanent(err error) error { return permanentError{err} }

// New describes a job to enqueue.
type New struct {
	Kind        string
	Workspace   string
	Payload     any
	RunAt       time.Time // zero: now
	MaxAttempts int       // zero: DefaultMaxAttempts
	// UniqueKey, when set, keeps a second queued or running job with the same key from being enqueued
	// (Enqueue then returns the existing one), e.g. "sync:tags:<workspace>".
	UniqueKey string
}

// Enqueue writes a job row with app. Pass the caller's transaction: the job then exists exactly when the
// change that needs it does. Workers in this process are woken once the transaction commits.
func Enqueue(app core.App, n New) (*core.Record, error) {
	if n.Kind == "" {
		return nil, errors.New("jobs: kind is required")
	}
	var rec *core.Record
	// The unique-key check and the insert share a transaction (joining the caller's, if any), so two
	// enqueues with one key cannot both insert.
	err := app.RunInTransaction(func(tx core.App) error {
		var err error
		rec, err = insertJob(tx, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	wake := func() {
		if r, ok := app.Store().Get(storeKey).(*Runner); ok {
			r.Wake()
		}
	}
	if tx := app.TxInfo(); tx != nil {
		tx.OnComplete(func(txErr error) error {
			if txErr == nil {
				wake()
			}
			return nil // the transaction's own error is reported by RunInTransaction
		})
	} else {
		wake()
	}
	return rec, nil
}

func insertJob(app core.App, n New) (*core.Record, error) {
	if n.UniqueKey != "" {
		existing, err := app.FindFirstRecordByFilter(collections.Jobs, "unique_key = {:k} && (status = 'queued' || status = 'running')", dbx.Params{"k": n.UniqueKey})
		if err == nil {
			return existing, nil
		}
	}
	coll, err := app.FindCachedCollectionByNameOrId(collections.Jobs)
	if err != nil {
		return nil, err
	}
	rec := core.NewRecord(coll)
	rec.Set("kind", n.Kind)
	rec.Set("workspace", n.Workspace)
	payload := n.Payload
	if payload == nil {
		payload = map[string]any{}
	}
	rec.Set("payload", payload)
	rec.Set("status", StatusQueued)
	rec.Set("attempts", 0)
	maxAttempts := n.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	rec.Set("max_attempts", maxAttempts)
	runAt := n.RunAt
	if runAt.IsZero() {
		runAt = time.Now()
	}
	rec.Set("run_at", runAt)
	rec.Set("unique_key", n.UniqueKey)
	if err := app.Save(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// Options tune a Runner.
type Options struct {
	Workers      int
	PollInterval time.Duration
	Lease        time.Duration
	// BackoffBase is the delay before the second attempt; it doubles with each attempt up to BackoffMax.
	BackoffBase time.Duration
	BackoffMax  time.Duration
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 5 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = time.Hour
	}
	return o
}

// Runner claims and runs jobs in this process.
type Runner struct {
	app      core.App
	opts     Options
	owner    string
	handlers map[string]Handler

	wake     chan struct{}
	stopping chan struct{}
	runCtx   context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	started  bool
	mu       sync.Mutex
}

// NewRunner makes a runner for app and makes it reachable from Enqueue for wake-ups.
func NewRunner(app core.App, opts Options) *Runner {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{
		app:      app,
		opts:     opts,
		owner:    security.RandomStringWithAlphabet(12, core.DefaultIdAlphabet),
		handlers: map[string]Handler{},
		wake:     make(chan struct{}, opts.Workers),
		stopping: make(chan struct{}),
		runCtx:   ctx,
		cancel:   cancel,
	}
	app.Store().Set(storeKey, r)
	return r
}

// RunnerOf returns the runner registered for app, or nil.
func RunnerOf(app core.App) *Runner {
	r, _ := app.Store().Get(storeKey).(*Runner)
	return r
}

// Handle registers the handler of a kind. Register every kind before Start.
func (r *Runner) Handle(kind string, h Handler) { r.handlers[kind] = h }

// Kinds lists the registered kinds.
func (r *Runner) Kinds() []string {
	out := make([]string, 0, len(r.handlers))
	for k := range r.handlers {
		out = append(out, k)
	}
	return out
}

// Wake tells an idle worker to look for due jobs now.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Start runs the workers until Stop.
func (r *Runner) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return
	}
	r.started = true
	r.stopping = make(chan struct{})
	for range r.opts.Workers {
		r.wg.Add(1)
		go r.work()
	}
}

// Stop stops claiming, lets running jobs finish until ctx is done, then cancels them and hands their jobs
// back to the queue without counting the interrupted attempt.
func (r *Runner) Stop(ctx context.Context) {
	r.mu.Lock()
	if !r.started {
		r.mu.Unlock()
		return
	}
	r.started = false
	close(r.stopping)
	r.mu.Unlock()

	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.cancel()
		<-done
	}
	r.releaseMine()
}

func (r *Runner) work() {
	defer r.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-r.stopping:
			return
		default:
		}
		ran, err := r.RunOne(r.runCtx)
		if err != nil {
			r.app.Logger().Error("jobs: claim failed", "error", err)
		}
		if ran {
			continue
		}
		timer.Reset(r.opts.PollInterval)
		select {
		case <-r.stopping:
			return
		case <-r.wake:
		case <-timer.C:
		}
	}
}

// RunDue runs due jobs one after another until none is left; the CLI and tests use it.
func (r *Runner) RunDue(ctx context.Context) (int, error) {
	n := 0
	for {
		ran, err := r.RunOne(ctx)
		if err != nil || !ran {
			return n, err
		}
		n++
	}
}

type claimedRow struct {
	ID          string `db:"id"`
	Kind        string `db:"kind"`
	Workspace   string `db:"workspace"`
	Payload     string `db:"payload"`
	Attempts    int    `db:"attempts"`
	MaxAttempts int    `db:"max_attempts"`
}

// claim takes the next due job, or a running job whose lease has expired, in one UPDATE: on PocketBase's
// single writer connection no two workers can take the same row.
func (r *Runner) claim() (*Job, error) {
	now := time.Now()
	// A job whose worker died on its last attempt is dead, not claimed again: a job that kills its process
	// must not loop forever.
	if _, err := r.app.NonconcurrentDB().NewQuery(`UPDATE jobs SET status = 'dead', finished_at = {:now}, updated = {:now},
			lease_owner = '', lease_expires_at = '', last_error = 'the worker stopped without finishing its last attempt (lease expired)'
		WHERE status = 'running' AND lease_expires_at < {:now} AND attempts >= max_attempts`).
		Bind(dbx.Params{"now": dbtime.Format(now)}).Execute(); err != nil {
		return nil, err
	}
	var row claimedRow
	err := r.app.NonconcurrentDB().NewQuery(`UPDATE jobs SET status = 'running', lease_owner = {:owner},
			lease_expires_at = {:exp}, attempts = attempts + 1, updated = {:now}
		WHERE id = (SELECT id FROM jobs
			WHERE (status = 'queued' AND run_at <= {:now}) OR (status = 'running' AND lease_expires_at < {:now})
			ORDER BY run_at LIMIT 1)
		RETURNING id, kind, workspace, payload, attempts, max_attempts`).
		Bind(dbx.Params{"owner": r.owner, "exp": dbtime.Format(now.Add(r.opts.Lease)), "now": dbtime.Format(now)}).One(&row)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, err
	}
	return &Job{ID: row.ID, Kind: row.Kind, Workspace: row.Workspace, Payload: json.RawMessage(row.Payload), Attempt: row.Attempts, MaxAttempts: row.MaxAttempts}, nil
}

// RunOne claims and runs at most one job; ran is false when nothing was due.
func (r *Runner) RunOne(ctx context.Context) (ran bool, err error) {
	job, err := r.claim()
	if err != nil || job == nil {
		return false, err
	}
	h, ok := r.handlers[job.Kind]
	if !ok {
		return true, r.finish(job, Permanent(fmt.Errorf("no handler for job kind %q", job.Kind)))
	}
	stopBeat := r.heartbeat(job)
	runErr := safeRun(ctx, r.app, h, job)
	stopBeat()
	if runErr != nil && ctx.Err() != nil {
		// Interrupted (shutdown, Ctrl-C of a CLI run), not a failure of the job: hand it back uncounted.
		return true, r.release(job.ID)
	}
	return true, r.finish(job, runErr)
}

func safeRun(ctx context.Context, app core.App, h Handler, job *Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job panicked: %v", p)
		}
	}()
	return h(ctx, app, job)
}

// heartbeat extends the lease while a long job runs, so it is not claimed twice.
func (r *Runner) heartbeat(job *Job) func() {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(r.opts.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_, _ = r.app.NonconcurrentDB().NewQuery(`UPDATE jobs SET lease_expires_at = {:exp}
					WHERE id = {:id} AND lease_owner = {:owner} AND status = 'running'`).
					Bind(dbx.Params{"exp": dbtime.Format(time.Now().Add(r.opts.Lease)), "id": job.ID, "owner": r.owner}).Execute()
			}
		}
	}()
	return func() { close(stop) }
}

func (r *Runner) finish(job *Job, runErr error) error {
	now := time.Now()
	params := dbx.Params{"id": job.ID, "owner": r.owner, "now": dbtime.Format(now)}
	var q string
	switch {
	case runErr == nil:
		result, _ := json.Marshal(job.Result)
		if job.Result == nil {
			result = []byte("null")
		}
		params["result"] = string(result)
		q = `UPDATE jobs SET status = 'done', finished_at = {:now}, lease_owner = '', lease_expires_at = '',
			last_error = '', result = {:result}, updated = {:now} WHERE id = {:id} AND lease_owner = {:owner}`
	case errors.As(runErr, new(permanentError)) || job.Attempt >= job.MaxAttempts:
		params["err"] = truncate(runErr.Error(), 4000)
		q = `UPDATE jobs SET status = 'dead', finished_at = {:now}, lease_owner = '', lease_expires_at = '',
			last_error = {:err}, updated = {:now} WHERE id = {:id} AND lease_owner = {:owner}`
		r.app.Logger().Warn("jobs: job is dead", "id", job.ID, "kind", job.Kind, "attempts", job.Attempt, "error", runErr)
	default:
		params["err"] = truncate(runErr.Error(), 4000)
		params["runAt"] = dbtime.Format(now.Add(Backoff(job.Attempt, r.opts.BackoffBase, r.opts.BackoffMax, rand.Float64())))
		q = `UPDATE jobs SET status = 'queued', run_at = {:runAt}, lease_owner = '', lease_expires_at = '',
			last_error = {:err}, updated = {:now} WHERE id = {:id} AND lease_owner = {:owner}`
	}
	_, err := r.app.NonconcurrentDB().NewQuery(q).Bind(params).Execute()
	return err
}

// release hands one claimed job back to the queue without counting the interrupted attempt.
func (r *Runner) release(id string) error {
	_, err := r.app.NonconcurrentDB().NewQuery(`UPDATE jobs SET status = 'queued', lease_owner = '', lease_expires_at = '',
			attempts = MAX(attempts - 1, 0), run_at = {:now}, updated = {:now}
		WHERE id = {:id} AND status = 'running' AND lease_owner = {:owner}`).
		Bind(dbx.Params{"id": id, "owner": r.owner, "now": dbtime.Format(time.Now())}).Execute()
	return err
}

// releaseMine hands jobs this runner still holds back to the queue, without counting the interrupted attempt.
func (r *Runner) releaseMine() {
	_, err := r.app.NonconcurrentDB().NewQuery(`UPDATE jobs SET status = 'queued', lease_owner = '', lease_expires_at = '',
			attempts = MAX(attempts - 1, 0), run_at = {:now}, updated = {:now}
		WHERE status = 'running' AND lease_owner = {:owner}`).
		Bind(dbx.Params{"owner": r.owner, "now": dbtime.Format(time.Now())}).Execute()
	if err != nil {
		r.app.Logger().Error("jobs: releasing leases on shutdown failed", "error", err)
	}
}

// Backoff is the delay after a failed attempt (1-based): base·2^(attempt-1), capped, with ±20% jitter from
// u ∈ [0,1) so that jobs failing together do not retry together.
func Backoff(attempt int, base, max time.Duration, u float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return time.Duration(float64(d) * (0.8 + 0.4*u))
}

// Retry revives a dead job: it runs again now with a fresh attempt budget.
func Retry(app core.App, id string) (*core.Record, error) {
	rec, err := app.FindRecordById(collections.Jobs, id)
	if err != nil {
		return nil, err
	}
	if rec.GetString("status") != StatusDead {
		return rec, fmt.Errorf("only dead jobs can be retried; this one is %s", rec.GetString("status"))
	}
	rec.Set("status", StatusQueued)
	rec.Set("attempts", 0)
	rec.Set("run_at", time.Now())
	rec.Set("finished_at", "")
	rec.Set("last_error", "")
	if err := app.Save(rec); err != nil {
		return nil, err
	}
	if r := RunnerOf(app); r != nil {
		r.Wake()
	}
	return rec, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
