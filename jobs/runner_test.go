package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/testutil"
	"github.com/playgram/playgram/jobs"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// newRunner builds a runner stopped at the end of the test (before its app is cleaned up).
func newRunner(t *testing.T, app core.App, opts jobs.Options) *jobs.Runner {
	t.Helper()
	r := jobs.NewRunner(app, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
	})
	return r
}

func enqueue(t *testing.T, app core.App, n jobs.New) *core.Record {
	t.Helper()
	rec, err := jobs.Enqueue(app, n)
	if err != nil {
		t.Fatalf("enqueue %q: %v", n.Kind, err)
	}
	return rec
}

// row reads a job's row as it is in the database now.
func row(t *testing.T, app core.App, id string) *core.Record {
	t.Helper()
	rec, err := app.FindRecordById(collections.Jobs, id)
	if err != nil {
		t.Fatalf("job %s: %v", id, err)
	}
	return rec
}

// waitFor polls cond until it holds, failing the test with what (and cond's last report) after within.
// Deadlines are generous: they only bound a hang, the assertions are on the state reached.
func waitFor(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s still waiting for %s; %s", within, what, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitStatus waits until job id has status.
func waitStatus(t *testing.T, app core.App, id, status string, within time.Duration) *core.Record {
	t.Helper()
	var rec *core.Record
	waitFor(t, within, "job "+id+" to be "+status, func() (bool, string) {
		rec = row(t, app, id)
		return rec.GetString("status") == status, fmt.Sprintf("status %q, attempts %d, last_error %q",
			rec.GetString("status"), rec.GetInt("attempts"), rec.GetString("last_error"))
	})
	return rec
}

// runUntil calls RunOne until job id has status; runs between them are the runner's to decide (backoff).
func runUntil(t *testing.T, r *jobs.Runner, app core.App, id, status string) *core.Record {
	t.Helper()
	var rec *core.Record
	waitFor(t, 5*time.Second, "job "+id+" to be "+status, func() (bool, string) {
		if _, err := r.RunOne(context.Background()); err != nil {
			t.Fatalf("RunOne: %v", err)
		}
		rec = row(t, app, id)
		return rec.GetString("status") == status, fmt.Sprintf("status %q, attempts %d", rec.GetString("status"), rec.GetInt("attempts"))
	})
	return rec
}

func assertRow(t *testing.T, rec *core.Record, status string, attempts int, lastError string) {
	t.Helper()
	if got := rec.GetString("status"); got != status {
		t.Errorf("status = %q, want %q (last_error %q)", got, status, rec.GetString("last_error"))
	}
	if got := rec.GetInt("attempts"); got != attempts {
		t.Errorf("attempts = %d, want %d", got, attempts)
	}
	if got := rec.GetString("last_error"); got != lastError {
		t.Errorf("last_error = %q, want %q", got, lastError)
	}
	if status != jobs.StatusRunning && rec.GetString("lease_owner") != "" {
		t.Errorf("a %s job still holds a lease of %q", status, rec.GetString("lease_owner"))
	}
}

// blocker is a handler that holds its job until released or cancelled, like a long export.
type blocker struct {
	started, release chan struct{}
	once             sync.Once
	cancelled        atomic.Bool
}

func newBlocker() *blocker {
	return &blocker{started: make(chan struct{}), release: make(chan struct{})}
}

func (b *blocker) handle(ctx context.Context, app core.App, job *jobs.Job) error {
	b.once.Do(func() { close(b.started) })
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		b.cancelled.Store(true)
		return ctx.Err()
	case <-time.After(30 * time.Second): // a broken runner must fail the test, not hang it
		return errors.New("held for 30 s: neither released nor cancelled")
	}
}

func (b *blocker) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-b.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the job never started")
	}
}

// onceTracker is a handler that records, per job, how many times it ran and whether two runs overlapped.
type onceTracker struct {
	inflight map[string]*atomic.Int32 // read-only after setup
	runs     map[string]*atomic.Int32
	overlaps atomic.Int32
	cur      atomic.Int32
	peak     atomic.Int32
}

func newOnceTracker(ids []string) *onceTracker {
	tr := &onceTracker{inflight: map[string]*atomic.Int32{}, runs: map[string]*atomic.Int32{}}
	for _, id := range ids {
		tr.inflight[id] = new(atomic.Int32)
		tr.runs[id] = new(atomic.Int32)
	}
	return tr
}

func (tr *onceTracker) handle(ctx context.Context, app core.App, job *jobs.Job) error {
	in, ok := tr.inflight[job.ID]
	if !ok {
		return jobs.Permanent(fmt.Errorf("unexpected job %s", job.ID))
	}
	if in.Add(1) > 1 {
		tr.overlaps.Add(1)
	}
	defer in.Add(-1)
	tr.runs[job.ID].Add(1)
	c := tr.cur.Add(1)
	defer tr.cur.Add(-1)
	for p := tr.peak.Load(); c > p && !tr.peak.CompareAndSwap(p, c); p = tr.peak.Load() {
	}
	// Hold the job a moment, so a second claim of it would overlap with this run.
	time.Sleep(time.Millisecond)
	return nil
}

// enqueueInTx enqueues n in a transaction that then ends with txErr (nil commits), as a hook or route does
// with its own write, and returns what RunInTransaction returned.
func enqueueInTx(t *testing.T, app core.App, n jobs.New, txErr error) (*core.Record, error) {
	t.Helper()
	var rec *core.Record
	err := app.RunInTransaction(func(tx core.App) error {
		var err error
		if rec, err = jobs.Enqueue(tx, n); err != nil {
			t.Errorf("enqueue %q: %v", n.Kind, err)
			return err
		}
		return txErr
	})
	return rec, err
}

// enqueueMany enqueues n jobs of kind in one transaction, as a bulk import would.
func enqueueMany(t *testing.T, app core.App, kind string, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	err := app.RunInTransaction(func(tx core.App) error {
		for i := range n {
			rec, err := jobs.Enqueue(tx, jobs.New{Kind: kind, Payload: map[string]int{"i": i}})
			if err != nil {
				return err
			}
			ids = append(ids, rec.Id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func waitAllDone(t *testing.T, app core.App, n int) {
	t.Helper()
	waitFor(t, 60*time.Second, fmt.Sprintf("%d jobs to be done", n), func() (bool, string) {
		done, err := app.CountRecords(collections.Jobs, dbx.HashExp{"status": jobs.StatusDone})
		if err != nil {
			t.Fatal(err)
		}
		return int(done) == n, fmt.Sprintf("%d done", done)
	})
}

// assertExactlyOnce checks the handler's record and the rows: every job ran once, alone, and is done after
// one attempt.
func assertExactlyOnce(t *testing.T, app core.App, tr *onceTracker, ids []string) {
	t.Helper()
	if n := tr.overlaps.Load(); n != 0 {
		t.Errorf("%d runs started while the same job was already running", n)
	}
	bad := 0
	for _, id := range ids {
		if n := tr.runs[id].Load(); n != 1 && bad < 5 {
			bad++
			t.Errorf("job %s ran %d times, want 1", id, n)
		}
	}
	var rows []struct {
		ID       string `db:"id"`
		Status   string `db:"status"`
		Attempts int    `db:"attempts"`
		Owner    string `db:"lease_owner"`
	}
	if err := app.DB().NewQuery("SELECT id, status, attempts, lease_owner FROM jobs").All(&rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(ids) {
		t.Errorf("%d job rows, want %d", len(rows), len(ids))
	}
	bad = 0
	for _, r := range rows {
		if (r.Status != jobs.StatusDone || r.Attempts != 1 || r.Owner != "") && bad < 5 {
			bad++
			t.Errorf("job %s: status %q, attempts %d, lease_owner %q; want done after 1 attempt, no lease", r.ID, r.Status, r.Attempts, r.Owner)
		}
	}
}

func TestEightWorkersRunEveryJobExactlyOnce(t *testing.T) {
	app, _ := testutil.NewApp(t)
	ids := enqueueMany(t, app, "count", 300)
	tr := newOnceTracker(ids)

	r := newRunner(t, app, jobs.Options{Workers: 8, PollInterval: 10 * time.Millisecond, Lease: 5 * time.Second})
	r.Handle("count", tr.handle)
	r.Start()
	waitAllDone(t, app, len(ids))

	assertExactlyOnce(t, app, tr, ids)
	// Without parallel runs the test above would prove nothing about claims racing.
	if p := tr.peak.Load(); p < 2 {
		t.Errorf("at most %d job ran at a time; 8 workers should run several at once", p)
	}
}

func TestTwoProcessesShareTheQueueWithoutRunningAJobTwice(t *testing.T) {
	app, _ := testutil.NewApp(t)
	// A second app on the same data dir has its own connections to the same SQLite file, like a second
	// process of the same deployment.
	other := core.NewBaseApp(core.BaseAppConfig{DataDir: app.DataDir()})
	if err := other.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.ClearBootstrap() })

	ids := enqueueMany(t, app, "count", 300)
	tr := newOnceTracker(ids)
	var byProcess [2]atomic.Int32
	runners := [2]*jobs.Runner{}
	for i, a := range []core.App{app, other} {
		runners[i] = newRunner(t, a, jobs.Options{Workers: 8, PollInterval: 10 * time.Millisecond, Lease: 5 * time.Second})
		runners[i].Handle("count", func(ctx context.Context, app core.App, job *jobs.Job) error {
			byProcess[i].Add(1)
			return tr.handle(ctx, app, job)
		})
	}
	runners[0].Start()
	runners[1].Start()
	waitAllDone(t, app, len(ids))

	assertExactlyOnce(t, app, tr, ids)
	if byProcess[0].Load() == 0 || byProcess[1].Load() == 0 {
		t.Errorf("jobs run per process = %d and %d; both should have taken part", byProcess[0].Load(), byProcess[1].Load())
	}
}

func TestJobOfACrashedWorkerRunsAgainAfterItsLeaseExpires(t *testing.T) {
	app, _ := testutil.NewApp(t)
	crashed := enqueue(t, app, jobs.New{Kind: "mail"})
	alive := enqueue(t, app, jobs.New{Kind: "mail"})
	// What a killed process leaves behind: a running row with its lease, attempt already counted.
	past := time.Now().Add(-time.Second).UTC().Format(time.DateTime + ".000Z")
	future := time.Now().Add(time.Hour).UTC().Format(time.DateTime + ".000Z")
	for id, lease := range map[string]string{crashed.Id: past, alive.Id: future} {
		_, err := app.NonconcurrentDB().NewQuery(`UPDATE jobs SET status = 'running', attempts = 1,
			lease_owner = 'other-worker', lease_expires_at = {:exp} WHERE id = {:id}`).
			Bind(dbx.Params{"exp": lease, "id": id}).Execute()
		if err != nil {
			t.Fatal(err)
		}
	}

	var attempts []int
	var ran []string
	r := newRunner(t, app, jobs.Options{Lease: time.Minute})
	r.Handle("mail", func(ctx context.Context, app core.App, job *jobs.Job) error {
		ran = append(ran, job.ID)
		attempts = append(attempts, job.Attempt)
		return nil
	})
	n, err := r.RunDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(ran) != 1 || ran[0] != crashed.Id {
		t.Fatalf("ran %v (%d), want only the job with the expired lease %s", ran, n, crashed.Id)
	}
	if attempts[0] != 2 {
		t.Errorf("handler saw attempt %d, want 2 (the crashed run counts)", attempts[0])
	}
	assertRow(t, row(t, app, crashed.Id), jobs.StatusDone, 2, "")

	// A lease that has not expired belongs to a live worker and is left alone.
	still := row(t, app, alive.Id)
	if still.GetString("status") != jobs.StatusRunning || still.GetString("lease_owner") != "other-worker" || still.GetInt("attempts") != 1 {
		t.Errorf("job with a live lease: status %q, owner %q, attempts %d; want untouched",
			still.GetString("status"), still.GetString("lease_owner"), still.GetInt("attempts"))
	}
}

func TestHeartbeatKeepsALongJobFromBeingClaimedTwice(t *testing.T) {
	app, _ := testutil.NewApp(t)
	const lease = 300 * time.Millisecond
	job := enqueue(t, app, jobs.New{Kind: "export"})

	long := newBlocker()
	a := newRunner(t, app, jobs.Options{Workers: 1, PollInterval: 10 * time.Millisecond, Lease: lease})
	a.Handle("export", long.handle)
	var stolen atomic.Int32
	b := newRunner(t, app, jobs.Options{Lease: lease})
	b.Handle("export", func(ctx context.Context, app core.App, job *jobs.Job) error {
		stolen.Add(1)
		return nil
	})

	a.Start()
	long.waitStarted(t)
	// The job outlives several leases while another runner keeps looking for work.
	end := time.Now().Add(4 * lease)
	for time.Now().Before(end) {
		if ran, err := b.RunOne(context.Background()); err != nil || ran {
			t.Fatalf("runner B claimed a job held by a live runner (ran %v, err %v)", ran, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(long.release)
	rec := waitStatus(t, app, job.Id, jobs.StatusDone, 10*time.Second)
	assertRow(t, rec, jobs.StatusDone, 1, "")
	if stolen.Load() != 0 {
		t.Errorf("runner B ran the job %d times", stolen.Load())
	}
}

func TestEnqueueFollowsTheCallersTransaction(t *testing.T) {
	app, _ := testutil.NewApp(t)
	var calls atomic.Int32
	r := newRunner(t, app, jobs.Options{})
	r.Handle("welcome", func(ctx context.Context, app core.App, job *jobs.Job) error {
		calls.Add(1)
		return nil
	})

	errBoom := errors.New("saving the booking failed")
	_, err := enqueueInTx(t, app, jobs.New{Kind: "welcome", UniqueKey: "rolled-back"}, errBoom)
	if !errors.Is(err, errBoom) || err.Error() != errBoom.Error() {
		t.Errorf("transaction error = %q, want the caller's own %q", err, errBoom)
	}
	if n, _ := app.CountRecords(collections.Jobs); n != 0 {
		t.Errorf("%d job rows after a rollback, want 0", n)
	}
	if n, err := r.RunDue(context.Background()); n != 0 || err != nil {
		t.Errorf("RunDue after a rollback ran %d jobs (err %v), want 0", n, err)
	}

	rec, err := enqueueInTx(t, app, jobs.New{Kind: "welcome"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := rec.Id
	assertRow(t, row(t, app, id), jobs.StatusQueued, 0, "")
	if n, err := r.RunDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("RunDue after a commit ran %d jobs (err %v), want 1", n, err)
	}
	assertRow(t, row(t, app, id), jobs.StatusDone, 1, "")
	if calls.Load() != 1 {
		t.Errorf("handler ran %d times, want 1 (only the committed job)", calls.Load())
	}
}

func TestIdleWorkersWakeForEnqueueCommitAndRetry(t *testing.T) {
	app, _ := testutil.NewApp(t)
	runs := map[string]*atomic.Int32{"direct": {}, "welcome": {}, "never": {}, "flaky": {}}
	// With a one-minute poll, only a wake-up can get a job run within the deadlines below.
	r := newRunner(t, app, jobs.Options{Workers: 1, PollInterval: time.Minute})
	for kind, n := range runs {
		r.Handle(kind, func(ctx context.Context, app core.App, job *jobs.Job) error {
			if n.Add(1) == 1 && kind == "flaky" {
				return jobs.Permanent(errors.New("first run fails"))
			}
			return nil
		})
	}
	r.Start()
	// Setup: let the worker find nothing to do and go idle, so that only a wake-up can start the next job.
	idle := func() { time.Sleep(50 * time.Millisecond) }

	idle()
	direct := enqueue(t, app, jobs.New{Kind: "direct"})
	waitStatus(t, app, direct.Id, jobs.StatusDone, 5*time.Second)

	errBoom := errors.New("boom")
	if _, err := enqueueInTx(t, app, jobs.New{Kind: "never"}, errBoom); !errors.Is(err, errBoom) {
		t.Fatalf("rolled-back transaction returned %v", err)
	}
	idle()
	rec, err := enqueueInTx(t, app, jobs.New{Kind: "welcome"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := rec.Id
	waitStatus(t, app, id, jobs.StatusDone, 5*time.Second)
	if runs["welcome"].Load() != 1 || runs["never"].Load() != 0 {
		t.Errorf("runs: committed job %d, rolled-back job %d; want 1 and 0", runs["welcome"].Load(), runs["never"].Load())
	}

	flaky := enqueue(t, app, jobs.New{Kind: "flaky"})
	waitStatus(t, app, flaky.Id, jobs.StatusDead, 5*time.Second)
	idle()
	if _, err := jobs.Retry(app, flaky.Id); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, app, flaky.Id, jobs.StatusDone, 5*time.Second)
}

func TestFailingJobBacksOffThenSucceeds(t *testing.T) {
	app, _ := testutil.NewApp(t)
	const base = 20 * time.Millisecond
	job := enqueue(t, app, jobs.New{Kind: "sync"})

	var seen []int // RunOne runs the handler on the calling goroutine
	var entered time.Time
	r := newRunner(t, app, jobs.Options{BackoffBase: base, BackoffMax: time.Hour})
	r.Handle("sync", func(ctx context.Context, app core.App, job *jobs.Job) error {
		seen = append(seen, job.Attempt)
		entered = time.Now()
		if job.Attempt <= 2 {
			return fmt.Errorf("manychat answered 503 on attempt %d", job.Attempt)
		}
		job.Result = map[string]int{"synced": 12}
		return nil
	})

	prevRunAt := row(t, app, job.Id).GetDateTime("run_at").Time()
	for attempt := 1; attempt <= 3; attempt++ {
		var before time.Time
		waitFor(t, 5*time.Second, fmt.Sprintf("attempt %d to run", attempt), func() (bool, string) {
			before = time.Now()
			ran, err := r.RunOne(context.Background())
			if err != nil {
				t.Fatalf("RunOne: %v", err)
			}
			return ran, "nothing was due"
		})
		after := time.Now()
		if len(seen) != attempt || seen[attempt-1] != attempt {
			t.Fatalf("handler saw attempts %v, want 1..%d", seen, attempt)
		}
		if entered.Before(prevRunAt) {
			t.Errorf("attempt %d started at %s, before its run_at %s", attempt, entered.UTC(), prevRunAt)
		}
		rec := row(t, app, job.Id)
		if attempt == 3 {
			assertRow(t, rec, jobs.StatusDone, 3, "")
			if rec.GetDateTime("finished_at").IsZero() {
				t.Error("finished_at is not set")
			}
			if got := rec.GetString("result"); got != `{"synced":12}` {
				t.Errorf("result = %s, want the handler's", got)
			}
			break
		}
		assertRow(t, rec, jobs.StatusQueued, attempt, fmt.Sprintf("manychat answered 503 on attempt %d", attempt))
		nominal := jobs.Backoff(attempt, base, time.Hour, 0.5)
		runAt := rec.GetDateTime("run_at").Time()
		lo := before.Add(time.Duration(0.8*float64(nominal)) - time.Millisecond) // run_at is stored to the ms
		hi := after.Add(time.Duration(1.2 * float64(nominal)))
		if runAt.Before(lo) || runAt.After(hi) {
			t.Errorf("after failure %d run_at = %s, want %s..%s (backoff %s ±20%%)", attempt, runAt, lo.UTC(), hi.UTC(), nominal)
		}
		if !runAt.After(prevRunAt) {
			t.Errorf("after failure %d run_at %s did not move past %s", attempt, runAt, prevRunAt)
		}
		prevRunAt = runAt
	}
}

func TestJobIsDeadAfterMaxAttempts(t *testing.T) {
	app, _ := testutil.NewApp(t)
	job := enqueue(t, app, jobs.New{Kind: "sync", MaxAttempts: 3})
	calls := 0
	r := newRunner(t, app, jobs.Options{BackoffBase: time.Millisecond})
	r.Handle("sync", func(ctx context.Context, app core.App, job *jobs.Job) error {
		calls++
		if job.MaxAttempts != 3 {
			t.Errorf("job.MaxAttempts = %d, want 3", job.MaxAttempts)
		}
		return fmt.Errorf("manychat answered 503 on attempt %d", job.Attempt)
	})
	rec := runUntil(t, r, app, job.Id, jobs.StatusDead)
	assertRow(t, rec, jobs.StatusDead, 3, "manychat answered 503 on attempt 3")
	if calls != 3 {
		t.Errorf("handler ran %d times, want 3", calls)
	}
	if rec.GetDateTime("finished_at").IsZero() {
		t.Error("finished_at of a dead job is not set")
	}
	time.Sleep(20 * time.Millisecond) // past any backoff: a dead job must still not run
	if n, err := r.RunDue(context.Background()); n != 0 || err != nil {
		t.Errorf("RunDue ran %d jobs (err %v) after the job died, want 0", n, err)
	}
	if enqueue(t, app, jobs.New{Kind: "other"}).GetInt("max_attempts") != jobs.DefaultMaxAttempts {
		t.Errorf("a job without MaxAttempts does not get DefaultMaxAttempts")
	}
}

func TestPermanentErrorDeadLettersAtOnce(t *testing.T) {
	tests := []struct {
		name    string
		payload any
		handler jobs.Handler
		wantErr string
	}{
		{
			name:    "handler says permanent",
			payload: map[string]string{"user": "u1"},
			handler: func(ctx context.Context, app core.App, job *jobs.Job) error {
				return jobs.Permanent(errors.New("instagram account was deleted"))
			},
			wantErr: "instagram account was deleted",
		},
		{
			name:    "payload does not decode",
			payload: "not an object",
			handler: func(ctx context.Context, app core.App, job *jobs.Job) error {
				var p struct{ User string }
				return job.Decode(&p)
			},
			wantErr: "bad payload",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, _ := testutil.NewApp(t)
			job := enqueue(t, app, jobs.New{Kind: "k", Payload: tt.payload})
			calls := 0
			r := newRunner(t, app, jobs.Options{BackoffBase: time.Millisecond})
			r.Handle("k", func(ctx context.Context, app core.App, job *jobs.Job) error {
				calls++
				return tt.handler(ctx, app, job)
			})
			if ran, err := r.RunOne(context.Background()); !ran || err != nil {
				t.Fatalf("RunOne = %v, %v", ran, err)
			}
			rec := row(t, app, job.Id)
			if rec.GetString("status") != jobs.StatusDead || rec.GetInt("attempts") != 1 || !strings.Contains(rec.GetString("last_error"), tt.wantErr) {
				t.Errorf("status %q, attempts %d, last_error %q; want dead after 1 attempt with %q",
					rec.GetString("status"), rec.GetInt("attempts"), rec.GetString("last_error"), tt.wantErr)
			}
			time.Sleep(10 * time.Millisecond)
			if n, _ := r.RunDue(context.Background()); n != 0 || calls != 1 {
				t.Errorf("a permanently failed job ran again (%d more, %d calls)", n, calls)
			}
		})
	}
}

func TestPanickingHandlerCountsAsAFailure(t *testing.T) {
	app, _ := testutil.NewApp(t)
	job := enqueue(t, app, jobs.New{Kind: "ai.reply", MaxAttempts: 3})
	r := newRunner(t, app, jobs.Options{BackoffBase: time.Millisecond})
	r.Handle("ai.reply", func(ctx context.Context, app core.App, job *jobs.Job) error {
		if job.Attempt == 1 {
			var m map[string]int
			m["reply"]++ // a nil map write, as buggy code would do
		}
		return nil
	})
	if ran, err := r.RunOne(context.Background()); !ran || err != nil {
		t.Fatalf("RunOne = %v, %v; the runner must survive a panicking handler", ran, err)
	}
	rec := row(t, app, job.Id)
	if rec.GetString("status") != jobs.StatusQueued || rec.GetInt("attempts") != 1 {
		t.Errorf("after a panic: status %q, attempts %d; want queued for a retry after attempt 1", rec.GetString("status"), rec.GetInt("attempts"))
	}
	if msg := rec.GetString("last_error"); !strings.Contains(msg, "panicked") || !strings.Contains(msg, "nil map") {
		t.Errorf("last_error = %q, want it to say the job panicked and why", msg)
	}
	assertRow(t, runUntil(t, r, app, job.Id, jobs.StatusDone), jobs.StatusDone, 2, "")
}

func TestJobOfUnknownKindGoesDeadNamingTheKind(t *testing.T) {
	app, _ := testutil.NewApp(t)
	job := enqueue(t, app, jobs.New{Kind: "tags.sync"})
	r := newRunner(t, app, jobs.Options{})
	r.Handle("other", func(ctx context.Context, app core.App, job *jobs.Job) error { return nil })
	if ran, err := r.RunOne(context.Background()); !ran || err != nil {
		t.Fatalf("RunOne = %v, %v", ran, err)
	}
	rec := row(t, app, job.Id)
	if rec.GetString("status") != jobs.StatusDead || rec.GetInt("attempts") != 1 || !strings.Contains(rec.GetString("last_error"), `"tags.sync"`) {
		t.Errorf("status %q, attempts %d, last_error %q; want dead after 1 attempt naming \"tags.sync\"",
			rec.GetString("status"), rec.GetInt("attempts"), rec.GetString("last_error"))
	}
}

func TestEnqueueRequiresAKind(t *testing.T) {
	app, _ := testutil.NewApp(t)
	if _, err := jobs.Enqueue(app, jobs.New{}); err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("Enqueue without a kind: err = %v, want one naming the kind", err)
	}
}

func TestBackoff(t *testing.T) {
	const base, max = time.Second, time.Minute
	almostOne := 1 - 1e-9
	tests := []struct {
		attempt  int
		u        float64
		min, max time.Duration // inclusive bounds
	}{
		{1, 0.5, time.Second, time.Second},
		{2, 0.5, 2 * time.Second, 2 * time.Second},
		{3, 0.5, 4 * time.Second, 4 * time.Second},
		{6, 0.5, 32 * time.Second, 32 * time.Second},
		{7, 0.5, time.Minute, time.Minute}, // 64 s capped
		{1000, 0.5, time.Minute, time.Minute},
		{1, 0, 800 * time.Millisecond, 800 * time.Millisecond},
		{1, almostOne, 1199 * time.Millisecond, 1200*time.Millisecond - 1},
		{3, 0, 3200 * time.Millisecond, 3200 * time.Millisecond},
		{3, almostOne, 4796 * time.Millisecond, 4800*time.Millisecond - 1},
		{1000, 0, 48 * time.Second, 48 * time.Second},
		{1000, almostOne, 71990 * time.Millisecond, 72*time.Second - 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("attempt %d u %g", tt.attempt, tt.u), func(t *testing.T) {
			got := jobs.Backoff(tt.attempt, base, max, tt.u)
			if got < tt.min || got > tt.max {
				t.Errorf("Backoff(%d, %s, %s, %g) = %s, want %s..%s", tt.attempt, base, max, tt.u, got, tt.min, tt.max)
			}
		})
	}
}

func TestStopCancelsAJobPastTheGracePeriodAndRequeuesIt(t *testing.T) {
	app, _ := testutil.NewApp(t)
	job := enqueue(t, app, jobs.New{Kind: "export"})
	long := newBlocker()
	r := newRunner(t, app, jobs.Options{Workers: 1, PollInterval: 10 * time.Millisecond, Lease: time.Minute})
	r.Handle("export", long.handle)
	r.Start()
	long.waitStarted(t)
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	r.Stop(expired)

	if !long.cancelled.Load() {
		t.Error("the handler did not see its context cancelled")
	}
	rec := row(t, app, job.Id)
	assertRow(t, rec, jobs.StatusQueued, 0, "")
	if !rec.GetDateTime("lease_expires_at").IsZero() {
		t.Errorf("lease_expires_at = %s, want cleared", rec.GetString("lease_expires_at"))
	}
	if runAt := rec.GetDateTime("run_at").Time(); runAt.After(time.Now()) {
		t.Errorf("run_at = %s, want the job due again at once", runAt)
	}

	// The next process runs it as a first attempt.
	next := newRunner(t, app, jobs.Options{})
	next.Handle("export", func(ctx context.Context, app core.App, job *jobs.Job) error {
		if job.Attempt != 1 {
			t.Errorf("next run is attempt %d, want 1", job.Attempt)
		}
		return nil
	})
	if n, err := next.RunDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("RunDue = %d, %v; want the requeued job run", n, err)
	}
	assertRow(t, row(t, app, job.Id), jobs.StatusDone, 1, "")
}

func TestStopLetsAJobFinishWithinTheGracePeriod(t *testing.T) {
	app, _ := testutil.NewApp(t)
	job := enqueue(t, app, jobs.New{Kind: "export"})
	long := newBlocker()
	var laterRuns atomic.Int32
	r := newRunner(t, app, jobs.Options{Workers: 1, PollInterval: 10 * time.Millisecond, Lease: time.Minute})
	r.Handle("export", long.handle)
	r.Handle("later", func(ctx context.Context, app core.App, job *jobs.Job) error {
		laterRuns.Add(1)
		return nil
	})
	r.Start()
	long.waitStarted(t)

	grace, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stopped := make(chan struct{})
	go func() { r.Stop(grace); close(stopped) }()
	time.Sleep(100 * time.Millisecond) // setup: let Stop begin waiting
	select {
	case <-stopped:
		t.Fatal("Stop returned while a job was still running within the grace period")
	default:
	}
	later := enqueue(t, app, jobs.New{Kind: "later"})
	close(long.release)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return after the job finished")
	}

	assertRow(t, row(t, app, job.Id), jobs.StatusDone, 1, "")
	// A stopping runner claims nothing new.
	assertRow(t, row(t, app, later.Id), jobs.StatusQueued, 0, "")
	if laterRuns.Load() != 0 {
		t.Errorf("a job enqueued during shutdown ran %d times", laterRuns.Load())
	}
}

func TestRetryRevivesOnlyDeadJobs(t *testing.T) {
	app, _ := testutil.NewApp(t)
	job := enqueue(t, app, jobs.New{Kind: "mail", MaxAttempts: 1})
	fail := true
	r := newRunner(t, app, jobs.Options{})
	r.Handle("mail", func(ctx context.Context, app core.App, job *jobs.Job) error {
		if fail {
			return errors.New("smtp: 421 try again later")
		}
		return nil
	})
	queued := enqueue(t, app, jobs.New{Kind: "mail", RunAt: time.Now().Add(time.Hour)})

	// Not dead yet: refused, row untouched.
	if _, err := jobs.Retry(app, queued.Id); err == nil || !strings.Contains(err.Error(), jobs.StatusQueued) {
		t.Errorf("Retry of a queued job: err = %v, want a refusal naming its status", err)
	}
	if _, err := jobs.Retry(app, "nosuchjob000000"); err == nil {
		t.Error("Retry of a missing job returned no error")
	}

	if n, err := r.RunDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	assertRow(t, row(t, app, job.Id), jobs.StatusDead, 1, "smtp: 421 try again later")

	rec, err := jobs.Retry(app, job.Id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetString("status") != jobs.StatusQueued || rec.GetInt("attempts") != 0 {
		t.Errorf("Retry returned status %q, attempts %d; want queued, 0", rec.GetString("status"), rec.GetInt("attempts"))
	}
	stored := row(t, app, job.Id)
	if stored.GetString("status") != jobs.StatusQueued || stored.GetInt("attempts") != 0 || !stored.GetDateTime("finished_at").IsZero() {
		t.Errorf("revived row: status %q, attempts %d, finished_at %q; want queued, 0, empty",
			stored.GetString("status"), stored.GetInt("attempts"), stored.GetString("finished_at"))
	}

	fail = false
	if n, err := r.RunDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("RunDue after Retry = %d, %v", n, err)
	}
	assertRow(t, row(t, app, job.Id), jobs.StatusDone, 1, "")
	if _, err := jobs.Retry(app, job.Id); err == nil || !strings.Contains(err.Error(), jobs.StatusDone) {
		t.Errorf("Retry of a done job: err = %v, want a refusal naming its status", err)
	}
	assertRow(t, row(t, app, job.Id), jobs.StatusDone, 1, "")
}

func TestUniqueKeyKeepsOneQueuedOrRunningJob(t *testing.T) {
	app, _ := testutil.NewApp(t)
	const key = "sync:tags:acme"
	first := enqueue(t, app, jobs.New{Kind: "sync", UniqueKey: key})
	if again := enqueue(t, app, jobs.New{Kind: "sync", UniqueKey: key}); again.Id != first.Id {
		t.Errorf("second enqueue while queued made job %s, want the queued %s", again.Id, first.Id)
	}
	other := enqueue(t, app, jobs.New{Kind: "sync", UniqueKey: "sync:tags:globex"})
	if other.Id == first.Id {
		t.Error("a different unique key returned the same job")
	}

	long := newBlocker()
	r := newRunner(t, app, jobs.Options{Lease: time.Minute})
	r.Handle("sync", func(ctx context.Context, app core.App, job *jobs.Job) error {
		if job.ID != first.Id {
			return nil
		}
		return long.handle(ctx, app, job)
	})
	runErr := make(chan error, 1)
	go func() { _, err := r.RunOne(context.Background()); runErr <- err }() // first was enqueued first
	long.waitStarted(t)
	if again := enqueue(t, app, jobs.New{Kind: "sync", UniqueKey: key}); again.Id != first.Id {
		t.Errorf("enqueue while running made job %s, want the running %s", again.Id, first.Id)
	}
	close(long.release)
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	assertRow(t, row(t, app, first.Id), jobs.StatusDone, 1, "")

	next := enqueue(t, app, jobs.New{Kind: "sync", UniqueKey: key})
	if next.Id == first.Id || next.GetString("status") != jobs.StatusQueued {
		t.Errorf("enqueue after the job was done returned %s (%s), want a new queued job", next.Id, next.GetString("status"))
	}
	if n, _ := app.CountRecords(collections.Jobs, dbx.HashExp{"unique_key": key}); n != 2 {
		t.Errorf("%d rows with the key, want 2 (the done one and the new one)", n)
	}
}

func TestHandlerSeesItsJob(t *testing.T) {
	app, _ := testutil.NewApp(t)
	job := enqueue(t, app, jobs.New{Kind: "mail.invite", Workspace: "ws123", Payload: map[string]any{"user": "u42", "n": 7}})
	var got jobs.Job
	var payload struct {
		User string `json:"user"`
		N    int    `json:"n"`
	}
	var mu sync.Mutex
	r := newRunner(t, app, jobs.Options{})
	r.Handle("mail.invite", func(ctx context.Context, app core.App, j *jobs.Job) error {
		mu.Lock()
		defer mu.Unlock()
		got = *j
		return j.Decode(&payload)
	})
	if n, err := r.RunDue(context.Background()); n != 1 || err != nil {
		t.Fatalf("RunDue = %d, %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.ID != job.Id || got.Kind != "mail.invite" || got.Workspace != "ws123" || got.Attempt != 1 || got.MaxAttempts != jobs.DefaultMaxAttempts {
		t.Errorf("handler saw %+v", got)
	}
	if payload.User != "u42" || payload.N != 7 {
		t.Errorf("decoded payload %+v, want user u42, n 7", payload)
	}
	if res := row(t, app, job.Id).GetString("result"); res != "null" && res != "" {
		t.Errorf("result of a job that set none = %q", res)
	}
}

func TestJobIsNotRunBeforeItsRunAt(t *testing.T) {
	app, _ := testutil.NewApp(t)
	job := enqueue(t, app, jobs.New{Kind: "reminder", RunAt: time.Now().Add(time.Hour)})
	r := newRunner(t, app, jobs.Options{})
	r.Handle("reminder", func(ctx context.Context, app core.App, job *jobs.Job) error { return nil })
	if n, err := r.RunDue(context.Background()); n != 0 || err != nil {
		t.Errorf("RunDue = %d, %v; want nothing run an hour early", n, err)
	}
	assertRow(t, row(t, app, job.Id), jobs.StatusQueued, 0, "")
}

func TestJobWhoseWorkerDiedOnItsLastAttemptIsDead(t *testing.T) {
	app, _ := testutil.NewApp(t)
	job := enqueue(t, app, jobs.New{Kind: "mail", MaxAttempts: 2})
	past := time.Now().Add(-time.Second).UTC().Format(time.DateTime + ".000Z")
	if _, err := app.NonconcurrentDB().NewQuery(`UPDATE jobs SET status = 'running', attempts = 2,
		lease_owner = 'other-worker', lease_expires_at = {:exp} WHERE id = {:id}`).
		Bind(dbx.Params{"exp": past, "id": job.Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, app, jobs.Options{})
	r.Handle("mail", func(ctx context.Context, app core.App, job *jobs.Job) error {
		t.Error("a job that used up its attempts must not run again")
		return nil
	})
	if n, err := r.RunDue(context.Background()); err != nil || n != 0 {
		t.Fatalf("ran %d: %v", n, err)
	}
	rec := row(t, app, job.Id)
	if rec.GetString("status") != jobs.StatusDead || !strings.Contains(rec.GetString("last_error"), "lease expired") {
		t.Fatalf("status %q, last_error %q", rec.GetString("status"), rec.GetString("last_error"))
	}
}

func TestCancelledRunHandsTheJobBack(t *testing.T) {
	app, _ := testutil.NewApp(t)
	job := enqueue(t, app, jobs.New{Kind: "export"})
	r := newRunner(t, app, jobs.Options{})
	b := newBlocker()
	r.Handle("export", b.handle)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := r.RunOne(ctx); done <- err }()
	b.waitStarted(t)
	cancel() // Ctrl-C of a CLI run
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rec := row(t, app, job.Id)
	if rec.GetString("status") != jobs.StatusQueued || rec.GetInt("attempts") != 0 || rec.GetString("lease_owner") != "" {
		t.Fatalf("interrupted job: status %q attempts %d owner %q", rec.GetString("status"), rec.GetInt("attempts"), rec.GetString("lease_owner"))
	}
}

func TestRunnerCanStopAndStartAgain(t *testing.T) {
	app, _ := testutil.NewApp(t)
	r := newRunner(t, app, jobs.Options{Workers: 2, PollInterval: 10 * time.Millisecond})
	ran := make(chan string, 2)
	r.Handle("mail", func(ctx context.Context, app core.App, job *jobs.Job) error { ran <- job.ID; return nil })
	r.Start()
	r.Stop(context.Background())
	r.Start()
	defer r.Stop(context.Background())
	job := enqueue(t, app, jobs.New{Kind: "mail"})
	select {
	case id := <-ran:
		if id != job.Id {
			t.Fatalf("ran %s", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a restarted runner does not run jobs")
	}
}
