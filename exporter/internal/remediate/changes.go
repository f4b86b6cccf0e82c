package remediate

import (
	"context"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// ObserveChanges is Observe for a watch stream: only the apps that changed
// are looked at (the others keep their state, as a full snapshot would have
// left them), and the deleted ones are forgotten. It costs what the change
// does, not what the snapshot holds.
func (e *Engine) ObserveChanges(ctx context.Context, changed, deleted []argocd.App, now time.Time) {
	if e.cfg.Mode == ModeOff {
		return
	}
	if e.leader != nil {
		// A replica that does not lead refreshes its read-only view at the
		// full Observes (resync, wake), not on every event: that would read
		// the shared state once an event.
		if _, leading := e.leadingUntil(); !leading || !e.takeTurn() {
			return
		}
	}
	var jobs []job
	dirty := false
	e.mu.Lock()
	for i := range changed {
		a := &changed[i]
		if !e.inScope(a) {
			dirty = e.forgetLocked(appKey{a.Namespace, a.Name}) || dirty
			continue
		}
		j, d := e.observeLocked(a, now)
		dirty = dirty || d
		if j != nil {
			jobs = append(jobs, *j)
		}
	}
	for i := range deleted {
		dirty = e.forgetLocked(appKey{deleted[i].Namespace, deleted[i].Name}) || dirty
	}
	e.mu.Unlock()
	e.dispatch(ctx, jobs, dirty, now)
}
