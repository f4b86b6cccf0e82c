package remediate

import (
	"errors"
	"fmt"
)

// Errors of Resume, in the words the API answers with.
var (
	ErrRemediationOff = errors.New("remediation is off (--remediation.mode=off)")
	ErrNotRemediated  = errors.New("app not under remediation (out of scope, unknown, or nothing to remediate)")
	ErrSyncInFlight   = errors.New("a remediation sync of this app is in flight; try again when it is answered")
)

// Resume is a person's "try once more": it clears the app's error count and backoff and makes
// one attempt due at once (the grace is considered served), so the next poll that still sees the
// app broken syncs it; by (who asked) is logged. A paused app gets exactly one attempt: its
// attempt count is set one short of the maximum and it stays paused until the outcome (so its
// alert does not resolve and fire again meanwhile); a success resets it, a failure leaves it
// paused. An app still under remediation keeps its count and only skips the wait. It returns a
// one-line summary.
func (e *Engine) Resume(namespace, name, by string) (string, error) {
	if e.cfg.Mode == ModeOff {
		return "", ErrRemediationOff
	}
	e.mu.Lock()
	st := e.apps[appKey{namespace, name}]
	switch {
	case st == nil || !st.worthKeeping():
		e.mu.Unlock()
		return "", ErrNotRemediated
	case st.InFlight:
		e.mu.Unlock()
		return "", ErrSyncInFlight
	}
	attempts, paused := st.Attempts, st.Paused
	st.reset()
	st.Attempts = attempts
	if paused {
		st.Attempts = max(e.cfg.MaxAttempts-1, 0)
		st.Paused, st.Resumed = true, true
	}
	st.StreakStart = e.now().Add(-e.cfg.Grace)
	e.mu.Unlock()
	e.log.Info("remediation resumed by request", "app", appKey{namespace, name}.String(), "by", by, "attempts_before", attempts, "paused_before", paused)
	if err := e.persist(); err != nil {
		e.log.Error("write remediation state file", "path", e.cfg.StateFile, "err", err)
	}
	summary := fmt.Sprintf("backoff skipped after %d attempts, the next attempt is due at the next poll", attempts)
	if paused {
		summary = fmt.Sprintf("pause cleared after %d attempts, one more attempt due at the next poll", attempts)
	}
	return summary, nil
}
