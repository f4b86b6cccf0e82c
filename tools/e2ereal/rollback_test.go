//go:build e2ereal

package e2ereal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/realargocd"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// The rollback story (issue 25, proof 2), with --remediation.rollback=auto: the rollback app is
// synced at a good commit, then its path gets a commit whose manifest the API server rejects.
// The exporter syncs it 3 times, pauses, and rolls back to the good commit; a commit to another
// app's path of the same repository changes the app's revision but not its manifests, so the
// hold stays and nothing is synced; a fix to its own path ends the hold and is synced.

// rollbackBadCommitPushed waits until the rollback app is Synced and Healthy at the repository's
// first commit after the exporter's one sync, and the restarted exporter has seen it so (its
// stream carries status.sync.revision, which v3.2's projected List lacks), then commits the bad
// manifest. It returns the good and the bad commit.
func (e *realE2E) rollbackBadCommitPushed() (good, bad string) {
	e.t.Helper()
	app := realargocd.AppRollback
	e.eventually("rollback synced once at its first commit, Synced/Healthy in Argo CD", 2*time.Minute, func() (bool, string) {
		a, err := e.argoApp(app)
		if err != nil {
			return false, err.Error()
		}
		n, _ := e.syncs.get(app)
		good = a.Status.Sync.Revision
		return n >= 1 && a.Status.Sync.Status == "Synced" && a.Status.Health.Status == "Healthy" && good != "",
			fmt.Sprintf("%d syncs, %s/%s at %q", n, a.Status.Sync.Status, a.Status.Health.Status, good)
	})
	if n, _ := e.syncs.get(app); n != 1 {
		e.t.Fatalf("%s: %d accepted syncs, want exactly 1", app, n)
	}
	// A reconciledAt in the exporter's metrics comes from the stream (or a Get), which carries
	// the revision too: the engine has seen the app Synced and Healthy at good.
	e.eventually("the restarted exporter sees rollback Synced/Healthy through its stream", time.Minute, func() (bool, string) {
		up, _ := e.exporterValue("argocd_monitor_watch_up", nil)
		synced, _ := e.exporterValue("argocd_monitor_app_sync_status", map[string]string{"name": app, "sync_status": "Synced"})
		healthy, _ := e.exporterValue("argocd_monitor_app_health_status", map[string]string{"name": app, "health_status": "Healthy"})
		rec, _ := e.exporterValue("argocd_monitor_app_reconciled_timestamp_seconds", map[string]string{"name": app})
		return up == 1 && synced == 1 && healthy == 1 && rec > 0, fmt.Sprintf("watch_up %v, synced %v, healthy %v, reconciled %v", up, synced, healthy, rec)
	})
	bad, err := realargocd.Commit(e.ctx, env.gitDir, "rollback: a ConfigMap name the API server rejects",
		map[string]string{realargocd.RollbackPath: realargocd.BadRollbackManifest})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("[%5.1fs] rollback: good commit %s, bad commit %s pushed", time.Since(e.start).Seconds(), good, bad)
	e.refresh(app)
	return good, bad
}

// rollbackToGoodCommit: 3 failed syncs of the bad commit, the pause, one rollback by the
// exporter; Argo CD's operation state shows the good revision, phase Succeeded; the app reads
// OutOfSync against the bad head and Healthy; the story holds it.
func (e *realE2E) rollbackToGoodCommit(good, bad string) {
	e.t.Helper()
	app := realargocd.AppRollback
	e.eventually("rollback: Argo CD ran the exporter's rollback to the good commit (phase Succeeded)", 4*time.Minute, func() (bool, string) {
		n, _ := e.syncs.get(app)
		rb, rbRefused := e.syncs.getRollbacks(app)
		a, err := e.argoApp(app)
		if err != nil {
			return false, err.Error()
		}
		op := a.Status.OperationState
		if rb < 1 || op == nil || op.SyncResult == nil {
			return false, fmt.Sprintf("%d syncs, %d rollbacks (%d refused), operation %+v", n, rb, rbRefused, op)
		}
		return op.Phase == "Succeeded" && op.SyncResult.Revision == good && a.Operation == nil,
			fmt.Sprintf("%d syncs, %d rollbacks, operation %s at %s, want Succeeded at %s", n, rb, op.Phase, op.SyncResult.Revision, good)
	})
	if n, _ := e.syncs.get(app); n != 1+maxAttempts {
		e.t.Fatalf("%s: %d accepted syncs, want 1 (the good commit) + %d (the bad one)", app, n, maxAttempts)
	}
	if rb, refused := e.syncs.getRollbacks(app); rb != 1 || refused != 0 {
		e.t.Fatalf("%s: %d rollbacks accepted, %d refused, want exactly 1 accepted", app, rb, refused)
	}
	// Argo CD compares against the branch head: OutOfSync at the bad commit, Healthy.
	e.eventually("rollback reads OutOfSync at the bad head and Healthy in Argo CD", time.Minute, func() (bool, string) {
		a, err := e.argoApp(app)
		if err != nil {
			return false, err.Error()
		}
		return a.Status.Sync.Status == "OutOfSync" && a.Status.Sync.Revision == bad && a.Status.Health.Status == "Healthy",
			fmt.Sprintf("%s at %s, %s", a.Status.Sync.Status, a.Status.Sync.Revision, a.Status.Health.Status)
	})
	var st story
	e.eventually("the story holds rollback after the exporter's rollback", time.Minute, func() (bool, string) {
		s, err := e.exporterStory(app)
		if err != nil {
			return false, err.Error()
		}
		st = s
		h := s.Remediation.Hold
		return h != nil && h.Bad == bad && h.To == good && h.By == "", fmt.Sprintf("hold %+v", h)
	})
	b, _ := json.Marshal(st.Remediation)
	e.t.Logf("%s: remediation story %s", app, b)
	rolledBack, failed := 0, 0
	for _, a := range st.Remediation.Actions {
		if a.Kind == "rollback" && a.Result == "ok" && a.By == "" {
			rolledBack++
		}
	}
	for _, a := range st.Remediation.Attempts {
		if a.Result == "failed" {
			failed++
		}
	}
	if rolledBack != 1 || failed != maxAttempts || !st.Remediation.Paused {
		e.t.Fatalf("%s: story has %d rollback actions (ok, by the exporter) and %d failed attempts, paused %v; want 1, %d, paused",
			app, rolledBack, failed, st.Remediation.Paused, maxAttempts)
	}
}

// holdKeptOnAnotherAppsCommit: a commit to the opted-out app's path changes the rollback app's
// revision (Argo CD resolves the branch anew for every app of the repository) but not its
// manifests: the exporter compares them, keeps the hold and syncs nothing.
func (e *realE2E) holdKeptOnAnotherAppsCommit(good string) {
	e.t.Helper()
	app := realargocd.AppRollback
	other, err := realargocd.Commit(e.ctx, env.gitDir, "opted-out: v2", map[string]string{realargocd.OptedOutPath: realargocd.OptedOutChange})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("[%5.1fs] commit %s to another app's path pushed", time.Since(e.start).Seconds(), other)
	e.refresh(app)
	e.eventually("the exporter keeps rollback's hold: same manifests at the other app's commit", 2*time.Minute, func() (bool, string) {
		line := e.exporterLogLine("remediation hold kept", "app=argocd/"+app, "revision="+other)
		a, err := e.argoApp(app)
		if err != nil {
			return false, err.Error()
		}
		return line != "", fmt.Sprintf("Argo CD revision %s (want %s); no log line yet", a.Status.Sync.Revision, other)
	})
	// The decision is made; a sync would follow within the grace. Watch twice the grace and
	// more: no sync, no second rollback, Argo CD still at the good commit.
	deadline := time.Now().Add(2*e.remTim.Grace + 5*time.Second)
	for time.Now().Before(deadline) {
		n, _ := e.syncs.get(app)
		rb, _ := e.syncs.getRollbacks(app)
		if n != 1+maxAttempts || rb != 1 {
			e.t.Fatalf("%s: %d syncs and %d rollbacks after the other app's commit, want %d and 1", app, n, rb, 1+maxAttempts)
		}
		time.Sleep(500 * time.Millisecond)
	}
	a, err := e.argoApp(app)
	if err != nil {
		e.t.Fatal(err)
	}
	if op := a.Status.OperationState; op == nil || op.SyncResult == nil || op.SyncResult.Revision != good || op.Phase != "Succeeded" {
		e.t.Fatalf("%s: Argo CD's last operation %+v, want the rollback to %s", app, op, good)
	}
}

// holdEndsOnOwnFix: a commit to the rollback app's own path changes its manifests: the hold ends,
// the app gets fresh attempts, and one sync brings it to the fix, Synced and Healthy.
func (e *realE2E) holdEndsOnOwnFix() {
	e.t.Helper()
	app := realargocd.AppRollback
	fix, err := realargocd.Commit(e.ctx, env.gitDir, "rollback: a valid ConfigMap again", map[string]string{realargocd.RollbackPath: realargocd.FixedRollbackManifest})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("[%5.1fs] fix %s to rollback's own path pushed", time.Since(e.start).Seconds(), fix)
	e.refresh(app)
	e.eventually("rollback's hold ends on its own fix, which the exporter syncs (Synced/Healthy)", 3*time.Minute, func() (bool, string) {
		line := e.exporterLogLine("remediation hold ended", "app=argocd/"+app, "revision="+fix)
		a, err := e.argoApp(app)
		if err != nil {
			return false, err.Error()
		}
		n, _ := e.syncs.get(app)
		op := a.Status.OperationState
		ok := line != "" && op != nil && op.Phase == "Succeeded" && op.SyncResult != nil && op.SyncResult.Revision == fix &&
			a.Status.Sync.Status == "Synced" && a.Status.Health.Status == "Healthy"
		return ok, fmt.Sprintf("hold ended logged %v, %d syncs, %s/%s, operation %+v", line != "", n, a.Status.Sync.Status, a.Status.Health.Status, op)
	})
	if n, _ := e.syncs.get(app); n != 1+maxAttempts+1 {
		e.t.Fatalf("%s: %d accepted syncs, want %d (one for the fix)", app, n, 1+maxAttempts+1)
	}
	if rb, _ := e.syncs.getRollbacks(app); rb != 1 {
		e.t.Fatalf("%s: %d rollbacks, want 1", app, rb)
	}
}

// argoApp reads one app from Argo CD's API.
func (e *realE2E) argoApp(name string) (application, error) {
	var a application
	status, body, err := argoRequest(e.ctx, env.argo.URL, http.MethodGet, "/api/v1/applications/"+name, env.adminToken, "")
	if err != nil {
		return a, err
	}
	if status != http.StatusOK {
		return a, fmt.Errorf("get %s: %d %s", name, status, clip(body))
	}
	return a, json.Unmarshal(body, &a)
}

// refresh asks Argo CD to compare app with git now (a normal refresh), so a pushed commit is
// seen without waiting for the reconciliation timeout.
func (e *realE2E) refresh(app string) {
	e.t.Helper()
	status, body, err := argoRequest(e.ctx, env.argo.URL, http.MethodGet, "/api/v1/applications/"+app+"?refresh=normal", env.adminToken, "")
	if err != nil || status != http.StatusOK {
		e.t.Fatalf("refresh %s: %d %s %v", app, status, clip(body), err)
	}
}

// exporterLogLine returns the last line of the exporter's log that contains every part.
func (e *realE2E) exporterLogLine(parts ...string) string {
	b, err := os.ReadFile(e.st.LogPath(stack.ProcExporter))
	if err != nil {
		return ""
	}
	found := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			found = line
		}
	}
	return found
}
