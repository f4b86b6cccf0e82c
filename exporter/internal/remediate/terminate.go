package remediate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// Terminator ends an app's running operation; *argocd.Client implements it. The engine needs
// one only with Config.TerminateAfter or for Engine.Terminate.
type Terminator interface {
	TerminateOperation(ctx context.Context, ref argocd.AppRef) error
}

// Kinds of Action, and the action label of argocd_monitor_remediation_actions_total besides
// sync.
const (
	ActionTerminate = "terminate"
)

// Action results (the result label of argocd_monitor_remediation_actions_total).
const (
	actionOK        = "ok"        // Argo CD accepted the call
	actionBusy      = "busy"      // sync only: another operation in progress
	actionForbidden = "forbidden" // 403 RBAC or sync window
	actionError     = "error"     // anything else
)

// Action is something the engine did besides an attempt's sync, as the story tells it;
// persisted in the state.
type Action struct {
	Kind string    `json:"kind"` // ActionTerminate
	At   time.Time `json:"at"`
	// Result: ok, forbidden or error.
	Result string `json:"result"`
	// By is who asked: empty for the engine itself, else the person (write API).
	By string `json:"by,omitempty"`
	// Message says what and why ("operation running for 31m: waiting for completion of hook ..."),
	// or Argo CD's error.
	Message string `json:"message,omitempty"`
}

// Errors of Terminate, beside those of Resume.
var (
	ErrNoOperation   = errors.New("no operation of this app is running (as of the last poll)")
	ErrNoTerminator  = errors.New("this exporter cannot terminate operations")
	errTerminateBusy = ErrSyncInFlight
)

// recordAction appends one action to the app's story, bounded.
func (s *appState) recordAction(a Action) {
	if r := []rune(a.Message); len(r) > maxStoryMessage {
		a.Message = string(r[:maxStoryMessage]) + "…"
	}
	s.Actions = append(s.Actions, a)
	if len(s.Actions) > maxHistory {
		s.Actions = s.Actions[len(s.Actions)-maxHistory:]
	}
}

// actionResult maps a call's answer to an action result.
func actionResult(ans answer) string {
	switch ans {
	case answerAccepted:
		return actionOK
	case answerBusy:
		return actionBusy
	case answerForbidden:
		return actionForbidden
	}
	return actionError
}

// terminateJob is the DELETE .../operation call the machine asked for.
func (e *Engine) terminateJob(a *argocd.App, st *appState, fx effects, now time.Time) *job {
	msg := fmt.Sprintf("terminated: the operation ran %s, longer than %s", now.Sub(st.TerminatedOp).Truncate(time.Second), e.cfg.TerminateAfter)
	if fx.message != "" {
		msg += " (" + fx.message + ")"
	}
	e.log.Warn("remediation terminating a stuck operation", "app", st.key(), "started_at", st.TerminatedOp,
		"terminate_after", e.cfg.TerminateAfter, "message", fx.message)
	return &job{kind: ActionTerminate, st: st, reason: msg,
		ref: argocd.AppRef{Name: a.Name, AppNamespace: a.Namespace, Project: a.Project}}
}

// finishTerminate records Argo CD's answer to a terminate call. Called with e.mu held.
func (e *Engine) finishTerminate(j job, err error, now time.Time) {
	st := j.st
	ans := classify(err)
	if ans == answerCanceled {
		st.TerminatedOp = time.Time{} // not asked: the next poll decides again
		return
	}
	before := *st
	fx := e.cfg.transition(st, event{kind: evTerminated, ans: ans, message: j.reason}, now)
	st.tell(before, fx, now)
	for _, r := range fx.counts {
		e.metrics.count(st, r)
	}
	if fx.cause != "" {
		e.metrics.failure(fx.cause)
	}
	a := Action{Kind: ActionTerminate, At: now, Result: actionResult(ans), By: j.by, Message: j.reason}
	if err != nil {
		a.Message = j.reason + "; Argo CD refused: " + err.Error()
		e.log.Warn("remediation terminate failed", "app", st.key(), "err", err)
	} else {
		e.log.Info("remediation terminated a stuck operation", "app", st.key(), "by", j.by, "reason", j.reason)
	}
	st.recordAction(a)
	e.metrics.action(ActionTerminate, a.Result)
}

// Terminate is a person's "terminate this sync" (Slack, through the write API): it asks Argo CD
// to end the app's running operation now, whatever TerminateAfter says, and records it in the
// story like an automatic termination (our attempt, if it was ours, failed). It returns a
// one-line summary.
func (e *Engine) Terminate(ctx context.Context, namespace, name, by string) (string, error) {
	if err := e.personRequest(e.terminator != nil, ErrNoTerminator); err != nil {
		return "", err
	}
	key := appKey{namespace, name}
	e.mu.Lock()
	st := e.apps[key]
	switch {
	case st == nil:
		e.mu.Unlock()
		return "", ErrNotRemediated
	case st.Phase == PhaseInFlight:
		e.mu.Unlock()
		return "", errTerminateBusy
	case st.running.IsZero():
		e.mu.Unlock()
		return "", ErrNoOperation
	}
	started := st.running
	st.TerminatedOp = started
	reason := fmt.Sprintf("terminated on request of %s: the operation ran %s", by, time.Since(started).Truncate(time.Second))
	if st.runningMsg != "" {
		reason += " (" + st.runningMsg + ")"
	}
	j := job{kind: ActionTerminate, key: key, st: st, by: by, reason: reason,
		ref: argocd.AppRef{Name: name, AppNamespace: namespace, Project: st.Project}}
	e.mu.Unlock()

	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	err := e.terminator.TerminateOperation(callCtx, j.ref)
	e.mu.Lock()
	if e.apps[key] == st {
		e.finishTerminate(j, err, time.Now())
	}
	e.mu.Unlock()
	if perr := e.persist(); perr != nil && !errors.Is(perr, errNotLeading) {
		e.log.Error("write remediation state file", "path", e.cfg.StateFile, "err", perr)
	}
	if err != nil {
		return "", fmt.Errorf("argo cd refused to terminate the operation: %w", err)
	}
	return fmt.Sprintf("terminated the operation that started at %s; it ends Failed, then remediation goes on", started.UTC().Format(time.RFC3339)), nil
}
