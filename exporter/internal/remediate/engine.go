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

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
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
	// Store keeps the state across restarts; nil means a FileStore on
	// Config.StateFile, or memory only when that is empty.
	Store Store
	// Leader, when set, limits remediation to the replica that leads; the
	// Store is then shared by the replicas (a ConfigMap) and read when this
	// replica starts leading, not at New.
	Leader Leadership
}

// Engine decides and performs remediation syncs. Observe is called by the
// poller; the engine is also the prometheus.Collector of its metrics.
type Engine struct {
	cfg      Config
	selector labels.Selector
	projects map[string]bool
	syncer   Syncer
	// terminator is the syncer when it can also terminate operations (*argocd.Client does).
	terminator Terminator
	// refresher is the syncer when it can also hard-refresh apps (*argocd.Client does).
	refresher Refresher
	// rollbacker is the syncer when it can also roll back apps (*argocd.Client does).
	rollbacker Rollbacker
	// manifester is the syncer when it can read manifests (*argocd.Client does).
	manifester Manifester
	log        *slog.Logger
	limiter    *rate.Limiter // nil: unlimited
	sem        chan struct{}
	// closeCtx is cancelled by Close: calls still waiting for a slot give up.
	closeCtx context.Context
	cancel   context.CancelFunc
	jobs     sync.WaitGroup

	mu   sync.Mutex
	apps map[appKey]*appState
	gen  uint64

	store     Store // nil: memory only
	persistMu sync.Mutex

	leader Leadership // nil: always remediate
	// leading: this replica remediated at its last Observe; reload: read
	// the shared store before deciding again. Both under mu.
	leading, reload bool

	metrics *metrics
	// kicks tells the watcher that a call's answer made a decision due that no event will
	// announce (a reset after a manifests comparison): it shows the engine the snapshot again.
	kicks chan struct{}
}

// job is one call to Argo CD waiting for a slot: a sync (kind "") or an action (kind
// ActionTerminate, with ref).
type job struct {
	kind          string
	key           appKey
	reason        string
	st            *appState
	req           argocd.SyncRequest
	ref           argocd.AppRef
	by            string          // who asked for the action; "" for the engine
	refreshed     argocd.App      // the hard refresh's answer
	to            HealthyRevision // rollback: the revision to go back to
	bad           string          // rollback, compare: the revision rolled back from
	target        string          // compare: the held app's new target revision
	changed       bool            // compare: the answer
	held          bool            // compare: for a hold (else for reset-on-new-revision)
	prevNotBefore time.Time
}

// New builds an engine and loads the state file. A corrupt or unreadable
// state file is logged and replaced, never fatal.
func New(cfg Config, syncer Syncer, opts Options) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sel, _ := labels.Parse(cfg.Selector) // checked by Validate
	term, _ := syncer.(Terminator)
	if cfg.TerminateAfter > 0 && term == nil {
		return nil, &FieldError{Field: "TerminateAfter", Err: ErrNoTerminator}
	}
	rb, _ := syncer.(Rollbacker)
	if cfg.rollbackMode() == RollbackAuto && rb == nil {
		return nil, &FieldError{Field: "Rollback", Err: ErrNoRollbacker}
	}
	mf, _ := syncer.(Manifester)
	cfg.compareManifests = mf != nil
	refr, _ := syncer.(Refresher)
	if refr == nil {
		cfg.HardRefresh = HardRefreshOff // nothing to refresh with
	}
	e := &Engine{
		refresher:  refr,
		rollbacker: rb,
		manifester: mf,
		terminator: term,
		cfg:        cfg,
		selector:   sel,
		syncer:     syncer,
		log:        opts.Logger,
		sem:        make(chan struct{}, cfg.MaxConcurrent),
		apps:       map[appKey]*appState{},
		metrics:    newMetrics(),
		kicks:      make(chan struct{}, 1),
	}
	e.closeCtx, e.cancel = context.WithCancel(context.Background())
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
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
	e.store = opts.Store
	if e.store == nil && cfg.StateFile != "" {
		e.store = FileStore{Path: cfg.StateFile}
	}
	e.leader, e.leading, e.reload = opts.Leader, opts.Leader == nil, true
	if e.store != nil && cfg.Mode != ModeOff && e.leader == nil {
		apps, corrupt, err := loadState(e.store)
		if corrupt {
			e.log.Error("remediation state unusable, starting empty and replacing it", "path", cfg.StateFile, "err", err)
			if err := e.persist(); err != nil {
				e.log.Error("replace remediation state", "path", cfg.StateFile, "err", err)
			}
		}
		for _, st := range apps {
			cfg.transition(st, event{kind: evRestart}, time.Time{})
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
	if e.leader != nil && !e.takeTurn() {
		return
	}
	var jobs []job
	dirty := false
	e.mu.Lock()
	e.gen++
	for i := range apps {
		j, changed := e.observeLocked(&apps[i], now)
		dirty = dirty || changed
		if j != nil {
			jobs = append(jobs, *j)
		}
	}
	for key, st := range e.apps {
		if st.gen != e.gen { // gone from the snapshot or out of scope
			dirty = e.forgetLocked(key) || dirty
		}
	}
	e.mu.Unlock()
	e.dispatch(ctx, jobs, dirty, now)
}

// observeLocked updates one in-scope app's state and returns the sync job
// due for it, if any. Out-of-scope apps are left alone (the caller forgets
// them). Called with e.mu held.
func (e *Engine) observeLocked(a *argocd.App, now time.Time) (*job, bool) {
	if !e.inScope(a) {
		return nil, false
	}
	dirty := false
	key := appKey{a.Namespace, a.Name}
	st := e.apps[key]
	if st == nil {
		st = &appState{Project: a.Project, Phase: PhaseIdle, namespace: a.Namespace, name: a.Name}
		e.apps[key] = st
	}
	st.gen = e.gen
	if st.Project != a.Project {
		e.metrics.forget(st)
		st.Project = a.Project
		dirty = true
	}
	j, changed := e.decide(a, st, now)
	if j != nil {
		j.key = key
	}
	return j, dirty || changed
}

// forgetLocked drops an app's state and series; it reports whether the
// state file must change. Called with e.mu held.
func (e *Engine) forgetLocked(key appKey) bool {
	st := e.apps[key]
	if st == nil {
		return false
	}
	e.metrics.forget(st)
	delete(e.apps, key)
	return st.worthKeeping()
}

// dispatch records the decisions (state file first) and starts the syncs.
func (e *Engine) dispatch(ctx context.Context, jobs []job, dirty bool, now time.Time) {
	if dirty {
		if err := e.persist(); err != nil {
			e.log.Error("write remediation state file", "path", e.cfg.StateFile, "err", err)
			if len(jobs) > 0 {
				// Syncing without a recorded attempt could exceed max-attempts
				// in a crash loop: skip this round instead.
				e.log.Error("remediation syncs skipped: attempts could not be recorded", "apps", len(jobs))
				e.mu.Lock()
				for _, j := range jobs {
					if j.kind == ActionTerminate {
						j.st.TerminatedOp = time.Time{}
						continue
					}
					if j.kind == jobCompare {
						continue
					}
					if j.kind == ActionRollback {
						j.st.RollbackFor = ""
						continue
					}
					if j.kind == ActionHardRefresh {
						j.st.RefreshFor = 0
						continue
					}
					before := *j.st
					fx := e.cfg.transition(j.st, event{kind: evAnswer, ans: answerCanceled, prevNotBefore: j.prevNotBefore}, now)
					j.st.tell(before, fx, now)
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
	return e.selector.Matches(labels.Set(a.Labels))
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

// decide feeds one app's snapshot to the state machine and returns the sync
// job to start, if one is due. Called with e.mu held.
func (e *Engine) decide(a *argocd.App, st *appState, now time.Time) (*job, bool) {
	st.running, st.runningMsg = time.Time{}, ""
	st.autoSync = a.AutoSync
	if busy(a) && a.Operation != nil && a.Operation.Phase == argocd.PhaseRunning {
		st.running, st.runningMsg = a.Operation.StartedAt, a.Operation.Message
	}
	before := *st
	prevNotBefore := st.NotBefore
	fx := e.cfg.transition(st, event{kind: evObserve, obs: observe(a)}, now)
	st.tell(before, fx, now)
	e.apply(st, before, fx, a)
	if fx.terminate {
		return e.terminateJob(a, st, fx, now), true
	}
	if fx.refresh {
		return e.refreshJob(a, st), true
	}
	if fx.rollback {
		return e.rollbackJob(a, st), true
	}
	if fx.compare {
		return e.compareJob(a, st), fx.dirty
	}
	if !fx.sync {
		return nil, fx.dirty
	}
	return &job{st: st, reason: problem(a), prevNotBefore: prevNotBefore,
		req: argocd.SyncRequest{Name: a.Name, AppNamespace: a.Namespace, Project: a.Project, Prune: e.cfg.Prune}}, true
}

// apply carries out a transition's counts and log lines. before is the
// state ahead of the transition; a is the app's snapshot, nil for answers.
// Called with e.mu held.
func (e *Engine) apply(st *appState, before appState, fx effects, a *argocd.App) {
	for _, r := range fx.counts {
		e.metrics.count(st, r)
	}
	if fx.cause != "" {
		e.metrics.failure(fx.cause)
	}
	for _, n := range fx.notes {
		switch n {
		case noteResetRevision:
			e.log.Info("remediation reset: new target revision", "app", st.key(), "revision", st.Revision,
				"attempts", before.Attempts, "paused", before.Phase == PhasePaused)
		case noteResetHealthy:
			e.log.Info("remediation reset: app Synced and Healthy", "app", st.key(), "attempts", before.Attempts,
				"paused", before.Phase == PhasePaused)
		case noteDryRun:
			e.log.Info("remediation sync (dry run)", "app", st.key(), "attempt", st.Attempts, "max_attempts", e.cfg.MaxAttempts, "reason", problem(a))
		case noteNotFixed:
			e.log.Info("remediation sync did not fix the app", "app", st.key(), "attempt", st.Attempts, "max_attempts", e.cfg.MaxAttempts, "message", fx.message)
		case notePaused:
			var phase, msg string
			if a.Operation != nil {
				phase, msg = string(a.Operation.Phase), a.Operation.Message
			}
			e.log.Warn("remediation paused: max attempts reached, a person must look", "app", st.key(), "project", a.Project,
				"attempts", st.Attempts, "sync", string(a.Sync), "health", string(a.Health), "operation_phase", phase, "operation_message", msg)
		}
	}
}

func (s *appState) key() string { return appKey{s.namespace, s.name}.String() }

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
	// Checked last, after every wait: a replica that no longer leads makes
	// no call, and a call ends by the time another replica can lead.
	timeout := syncTimeout
	if until, ok := e.leadingUntil(); !ok {
		e.finish(j, errNotLeading)
		return
	} else if !until.IsZero() {
		timeout = min(timeout, time.Until(until))
	}
	// The call itself is not cancelled on shutdown: Close waits for it so
	// its answer is recorded.
	callCtx, cancelCall := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancelCall()
	switch j.kind {
	case ActionTerminate:
		e.finish(j, e.terminator.TerminateOperation(callCtx, j.ref))
		return
	case ActionRollback:
		e.finish(j, e.callRollback(callCtx, j))
		return
	case jobCompare:
		changed, err := e.manifestsChanged(callCtx, j)
		j.changed = changed
		e.finish(j, err)
		return
	case ActionHardRefresh:
		app, err := e.refresher.HardRefresh(callCtx, j.ref)
		j.refreshed = app
		e.finish(j, err)
		return
	}
	e.finish(j, e.syncer.Sync(callCtx, j.req))
}

// finish records Argo CD's answer to a sync call.
func (e *Engine) finish(j job, err error) {
	now := time.Now()
	e.mu.Lock()
	st := j.st
	if e.apps[j.key] != st { // forgotten meanwhile: nothing to record
		e.mu.Unlock()
		return
	}
	if j.kind != "" {
		switch j.kind {
		case ActionTerminate:
			e.finishTerminate(j, err, now)
		case ActionRollback:
			e.finishRollback(j, err, now)
		case jobCompare:
			e.finishCompare(j, j.changed, err, now)
		default:
			e.finishRefresh(j, j.refreshed, err, now)
		}
		e.mu.Unlock()
		if err := e.persist(); err != nil && !errors.Is(err, errNotLeading) {
			e.log.Error("write remediation state file", "path", e.cfg.StateFile, "err", err)
		}
		return
	}
	ans := classify(err)
	if ans != answerCanceled && ans != answerDeleting {
		e.metrics.action(actionSync, actionResult(ans))
	}
	before := *st
	fx := e.cfg.transition(st, event{kind: evAnswer, ans: ans, prevNotBefore: j.prevNotBefore}, now)
	st.tell(before, fx, now)
	for _, r := range fx.counts {
		e.metrics.count(st, r)
	}
	if fx.cause != "" {
		e.metrics.failure(fx.cause)
	}
	for _, n := range fx.notes {
		switch n {
		case noteTriggered:
			e.log.Info("remediation sync triggered", "app", st.key(), "attempt", st.Attempts, "max_attempts", e.cfg.MaxAttempts, "reason", j.reason)
		case noteBusy:
			e.log.Debug("remediation sync refused: operation in progress", "app", st.key())
		case noteDeleting:
			e.log.Debug("remediation sync refused: application is deleting", "app", st.key())
		case noteForbidden:
			e.log.Warn("remediation sync forbidden: the account needs 'applications, sync' on this app, or a sync window blocks it",
				"app", st.key(), "project", st.Project, "err", err)
		case noteSyncFailed:
			e.log.Warn("remediation sync failed", "app", st.key(), "retry_at", st.NotBefore, "err", err)
		}
	}
	if fx.forget {
		e.metrics.forget(st)
		delete(e.apps, j.key)
	}
	e.mu.Unlock()
	if err := e.persist(); errors.Is(err, errNotLeading) {
		e.log.Debug("remediation state not written: this replica no longer leads")
	} else if err != nil {
		e.log.Error("write remediation state file", "path", e.cfg.StateFile, "err", err)
	}
}

// classify maps a sync call's error to the machine's answer.
func classify(err error) answer {
	switch {
	case err == nil:
		return answerAccepted
	case errors.Is(err, context.Canceled), errors.Is(err, errNotLeading):
		return answerCanceled
	case errors.Is(err, argocd.ErrOperationInProgress):
		return answerBusy
	case errors.Is(err, argocd.ErrAppDeleting):
		return answerDeleting
	case argocd.IsForbidden(err):
		return answerForbidden
	}
	return answerError
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

// persist saves the state (no-op without a store). Writers are serialised
// and each writes the latest state, so the file never goes back in time.
func (e *Engine) persist() error {
	if e.store == nil {
		return nil
	}
	if e.leader != nil {
		return e.persistShared()
	}
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	data, err := encodeState(e.apps)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	return e.store.Save(data)
}

// nextAttempt is when the next attempt is due, while one is scheduled.
func (e *Engine) nextAttempt(st *appState) (time.Time, bool) {
	if st.Phase == PhasePaused || st.StreakStart.IsZero() || st.NotBefore.IsZero() {
		return time.Time{}, false
	}
	t := st.StreakStart.Add(e.cfg.Grace)
	if st.NotBefore.After(t) {
		t = st.NotBefore
	}
	return t, true
}
