// Package webhooks fans Playgram's domain events out to subscribed endpoints and delivers them.
//
// The events log is the outbox. A dispatcher reads it in commit order (SQLite rowid order: every write goes
// through PocketBase's single writer connection) and, in ONE transaction, creates a webhook_deliveries row for
// each event and matching endpoint and advances a stored cursor; a crash rolls the whole batch back and it is
// done again. A delivery loop claims due deliveries per endpoint with a conditional UPDATE and a lease, within
// the endpoint's rate limit and in-flight bound, sends them outside any transaction with the SSRF-guarded
// client, and writes results (attempt rows, the next retry, success) in batches. A claimed delivery whose
// process died is claimed again when its lease expires, and is sent with the same webhook-id ("msg_" + the
// event id), so receivers can drop the duplicate.
package webhooks

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/playgram/playgram/internal/outbound"
	"github.com/playgram/playgram/internal/webhook"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

const storeKey = "playgram.webhooks.engine"

// Options tune an Engine; zero values take the defaults.
type Options struct {
	// Concurrency bounds HTTP requests in flight over all endpoints (default 256).
	Concurrency int
	// DefaultMaxInFlight bounds requests in flight to an endpoint that sets no max_in_flight (default 32).
	DefaultMaxInFlight int
	// Timeout bounds one delivery request, body included (default 15 s).
	Timeout time.Duration
	// Lease is how long a claimed delivery stays claimed; it must exceed Timeout (default Timeout + 1 min).
	Lease time.Duration
	// Schedule is the retry schedule (default webhook.DefaultSchedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
	Schedule webhook.Schedule
	// DisableAfter disables an endpoint failing without a success for this long (default 5 days).
	DisableAfter time.Duration
	// DispatchBatch is how many events one fan-out transaction reads (default 100: short transactions keep
	// the single writer free for claims and results in between).
	DispatchBatch int
	// PollInterval is how often idle loops look for work written by another process (default 1 s).
	PollInterval time.Duration
	// DispatchEvery is the least time between two fan-outs started by wake-ups (default 20 ms): every commit
	// that records events wakes the dispatcher, and under load one fan-out transaction then takes the events
	// of many commits instead of each commit paying for its own.
	DispatchEvery time.Duration
	// RescanInterval is how often the delivery loop re-reads which endpoints have pending deliveries, and
	// recovers expired leases (default 10 s).
	RescanInterval time.Duration
	// Client replaces the SSRF-guarded client (tests of the guard itself use the default).
	Client *http.Client
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = 256
	}
	if o.DefaultMaxInFlight <= 0 {
		o.DefaultMaxInFlight = 32
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.Lease <= 0 {
		o.Lease = o.Timeout + time.Minute
	}
	if len(o.Schedule) == 0 {
		o.Schedule = webhook.DefaultSchedule
	}
	if o.DisableAfter <= 0 {
		o.DisableAfter = 5 * 24 * time.Hour
	}
	if o.DispatchBatch <= 0 {
		o.DispatchBatch = 100
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.DispatchEvery <= 0 {
		o.DispatchEvery = 20 * time.Millisecond
	}
	if o.RescanInterval <= 0 {
		o.RescanInterval = 10 * time.Second
	}
	return o
}

// epState is the delivery loop's view of one endpoint: what is in flight, its rate-limit bucket and when
// something may next be due.
type epState struct {
	inflight    int
	tokens      float64
	refilled    time.Time
	due         int64 // unix ms of the earliest pending delivery known; 0 = none known
	marks       int64 // counts markDue calls, so a claim does not overwrite news it did not see
	pausedUntil time.Time
}

// Engine is the fan-out and delivery machinery of one app.
type Engine struct {
	app     core.App
	svc     *platform.Services
	opts    Options
	client  *http.Client
	owner   string
	cache   *endpointCache
	Sources *Sources

	mu            sync.Mutex
	states        map[string]*epState
	inflightTotal int

	wakeDispatch chan struct{}
	wakeDeliver  chan struct{}

	// background run
	runMu    sync.Mutex
	started  bool
	stopping chan struct{}
	runCtx   context.Context
	cancel   context.CancelFunc
	loops    sync.WaitGroup
	senders  sync.WaitGroup
	results  chan *result
	flushed  chan struct{}

	// fault, when set by tests, is called at named points and aborts the step when it returns an error.
	fault func(stage string) error
}

// New builds the engine of app and makes it reachable with Of. The SSRF-guarded client gets the allow-list
// of svc.Config.OutboundAllow.
func New(app core.App, svc *platform.Services, opts Options) (*Engine, error) {
	if opts.DisableAfter <= 0 && svc != nil {
		opts.DisableAfter = svc.Config.WebhookDisableAfter
	}
	opts = opts.withDefaults()
	client := opts.Client
	if client == nil {
		allow, err := svc.Config.OutboundAllowList()
		if err != nil {
			return nil, err
		}
		client = outbound.New(outbound.Options{
			AllowCIDRs:          allow,
			Timeout:             opts.Timeout,
			MaxIdleConnsPerHost: opts.Concurrency,
			UserAgent:           "Playgram-Webhooks/1.0",
		})
	}
	e := &Engine{
		app:          app,
		svc:          svc,
		opts:         opts,
		client:       client,
		owner:        security.RandomStringWithAlphabet(12, core.DefaultIdAlphabet),
		cache:        newEndpointCache(),
		Sources:      &Sources{},
		states:       map[string]*epState{},
		wakeDispatch: make(chan struct{}, 1),
		wakeDeliver:  make(chan struct{}, 1),
	}
	app.Store().Set(storeKey, e)
	return e, nil
}

// Of returns the engine registered for app, or nil.
func Of(app core.App) *Engine {
	e, _ := app.Store().Get(storeKey).(*Engine)
	return e
}

// Client is the SSRF-guarded client deliveries use (the test route sends with it too).
func (e *Engine) Client() *http.Client { return e.client }

// Options returns the engine's effective options.
func (e *Engine) Options() Options { return e.opts }

// InvalidateEndpoints drops cached endpoint configuration; hooks call it on every endpoint change.
func (e *Engine) InvalidateEndpoints() { e.cache.invalidate() }

// WakeDispatch tells the dispatcher that events were recorded.
func (e *Engine) WakeDispatch() {
	select {
	case e.wakeDispatch <- struct{}{}:
	default:
	}
}

// WakeDeliver tells the delivery loop that deliveries may be due.
func (e *Engine) WakeDeliver() {
	select {
	case e.wakeDeliver <- struct{}{}:
	default:
	}
}

// markDue records that endpoint has a pending delivery due at atMs (unix ms).
func (e *Engine) markDue(endpoint string, atMs int64) {
	e.mu.Lock()
	st := e.state(endpoint)
	st.marks++
	if st.due == 0 || atMs < st.due {
		st.due = atMs
	}
	e.mu.Unlock()
}

// state returns the endpoint's state; the caller holds e.mu.
func (e *Engine) state(endpoint string) *epState {
	st, ok := e.states[endpoint]
	if !ok {
		st = &epState{}
		e.states[endpoint] = st
	}
	return st
}

// Start runs the dispatcher and the delivery loop until Stop. boot starts it with the server when
// Config.Background is set; tests drive the engine by hand (Dispatch, DeliverDue, RunDue) or call Start.
func (e *Engine) Start() {
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if e.started {
		return
	}
	e.started = true
	e.stopping = make(chan struct{})
	e.runCtx, e.cancel = context.WithCancel(context.Background())
	e.results = make(chan *result, 4096)
	e.flushed = make(chan struct{})
	e.recoverExpired()
	e.rescan()
	e.loops.Add(2)
	go e.dispatchLoop()
	go e.deliverLoop()
	go e.flushLoop()
}

// Stop stops claiming, lets requests in flight finish until ctx is done (then cancels them), writes their
// results, and hands deliveries still claimed by this process back to the queue without counting an attempt.
func (e *Engine) Stop(ctx context.Context) {
	e.runMu.Lock()
	if !e.started {
		e.runMu.Unlock()
		return
	}
	e.started = false
	close(e.stopping)
	e.runMu.Unlock()

	e.loops.Wait()
	done := make(chan struct{})
	go func() { e.senders.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		e.cancel()
		<-done
	}
	close(e.results)
	<-e.flushed
	e.cancel()
	e.releaseMine()
}

func (e *Engine) dispatchLoop() {
	defer e.loops.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-e.stopping:
			return
		default:
		}
		started := time.Now()
		n, tasks, err := e.dispatch(true)
		e.spawn(tasks)
		if err != nil {
			e.app.Logger().Error("webhooks: fan-out failed", "error", err)
		}
		if err == nil && n >= e.opts.DispatchBatch {
			continue
		}
		timer.Reset(e.opts.PollInterval)
		select {
		case <-e.stopping:
			return
		case <-e.wakeDispatch:
			timer.Stop()
			if wait := time.Until(started.Add(e.opts.DispatchEvery)); wait > 0 {
				timer.Reset(wait)
				select {
				case <-e.stopping:
					return
				case <-timer.C:
				}
			}
		case <-timer.C:
		}
	}
}

func (e *Engine) deliverLoop() {
	defer e.loops.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	lastRescan := time.Now()
	for {
		select {
		case <-e.stopping:
			return
		default:
		}
		if time.Since(lastRescan) >= e.opts.RescanInterval {
			e.recoverExpired()
			e.rescan()
			lastRescan = time.Now()
		}
		tasks, wait, err := e.claim(e.runCtx)
		if err != nil {
			e.app.Logger().Error("webhooks: claiming deliveries failed", "error", err)
			wait = e.opts.PollInterval
		}
		e.spawn(tasks)
		wait = min(wait, e.opts.PollInterval, max(time.Until(lastRescan.Add(e.opts.RescanInterval)), time.Millisecond))
		timer.Reset(wait)
		select {
		case <-e.stopping:
			return
		case <-e.wakeDeliver:
		case <-timer.C:
		}
	}
}

// spawn sends claimed deliveries, each in its own goroutine; results go to the flush loop.
func (e *Engine) spawn(tasks []*task) {
	for _, t := range tasks {
		e.senders.Add(1)
		go func(t *task) {
			defer e.senders.Done()
			r := e.send(e.runCtx, t)
			e.release(t, r)
			e.results <- r
		}(t)
	}
}

func (e *Engine) flushLoop() {
	defer close(e.flushed)
	const maxBatch = 512
	for {
		r, ok := <-e.results
		if !ok {
			return
		}
		batch := []*result{r}
		deadline := time.NewTimer(2 * time.Millisecond)
	collect:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-e.results:
				if !ok {
					break collect
				}
				batch = append(batch, r)
			case <-deadline.C:
				break collect
			}
		}
		deadline.Stop()
		if err := e.record(batch); err != nil {
			// The deliveries stay claimed; their leases expire and they are sent again with the same webhook-id.
			e.app.Logger().Error("webhooks: recording delivery results failed", "error", err, "results", len(batch))
		}
	}
}

// RunDue runs fan-out and delivery rounds by hand until nothing is due now; it returns the number of
// delivery requests made. Tests and the CLI use it; do not call it while the engine is started.
func (e *Engine) RunDue(ctx context.Context) (int, error) {
	total := 0
	e.rescan()
	for {
		dispatched := 0
		for {
			n, err := e.Dispatch(ctx)
			if err != nil {
				return total, err
			}
			dispatched += n
			if n < e.opts.DispatchBatch {
				break
			}
		}
		sent, err := e.DeliverDue(ctx)
		total += sent
		if err != nil {
			return total, err
		}
		if sent == 0 && dispatched == 0 {
			return total, nil
		}
	}
}

// DeliverDue claims what is due now within every endpoint's limits, sends it, waits for the answers and
// records them; it returns how many requests were made.
func (e *Engine) DeliverDue(ctx context.Context) (int, error) {
	tasks, _, err := e.claim(ctx)
	if err != nil || len(tasks) == 0 {
		return 0, err
	}
	results := make([]*result, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.send(ctx, t)
			e.release(t, results[i])
		}()
	}
	wg.Wait()
	if e.fault != nil {
		if err := e.fault("record"); err != nil {
			return len(tasks), err
		}
	}
	return len(tasks), e.record(results)
}
