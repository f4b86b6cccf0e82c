// Package remediate owns the exporter's auto-sync remediation: it decides,
// from each successful poll's snapshot, which drifted or broken apps to sync,
// makes the sync calls in the background (bounded concurrency, global rate
// limit, exponential backoff, pause after max attempts), keeps that state in
// an atomically written file, and exports it as metrics.
package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"golang.org/x/time/rate"
)

// Syncer asks Argo CD to sync one app; *argocd.Client implements it.
type Syncer interface {
	Sync(ctx context.Context, req argocd.SyncRequest) error
}

// AnnotationAutoSync opts an app out of remediation when set to "false".
const AnnotationAutoSync = "argocd-monitor.io/auto-sync"

// syncTimeout bounds one sync call even if the client has no timeout.
const syncTimeout = time.Minute

// Options are the engine's collaborators; zero values pick sensible defaults.
type Options struct {
	Logger *slog.Logger
	// Now is the clock (time.Now when nil); tests inject a fake one.
	Now func() time.Time
}

// Engine decides and performs remediation syncs. Observe is called by the
// poller; the engine is also the prometheus.Collector of its metrics.
type Engine struct {
	cfg      Config
	selector Selector
	projects map[string]bool
	syncer   Syncer
	log      *slog.Logger
	now      func() time.Time
	limiter  *rate.Limiter // nil: unlimited
	sem      chan struct{}
	// closeCtx is cancelled by Close: calls still waiting for a slot give up.
	closeCtx context.Context
	cancel   context.CancelFunc
	jobs     sync.WaitGroup

	mu   sync.Mutex
	apps map[appKey]*appState
	gen  uint64

	persistMu sync.Mutex

	metrics *metrics
}

// job is one sync call waiting for a slot.
type job struct {
	key           appKey
	reason        string
	st            *appState
	req           argocd.SyncRequest
	prevNotBefore time.Time
}

// New builds an engine and loads the state file. A corrupt or unreadable
// state file is logged and replaced, never fatal.
func New(cfg Config, syncer Syncer, opts Options) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sel, _ := ParseSelector(cfg.Selector) // checked by Validate
	e := &Engine{
		cfg:      cfg,
		selector: sel,
		syncer:   syncer,
		log:      opts.Logger,
		now:      opts.Now,
		sem:      make(chan struct{}, cfg.MaxConcurrent),
		apps:     map[appKey]*appState{},
		metrics:  newMetrics(),
	}
	e.closeCtx, e.cancel = context.WithCancel(context.Background())
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if len(cfg.Project) > 0 {
		e.projects = make(map[string]bool, len(cfg.Project))
		for _, p := range cfg.Project {
			e.projects[p] = true
		}
	}
	if cfg.RateLimit > 0 {
		e.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), cfg.RateBurst)
	}
	if cfg.StateFile != "" && cfg.Mode != ModeOff {
		apps, corrupt, err := loadState(cfg.StateFile)
		if corrupt {
			e.log.Error("remediation state file unusable, starting empty and replacing it", "path", cfg.StateFile, "err", err)
			if err := e.persist(); err != nil {
				e.log.Error("replace remediation state file", "path", cfg.StateFile, "err", err)
			}
		}
		for _, st := range apps {
			// A call recorded but never answered: we crashed mid-call. The
			// attempt stays counted; its outcome is read like any other.
			st.InFlight = false
		}
		e.apps = apps
		e.log.Info("remediation state loaded", "path", cfg.StateFile, "apps", len(apps))
	}
	return e, nil
}

// Observe takes one successful poll's snapshot, updates every in-scope app's
// state, and starts the syncs that are due in the background. It returns
// quickly: the calls wait for a concurrency slot and the rate limiter. ctx
// only carries values to the calls: Close, not ctx, stops waiting calls, so
// a poller may pass a per-poll context.
func (e *Engine) Observe(ctx context.Context, apps []argocd.App, now time.Time) {
	if e.cfg.Mode == ModeOff {
		return
	}
	var jobs []job
	dirty := false
	e.mu.Lock()
	e.gen++
	for i := range apps {
		a := &apps[i]
		if !e.inScope(a) {
			continue
		}
		key := appKey{a.Namespace, a.Name}
		st := e.apps[key]
		if st == nil {
			st = &appState{Project: a.Project, namespace: a.Namespace, name: a.Name}
			e.apps[key] = st
		}
		st.gen = e.gen
		if st.Project != a.Project {
			e.metrics.forget(st)
			st.Project = a.Project
			dirty = true
		}
		j, changed := e.decide(a, st, now)
		dirty = dirty || changed
		if j != nil {
			j.key = key
			jobs = append(jobs, *j)
		}
	}
	for key, st := range e.apps {
		if st.gen != e.gen { // gone from the snapshot or out of scope
			dirty = dirty || st.worthKeeping()
			e.metrics.forget(st)
			delete(e.apps, key)
		}
	}
	e.mu.Unlock()

	if dirty {
		if err := e.persist(); err != nil {
			e.log.Error("write remediation state file", "path", e.cfg.StateFile, "err", err)
			if len(jobs) > 0 {
				// Syncing without a recorded attempt could exceed max-attempts
				// in a crash loop: skip this round instead.
				e.log.Error("remediation syncs skipped: attempts could not be recorded", "apps", len(jobs))
				e.mu.Lock()
				for _, j := range jobs {
					e.undo(j)
				}
				e.mu.Unlock()
				return
			}
		}
	}
	for _, j := range jobs {
		e.jobs.Add(1)
		go e.run(ctx, j)
	}
}

// inScope applies the exclusions.
func (e *Engine) inScope(a *argocd.App) bool {
	switch {
	case a.Deleting:
		return false
	case a.AutoSync && !e.cfg.IncludeAutomated:
		return false
	case a.Annotations[AnnotationAutoSync] == "false":
		return false
	case e.projects != nil && !e.projects[a.Project]:
		return false
	}
	return e.selector.Matches(a.Labels)
}

// busy: an operation is pending or running, so neither a sync nor an outcome.
func busy(a *argocd.App) bool {
	return a.OperationInProgress || a.Operation != nil &&
		(a.Operation.Phase == argocd.PhaseRunning || a.Operation.Phase == argocd.PhaseTerminating)
}

// problem lists what makes the app a remediation candidate; empty when none.
func problem(a *argocd.App) string {
	var r []string
	if a.Sync == argocd.SyncOutOfSync {
		r = append(r, "OutOfSync")
	}
	if a.Health == argocd.HealthDegraded || a.Health == argocd.HealthMissing {
		r = append(r, string(a.Health))
	}
	if a.Operation != nil && (a.Operation.Phase == argocd.PhaseFailed || a.Operation.Phase == argocd.PhaseError) {
		r = append(r, "last operation "+string(a.Operation.Phase))
	}
	return strings.Join(r, ", ")
}

func healthy(a *argocd.App) bool {
	return a.Sync == argocd.SyncSynced && a.Health == argocd.HealthHealthy
}

// decide updates one app's state from its snapshot and returns the sync job
// to start, if one is due. Called with e.mu held.
func (e *Engine) decide(a *argocd.App, st *appState, now time.Time) (*job, bool) {
	if st.InFlight {
		return nil, false // our call is unanswered: look again at the next poll
	}
	dirty := false
	if a.Revision != "" && a.Revision != st.Revision {
		if st.Revision != "" && e.cfg.ResetOnNewRevision && (st.Attempts > 0 || st.Paused || st.Errors > 0) {
			e.log.Info("remediation reset: new target revision", "app", st.key(), "revision", a.Revision, "attempts", st.Attempts, "paused", st.Paused)
			st.reset()
			st.StreakStart = time.Time{} // a fresh chance starts a fresh grace
		}
		st.Revision = a.Revision
		dirty = st.worthKeeping()
	}
	if busy(a) {
		return nil, dirty // wait for the operation to finish
	}
	if st.Pending {
		dirty = e.readOutcome(a, st) || dirty
	}
	if healthy(a) {
		if st.Pending && !st.DryRun { // recovered after our sync, operation not seen
			e.metrics.count(st, resultSucceeded)
		}
		if st.worthKeeping() {
			if st.Attempts > 0 || st.Paused {
				e.log.Info("remediation reset: app Synced and Healthy", "app", st.key(), "attempts", st.Attempts, "paused", st.Paused)
			}
			st.reset()
			st.StreakStart = time.Time{}
			dirty = true
		}
		return nil, dirty
	}
	reason := problem(a)
	if reason == "" { // e.g. Synced and Progressing: the streak is over
		if !st.StreakStart.IsZero() {
			st.StreakStart = time.Time{}
			dirty = true
		}
		return nil, dirty
	}
	if st.StreakStart.IsZero() {
		st.StreakStart = now
		st.ForbiddenLogged = false // a new streak may warn again
		dirty = true
	}
	if st.Paused && !st.Resumed || now.Sub(st.StreakStart) < e.cfg.Grace || now.Before(st.NotBefore) {
		return nil, dirty
	}
	if st.Pending { // backoff over and still broken: the last attempt did not help
		e.failed(a, st, "app still "+reason+" after the sync")
		dirty = true
	}
	if st.Attempts >= e.cfg.MaxAttempts {
		if !st.Paused {
			e.pause(a, st)
			dirty = true
		}
		return nil, true
	}

	st.Resumed = false // the one attempt a person asked for is this one
	j := &job{st: st, reason: reason, prevNotBefore: st.NotBefore}
	st.Attempts++
	st.Pending, st.RequestedAt, st.DryRun = true, now, e.cfg.Mode == ModeDryRun
	st.NotBefore = now.Add(e.cfg.backoffFor(st.Attempts))
	if st.DryRun {
		e.metrics.count(st, resultDryRun)
		e.log.Info("remediation sync (dry run)", "app", st.key(), "attempt", st.Attempts, "max_attempts", e.cfg.MaxAttempts, "reason", reason)
		return nil, true
	}
	st.InFlight = true
	j.req = argocd.SyncRequest{Name: a.Name, AppNamespace: a.Namespace, Project: a.Project, Prune: e.cfg.Prune}
	return j, true
}

// readOutcome reads the result of our last accepted sync from the
// operationState, once. Called with e.mu held; reports a state change.
func (e *Engine) readOutcome(a *argocd.App, st *appState) bool {
	if st.DryRun {
		return false // nothing ran; resolved by recovery or at the next due time
	}
	op := a.Operation
	// Argo CD's timestamps have second precision.
	if op == nil || op.StartedAt.IsZero() || op.StartedAt.Before(st.RequestedAt.Truncate(time.Second)) {
		return false // not ours (yet)
	}
	switch op.Phase {
	case argocd.PhaseFailed, argocd.PhaseError:
		e.failed(a, st, op.Message)
		return true
	case argocd.PhaseSucceeded:
		if healthy(a) {
			st.Pending = false
			e.metrics.count(st, resultSucceeded)
			return true
		}
		if reason := problem(a); reason != "" {
			e.failed(a, st, "sync succeeded but app still "+reason)
			return true
		}
	}
	return false // e.g. Succeeded and Progressing: wait
}

// failed records a failed attempt and pauses at max attempts.
func (e *Engine) failed(a *argocd.App, st *appState, msg string) {
	st.Pending = false
	if !st.DryRun {
		e.metrics.count(st, resultFailed)
	}
	e.log.Info("remediation sync did not fix the app", "app", st.key(), "attempt", st.Attempts, "max_attempts", e.cfg.MaxAttempts, "message", msg)
	if st.Attempts >= e.cfg.MaxAttempts {
		e.pause(a, st)
	}
}

func (e *Engine) pause(a *argocd.App, st *appState) {
	st.Paused = true
	st.NotBefore = time.Time{}
	var phase, msg string
	if a.Operation != nil {
		phase, msg = string(a.Operation.Phase), a.Operation.Message
	}
	e.log.Warn("remediation paused: max attempts reached, a person must look", "app", st.key(), "project", a.Project,
		"attempts", st.Attempts, "sync", string(a.Sync), "health", string(a.Health), "operation_phase", phase, "operation_message", msg)
}

func (s *appState) reset() {
	s.Attempts, s.Paused, s.Resumed, s.Errors = 0, false, false, 0
	s.NotBefore, s.RequestedAt = time.Time{}, time.Time{}
	s.Pending, s.DryRun, s.ForbiddenLogged = false, false, false
}

func (s *appState) key() string { return appKey{s.namespace, s.name}.String() }

// undo takes back an attempt that Argo CD did not accept. Called with e.mu held.
func (e *Engine) undo(j job) {
	j.st.Attempts = max(j.st.Attempts-1, 0)
	j.st.Pending, j.st.InFlight = false, false
	j.st.RequestedAt = time.Time{}
	j.st.NotBefore = j.prevNotBefore
	j.st.Resumed = j.st.Paused // a paused app's attempt was the one a person asked for: still owed
}

// run makes one sync call when a slot and the rate limiter allow.
func (e *Engine) run(ctx context.Context, j job) {
	defer e.jobs.Done()
	select {
	case e.sem <- struct{}{}:
	case <-e.closeCtx.Done():
		e.finish(j, e.closeCtx.Err())
		return
	}
	defer func() { <-e.sem }()
	if err := e.closeCtx.Err(); err != nil { // select picks at random when both are ready
		e.finish(j, err)
		return
	}
	if e.limiter != nil {
		if err := e.limiter.Wait(e.closeCtx); err != nil {
			e.finish(j, fmt.Errorf("rate limiter: %w", context.Canceled))
			return
		}
	}
	// The call itself is not cancelled on shutdown: Close waits for it so
	// its answer is recorded.
	callCtx, cancelCall := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancelCall()
	e.finish(j, e.syncer.Sync(callCtx, j.req))
}

// finish records Argo CD's answer to a sync call.
func (e *Engine) finish(j job, err error) {
	now := e.now()
	e.mu.Lock()
	st := j.st
	if e.apps[j.key] != st { // forgotten meanwhile: nothing to record
		e.mu.Unlock()
		return
	}
	switch {
	case err == nil:
		st.InFlight, st.Errors = false, 0
		e.metrics.count(st, resultTriggered)
		e.log.Info("remediation sync triggered", "app", st.key(), "attempt", st.Attempts, "max_attempts", e.cfg.MaxAttempts, "reason", j.reason)
	case errors.Is(err, context.Canceled):
		e.undo(j) // shutting down before the call
	case errors.Is(err, argocd.ErrOperationInProgress):
		e.undo(j) // not an attempt: try again at the next poll
		e.metrics.count(st, resultBusy)
		e.log.Debug("remediation sync refused: operation in progress", "app", st.key())
	case argocd.IsForbidden(err):
		e.undo(j)
		st.Errors++
		st.NotBefore = now.Add(e.cfg.backoffFor(st.Errors))
		e.metrics.count(st, resultForbidden)
		if !st.ForbiddenLogged {
			st.ForbiddenLogged = true
			e.log.Warn("remediation sync forbidden: the account needs 'applications, sync' on this app, or a sync window blocks it",
				"app", st.key(), "project", st.Project, "err", err)
		}
	default:
		e.undo(j)
		st.Errors++
		st.NotBefore = now.Add(e.cfg.backoffFor(st.Errors))
		e.metrics.count(st, resultError)
		e.log.Warn("remediation sync failed", "app", st.key(), "retry_at", st.NotBefore, "err", err)
	}
	e.mu.Unlock()
	if err := e.persist(); err != nil {
		e.log.Error("write remediation state file", "path", e.cfg.StateFile, "err", err)
	}
}

// Close stops sync calls that have not started and waits for those in
// flight, so their answers reach the state file before the process exits.
func (e *Engine) Close() {
	e.cancel()
	e.jobs.Wait()
}

// Wait blocks until every sync call started so far has been answered and
// recorded (tests; Close for shutdown).
func (e *Engine) Wait() { e.jobs.Wait() }

// persist writes the state file (no-op without one). Writers are serialised
// and each writes the latest state, so the file never goes back in time.
func (e *Engine) persist() error {
	if e.cfg.StateFile == "" {
		return nil
	}
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	data, err := encodeState(e.apps)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	return writeFileAtomic(e.cfg.StateFile, data)
}

// nextAttempt is when the next attempt is due, while one is scheduled.
func (e *Engine) nextAttempt(st *appState) (time.Time, bool) {
	if st.Paused || st.StreakStart.IsZero() || st.NotBefore.IsZero() {
		return time.Time{}, false
	}
	t := st.StreakStart.Add(e.cfg.Grace)
	if st.NotBefore.After(t) {
		t = st.NotBefore
	}
	return t, true
}

// unixSeconds renders a time for a _timestamp_seconds metric.
func unixSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1e3
}
