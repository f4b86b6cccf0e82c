package remediate

import (
	"slices"
	"time"
)

// Bounds of what one app remembers (max-attempts is usually 3): the story is
// persisted with the state, which in a ConfigMap must stay small for many apps.
const (
	maxHistory      = 10
	maxStoryMessage = 300 // runes of Argo CD's operation message per attempt
)

// Attempt is one remediation sync as the story tells it; persisted in the state (History).
type Attempt struct {
	N  int       `json:"n"`
	At time.Time `json:"at"`
	// Result: pending (recorded, call not answered), triggered (Argo CD
	// accepted it, outcome not read yet), succeeded, failed or dry_run.
	Result string `json:"result"`
	// Message is Argo CD's operation message for a failed attempt, or why
	// the app was still broken after it.
	Message string    `json:"message,omitempty"`
	DoneAt  time.Time `json:"doneAt,omitzero"`
	// Cause classifies a failed attempt (one of Causes).
	Cause string `json:"cause,omitempty"`
}

// Reset is the end of a problem streak: why the engine gave up its count.
type Reset struct {
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
	Attempts []Attempt `json:"attempts,omitempty"`
}

// Story is what the remediation engine did and will do for one app: its read view, which the
// read API maps onto api/v1.Remediation (Attempt and Reset are also state-file types).
type Story struct {
	Mode        string
	MaxAttempts int
	Attempts    []Attempt
	Paused      bool
	PausedAt    time.Time
	NextAttempt time.Time
	// ResetsOn says what gives the app fresh attempts.
	ResetsOn []string
	// LastReset is the previous streak's end, kept in memory so a resolved
	// alert can tell which attempt fixed the app.
	LastReset *Reset
	// Actions are what the engine did besides syncs (terminations), newest last.
	Actions []Action
	// TerminateAfter is --remediation.terminate-after (0: off).
	TerminateAfter time.Duration
	// HardRefresh is the hard refresh policy (on-error, always, off).
	HardRefresh string
	// StopOnPermanent: remediation pauses after the first attempt that failed for a permanent
	// cause.
	StopOnPermanent bool
	// Rollback is the rollback policy (off, offer, auto).
	Rollback string
	// RollbackOffer, on a paused app not held: the last healthy revision a rollback would go
	// back to ("Roll back to abc1234 (healthy until 10:02)").
	RollbackOffer *Offer
	// NoRollback says why a paused app with an earlier healthy revision is not offered a
	// rollback (Argo CD auto-sync).
	NoRollback string
	// Hold: the app was rolled back and is held (no sync brings the bad revision back).
	Hold *Hold
}

// Story returns the remediation story of one app; false when the engine does
// not track it (off, out of scope, or never seen).
func (e *Engine) Story(namespace, name string) (Story, bool) {
	if e.cfg.Mode == ModeOff {
		return Story{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.apps[appKey{namespace, name}]
	if st == nil {
		return Story{}, false
	}
	s := Story{
		Mode:            string(e.cfg.Mode),
		MaxAttempts:     e.cfg.MaxAttempts,
		Attempts:        append([]Attempt(nil), st.History...),
		Paused:          st.Phase == PhasePaused,
		PausedAt:        st.PausedAt,
		ResetsOn:        []string{"the app turning Synced and Healthy"},
		Actions:         append([]Action(nil), st.Actions...),
		TerminateAfter:  e.cfg.TerminateAfter,
		HardRefresh:     e.cfg.HardRefresh,
		StopOnPermanent: e.cfg.StopOnPermanent,
	}
	if s.HardRefresh == "" {
		s.HardRefresh = HardRefreshOnError
	}
	if e.cfg.ResetOnNewRevision {
		if e.cfg.compareManifests && e.cfg.Mode == ModeOn {
			s.ResetsOn = append(s.ResetsOn, "a new target revision that changes the app's manifests")
		} else {
			s.ResetsOn = append(s.ResetsOn, "a new target revision")
		}
	}
	if st.Phase != PhasePaused && !st.StreakStart.IsZero() { // in grace or backoff
		s.NextAttempt = st.StreakStart.Add(e.cfg.Grace)
		if st.NotBefore.After(s.NextAttempt) {
			s.NextAttempt = st.NotBefore
		}
	}
	s.Rollback = e.cfg.rollbackMode()
	if st.Hold != nil {
		h := *st.Hold
		s.Hold = &h
	} else if to := st.rollbackTarget(); to != nil && st.Phase == PhasePaused && s.Rollback != RollbackOff {
		if st.autoSync {
			s.NoRollback = "the app has Argo CD auto-sync, and Argo CD refuses to roll back such an app: disable auto-sync to roll back to " +
				shortRevision(to.Revision)
		} else {
			s.RollbackOffer = &Offer{Revision: to.Revision, HealthyUntil: to.Until}
		}
	}
	if st.LastReset != nil {
		r := *st.LastReset
		r.Attempts = append([]Attempt(nil), r.Attempts...)
		s.LastReset = &r
	}
	return s, true
}

// tell writes one transition into the app's story: the outcome of the last
// attempt, an attempt taken back, a reset (the streak kept as LastReset), a
// new attempt, a pause. before is the state ahead of the transition. Called
// with e.mu held.
func (s *appState) tell(before appState, fx effects, now time.Time) {
	for _, n := range fx.notes {
		if n == noteResetRevision {
			s.noteReset(now, "new target revision "+shortRevision(s.Revision))
		}
	}
	for _, r := range fx.counts {
		switch r {
		case resultTriggered:
			s.markLast(resultTriggered, "", now)
		case resultSucceeded:
			s.markLast(resultSucceeded, "", now)
		case resultFailed:
			s.markLast(resultFailed, fx.message, now)
		}
	}
	if slices.Contains(fx.notes, noteResetHealthy) {
		s.noteReset(now, "app Synced and Healthy")
	} else {
		s.dropLast() // a no-op unless Argo CD did not accept the attempt
	}
	if s.Attempts > 0 && (fx.sync || slices.Contains(fx.notes, noteDryRun)) {
		s.recordAttempt(now)
	}
	if s.Phase == PhasePaused && before.Phase != PhasePaused {
		s.PausedAt = now
	}
}

// recordAttempt notes an attempt just counted.
func (s *appState) recordAttempt(at time.Time) {
	result := "pending"
	if s.DryRun {
		result = resultDryRun
	}
	s.History = append(s.History, Attempt{N: s.Attempts, At: at, Result: result})
	if len(s.History) > maxHistory {
		s.History = s.History[len(s.History)-maxHistory:]
	}
}

// markLast sets the outcome of the newest attempt.
func (s *appState) markLast(result, msg string, at time.Time) {
	if len(s.History) == 0 {
		return
	}
	a := &s.History[len(s.History)-1]
	if r := []rune(msg); len(r) > maxStoryMessage {
		msg = string(r[:maxStoryMessage]) + "…"
	}
	a.Result, a.Message = result, msg
	if result == resultFailed {
		a.Cause = classifyFailure(msg)
	}
	if result != resultTriggered {
		a.DoneAt = at
	}
}

// dropLast forgets the newest attempt (Argo CD did not accept it).
func (s *appState) dropLast() {
	if len(s.History) > 0 && s.History[len(s.History)-1].N > s.Attempts {
		s.History = s.History[:len(s.History)-1]
	}
}

// noteReset keeps the streak that is about to be reset as LastReset.
func (s *appState) noteReset(at time.Time, reason string) {
	s.LastReset = &Reset{At: at, Reason: reason, Attempts: s.History}
	s.History, s.PausedAt = nil, time.Time{}
}

// shortRevision is a git SHA's usual 7-character form.
func shortRevision(rev string) string {
	if len(rev) > 7 {
		return rev[:7]
	}
	return rev
}
