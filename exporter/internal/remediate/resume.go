package remediate

import (
	"errors"
	"fmt"
	"time"
)

// Errors of Resume, in the words the API answers with.
var (
	ErrRemediationOff = errors.New("remediation is off in this exporter (mode off)")
	ErrNotRemediated  = errors.New("app not under remediation (out of scope, unknown, or nothing to remediate)")
	ErrNotLeader      = errors.New("this exporter replica does not lead remediation now (leader election); ask again, the Service may pick the leader")
	ErrSyncInFlight   = errors.New("a remediation sync call for this app is unanswered; try again in a moment")
)

// Resume is a person's "try once more" (the Slack buttons, through the write API): one attempt
// due at the next poll that still sees the app broken (transition evResume); by (who asked) is
// logged. A paused app gets exactly one attempt and keeps counting as paused until its outcome
// (a success resets it, a failure pauses it again); an app between attempts only skips the
// wait. It returns a one-line summary.
func (e *Engine) Resume(namespace, name, by string) (string, error) {
	if err := e.personRequest(true, nil); err != nil {
		return "", err
	}
	key := appKey{namespace, name}
	e.mu.Lock()
	st := e.apps[key]
	switch {
	case st == nil || st.Phase == PhaseIdle || st.Phase == "":
		e.mu.Unlock()
		return "", ErrNotRemediated
	case st.Phase == PhaseInFlight:
		e.mu.Unlock()
		return "", ErrSyncInFlight
	}
	attempts, paused := st.Attempts, st.Phase == PhasePaused
	e.cfg.transition(st, event{kind: evResume}, time.Now())
	e.mu.Unlock()
	e.log.Info("remediation resumed by request", "app", key.String(), "by", by, "attempts_before", attempts, "paused_before", paused)
	if err := e.persist(); err != nil {
		e.log.Error("write remediation state file", "path", e.cfg.StateFile, "err", err)
	}
	if paused {
		return fmt.Sprintf("pause cleared after %d attempts, one more attempt due at the next poll", attempts), nil
	}
	return fmt.Sprintf("backoff skipped after %d attempts, the next attempt is due at the next poll", attempts), nil
}

// personRequest is what a person's request (resume, terminate, rollback) needs before the
// engine looks at the app: remediation on, the capability the request uses (ok false: missing
// answers with missing), and the lease when replicas share the state.
func (e *Engine) personRequest(ok bool, missing error) error {
	if e.cfg.Mode == ModeOff {
		return ErrRemediationOff
	}
	if !ok {
		return missing
	}
	if e.leader != nil {
		if _, leading := e.leader.Leading(); !leading {
			return ErrNotLeader
		}
	}
	return nil
}
