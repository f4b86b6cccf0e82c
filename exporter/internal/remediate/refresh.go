package remediate

import (
	"context"
	"fmt"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// Refresher asks Argo CD for a hard refresh of one app and returns the app as answered;
// *argocd.Client implements it. Without one (a syncer that cannot refresh) the engine skips
// refreshes.
type Refresher interface {
	HardRefresh(ctx context.Context, ref argocd.AppRef) (argocd.App, error)
}

// ActionHardRefresh is the Action kind (and actions_total action) of a hard refresh.
const ActionHardRefresh = "hard_refresh"

// refreshJob is the hard refresh call the machine asked for.
func (e *Engine) refreshJob(a *argocd.App, st *appState) *job {
	why := "the last failure looks like stale or unresolvable manifests"
	if e.cfg.HardRefresh == HardRefreshAlways {
		why = "--remediation.hard-refresh=always"
	}
	return &job{kind: ActionHardRefresh, st: st,
		reason: fmt.Sprintf("hard refresh before attempt %d: %s", st.RefreshFor+1, why),
		ref:    argocd.AppRef{Name: a.Name, AppNamespace: a.Namespace, Project: a.Project}}
}

// finishRefresh records Argo CD's answer to a hard refresh. Called with e.mu held.
func (e *Engine) finishRefresh(j job, app argocd.App, err error, now time.Time) {
	st := j.st
	ans := classify(err)
	if ans == answerCanceled {
		st.RefreshFor = 0 // not asked: the next poll decides again
		return
	}
	reconciled := err == nil && !app.ReconciledAt.Before(st.RefreshAt.Truncate(time.Second))
	e.cfg.transition(st, event{kind: evRefreshed, ans: ans, reconciled: reconciled}, now)
	a := Action{Kind: ActionHardRefresh, At: now, Result: actionResult(ans), Message: j.reason}
	if err != nil {
		a.Message = j.reason + "; Argo CD refused (the attempt goes ahead): " + err.Error()
		e.log.Warn("remediation hard refresh failed", "app", st.key(), "err", err)
	} else {
		e.log.Info("remediation hard refresh", "app", st.key(), "reason", j.reason, "reconciled", reconciled)
	}
	st.recordAction(a)
	e.metrics.action(ActionHardRefresh, a.Result)
}
