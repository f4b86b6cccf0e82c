//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

const (
	botToken = "xoxb-e2e-test-token"
	channel  = "#argocd-alerts"
	paused   = "ArgoCDAppRemediationPaused"
	degraded = "ArgoCDAppDegraded"
)

// e2e holds the running stack and what the test observed.
type e2e struct {
	t     *testing.T
	ctx   context.Context
	st    *stack.Stack
	start time.Time
	root  string
	// stuckSyncs is how many syncs stuck has had before its fix: 3, and one more after Resume.
	stuckSyncs int
}

// TestEndToEnd runs the whole stack once and checks the story end to end. The steps share the
// stack, so they run in order; a failing step stops the test with the logs' tails.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, bins := rootAndBins(ctx, t)

	sim := stack.DefaultSim
	sim.Apps = 20
	st, err := stack.Start(ctx, stack.Config{
		Root: root, Work: t.TempDir(), Bin: bins, Sim: sim,
		// A short deadline makes the bridge give up on a failing Slack with 503, so
		// Alertmanager's own retries are exercised too.
		Slack: stack.Slack{BotToken: botToken, Channel: channel, Deadline: 2 * time.Second},
		Log:   testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	e := &e2e{t: t, ctx: ctx, st: st, start: time.Now(), root: root, stuckSyncs: 3}
	defer e.dumpOnFailure()

	e.exporterMetricsInPrometheus()
	e.remediationStartsWithinGraceOfAChange()
	e.stuckPausedAfterThreeSyncsFixableRepaired()
	e.pausedAlertFiresForStuckOnly()
	e.slackMessageNamesAppWithLink()
	e.stuckWhyTellsTheStory()
	e.refusedResumeChangesNothing()
	e.resumeGivesExactlyOneMoreSync()
	e.slackFailuresDeliverExactlyOnce()
	e.silenceStopsTheNextNotification()
	e.resolvedUpdatesInPlace()
	e.oneMessagePerApp()
	e.dashboardQueriesReturnData()
	e.syncCountsStayExact()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// eventually polls check until it reports done or the deadline passes, then fails with the
// last detail it gave.
func (e *e2e) eventually(what string, timeout time.Duration, check func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var detail string
	for {
		if name := e.st.Exited(); name != "" {
			e.t.Fatalf("%s: %s exited", what, name)
		}
		var ok bool
		ok, detail = check()
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

// value returns the single sample of an instant query, or NaN when it has none.
func (e *e2e) value(expr string) (float64, string) {
	s, err := e.st.Query(e.ctx, expr)
	if err != nil {
		return math.NaN(), err.Error()
	}
	if len(s) != 1 {
		return math.NaN(), fmt.Sprintf("%s: %d series", expr, len(s))
	}
	return s[0].Value, fmt.Sprintf("%s = %v", expr, s[0].Value)
}

func (e *e2e) expectValue(expr string, want float64, timeout time.Duration) {
	e.t.Helper()
	e.eventually(fmt.Sprintf("%s == %v", expr, want), timeout, func() (bool, string) {
		v, detail := e.value(expr)
		return v == want, detail
	})
}

// The exporter's metrics reach Prometheus with the app's labels, via honor_labels.
func (e *e2e) exporterMetricsInPrometheus() {
	e.t.Helper()
	e.expectValue(`argocd_monitor_api_up{job="argocd-monitor-exporter"}`, 1, 30*time.Second)
	e.expectValue(`count(argocd_monitor_app_info{namespace="argocd"})`, 26, 10*time.Second)
	e.expectValue(`argocd_monitor_app_info{name="automated", project="demo", auto_sync="true", repo="https://github.com/argoproj/argocd-example-apps.git"}`, 1, 5*time.Second)
	e.expectValue(`argocd_monitor_app_health_status{name="stuck", health_status="Degraded"}`, 1, 5*time.Second)
	e.expectValue(`count(argocd_monitor_app_health_status{name="stuck"})`, 6, 5*time.Second)
	e.expectValue(`argocd_monitor_app_sync_status{name="opted-out", sync_status="OutOfSync"}`, 1, 5*time.Second)
	e.expectValue(`argocd_monitor_app_operation_phase{name="healthy", phase="Succeeded"}`, 1, 5*time.Second)
	e.expectValue(`argocd_monitor_app_conditions{name="stuck", condition="ExcludedResourceWarning"}`, 2, 5*time.Second)
	e.expectValue(`argocd_monitor_apps`, 26, 5*time.Second)
	e.expectValue(`count(argocd_monitor_build_info) + count(argocd_monitor_bridge_build_info)`, 2, 5*time.Second)
}

// With the watch stream up, a change reaches the remediation engine as it happens: an app that
// turns Degraded gets its first sync within grace + 2 s, though the poll interval is 30 s.
func (e *e2e) remediationStartsWithinGraceOfAChange() {
	e.t.Helper()
	e.expectValue(`argocd_monitor_watch_up`, 1, 10*time.Second)
	s, err := e.st.Query(e.ctx, `argocd_monitor_app_info{auto_sync="false", project=~"team-.*"}`)
	if err != nil || len(s) == 0 {
		e.t.Fatalf("no filler app without auto-sync: %v", err)
	}
	name := s[0].Metric["name"]
	if err := e.st.SetSimState(e.ctx, name, map[string]any{"health": "Degraded", "onSync": "succeed"}); err != nil {
		e.t.Fatal(err)
	}
	changed := time.Now()
	grace := stack.DefaultRemediation.Grace
	e.eventually(fmt.Sprintf("%s synced within grace + 2s of turning Degraded", name), grace+2*time.Second, func() (bool, string) {
		counts, err := e.st.SimSyncs(e.ctx)
		if err != nil {
			return false, err.Error()
		}
		return counts[name].Calls > 0, fmt.Sprintf("%d sync calls %s after the change", counts[name].Calls, time.Since(changed).Round(time.Millisecond))
	})
	if d := time.Since(changed); d < grace {
		e.t.Fatalf("%s synced %s after the change, before the grace of %s", name, d, grace)
	}
	e.expectValue(`argocd_monitor_app_health_status{name="`+name+`", health_status="Healthy"}`, 1, 15*time.Second)
}

func (e *e2e) stuckPausedAfterThreeSyncsFixableRepaired() {
	e.t.Helper()
	e.expectValue(`argocd_monitor_app_remediation_paused{name="stuck"}`, 1, 90*time.Second)
	e.expectValue(`argocd_monitor_app_remediation_attempts{name="stuck"}`, 3, 5*time.Second)
	e.expectValue(`argocd_monitor_remediation_syncs_total{name="stuck", result="triggered"}`, 3, 5*time.Second)
	e.expectValue(`argocd_monitor_app_operation_phase{name="stuck", phase="Failed"}`, 1, 5*time.Second)
	e.expectValue(`argocd_monitor_app_sync_status{name="fixable", sync_status="Synced"}`, 1, 5*time.Second)
	e.expectValue(`argocd_monitor_app_health_status{name="fixable", health_status="Healthy"}`, 1, 5*time.Second)
	e.expectValue(`max(argocd_monitor_app_remediation_paused{name="fixable"}) or vector(0)`, 0, 5*time.Second)
	e.checkSyncCounts(3)
}

// checkSyncCounts: exactly stuck sync calls for stuck (3 until its fix is pushed, then one
// more), one for fixable, none for the apps the exporter must leave alone.
func (e *e2e) checkSyncCounts(stuck int) {
	e.t.Helper()
	counts, err := e.st.SimSyncs(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	want := map[string]int{"stuck": stuck, "fixable": 1, "healthy": 0, "automated": 0, "opted-out": 0}
	for app, n := range want {
		if got := counts[app]; got.Calls != n || got.Accepted != n {
			e.t.Errorf("%s: %d sync calls (%d accepted), want exactly %d", app, got.Calls, got.Accepted, n)
		}
	}
	if e.t.Failed() {
		e.t.FailNow()
	}
}

func (e *e2e) pausedAlertFiresForStuckOnly() {
	e.t.Helper()
	e.expectValue(`ALERTS{alertname="`+paused+`", name="stuck", alertstate="firing"}`, 1, 15*time.Second)
	e.eventually("Alertmanager holds the stuck pause alert for the bridge receiver", 15*time.Second, func() (bool, string) {
		alerts, err := e.st.AlertmanagerAlerts(e.ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == paused && a.Labels["name"] == "stuck" && a.Status.State == "active" &&
				len(a.Receivers) == 1 && a.Receivers[0].Name == "slack-bridge" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d alerts, none for stuck", len(alerts))
	})
	e.neverPausedFixable()
}

// neverPausedFixable: the pause alert was never pending or firing for fixable during the run.
func (e *e2e) neverPausedFixable() {
	e.t.Helper()
	series, err := e.st.QueryRange(e.ctx, `ALERTS{alertname="`+paused+`", name="fixable"}`, e.start.Add(-time.Minute), time.Now(), time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(series) != 0 {
		e.t.Fatalf("%s was active for fixable: %v", paused, series)
	}
}

// messages returns the requests the fake Slack accepted (posts, updates, thread replies).
func (e *e2e) messages() []stack.SlackRequest {
	e.t.Helper()
	reqs, err := e.st.SlackRequests(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []stack.SlackRequest
	for _, r := range reqs {
		if r.Result == "ok" {
			out = append(out, r)
		}
	}
	return out
}

// posts returns the top-level messages (not updates, not thread replies) whose content has all
// of the given strings.
func (e *e2e) posts(all ...string) []stack.SlackRequest {
	var out []stack.SlackRequest
	for _, m := range e.messages() {
		if m.Method != "chat.postMessage" || m.ThreadTS != "" {
			continue
		}
		match := true
		for _, s := range all {
			match = match && strings.Contains(m.Content(), s)
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}

// stuckPost is the one top-level message of the stuck app's group (group_by [namespace, name]).
func (e *e2e) stuckPost() stack.SlackRequest {
	e.t.Helper()
	p := e.posts("argocd/stuck")
	if len(p) != 1 {
		e.t.Fatalf("%d top-level posts for the stuck app, want 1", len(p))
	}
	return p[0]
}

// latest returns the newest version (post or update) of a top-level message.
func (e *e2e) latest(orig stack.SlackRequest) stack.SlackRequest {
	last := orig
	for _, m := range e.messages() {
		if m.Method == "chat.update" && m.TS == orig.TS && m.ChannelID == orig.ChannelID {
			last = m
		}
	}
	return last
}

// The stuck app's incident is one top-level message, naming the app with a link; its pause
// reaches that message (as the first post or an update of it).
func (e *e2e) slackMessageNamesAppWithLink() {
	e.t.Helper()
	link := e.st.SimURL + "/applications/argocd/stuck"
	e.eventually("the stuck app's message holds its pause", 30*time.Second, func() (bool, string) {
		p := e.posts("argocd/stuck")
		if len(p) != 1 {
			return false, fmt.Sprintf("%d top-level posts for stuck of %d messages", len(p), len(e.messages()))
		}
		return strings.Contains(e.latest(p[0]).Content(), paused), "no version of the message names " + paused
	})
	m := e.stuckPost()
	if !strings.Contains(m.Content(), link) {
		e.t.Fatalf("the message does not link the app to %s:\n%s", link, m.Content())
	}
	if m.Text == "" {
		e.t.Fatal("the message has no fallback text")
	}
}

// The stuck app's message says what is wrong with its cause (the failing resource and its sync
// error) and what the monitor did (3 of 3 syncs failed, paused), then the Why's other facts;
// the thread of its one message tells what joined the incident.
func (e *e2e) stuckWhyTellsTheStory() {
	e.t.Helper()
	orig := e.stuckPost()
	want := []string{"*Degraded, sync failing:* Deployment stuck — ", "is invalid", "3 of 3 syncs failed", "*paused*",
		"*Why*", "Deployment stuck Degraded", "Pod stuck-", "Move stuck to the new base chart"}
	e.eventually("the stuck app's message tells why", 30*time.Second, func() (bool, string) {
		c := e.latest(orig).Content()
		for _, w := range want {
			if !strings.Contains(c, w) {
				return false, "missing " + w + " in " + c
			}
		}
		return true, ""
	})
	if p := e.posts("argocd/stuck"); len(p) != 1 {
		e.t.Fatalf("%d top-level posts for the stuck app, want 1", len(p))
	}
	replies := 0
	for _, m := range e.messages() {
		if m.ThreadTS == orig.TS {
			replies++
		}
	}
	if firstIsPause := strings.Contains(orig.Content(), paused); !firstIsPause && replies == 0 {
		e.t.Fatal("alerts joined the stuck app's message but its thread says nothing")
	}
	e.t.Logf("stuck app: 1 message, %d thread replies", replies)
}

// With Slack answering 429 and then 500 for longer than the bridge's deadline, the message
// still arrives exactly once: the bridge retries inside its deadline, answers 503, Alertmanager
// retries, and nothing is posted twice.
func (e *e2e) slackFailuresDeliverExactlyOnce() {
	e.t.Helper()
	plan := stack.SlackPlan{RateLimited: 2, RetryAfter: 1, ServerErrorsFor: 5 * time.Second}
	// The Degraded alert may open opted-out's message or join it (its OutOfSync may fire first):
	// posts and updates alike.
	plan.Filter.TopLevel, plan.Filter.Contains = true, []string{degraded, "argocd/opted-out"}
	if err := e.st.FailSlack(e.ctx, plan); err != nil {
		e.t.Fatal(err)
	}
	// opted-out is left alone by remediation, so it stays Degraded and ArgoCDAppDegraded fires.
	if err := e.st.SetSimState(e.ctx, "opted-out", map[string]any{"health": "Degraded"}); err != nil {
		e.t.Fatal(err)
	}
	withDegraded := func() int {
		n := 0
		for _, m := range e.messages() {
			if m.ThreadTS == "" && strings.Contains(m.Content(), degraded) && strings.Contains(m.Content(), "argocd/opted-out") {
				n++
			}
		}
		return n
	}
	e.eventually("the Degraded alert for opted-out reaches Slack through 429s and 500s", 90*time.Second, func() (bool, string) {
		n := withDegraded()
		return n >= 1, fmt.Sprintf("%d messages", n)
	})
	reqs, err := e.st.SlackRequests(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var results []string
	for _, c := range reqs {
		if c.Result != "ok" {
			results = append(results, c.Result)
		}
	}
	if !slices.Contains(results, "ratelimited") || !slices.Contains(results, "server_error") {
		e.t.Fatalf("the fault plan was not exercised: failed calls %v", results)
	}
	// The bridge gave up at least once (503) and Alertmanager came back.
	e.expectValue(`sum(argocd_monitor_bridge_webhooks_total{code="503"}) > bool 0`, 1, 10*time.Second)
	// Give duplicates a chance to show up before counting.
	time.Sleep(5 * time.Second)
	if p := e.posts("argocd/opted-out"); len(p) != 1 {
		e.t.Fatalf("%d top-level posts for opted-out, want exactly 1", len(p))
	}
}

// A fix is pushed to git (a new target revision whose sync works): the exporter unpauses stuck,
// its next attempt repairs it, the alerts resolve, and the bridge updates the original message
// in place, saying what fixed it.
func (e *e2e) resolvedUpdatesInPlace() {
	e.t.Helper()
	orig := e.stuckPost()
	fix := map[string]any{"revision": "5eed0f1c0ffee0ddba11fade5eed0f1c0ffee0dd", "ownChange": true, "onSync": "succeed"}
	if err := e.st.SetSimState(e.ctx, "stuck", fix); err != nil {
		e.t.Fatal(err)
	}
	e.expectValue(`argocd_monitor_app_remediation_paused{name="stuck"}`, 0, 15*time.Second)
	e.expectValue(`argocd_monitor_app_health_status{name="stuck", health_status="Healthy"}`, 1, 30*time.Second)
	e.eventually("resolved notification updates the stuck message in place, saying what fixed it", 60*time.Second, func() (bool, string) {
		for _, m := range e.messages() {
			if m.Method == "chat.update" && m.TS == orig.TS && m.ChannelID == orig.ChannelID &&
				strings.Contains(m.Content(), "Resolved") && strings.Contains(m.Content(), "What fixed it") {
				if !strings.Contains(m.Content(), "remediation attempt 1") {
					return false, "resolved, but not fixed by remediation attempt 1: " + m.Content()
				}
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d messages, no resolved update of ts %s that says what fixed it; latest: %s", len(e.messages()), orig.TS, e.latest(orig).Content())
	})
	if p := e.posts("argocd/stuck"); len(p) != 1 {
		e.t.Fatalf("%d top-level posts for the stuck app after resolution, want 1", len(p))
	}
}

// One incident, one message: every app that had alerts firing during the run got exactly one
// top-level Slack message, whatever alerts joined or left it.
func (e *e2e) oneMessagePerApp() {
	e.t.Helper()
	series, err := e.st.QueryRange(e.ctx, `ALERTS{alertstate="firing"}`, e.start.Add(-time.Minute), time.Now(), time.Second)
	if err != nil {
		e.t.Fatal(err)
	}
	groups := map[string][2]string{}
	for _, s := range series {
		if s.Metric["name"] == "" {
			continue // the monitor's and Argo CD's own alerts: not this story's subject
		}
		groups[s.Metric["name"]] = [2]string{s.Metric["alertname"], s.Metric["name"]}
	}
	if len(groups) < 2 {
		e.t.Fatalf("only %d apps had firing alerts: %v", len(groups), groups)
	}
	// A group that started firing in the last seconds may not be delivered yet: wait for each.
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		match := []string{"argocd/" + groups[k][1]}
		e.eventually("one Slack message for app "+k, 20*time.Second, func() (bool, string) {
			p := e.posts(match...)
			return len(p) == 1, fmt.Sprintf("%d posts", len(p))
		})
	}
}

// Every panel query of dashboards/*.json returns data for the run's time range, with the
// dashboards' variables set to the scenario (namespace argocd, project demo, app stuck).
func (e *e2e) dashboardQueriesReturnData() {
	e.t.Helper()
	files, err := filepath.Glob(filepath.Join(e.root, "dashboards", "*.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	if len(files) == 0 {
		e.t.Fatal("no dashboards/*.json to check")
	}
	vars := map[string]string{"argocd": ".*", "namespace": "argocd", "project": "demo", "name": "stuck", "__rate_interval": "10s", "__interval": "2s", "__range": "5m"}
	end := time.Now()
	n := 0
	for _, f := range files {
		// No Argo CD of its own here: the components dashboard's queries are run over realistic
		// Argo CD series in Prometheus' engine instead (tools/internal/dashboards).
		if filepath.Base(f) == "argocd-monitor-components.json" {
			continue
		}
		queries, err := panelQueries(f)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, q := range queries {
			n++
			expr := substitute(q.expr, vars)
			series, err := e.st.QueryRange(e.ctx, expr, e.start, end, 2*time.Second)
			if err != nil {
				e.t.Errorf("%s / %q: %v", filepath.Base(f), q.title, err)
				continue
			}
			if !hasFinite(series) {
				e.t.Errorf("%s / %q returns no data:\n%s", filepath.Base(f), q.title, expr)
			}
		}
	}
	e.t.Logf("%d panel queries checked", n)
	if e.t.Failed() {
		e.t.FailNow()
	}
}

func hasFinite(series []stack.Series) bool {
	for _, s := range series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				return true
			}
		}
	}
	return false
}

// The counts hold at the end too: no sync after the pause, none for the excluded apps, and the
// fixable app never paused.
func (e *e2e) syncCountsStayExact() {
	e.t.Helper()
	e.checkSyncCounts(e.stuckSyncs + 1) // the fix pushed in resolvedUpdatesInPlace syncs once more
	e.neverPausedFixable()
}

// dumpOnFailure logs the tails of every process's log when the test failed.
func (e *e2e) dumpOnFailure() {
	if !e.t.Failed() {
		return
	}
	for _, name := range []string{stack.ProcSim, stack.ProcExporter, stack.ProcBridge, stack.ProcSlack, stack.ProcAlertmanager, stack.ProcPrometheus} {
		b, err := os.ReadFile(e.st.LogPath(name))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		e.t.Logf("--- %s log (last %d lines)\n%s", name, len(lines), strings.Join(lines, "\n"))
	}
	reqs, _ := e.st.SlackRequests(context.Background())
	for _, m := range reqs {
		e.t.Logf("slack %s ts=%s thread=%s text=%q", m.Method, m.TS, m.ThreadTS, m.Text)
	}
}

// rootAndBins finds the repository and builds the stack's binaries, as every story starts.
func rootAndBins(ctx context.Context, t *testing.T) (string, stack.Binaries) {
	t.Helper()
	root, err := repofile.FindRootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	bins, err := stack.Build(ctx, root, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	return root, bins
}
