package remediate

import "time"

// NextDue is when the engine's next decision falls due after now (a grace
// period or a backoff ends), if one is scheduled. A watcher, which only
// hears of changes, shows the engine the snapshot again then. A decision
// already due and not taken waits for a change (an operation to finish),
// which comes as an event.
func (e *Engine) NextDue(now time.Time) (time.Time, bool) {
	if e.cfg.Mode == ModeOff {
		return time.Time{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var next time.Time
	for _, st := range e.apps {
		switch st.Phase {
		case PhaseGrace, PhaseDue, PhaseAwaiting:
		default: // idle, paused, or a call in flight: nothing falls due
			continue
		}
		t := st.StreakStart.Add(e.cfg.Grace)
		if st.NotBefore.After(t) {
			t = st.NotBefore
		}
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next, !next.IsZero()
}

// Kicks receives when an answer to one of the engine's calls (not an app's change) started a
// new streak: a watcher, which only hears of changes, shows the engine the snapshot again.
func (e *Engine) Kicks() <-chan struct{} { return e.kicks }

// kick signals Kicks without waiting; one pending kick stands for any number.
func (e *Engine) kick() {
	select {
	case e.kicks <- struct{}{}:
	default:
	}
}
