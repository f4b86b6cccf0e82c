package remediate

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// fakeArgo behaves like Argo CD for the engine: Sync answers like the API
// (400 busy, 403, deleting) and accepted syncs run an operation over the
// following polls: Running first, then Succeeded (fixable apps) or Failed.
type fakeArgo struct {
	mu    sync.Mutex
	apps  map[string]*fakeApp
	order []string
	calls []syncCall
	// terminations are the apps whose operation a terminate call ended, in order.
	terminations []string
	// rollbacks are the rollback calls, in order ("ns/name@id").
	rollbacks []string

	inFlight, maxInFlight int
	// hook, when set, runs inside Sync outside the lock (barriers, crashes).
	hook func(req argocd.SyncRequest)
}

type fakeApp struct {
	app       argocd.App
	fixable   bool   // a sync brings it to Synced+Healthy
	slow      bool   // with fixable: Synced+Progressing for one poll first
	hollow    bool   // the operation Succeeds but the app stays as it was
	forbidden bool   // 403 on sync
	broken    bool   // 500 on sync
	busyOnce  bool   // answer the next sync with "operation in progress" (a race the snapshot missed)
	deleting  bool   // answer syncs with "application is deleting" (deleted since the snapshot)
	failMsg   string // Argo CD's message when the operation fails
	hang      bool   // the operation waits on a hook forever: Running until terminated
	terminate bool   // a terminate call arrived: the operation ends Failed at the next advance
	// loseTerminates: that many accepted terminate calls have no effect (Argo CD's controller
	// wrote Running over the server's Terminating).
	loseTerminates int
	stage          int // 0 idle, 1 requested, 2 running, 3 progressing
	// history is status.history (GetDetail); a rollback appends to it.
	history []argocd.HistoryEntry
	// manifests are the app's rendered manifests per revision; a revision not named renders
	// manifests of its own.
	manifests map[string][]string
}

type syncCall struct {
	Key   string
	At    time.Time
	Prune bool
}

func newFakeArgo() *fakeArgo {
	return &fakeArgo{apps: map[string]*fakeApp{}}
}

func (f *fakeArgo) add(a *fakeApp) *fakeApp {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a.app.Namespace == "" {
		a.app.Namespace = "argocd"
	}
	if a.app.Project == "" {
		a.app.Project = "default"
	}
	if a.failMsg == "" {
		a.failMsg = "one or more objects failed to apply, reason: admission webhook denied the request"
	}
	key := a.app.Key()
	f.apps[key] = a
	f.order = append(f.order, key)
	return a
}

// Sync implements Syncer.
func (f *fakeArgo) Sync(ctx context.Context, req argocd.SyncRequest) error {
	f.mu.Lock()
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	hook := f.hook
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if hook != nil {
		hook(req)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncLocked(req)
}

func (f *fakeArgo) syncLocked(req argocd.SyncRequest) error {
	a := f.apps[req.AppNamespace+"/"+req.Name]
	switch {
	case a == nil || a.app.Project != req.Project:
		return &argocd.APIError{StatusCode: http.StatusNotFound, Message: "applications.argoproj.io \"" + req.Name + "\" not found"}
	case a.forbidden:
		return &argocd.APIError{StatusCode: http.StatusForbidden, Message: fmt.Sprintf("permission denied: applications, sync, %s/%s, sub: argocd-monitor", req.Project, req.Name)}
	case a.broken:
		return &argocd.APIError{StatusCode: http.StatusInternalServerError, Message: "rpc error: code = Unavailable desc = connection refused"}
	case a.app.Deleting || a.deleting:
		return argocd.ErrAppDeleting
	case a.app.OperationInProgress || a.busyOnce:
		a.busyOnce = false
		return argocd.ErrOperationInProgress
	}
	f.calls = append(f.calls, syncCall{Key: a.app.Key(), At: time.Now(), Prune: req.Prune})
	a.app.OperationInProgress = true
	a.stage = 1
	return nil
}

// TerminateOperation implements Terminator like Argo CD: 400 without a running operation.
func (f *fakeArgo) TerminateOperation(_ context.Context, ref argocd.AppRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[ref.AppNamespace+"/"+ref.Name]
	switch {
	case a == nil || a.app.Project != ref.Project:
		return &argocd.APIError{StatusCode: http.StatusNotFound, Message: "not found"}
	case a.stage != 2 || a.terminate:
		return &argocd.APIError{StatusCode: http.StatusBadRequest, Message: "Unable to terminate operation. No operation is in progress"}
	}
	f.terminations = append(f.terminations, a.app.Key())
	if a.loseTerminates > 0 {
		a.loseTerminates--
		return nil
	}
	a.terminate = true
	a.app.Operation.Phase = argocd.PhaseTerminating
	return nil
}

// Rollback implements Rollbacker like Argo CD: refused with auto-sync or an operation, an
// unknown id is a 400; accepted, the app runs that revision at once, Healthy, OutOfSync.
func (f *fakeArgo) Rollback(_ context.Context, ref argocd.AppRef, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[ref.AppNamespace+"/"+ref.Name]
	switch {
	case a == nil || a.app.Project != ref.Project:
		return &argocd.APIError{StatusCode: http.StatusNotFound, Message: "not found"}
	case a.app.AutoSync:
		return &argocd.APIError{StatusCode: http.StatusBadRequest, Message: "rollback cannot be initiated when auto-sync is enabled"}
	case a.stage != 0:
		return argocd.ErrOperationInProgress
	}
	for _, h := range a.history {
		if h.ID == id {
			f.rollbacks = append(f.rollbacks, fmt.Sprintf("%s@%d", a.app.Key(), id))
			now := time.Now().Truncate(time.Second)
			a.app.Operation = &argocd.OperationState{Phase: argocd.PhaseSucceeded, StartedAt: now, FinishedAt: now, Message: "successfully synced (all tasks run)"}
			a.app.Sync, a.app.Health = argocd.SyncOutOfSync, argocd.HealthHealthy
			a.history = append(a.history, argocd.HistoryEntry{ID: a.history[len(a.history)-1].ID + 1, Revisions: h.Revisions, DeployedAt: now})
			return nil
		}
	}
	return &argocd.APIError{StatusCode: http.StatusBadRequest, Message: fmt.Sprintf("application %s does not have deployment with id %d", ref.Name, id)}
}

// Manifests implements Manifester.
func (f *fakeArgo) Manifests(_ context.Context, ref argocd.AppRef, revision string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[ref.AppNamespace+"/"+ref.Name]
	if a == nil {
		return nil, &argocd.APIError{StatusCode: http.StatusNotFound, Message: "not found"}
	}
	if m, ok := a.manifests[revision]; ok {
		return m, nil
	}
	// By default every commit changes the app's manifests (a repository of its own).
	return []string{`{"kind":"Deployment","metadata":{"name":"` + a.app.Name + `","annotations":{"commit":"` + revision + `"}}}`}, nil
}

// GetDetail implements Rollbacker: only the history matters to the engine.
func (f *fakeArgo) GetDetail(_ context.Context, name, appNamespace, project string) (argocd.AppDetail, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.apps[appNamespace+"/"+name]
	if a == nil || a.app.Project != project {
		return argocd.AppDetail{}, &argocd.APIError{StatusCode: http.StatusNotFound, Message: "not found"}
	}
	return argocd.AppDetail{Namespace: appNamespace, Name: name, Project: project, History: append([]argocd.HistoryEntry(nil), a.history...)}, nil
}

// advance moves every operation one step, as Argo CD's controller would
// between two polls.
func (f *fakeArgo) advance(now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, key := range f.order {
		a := f.apps[key]
		switch a.stage {
		case 1:
			a.app.Operation = &argocd.OperationState{Phase: argocd.PhaseRunning, StartedAt: now.Truncate(time.Second)}
			a.stage = 2
		case 2:
			op := a.app.Operation
			if a.hang && !a.terminate {
				op.Message = "waiting for completion of hook batch/Job/" + a.app.Name + "-presync"
				continue
			}
			op.FinishedAt = now.Truncate(time.Second)
			switch {
			case a.terminate:
				op.Phase, op.Message = argocd.PhaseFailed, "Operation terminated"
				a.terminate = false
			case a.fixable && a.slow:
				op.Phase, op.Message = argocd.PhaseSucceeded, "successfully synced (all tasks run)"
				a.app.Sync, a.app.Health = argocd.SyncSynced, argocd.HealthProgressing
				a.app.OperationInProgress, a.stage = false, 3
				continue
			case a.fixable:
				op.Phase, op.Message = argocd.PhaseSucceeded, "successfully synced (all tasks run)"
				a.app.Sync, a.app.Health = argocd.SyncSynced, argocd.HealthHealthy
			case a.hollow:
				op.Phase, op.Message = argocd.PhaseSucceeded, "successfully synced (all tasks run)"
			default:
				op.Phase, op.Message = argocd.PhaseFailed, a.failMsg
			}
			a.app.OperationInProgress = false
			a.stage = 0
		case 3:
			a.app.Health, a.stage = argocd.HealthHealthy, 0
		}
	}
}

// snapshot is what a poll returns: copies, so the engine never shares memory with the fake.
func (f *fakeArgo) snapshot() []argocd.App {
	f.mu.Lock()
	defer f.mu.Unlock()
	apps := make([]argocd.App, 0, len(f.order))
	for _, key := range f.order {
		a := f.apps[key].app
		if a.Operation != nil {
			op := *a.Operation
			a.Operation = &op
		}
		apps = append(apps, a)
	}
	return apps
}

func (f *fakeArgo) set(key string, mutate func(a *fakeApp)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mutate(f.apps[key])
}

func (f *fakeArgo) callsFor(key string) []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var at []time.Duration
	for _, c := range f.calls {
		if c.Key == key {
			at = append(at, c.At.Sub(t0))
		}
	}
	return at
}

func (f *fakeArgo) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// t0 is when every synctest bubble starts, so the scenarios' start time;
// call times are reported relative to it.
var t0 = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func outOfSync(name string) argocd.App {
	return argocd.App{Name: name, Sync: argocd.SyncOutOfSync, Health: argocd.HealthHealthy, Revision: "aaaa"}
}
