package remediate

import (
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// Phase is where one app stands in remediation. An app is in exactly one.
type Phase string

// The phases. Counters (Attempts, Errors) live beside the phase and last
// until the app is Synced and Healthy again or its target revision changes.
const (
	// PhaseIdle: no problem now.
	PhaseIdle Phase = "idle"
	// PhaseGrace: a problem streak started at StreakStart; the first attempt
	// waits for the grace period.
	PhaseGrace Phase = "grace"
	// PhaseDue: the next attempt is due at NotBefore (backoff after a failed
	// attempt or a refused call).
	PhaseDue Phase = "due"
	// PhaseInFlight: an attempt is recorded and its sync call unanswered.
	PhaseInFlight Phase = "inFlight"
	// PhaseAwaiting: Argo CD accepted the sync (or dry-run mode decided it);
	// its outcome has not been read from the app yet.
	PhaseAwaiting Phase = "awaiting"
	// PhasePaused: max attempts reached; a person must look.
	PhasePaused Phase = "paused"
)

// observation is what one poll's snapshot says about an app.
type observation struct {
	revision string
	busy     bool   // an operation is pending or running: neither a sync nor an outcome
	healthy  bool   // Synced and Healthy
	problem  string // why the app is a candidate; "" when it is not
	op       *argocd.OperationState
	// comparisonError: the app has a ComparisonError condition (manifests could not be generated
	// or compared).
	comparisonError bool
	reconciledAt    time.Time // zero when not known (a projected List item)
	autoSync        bool      // Argo CD auto-sync is on: Argo CD refuses rollbacks
	// historyKnown: the snapshot carried status.history; historyID and historyRevision are its
	// newest entry.
	historyKnown    bool
	historyID       int64
	historyRevision string
}

// runningFor is how long the app's operation has been Running; false when none runs (or
// Argo CD has not stamped its start yet).
func (o observation) runningFor(now time.Time) (time.Duration, bool) {
	if o.op == nil || o.op.Phase != argocd.PhaseRunning || o.op.StartedAt.IsZero() {
		return 0, false
	}
	return now.Sub(o.op.StartedAt), true
}

func observe(a *argocd.App) observation {
	return observation{revision: a.Revision, busy: busy(a), healthy: healthy(a), problem: problem(a), op: a.Operation,
		comparisonError: a.Conditions["ComparisonError"] > 0, reconciledAt: a.ReconciledAt, autoSync: a.AutoSync,
		historyKnown: a.HasHistory, historyID: a.HistoryID, historyRevision: a.HistoryRevision}
}

// answer is Argo CD's answer to a sync call.
type answer int

const (
	answerAccepted  answer = iota
	answerCanceled         // we shut down before the call
	answerBusy             // another operation is in progress
	answerDeleting         // the app is being deleted
	answerForbidden        // RBAC or a sync window
	answerError            // anything else (5xx, timeout, ...)
)

// event is what the transition function reacts to: a snapshot, an answer to
// our call, or a restart from the state file.
type event struct {
	kind eventKind
	obs  observation // evObserve
	ans  answer      // evAnswer
	// prevNotBefore is NotBefore before the attempt being answered, restored
	// when the call turns out to be no attempt.
	prevNotBefore time.Time
	message       string // evTerminated: the failed attempt's message, should it be ours
	reconciled    bool   // evRefreshed
}

type eventKind int

const (
	evObserve eventKind = iota
	evAnswer
	evRestart
	evResume // a person asks for one attempt now (Engine.Resume checked the phase)
	// evTerminated: Argo CD accepted our DELETE .../operation (ans answerAccepted) or not.
	evTerminated
	// evRefreshed: the hard refresh call's answer (ans), reconciled when the answer shows the
	// app compared since the request.
	evRefreshed
)

// note is a log line the transition asks for; the engine writes it.
type note int

const (
	noteResetRevision note = iota + 1
	noteResetHealthy
	noteDryRun
	noteNotFixed
	notePaused
	noteTriggered
	noteBusy
	noteDeleting
	noteForbidden
	noteSyncFailed
	noteTerminate // a running operation is over TerminateAfter: terminate it
)

// effects is what a transition asks the engine to do.
type effects struct {
	sync bool // start the sync call for the attempt just recorded
	// terminate: start the DELETE .../operation call for the operation that started at
	// st.TerminatedOp.
	terminate bool
	// refresh: start the hard refresh call that must precede the next attempt.
	refresh bool
	// rollback: start the rollback to st.LastHealthy (Config.Rollback auto).
	rollback bool
	// compare: start the comparison of a held app's manifests (maybeCompare).
	compare bool
	forget  bool     // drop the app's state and series: it left scope
	dirty   bool     // the persisted state changed
	counts  []string // syncs_total results to count
	notes   []note
	message string // for noteNotFixed: why
	cause   string // for noteNotFixed outside dry-run: the failure's cause (classifyFailure)
}

func (fx *effects) count(r string) { fx.counts = append(fx.counts, r) }
func (fx *effects) log(n note)     { fx.notes = append(fx.notes, n) }

// transition is the remediation state machine: it moves st by one event at
// now and returns what the engine must do. It is the only code that changes
// an app's phase.
func (c *Config) transition(st *appState, ev event, now time.Time) effects {
	var fx effects
	switch ev.kind {
	case evRestart:
		if st.Phase == PhaseInFlight {
			// We crashed mid-call: the attempt stays counted and its outcome
			// is read like any other.
			st.Phase = PhaseAwaiting
		}
	case evAnswer:
		c.answered(st, ev, now, &fx)
		fx.dirty = !fx.forget
	case evObserve:
		c.observed(st, ev.obs, now, &fx)
	case evResume:
		c.resume(st, now)
		fx.dirty = true
	case evTerminated:
		c.terminated(st, ev, now, &fx)
		fx.dirty = true
	case evRefreshed:
		// A refused refresh does not hold the sync back: it only could not help.
		st.RefreshDone = ev.reconciled || ev.ans != answerAccepted
		fx.dirty = true
	}
	return fx
}

// resume makes one attempt due now: the grace counts as served, the backoff and error count
// are cleared. A paused app gets exactly one attempt (its count one short of the maximum) and
// is Resumed until that attempt's outcome; an app between attempts keeps its count, and one
// awaiting an outcome keeps awaiting it (the next poll reads it, then attempts at once).
func (c *Config) resume(st *appState, now time.Time) {
	if st.Phase == PhasePaused {
		st.Attempts = max(c.MaxAttempts-1, 0)
		st.Resumed = true
	}
	st.Hold = nil // a person decided: the held revision may be synced again
	st.Errors, st.NotBefore, st.forbiddenLogged = 0, time.Time{}, false
	st.StreakStart = now.Add(-c.Grace)
	if st.Phase != PhaseAwaiting {
		st.Phase = st.waiting()
	}
}

func (c *Config) observed(st *appState, o observation, now time.Time, fx *effects) {
	if st.Phase == PhaseInFlight {
		return // our call is unanswered: look again at the next poll
	}
	if o.revision != "" && o.revision != st.Revision {
		// A held app keeps its pause: a new commit alone need not change its manifests.
		if st.Revision != "" && c.ResetOnNewRevision && st.Hold == nil && (st.Attempts > 0 || st.Phase == PhasePaused || st.Errors > 0) {
			if c.compareManifests && c.Mode == ModeOn {
				// Reset only when the app's own manifests changed (maybeCompare): in a shared
				// repository every commit changes every app's revision.
				if st.ResetFrom == "" {
					st.ResetFrom = st.Revision
				}
				fx.dirty = true
			} else {
				fx.log(noteResetRevision)
				st.reset()
			}
		}
		st.Revision = o.revision
		fx.dirty = st.worthKeeping()
	}
	if o.busy {
		c.maybeTerminate(st, o, now, fx)
		return // wait for the operation to finish
	}
	if c.maybeCompare(st, o, now, fx) {
		return
	}
	if st.Phase == PhaseAwaiting && !st.DryRun {
		c.readOutcome(st, o, fx)
	}
	if o.healthy {
		if st.Phase == PhaseAwaiting && !st.DryRun { // recovered after our sync, operation not seen
			fx.count(resultSucceeded)
		}
		if st.LastHealthy == nil || st.LastHealthy.Revision != o.revision {
			fx.dirty = fx.dirty || st.worthKeeping()
		}
		st.sawHealthy(o, now)
		if st.worthKeeping() {
			if st.Attempts > 0 || st.Phase == PhasePaused {
				fx.log(noteResetHealthy)
			}
			st.reset()
			fx.dirty = true
		}
		return
	}
	if o.problem == "" { // e.g. Synced and Progressing: the streak is over
		if !st.StreakStart.IsZero() {
			st.StreakStart = time.Time{}
			if st.Phase == PhaseGrace || st.Phase == PhaseDue {
				st.Phase = PhaseIdle
			}
			fx.dirty = true
		}
		return
	}
	if st.StreakStart.IsZero() {
		st.StreakStart = now
		st.forbiddenLogged = false // a new streak may warn again
		if st.Phase == PhaseIdle {
			st.Phase = st.waiting()
		}
		fx.dirty = true
	}
	if st.Phase == PhaseDue && st.Attempts < c.MaxAttempts && st.RefreshFor != st.Attempts && c.wantsRefresh(st, o) && c.Mode == ModeOn {
		// Right after a failed attempt: the refresh runs during the backoff, so the next
		// attempt finds the app reconciled and keeps its time.
		c.requestRefresh(st, now, fx)
		return
	}
	if st.Phase == PhasePaused {
		c.maybeRollback(st, o, fx)
		return
	}
	if now.Sub(st.StreakStart) < c.Grace || now.Before(st.NotBefore) {
		return
	}
	if st.Phase == PhaseAwaiting { // backoff over and still broken: the last attempt did not help
		c.failed(st, "app still "+o.problem+" after the sync", fx)
		fx.dirty = true
		if st.Phase == PhasePaused {
			return
		}
	}
	if st.Attempts >= c.MaxAttempts {
		st.Phase = PhasePaused
		st.NotBefore = time.Time{}
		fx.log(notePaused)
		fx.dirty = true
		c.maybeRollback(st, o, fx)
		return
	}
	if c.waitForRefresh(st, o, now, fx) {
		return
	}
	// An attempt: recorded (and persisted) before the call is made.
	st.Attempts++
	st.RequestedAt, st.DryRun = now, c.Mode == ModeDryRun
	st.NotBefore = now.Add(c.backoffFor(st.Attempts))
	fx.dirty = true
	if st.DryRun {
		st.Phase = PhaseAwaiting
		fx.count(resultDryRun)
		fx.log(noteDryRun)
		return
	}
	st.Phase = PhaseInFlight
	fx.sync = true
}

// waitForRefresh holds attempt 2 and later behind a hard refresh when the policy asks for one:
// it requests the refresh once per attempt, then waits until the app has been reconciled since
// (the refresh's answer or a later snapshot says so), at most MaxBackoff.
func (c *Config) waitForRefresh(st *appState, o observation, now time.Time, fx *effects) bool {
	if c.Mode != ModeOn || st.Attempts < 1 || !c.wantsRefresh(st, o) {
		return false
	}
	if st.RefreshFor != st.Attempts {
		c.requestRefresh(st, now, fx)
		return true
	}
	if st.RefreshDone || !o.reconciledAt.Before(st.RefreshAt.Truncate(time.Second)) || now.Sub(st.RefreshAt) >= c.MaxBackoff {
		return false
	}
	return true
}

// requestRefresh asks for the hard refresh that precedes attempt st.Attempts+1.
func (c *Config) requestRefresh(st *appState, now time.Time, fx *effects) {
	st.RefreshFor, st.RefreshAt, st.RefreshDone = st.Attempts, now, false
	fx.refresh, fx.dirty = true, true
}

// wantsRefresh applies the hard refresh policy to the app's last failure.
func (c *Config) wantsRefresh(st *appState, o observation) bool {
	switch c.HardRefresh {
	case HardRefreshOff:
		return false
	case HardRefreshAlways:
		return true
	}
	if o.comparisonError {
		return true
	}
	if o.op != nil && staleManifests(o.op.Message) {
		return true
	}
	return len(st.History) > 0 && staleManifests(st.History[len(st.History)-1].Message)
}

// staleManifests reports a failure a refresh of the manifests may cure: the manifests could not
// be generated or compared, or the revision not resolved (a cached error, a moved ref).
func staleManifests(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"comparisonerror", "manifest generation error", "failed to generate manifest",
		"unable to resolve", "unable to generate manifests", "rpc error: code = unknown desc = helm template", "repository not found"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// maybeTerminate asks for the termination of an operation that has run longer than
// TerminateAfter: once per operation (TerminatedOp is its start), again after a backoff when
// the call failed, and again after a backoff when Argo CD accepted it but the operation still
// reads Running (its controller can write Running over the server's Terminating when both update
// the Application at once: the terminate is lost). Not in dry-run mode, and never while our own
// sync call is unanswered.
func (c *Config) maybeTerminate(st *appState, o observation, now time.Time, fx *effects) {
	ran, ok := o.runningFor(now) // Running only: a Terminating operation is being ended
	if c.TerminateAfter <= 0 || c.Mode != ModeOn || !ok || ran < c.TerminateAfter {
		return
	}
	if now.Before(st.terminateRetry) && (st.TerminatedOp.IsZero() || st.TerminatedOp.Equal(o.op.StartedAt)) {
		return // the same operation (or any, after a refused call) again only after a backoff
	}
	st.TerminatedOp = o.op.StartedAt
	fx.terminate, fx.dirty = true, true
	fx.message = o.op.Message
	fx.log(noteTerminate)
}

// terminated records Argo CD's answer to our terminate call. Accepted: when the operation was
// our attempt's, the attempt failed ("stuck"); the operation itself ends Failed, "Operation
// terminated", and the app goes on like any other failure (backoff, next attempt, pause).
// Refused: the same operation may be tried again after a backoff.
func (c *Config) terminated(st *appState, ev event, now time.Time, fx *effects) {
	st.terminateRetry = now.Add(c.Backoff)
	if ev.ans != answerAccepted {
		st.TerminatedOp = time.Time{}
		return
	}
	ours := !st.RequestedAt.IsZero() && !st.TerminatedOp.Before(st.RequestedAt.Truncate(time.Second))
	if st.Phase == PhaseAwaiting && !st.DryRun && ours { // once: a repeated terminate finds it failed
		c.failed(st, ev.message, fx)
	}
}

// readOutcome reads the result of our last accepted sync from the
// operationState, once.
func (c *Config) readOutcome(st *appState, o observation, fx *effects) {
	op := o.op
	// Argo CD's timestamps have second precision.
	if op == nil || op.StartedAt.IsZero() || op.StartedAt.Before(st.RequestedAt.Truncate(time.Second)) {
		return // not ours (yet)
	}
	switch op.Phase {
	case argocd.PhaseFailed, argocd.PhaseError:
		c.failed(st, op.Message, fx)
		fx.dirty = true
	case argocd.PhaseSucceeded:
		if o.healthy {
			st.Phase, st.Resumed = st.waiting(), false
			fx.count(resultSucceeded)
			fx.dirty = true
		} else if o.problem != "" {
			c.failed(st, "sync succeeded but app still "+o.problem, fx)
			fx.dirty = true
		}
	} // e.g. Succeeded and Progressing: wait
}

// failed records a failed attempt and pauses at max attempts.
func (c *Config) failed(st *appState, msg string, fx *effects) {
	cause := classifyFailure(msg)
	if !st.DryRun {
		fx.count(resultFailed)
		fx.cause = cause
	}
	fx.message = msg
	fx.log(noteNotFixed)
	st.Resumed = false // the attempt a person asked for has its outcome
	if st.Attempts >= c.MaxAttempts || (c.StopOnPermanent && Permanent(cause)) {
		st.Phase = PhasePaused
		st.NotBefore = time.Time{}
		fx.log(notePaused)
		return
	}
	st.Phase = st.waiting()
}

func (c *Config) answered(st *appState, ev event, now time.Time, fx *effects) {
	if st.Phase != PhaseInFlight {
		return // not our call (a test bug or a forgotten app)
	}
	switch ev.ans {
	case answerAccepted:
		st.Phase, st.Errors = PhaseAwaiting, 0
		fx.count(resultTriggered)
		fx.log(noteTriggered)
		return
	case answerDeleting:
		// Neither an attempt nor an error: the app is going away, so it
		// leaves scope (the next snapshot shows its deletionTimestamp).
		fx.forget = true
		fx.log(noteDeleting)
		return
	}
	// Not an attempt: take it back.
	st.Attempts = max(st.Attempts-1, 0)
	st.RequestedAt = time.Time{}
	st.NotBefore = ev.prevNotBefore
	switch ev.ans {
	case answerBusy:
		fx.count(resultBusy)
		fx.log(noteBusy)
	case answerForbidden, answerError:
		st.Errors++
		st.NotBefore = now.Add(c.backoffFor(st.Errors))
		if ev.ans == answerForbidden {
			fx.count(resultForbidden)
			if !st.forbiddenLogged {
				st.forbiddenLogged = true
				fx.log(noteForbidden)
			}
		} else {
			fx.count(resultError)
			fx.log(noteSyncFailed)
		}
	}
	st.Phase = st.waiting()
}

// waiting is the phase of an app with no call or outcome pending.
func (s *appState) waiting() Phase {
	switch {
	case s.StreakStart.IsZero():
		return PhaseIdle
	case s.NotBefore.IsZero():
		return PhaseGrace
	}
	return PhaseDue
}

func (s *appState) reset() {
	s.Attempts, s.Errors, s.Phase = 0, 0, PhaseIdle
	s.NotBefore, s.RequestedAt, s.StreakStart = time.Time{}, time.Time{}, time.Time{}
	s.DryRun, s.forbiddenLogged, s.Resumed = false, false, false
	s.RefreshFor, s.RefreshAt, s.RefreshDone = 0, time.Time{}, false
	s.Hold, s.RollbackFor = nil, ""
	s.ResetFrom, s.ResetChecked = "", ""
}
