//go:build e2ereal

package e2ereal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/realargocd"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

const (
	botToken = "xoxb-e2e-real-token"
	channel  = "#argocd-alerts"
	paused   = "ArgoCDAppRemediationPaused"
)

// syncCounter is a transparent proxy in front of argocd-server that counts the sync (and
// rollback) calls Argo CD accepted, per app: the exporter restarts during the test, its own
// counters do not.
type syncCounter struct {
	mu                          sync.Mutex
	accepted, refused           map[string]int
	rollbacks, rollbacksRefused map[string]int
}

// getRollbacks returns the rollback calls Argo CD accepted and refused for app.
func (c *syncCounter) getRollbacks(app string) (accepted, refused int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rollbacks[app], c.rollbacksRefused[app]
}

func (c *syncCounter) wrap(target string) (http.Handler, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1 // the watch stream
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app, isApp := strings.CutPrefix(r.URL.Path, "/api/v1/applications/")
		app, isRollback := strings.CutSuffix(app, "/rollback")
		app, isSync := strings.CutSuffix(app, "/sync")
		if !isApp || (!isSync && !isRollback) || r.Method != http.MethodPost {
			rp.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(rec, r)
		c.mu.Lock()
		defer c.mu.Unlock()
		switch {
		case isRollback && rec.status == http.StatusOK:
			c.rollbacks[app]++
		case isRollback:
			c.rollbacksRefused[app]++
		case rec.status == http.StatusOK:
			c.accepted[app]++
		default:
			c.refused[app]++
		}
	}), nil
}

func (c *syncCounter) get(app string) (accepted, refused int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accepted[app], c.refused[app]
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// realE2E holds the running chain and what the test observed.
type realE2E struct {
	t      *testing.T
	ctx    context.Context
	st     *stack.Stack
	syncs  *syncCounter
	start  time.Time
	remTim stack.RemediationTimings
}

// TestRealEndToEnd runs the exporter, the bridge, Prometheus with our rules and Alertmanager
// against the real Argo CD and checks what the exporter reports and does. The steps share the
// stack, so they run in order.
func TestRealEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	counter := &syncCounter{accepted: map[string]int{}, refused: map[string]int{}, rollbacks: map[string]int{}, rollbacksRefused: map[string]int{}}
	h, err := counter.wrap(env.argo.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(h)
	defer proxy.Close()

	// Backoffs long enough to restart the exporter between two attempts on a busy machine.
	// TerminateAfter: longer than the e2e params' syncStuckAfter (10s) plus the alert's for (5s),
	// so ArgoCDAppSyncStuck fires before the exporter ends each of hook-stuck's syncs.
	// Rollback auto: the rollback app's story (rollback_test.go); the other apps never had a
	// healthy revision before failing, so nothing else is rolled back.
	rem := stack.RemediationTimings{Poll: time.Second, Grace: 3 * time.Second, Backoff: 15 * time.Second, MaxBackoff: 20 * time.Second,
		TerminateAfter: 30 * time.Second, Rollback: "auto"}
	st, err := stack.Start(ctx, stack.Config{
		Root: env.root, Work: filepath.Join(t.TempDir(), "stack"), Bin: env.bins,
		ArgoCD:      &stack.ExternalArgoCD{URL: proxy.URL, Token: env.monitorToken},
		Remediation: rem,
		Slack:       stack.Slack{BotToken: botToken, Channel: channel},
		Log:         testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	e := &realE2E{t: t, ctx: ctx, st: st, syncs: counter, start: time.Now(), remTim: rem}
	defer e.dumpOnFailure()

	e.metricsEqualArgoCD()
	e.fixableSyncedOnce()
	e.failingFirstSyncThenRestart()
	// The rollback app's bad commit goes in now, so its three failed syncs run beside failing's
	// and hook-stuck's stories; rollbackToGoodCommit checks the outcome after them.
	good, bad := e.rollbackBadCommitPushed()
	e.failingPausedAfterThreeSyncs()
	e.hookStuckTerminated()
	e.rollbackToGoodCommit(good, bad)
	e.holdKeptOnAnotherAppsCommit(good)
	e.holdEndsOnOwnFix()
	e.leftAlone()
	e.pausedReachesSlack()
	e.readOnlyTokenSaysSo()
}

func (e *realE2E) eventually(what string, timeout time.Duration, check func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if name := e.st.Exited(); name != "" {
			e.t.Fatalf("%s: %s exited", what, name)
		}
		if name := env.argo.Exited(); name != "" {
			e.t.Fatalf("%s: %s exited", what, name)
		}
		ok, detail := check()
		if ok {
			e.t.Logf("[%5.1fs] %s", time.Since(e.start).Seconds(), what)
			return
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.t.Fatalf("%s: not within %s; last: %s", what, timeout, detail)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// scrape fetches and parses a /metrics page.
func scrape(ctx context.Context, u string) (map[string]*dto.MetricFamily, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// stateOf returns, per app name, the label value of the state-set series that is 1.
func stateOf(fams map[string]*dto.MetricFamily, metric, label string) map[string]string {
	out := map[string]string{}
	for _, m := range fams[metric].GetMetric() {
		if l := labels(m); value(m) == 1 {
			out[l["name"]] = l[label]
		}
	}
	return out
}

// appState is one app's project, health, sync and last operation phase.
type appState struct{ project, health, sync, phase string }

// Every app's project, health, sync and operation phase in the exporter's metrics equal Argo CD's own
// argocd_app_info (health, sync) and the API (operation phase), at one moment: Argo CD is
// scraped before and after the exporter and must not have changed in between.
func (e *realE2E) metricsEqualArgoCD() {
	e.t.Helper()
	e.eventually("exporter metrics equal argocd_app_info and the API for every app", 90*time.Second, func() (bool, string) {
		before, err := e.argoStates()
		if err != nil {
			return false, err.Error()
		}
		exp, err := scrape(e.ctx, e.st.ExporterURL+"/metrics")
		if err != nil {
			return false, err.Error()
		}
		after, err := e.argoStates()
		if err != nil {
			return false, err.Error()
		}
		if fmt.Sprint(before) != fmt.Sprint(after) {
			return false, "Argo CD changed while scraping"
		}
		health := stateOf(exp, "argocd_monitor_app_health_status", "health_status")
		syncs := stateOf(exp, "argocd_monitor_app_sync_status", "sync_status")
		phases := stateOf(exp, "argocd_monitor_app_operation_phase", "phase")
		projects := map[string]string{}
		for _, m := range exp["argocd_monitor_app_health_status"].GetMetric() {
			l := labels(m)
			projects[l["name"]] = l["project"]
		}
		var diffs []string
		for _, name := range sortedKeys(before) {
			want := before[name]
			got := appState{projects[name], health[name], syncs[name], phases[name]}
			if got != want {
				diffs = append(diffs, fmt.Sprintf("%s: exporter %+v, Argo CD %+v", name, got, want))
			}
		}
		if len(before) != len(realargocd.Apps)+1 {
			diffs = append(diffs, fmt.Sprintf("Argo CD reports %d apps, want %d", len(before), len(realargocd.Apps)+1))
		}
		return len(diffs) == 0, strings.Join(diffs, "; ")
	})
}

// argoStates reads health and sync from the controller's argocd_app_info and the phase from
// the API.
func (e *realE2E) argoStates() (map[string]appState, error) {
	fams, err := scrape(e.ctx, env.argo.ControllerMetricsURL)
	if err != nil {
		return nil, err
	}
	apps, err := listApps(e.ctx, env.adminToken, "")
	if err != nil {
		return nil, err
	}
	out := map[string]appState{}
	for _, m := range fams["argocd_app_info"].GetMetric() {
		l := labels(m)
		s := appState{project: l["project"], health: l["health_status"], sync: l["sync_status"]}
		if op := apps[l["name"]].Status.OperationState; op != nil {
			s.phase = op.Phase
		}
		out[l["name"]] = s
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// exporterValue returns the value of one exporter series selected by name and labels.
func (e *realE2E) exporterValue(metric string, match map[string]string) (float64, bool) {
	return e.valueAt(e.st.ExporterURL, metric, match)
}

// valueAt returns the value of one series of the exporter at exporterURL.
func (e *realE2E) valueAt(exporterURL, metric string, match map[string]string) (float64, bool) {
	fams, err := scrape(e.ctx, exporterURL+"/metrics")
	if err != nil {
		return 0, false
	}
	for _, m := range fams[metric].GetMetric() {
		l := labels(m)
		ok := true
		for k, v := range match {
			ok = ok && l[k] == v
		}
		if ok {
			return value(m), true
		}
	}
	return 0, false
}

// The fixable app (manual policy, drifted) gets exactly one sync and becomes Synced and Healthy.
func (e *realE2E) fixableSyncedOnce() {
	e.t.Helper()
	e.eventually("fixable synced by the exporter and Synced/Healthy in Argo CD", 2*time.Minute, func() (bool, string) {
		apps, err := listApps(e.ctx, env.adminToken, "")
		if err != nil {
			return false, err.Error()
		}
		a := apps[realargocd.AppFixable]
		n, _ := e.syncs.get(realargocd.AppFixable)
		return n >= 1 && a.Status.Sync.Status == "Synced" && a.Status.Health.Status == "Healthy",
			fmt.Sprintf("%d syncs, %s/%s", n, a.Status.Sync.Status, a.Status.Health.Status)
	})
	e.eventually("the exporter reports fixable Synced", 30*time.Second, func() (bool, string) {
		v, _ := e.exporterValue("argocd_monitor_app_sync_status", map[string]string{"name": realargocd.AppFixable, "sync_status": "Synced"})
		return v == 1, fmt.Sprint(v)
	})
	if n, _ := e.syncs.get(realargocd.AppFixable); n != 1 {
		e.t.Fatalf("fixable: %d accepted syncs, want exactly 1", n)
	}
}

// The failing app gets exactly three syncs, then a pause with Argo CD's own message in the log,
// even though the exporter is restarted after the first attempt (here) ...
func (e *realE2E) failingFirstSyncThenRestart() {
	e.t.Helper()
	e.eventually("first sync of failing", 2*time.Minute, func() (bool, string) {
		n, _ := e.syncs.get(realargocd.AppFailing)
		return n >= 1, fmt.Sprint(n, " syncs")
	})
	if n, _ := e.syncs.get(realargocd.AppFailing); n != 1 {
		e.t.Fatalf("failing: %d syncs before the restart, want 1 (raise the backoff)", n)
	}
	if err := e.st.Restart(e.ctx, stack.ProcExporter); err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("[%5.1fs] exporter restarted after the first attempt", time.Since(e.start).Seconds())
}

// ... and pauses after three (failingPausedAfterThreeSyncs).
func (e *realE2E) failingPausedAfterThreeSyncs() {
	e.t.Helper()
	e.eventually("failing paused", 3*time.Minute, func() (bool, string) {
		v, _ := e.exporterValue("argocd_monitor_app_remediation_paused", map[string]string{"name": realargocd.AppFailing})
		n, _ := e.syncs.get(realargocd.AppFailing)
		return v == 1, fmt.Sprintf("paused %v after %d syncs", v, n)
	})
	if n, _ := e.syncs.get(realargocd.AppFailing); n != 3 {
		e.t.Fatalf("failing: %d accepted syncs, want exactly 3", n)
	}
	log, err := os.ReadFile(e.st.LogPath(stack.ProcExporter))
	if err != nil {
		e.t.Fatal(err)
	}
	var pauseLine string
	for line := range strings.SplitSeq(string(log), "\n") {
		if strings.Contains(line, "remediation paused") && strings.Contains(line, "app=argocd/"+realargocd.AppFailing) {
			pauseLine = line
		}
	}
	if !strings.Contains(pauseLine, realargocd.FailingMessage) {
		e.t.Fatalf("no pause log line for failing with Argo CD's message %q; got %q", realargocd.FailingMessage, pauseLine)
	}
	// Two more backoffs: still no fourth sync.
	deadline := time.Now().Add(2 * e.remTim.MaxBackoff)
	for time.Now().Before(deadline) {
		if n, _ := e.syncs.get(realargocd.AppFailing); n != 3 {
			e.t.Fatalf("failing: %d syncs after the pause, want 3", n)
		}
		time.Sleep(time.Second)
	}
}

// maxAttempts is the exporter's default --remediation.max-attempts.
const maxAttempts = 3

// The hook-stuck app's syncs wait forever on their PreSync hook Job: each raises
// ArgoCDAppSyncStuck through the real rules, is terminated by the exporter after
// --remediation.terminate-after and counts as a failed attempt, so remediation pauses after
// maxAttempts syncs, and the read API's story lists the terminations.
func (e *realE2E) hookStuckTerminated() {
	e.t.Helper()
	app := realargocd.AppHookStuck
	// Every attempt: terminate-after, Argo CD ending the operation, a backoff.
	e.eventually("hook-stuck paused after its terminated syncs", 6*time.Minute, func() (bool, string) {
		v, _ := e.exporterValue("argocd_monitor_app_remediation_paused", map[string]string{"name": app})
		n, _ := e.syncs.get(app)
		return v == 1, fmt.Sprintf("paused %v after %d syncs", v, n)
	})
	if n, _ := e.syncs.get(app); n != maxAttempts {
		e.t.Fatalf("%s: %d accepted syncs, want exactly %d", app, n, maxAttempts)
	}
	e.eventually("ArgoCDAppSyncStuck fired for hook-stuck (real rules)", time.Minute, func() (bool, string) {
		res, err := e.st.Query(e.ctx, `max_over_time(ALERTS{alertname="ArgoCDAppSyncStuck",alertstate="firing",name="`+app+`"}[20m])`)
		if err != nil {
			return false, err.Error()
		}
		return len(res) == 1 && res[0].Value == 1, fmt.Sprint(res)
	})
	// Argo CD's own record of the last attempt: a terminate is accepted while the operation is
	// Terminating, and the controller ends it as Failed shortly after (the engine counts the
	// attempt as failed at once); the exporter's story follows through the watch.
	var st story
	e.eventually("Argo CD ended hook-stuck's last operation as terminated, and the story shows it", 2*time.Minute, func() (bool, string) {
		apps, err := listApps(e.ctx, env.adminToken, "")
		if err != nil {
			return false, err.Error()
		}
		op := apps[app].Status.OperationState
		if op == nil {
			return false, "no operationState"
		}
		if op.Phase != "Failed" || !strings.Contains(op.Message, realargocd.TerminatedMessage) {
			return false, fmt.Sprintf("operation %s %q, want Failed with %q", op.Phase, op.Message, realargocd.TerminatedMessage)
		}
		s, err := e.exporterStory(app)
		if err != nil {
			return false, err.Error()
		}
		if s.Operation == nil || s.Operation.Phase != op.Phase || s.Operation.Message != op.Message {
			return false, fmt.Sprintf("story operation %+v, want Argo CD's %s %q", s.Operation, op.Phase, op.Message)
		}
		st = s
		return true, ""
	})
	b, _ := json.Marshal(st.Remediation)
	e.t.Logf("%s: remediation story %s", app, b)
	terminated := 0
	for _, a := range st.Remediation.Actions {
		if a.Kind == "terminate" && a.Result == "ok" && a.By == "" {
			terminated++
		}
	}
	// One per attempt; more when Argo CD lost a terminate and the exporter sent it again.
	if terminated < maxAttempts {
		e.t.Errorf("%s: %d terminate actions (ok, by the exporter), want at least %d", app, terminated, maxAttempts)
	}
	failed := 0
	for _, a := range st.Remediation.Attempts {
		if a.Result == "failed" {
			failed++
		}
	}
	if !st.Remediation.Paused || failed != maxAttempts {
		e.t.Errorf("%s: story paused=%v with %d failed attempts, want paused after %d", app, st.Remediation.Paused, failed, maxAttempts)
	}
	if e.t.Failed() {
		e.t.FailNow()
	}
	// Two more backoffs: still no fourth sync.
	deadline := time.Now().Add(2 * e.remTim.MaxBackoff)
	for time.Now().Before(deadline) {
		if n, _ := e.syncs.get(app); n != maxAttempts {
			e.t.Fatalf("%s: %d syncs after the pause, want %d", app, n, maxAttempts)
		}
		time.Sleep(time.Second)
	}
}

// story is the part of the exporter's read API answer the test checks.
type story struct {
	Operation *struct {
		Phase   string `json:"phase"`
		Message string `json:"message"`
	} `json:"operation"`
	Remediation struct {
		Paused   bool `json:"paused"`
		Attempts []struct {
			N       int    `json:"n"`
			Result  string `json:"result"`
			Message string `json:"message"`
		} `json:"attempts"`
		Actions []struct {
			Kind    string `json:"kind"`
			Result  string `json:"result"`
			By      string `json:"by"`
			Message string `json:"message"`
		} `json:"actions"`
		Hold *struct {
			Bad string `json:"bad"`
			To  string `json:"to"`
			By  string `json:"by"`
		} `json:"hold"`
	} `json:"remediation"`
}

// exporterStory reads one app's story from the exporter's read API.
func (e *realE2E) exporterStory(app string) (story, error) {
	var s story
	tok, err := os.ReadFile(e.st.APITokenFile)
	if err != nil {
		return s, err
	}
	status, body, err := argoRequest(e.ctx, e.st.ExporterURL, http.MethodGet,
		"/api/v1/apps/"+realargocd.Namespace+"/"+app, strings.TrimSpace(string(tok)), "")
	if err != nil {
		return s, err
	}
	if status != http.StatusOK {
		return s, fmt.Errorf("read API %s: %d %s", app, status, body)
	}
	return s, json.Unmarshal(body, &s)
}

// Automated apps and the opted-out one get no sync at all.
func (e *realE2E) leftAlone() {
	e.t.Helper()
	for _, app := range []string{realargocd.AppHealthy, realargocd.AppProgressing, realargocd.AppTeamB, realargocd.AppMultiSource, realargocd.AppHookRunning, realargocd.AppOptedOut, realargocd.AppHookTerminate, AppDeleting} {
		if ok, refused := e.syncs.get(app); ok+refused != 0 {
			e.t.Errorf("%s: %d sync calls (%d refused), want none", app, ok+refused, refused)
		}
		if _, ok := e.exporterValue("argocd_monitor_app_remediation_attempts", map[string]string{"name": app}); ok {
			e.t.Errorf("%s: has remediation series, want none (out of scope)", app)
		}
	}
	if e.t.Failed() {
		e.t.FailNow()
	}
}

// ArgoCDAppRemediationPaused for the failing app reaches Slack through Prometheus, Alertmanager
// and the bridge: in the app's one message (posted, or updated when the pause joins the app's
// group), whose Why carries Argo CD's own operation message, read through the exporter's API.
func (e *realE2E) pausedReachesSlack() {
	e.t.Helper()
	e.eventually("Slack message for the failing app's pause, with Argo CD's message", 2*time.Minute, func() (bool, string) {
		reqs, err := e.st.SlackRequests(e.ctx)
		if err != nil {
			return false, err.Error()
		}
		last := ""
		for _, m := range reqs {
			if m.Result == "ok" && m.ThreadTS == "" && strings.Contains(m.Content(), paused) && strings.Contains(m.Content(), realargocd.AppFailing) {
				if strings.Contains(m.Content(), realargocd.FailingMessage) && strings.Contains(m.Content(), "3 of 3 syncs failed") {
					return true, ""
				}
				last = m.Content()
			}
		}
		return false, fmt.Sprintf("%d requests, none for the pause with Argo CD's message %q; last: %s", len(reqs), realargocd.FailingMessage, last)
	})
}

// A token without `applications, sync` makes a second exporter say so in its log (and count
// the refusal), while it still reports metrics; the same exporter, watching only, shows a change
// made in Argo CD within streamLatency.
func (e *realE2E) readOnlyTokenSaysSo() {
	e.t.Helper()
	dir := e.t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(env.readOnlyToken+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	p, url := e.startWatchOnlyExporter(tokenFile)
	e.eventually("the read-only exporter logs the missing sync permission", 90*time.Second, func() (bool, string) {
		b, _ := os.ReadFile(p.LogPath)
		for line := range strings.SplitSeq(string(b), "\n") {
			if strings.Contains(line, "remediation sync forbidden") && strings.Contains(line, "applications, sync") {
				return true, ""
			}
		}
		return false, p.LogTail(3)
	})
	e.streamReachesMetrics(url)
}

func (e *realE2E) dumpOnFailure() {
	if !e.t.Failed() {
		return
	}
	for _, name := range []string{stack.ProcExporter, stack.ProcBridge, stack.ProcAlertmanager, stack.ProcPrometheus} {
		if b, err := os.ReadFile(e.st.LogPath(name)); err == nil {
			e.t.Logf("--- %s log (tail):\n%s", name, tail(string(b), 30))
		}
	}
	for _, name := range []string{realargocd.ProcServer, realargocd.ProcController, realargocd.ProcRepoServer} {
		if b, err := os.ReadFile(env.argo.LogPath(name)); err == nil {
			e.t.Logf("--- %s log (tail):\n%s", name, tail(string(b), 20))
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
