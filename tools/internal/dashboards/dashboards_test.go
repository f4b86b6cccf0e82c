package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
	"go.yaml.in/yaml/v3"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/alertrules"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/promcheck"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := repofile.FindRootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// model is the part of the rendered JSON the tests look at.
type model struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
	Links  []struct {
		URL         string `json:"url"`
		IncludeVars bool   `json:"includeVars"`
	} `json:"links"`
	Templating struct {
		List []struct {
			Type  string `json:"type"`
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		RefID      string `json:"refId"`
		Expr       string `json:"expr"`
		Instant    bool   `json:"instant"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func rendered(t *testing.T) (map[string]model, Output) {
	t.Helper()
	out, err := Files(params.Default(), "defaults")
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]model{}
	for name, b := range out.JSON {
		var m model
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		models[m.UID] = m
	}
	return models, out
}

func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

func TestDashboardsContract(t *testing.T) {
	models, out := rendered(t)
	want := map[string]string{
		params.OverviewUID:   "Argo CD Monitor / Overview",
		params.AppUID:        "Argo CD Monitor / Application",
		params.ComponentsUID: "Argo CD Monitor / Argo CD components",
	}
	if len(models) != len(want) {
		t.Fatalf("%d dashboards, want %d", len(models), len(want))
	}
	for uid, title := range want {
		m, ok := models[uid]
		if !ok || m.Title != title {
			t.Errorf("dashboard %s: title %q, want %q", uid, m.Title, title)
		}
		if _, ok := out.JSON[uid+".json"]; !ok {
			t.Errorf("no file %s.json", uid)
		}
		vars := map[string]string{}
		for _, v := range m.Templating.List {
			vars[v.Name] = v.Type
		}
		needed := map[string]string{"datasource": "datasource", "argocd_url": "constant"}
		if uid != params.ComponentsUID {
			needed["namespace"], needed["project"] = "query", "query"
		}
		if uid == params.AppUID {
			needed["name"] = "query"
		}
		for name, typ := range needed {
			if vars[name] != typ {
				t.Errorf("%s: variable %s is %q, want %q", uid, name, vars[name], typ)
			}
		}
		ids := map[int]bool{}
		for _, p := range allPanels(m.Panels) {
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("%s: panel %q has id %d, not unique", uid, p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.GridPos.X+p.GridPos.W > 24 || p.GridPos.W == 0 || p.GridPos.H == 0 {
				t.Errorf("%s: panel %q at %+v outside the grid", uid, p.Title, p.GridPos)
			}
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", uid, p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if tg.Datasource.UID != "${datasource}" {
					t.Errorf("%s: %q queries datasource %q, not the variable", uid, p.Title, tg.Datasource.UID)
				}
				if tg.RefID == "" || refs[tg.RefID] {
					t.Errorf("%s: %q has a missing or duplicate refId %q", uid, p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
			}
		}
		checkNoOverlap(t, uid, allPanels(m.Panels))
	}
	// The dashboards link to each other.
	for _, l := range []struct {
		from, to string
		vars     bool
	}{
		{params.OverviewUID, params.AppDashboardPath, true},
		{params.AppUID, params.OverviewDashboardPath, true},
		{params.OverviewUID, params.ComponentsDashboardPath, false},
		{params.ComponentsUID, params.OverviewDashboardPath, false},
	} {
		found := false
		for _, got := range models[l.from].Links {
			found = found || (got.URL == l.to && got.IncludeVars == l.vars)
		}
		if !found {
			t.Errorf("%s has no link to %s (variables: %v)", l.from, l.to, l.vars)
		}
	}
}

func checkNoOverlap(t *testing.T, uid string, ps []panel) {
	t.Helper()
	for i, a := range ps {
		for _, b := range ps[i+1:] {
			if a.GridPos.X < b.GridPos.X+b.GridPos.W && b.GridPos.X < a.GridPos.X+a.GridPos.W &&
				a.GridPos.Y < b.GridPos.Y+b.GridPos.H && b.GridPos.Y < a.GridPos.Y+a.GridPos.H {
				t.Errorf("%s: panels %q and %q overlap", uid, a.Title, b.Title)
			}
		}
	}
}

// The alerts' dashboard_url must open the app dashboard with variables it really has.
func TestAlertDashboardURLsMatchVariables(t *testing.T) {
	models, _ := rendered(t)
	vars := map[string]bool{}
	for _, v := range models[params.AppUID].Templating.List {
		vars[v.Name] = true
	}
	g, err := alertrules.Build(params.Default())
	if err != nil {
		t.Fatal(err)
	}
	varRE := regexp.MustCompile(`[?&]var-([a-z_]+)=`)
	for _, grp := range g.Groups {
		for _, r := range grp.Rules {
			u := r.Annotations["dashboard_url"]
			if !strings.Contains(u, params.AppDashboardPath) {
				continue
			}
			ms := varRE.FindAllStringSubmatch(u, -1)
			if len(ms) == 0 {
				t.Errorf("%s: dashboard_url %q sets no variable", r.Alert, u)
			}
			for _, m := range ms {
				if !vars[m[1]] {
					t.Errorf("%s: dashboard_url sets var-%s, which the app dashboard lacks", r.Alert, m[1])
				}
			}
		}
	}
}

// labelValuesRE extracts the selector of a Grafana label_values() variable query.
var labelValuesRE = regexp.MustCompile(`^label_values\((.*),\s*([a-z_]+)\)$`)

// promQuery is one query of a dashboard and how Grafana runs it.
type promQuery struct {
	expr    string
	instant bool
}

// queries returns every PromQL expression of a dashboard: panel targets and variable queries
// (label_values runs over the dashboard's time range, like a range query).
func queries(t *testing.T, m model) []promQuery {
	t.Helper()
	var qs []promQuery
	for _, p := range allPanels(m.Panels) {
		for _, tg := range p.Targets {
			qs = append(qs, promQuery{tg.Expr, tg.Instant})
		}
	}
	for _, v := range m.Templating.List {
		if v.Type != "query" {
			continue
		}
		s, _ := v.Query.(string)
		mm := labelValuesRE.FindStringSubmatch(s)
		if mm == nil {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, s)
			continue
		}
		qs = append(qs, promQuery{expr: mm[1]})
	}
	return qs
}

func TestQueriesReadOnlyExposedMetrics(t *testing.T) {
	root := repoRoot(t)
	fams, err := promcheck.LoadRepoFamilies(root)
	if err != nil {
		t.Fatal(err)
	}
	g, err := alertrules.Build(params.Default())
	if err != nil {
		t.Fatal(err)
	}
	fams.Add(g.Records()...)
	models, _ := rendered(t)
	for uid, m := range models {
		for _, q := range queries(t, m) {
			if err := fams.Check(q.expr); err != nil {
				t.Errorf("%s: %v", uid, err)
			}
		}
	}
}

// TestQueriesReturnDataOnRealisticSeries evaluates every query with Prometheus' engine over
// series shaped like the exporter's and the bridge's (state sets, counters, histograms), so a
// query that parses but can never match (a wrong label, a join that drops everything) fails here
// rather than in the end-to-end test.
func TestQueriesReturnDataOnRealisticSeries(t *testing.T) {
	storage := promqltest.LoadedStorage(t, syntheticSeries())
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, promqltest.DefaultMaxSamplesPerQuery)
	at := time.Unix(0, 0).Add(30 * time.Minute)
	recordRules(t, engine, storage, time.Unix(0, 0), at)
	models, _ := rendered(t)
	vars := map[string]map[string]string{
		params.OverviewUID:   {"argocd": ".*", "namespace": ".*", "project": ".*"},
		params.AppUID:        {"argocd": ".*", "namespace": "argocd", "project": ".*", "name": "stuck"},
		params.ComponentsUID: {"argocd": ".*"},
	}
	for uid, m := range models {
		for _, q := range queries(t, m) {
			expr := substitute(q.expr, vars[uid])
			var res string
			if q.instant {
				res = eval(t, engine, storage, expr, at)
			} else {
				res = evalRange(t, engine, storage, expr, at.Add(-30*time.Minute), at)
			}
			if res == "" {
				t.Errorf("%s: no data for\n%s", uid, expr)
			}
		}
	}

	// The problem apps table lists exactly the apps not both Synced and Healthy.
	got := eval(t, engine, storage, substitute(problemApps(overviewFilter), vars[params.OverviewUID]), at)
	for _, want := range []string{`name="stuck"`, `name="fixing"`} {
		if !strings.Contains(got, want) {
			t.Errorf("problem apps lack %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, `name="ok"`) {
		t.Errorf("problem apps list the healthy app:\n%s", got)
	}
	// Two exporter replicas export every app series: each app still counts once.
	for expr, want := range map[string]string{
		fmt.Sprintf("sum(%s)", alertrules.RecordApps):                                              "{} => 3",
		fmt.Sprintf(`sum(%s{health_status="Degraded"})`, alertrules.RecordHealth):                  "{} => 1",
		fmt.Sprintf(`sum(%s{sync_status="OutOfSync"})`, alertrules.RecordSync):                     "{} => 2",
		fmt.Sprintf("sum(%s)", alertrules.RecordPaused):                                            "{} => 1",
		fmt.Sprintf("sum(%s)", alertrules.RecordRemediating):                                       "{} => 1",
		"count(" + strings.SplitN(problemApps(`namespace=~".*", project=~".*"`), "\n", 2)[0] + ")": "{} => 3",
	} {
		if got := eval(t, engine, storage, expr, at); got != want {
			t.Errorf("%s:\ngot %s, want %s", expr, got, want)
		}
	}
	// The encoded state of the stuck app is Degraded (index 3) and OutOfSync (2).
	for expr, want := range map[string]string{
		encodedState("argocd_monitor_app_health_status", "health_status", appFilter, healthStates): "=> 3",
		encodedState("argocd_monitor_app_sync_status", "sync_status", appFilter, syncStates):       "=> 2",
		encodedState("argocd_monitor_app_operation_phase", "phase", appFilter, phases):             "=> 3",
	} {
		if got := eval(t, engine, storage, substitute(expr, vars[params.AppUID]), at); !strings.Contains(got, want) {
			t.Errorf("%s:\ngot %s, want %s", expr, got, want)
		}
	}
}

var varRE = regexp.MustCompile(`\$(\w+)`)

// substitute replaces Grafana variables with the values a user would pick.
func substitute(q string, vars map[string]string) string {
	return varRE.ReplaceAllStringFunc(q, func(v string) string {
		if v == "$__rate_interval" {
			return "5m"
		}
		if val, ok := vars[v[1:]]; ok {
			return val
		}
		return v
	})
}

// run executes a query built by newQuery and returns its result as text ("" when empty or failed).
func run(t *testing.T, expr string, newQuery func() (promql.Query, error)) string {
	t.Helper()
	q, err := newQuery()
	if err != nil {
		t.Errorf("%s: %v", expr, err)
		return ""
	}
	defer q.Close()
	r := q.Exec(context.Background())
	if r.Err != nil {
		t.Errorf("%s: %v", expr, r.Err)
		return ""
	}
	switch v := r.Value.(type) {
	case promql.Vector:
		var lines []string
		for _, s := range v {
			lines = append(lines, fmt.Sprintf("%s => %g", s.Metric, s.F))
		}
		sort.Strings(lines)
		return strings.Join(lines, "\n")
	case promql.Matrix:
		if len(v) == 0 {
			return ""
		}
		return v.String()
	case promql.Scalar:
		return fmt.Sprintf("scalar => %g", v.V)
	default:
		t.Errorf("%s: unexpected result type %T", expr, r.Value)
		return ""
	}
}

// eval runs expr as an instant query at at.
func eval(t *testing.T, engine *promql.Engine, storage storage.Queryable, expr string, at time.Time) string {
	t.Helper()
	return run(t, expr, func() (promql.Query, error) {
		return engine.NewInstantQuery(context.Background(), storage, nil, expr, at)
	})
}

// evalRange runs expr as Grafana's range query does, one step a minute.
func evalRange(t *testing.T, engine *promql.Engine, storage storage.Queryable, expr string, from, to time.Time) string {
	t.Helper()
	return run(t, expr, func() (promql.Query, error) {
		return engine.NewRangeQuery(context.Background(), storage, nil, expr, from, to, time.Minute)
	})
}

// recordRules evaluates the generated recording rules once a minute over the storage and appends
// what they write, in rule order, as Prometheus' rule manager does.
func recordRules(t testing.TB, engine *promql.Engine, st *teststorage.TestStorage, from, to time.Time) {
	t.Helper()
	g, err := alertrules.Build(params.Default())
	if err != nil {
		t.Fatal(err)
	}
	var rs []*rules.RecordingRule
	for _, grp := range g.Groups {
		for _, r := range grp.Rules {
			if r.Record == "" {
				continue
			}
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, rules.NewRecordingRule(r.Record, expr, labels.EmptyLabels()))
		}
	}
	ctx := context.Background()
	q := rules.EngineQueryFunc(engine, st)
	for ts := from; !ts.After(to); ts = ts.Add(time.Minute) {
		for _, r := range rs {
			vec, err := r.Eval(ctx, 0, ts, q, nil, 0)
			if err != nil {
				t.Fatalf("%s at %s: %v", r.Name(), ts, err)
			}
			app := st.Appender(ctx)
			for _, s := range vec {
				if _, err := app.Append(0, s.Metric, ts.UnixMilli(), s.F); err != nil {
					t.Fatal(err)
				}
			}
			if err := app.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// syntheticSeries is 30 minutes of three apps (stuck: Degraded, OutOfSync, last sync Failed,
// paused after 3 attempts; fixing: Progressing, OutOfSync, a retry scheduled; ok: Healthy and
// Synced), exported by two exporter replicas as in an HA setup, plus the exporter's and the
// bridge's own metrics and Argo CD's (its 3.x names and labels).
func syntheticSeries() string {
	var b strings.Builder
	b.WriteString("load 1m\n")
	const exp = `job="argocd-monitor-exporter", instance="exporter:9797"`
	const exp2 = `job="argocd-monitor-exporter", instance="exporter-2:9797"`
	const br = `job="argocd-monitor-bridge", instance="bridge:9798"`
	series := func(metric, labels, values string) {
		fmt.Fprintf(&b, "  %s{%s} %s\n", metric, labels, values)
	}
	stateSet := func(exp, metric, label, app string, states []state, current string) {
		for _, s := range states {
			v := "0x30"
			if s.name == current {
				v = "1x30"
			}
			series(metric, fmt.Sprintf(`%s, %s, %s=%q`, exp, app, label, s.name), v)
		}
	}
	for _, a := range []struct{ name, health, sync, phase, attempts, paused, next string }{
		{"stuck", "Degraded", "OutOfSync", "Failed", "0 1x9 2x9 3x10", "0x20 1x10", "_ 120x9 600x9"},
		{"fixing", "Progressing", "OutOfSync", "Running", "0x20 1x10", "0x30", "_x20 1900x10"},
		{"ok", "Healthy", "Synced", "Succeeded", "0x30", "0x30", ""},
	} {
		app := fmt.Sprintf(`namespace="argocd", name=%q, project="retail"`, a.name)
		for _, exp := range []string{exp, exp2} {
			series("argocd_monitor_app_info", fmt.Sprintf(`%s, %s, repo="https://git.example.com/%s.git", dest_server="https://kubernetes.default.svc", dest_namespace=%q, auto_sync="false"`, exp, app, a.name, a.name), "1x30")
			stateSet(exp, "argocd_monitor_app_health_status", "health_status", app, healthStates, a.health)
			stateSet(exp, "argocd_monitor_app_sync_status", "sync_status", app, syncStates, a.sync)
			stateSet(exp, "argocd_monitor_app_operation_phase", "phase", app, phases, a.phase)
			series("argocd_monitor_app_reconciled_timestamp_seconds", exp+", "+app, "0+60x30")
			series("argocd_monitor_app_health_transition_timestamp_seconds", exp+", "+app, "60x30")
			series("argocd_monitor_app_remediation_attempts", exp+", "+app, a.attempts)
			series("argocd_monitor_app_remediation_paused", exp+", "+app, a.paused)
			if a.next != "" {
				series("argocd_monitor_app_remediation_next_attempt_timestamp_seconds", exp+", "+app, a.next)
			}
		}
		// Syncs are the active replica's own actions: only it counts them.
		series("argocd_monitor_remediation_syncs_total", exp+", "+app+`, result="triggered"`, "0+1x30")
		series("argocd_monitor_remediation_syncs_total", exp+", "+app+`, result="failed"`, "0+1x30")
	}
	series("up", exp, "1x30")
	series("up", exp2, "1x30")
	series("up", br, "1x30")
	series("argocd_monitor_api_up", exp, "1x30")
	series("argocd_monitor_api_up", exp2, "1x30")
	series("argocd_monitor_apps", exp, "3x30")
	series("argocd_monitor_apps", exp2, "3x30")
	series("argocd_monitor_last_poll_success_timestamp_seconds", exp, "0+60x30")
	series("argocd_monitor_watch_up", exp, "1x30")
	series("argocd_monitor_watch_up", exp2, "1x30")
	series("argocd_monitor_watch_events_total", exp+`, type="modified"`, "0+5x30")
	series("argocd_monitor_watch_events_total", exp+`, type="keepalive"`, "0+4x30")
	series("argocd_monitor_api_requests_total", exp+`, endpoint="list", code="200"`, "0+2x30")
	series("argocd_monitor_api_requests_total", exp+`, endpoint="sync", code="400"`, "0+1x30")
	series("argocd_monitor_build_info", exp+`, version="1.0.0", revision="abc", branch="main", goversion="go1.26"`, "1x30")
	series("argocd_monitor_bridge_build_info", br+`, version="1.0.0", revision="abc", branch="main", goversion="go1.26"`, "1x30")
	for _, h := range []struct{ name, sel string }{
		{"argocd_monitor_poll_duration_seconds", exp},
		{"argocd_monitor_bridge_slack_request_duration_seconds", br},
	} {
		for le, v := range map[string]string{"0.1": "0+1x30", "1": "0+2x30", "+Inf": "0+2x30"} {
			series(h.name+"_bucket", fmt.Sprintf(`%s, le=%q`, h.sel, le), v)
		}
		series(h.name+"_sum", h.sel, "0+0.5x30")
		series(h.name+"_count", h.sel, "0+2x30")
	}
	series("argocd_monitor_bridge_webhooks_total", br+`, code="200"`, "0+3x30")
	series("argocd_monitor_bridge_notifications_total", br+`, route="default", status="firing"`, "0+3x30")
	series("argocd_monitor_bridge_slack_requests_total", br+`, method="chat.postMessage", result="ok"`, "0+3x30")

	const ctl = `job="argocd-metrics", instance="10.0.0.5:8082"`
	const repo = `job="argocd-repo-server", instance="10.0.0.8:8084", repo="https://git.example.com/stuck.git"`
	const srv = `job="argocd-server-metrics", instance="10.0.0.4:8083"`
	const cluster = `server="https://kubernetes.default.svc"`
	series("argocd_cluster_connection_status", ctl+", "+cluster+`, k8s_version="v1.33.1"`, "1x30")
	for _, a := range []struct{ name, phase, dryRun string }{{"stuck", "Failed", "false"}, {"ok", "Succeeded", "false"}, {"ok", "Succeeded", "true"}} {
		series("argocd_app_sync_total", fmt.Sprintf(`%s, namespace="argocd", name=%q, project="retail", dest_server="https://kubernetes.default.svc", phase=%q, dry_run=%q`, ctl, a.name, a.phase, a.dryRun), "0+1x30")
	}
	series("argocd_kubectl_requests_total", ctl+`, host="10.96.0.1:443", method="GET", code="200"`, "0+10x30")
	series("argocd_kubectl_requests_total", ctl+`, host="10.96.0.1:443", method="PATCH", code="500"`, "0+1x30")
	series("argocd_kubectl_exec_pending", ctl+`, hostname="argocd-application-controller-0", command="apply"`, "2x30")
	series("argocd_kubectl_exec_total", ctl+`, hostname="argocd-application-controller-0", command="apply"`, "0+3x30")
	series("argocd_git_request_total", repo+`, request_type="fetch"`, "0+2x30")
	series("argocd_git_request_total", repo+`, request_type="ls-remote"`, "0+4x30")
	series("argocd_git_fetch_fail_total", repo+`, revision="HEAD"`, "0+1x30")
	series("argocd_git_lsremote_fail_total", repo+`, revision="main"`, "0+1x30")
	series("argocd_repo_pending_request_total", repo, "1x30")
	series("argocd_redis_request_total", srv+`, initiator="argocd-server", command="get", failed="true"`, "0+1x30")
	series("argocd_redis_request_total", srv+`, initiator="argocd-server", command="get", failed="false"`, "0+9x30")
	series("argocd_appset_info", `job="argocd-applicationset-controller", instance="10.0.0.3:8080", namespace="argocd", name="teams", resource_update_status="ApplicationSetUpToDate"`, "1x30")
	series("argocd_notifications_deliveries_total", `job="argocd-notifications-controller-metrics", instance="10.0.0.2:9001", trigger="on-sync-failed", service="slack", succeeded="true"`, "0+1x30")
	series("argocd_info", srv+`, version="v3.6.0+37ee009"`, "1x30")
	for _, h := range []struct{ name, sel string }{
		{"argocd_app_reconcile", ctl + `, namespace="argocd", ` + cluster},
		{"argocd_git_request_duration_seconds", repo + `, request_type="fetch"`},
	} {
		for le, v := range map[string]string{"0.5": "0+1x30", "4": "0+2x30", "+Inf": "0+2x30"} {
			series(h.name+"_bucket", fmt.Sprintf(`%s, le=%q`, h.sel, le), v)
		}
	}
	return b.String()
}

func TestConfigMapsCarryTheDashboards(t *testing.T) {
	_, out := rendered(t)
	dec := yaml.NewDecoder(bytes.NewReader(out.ConfigMaps))
	dec.KnownFields(true)
	seen := 0
	for {
		var cm configMap
		if err := dec.Decode(&cm); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatal(err)
		}
		seen++
		if cm.Kind != "ConfigMap" || cm.Metadata.Labels["grafana_dashboard"] != "1" {
			t.Errorf("%s: kind %q, labels %v", cm.Metadata.Name, cm.Kind, cm.Metadata.Labels)
		}
		if len(cm.Data) != 1 {
			t.Errorf("%s: %d keys", cm.Metadata.Name, len(cm.Data))
		}
		for k, v := range cm.Data {
			if !bytes.Equal([]byte(v), out.JSON[k]) {
				t.Errorf("%s: %s differs from the dashboard JSON", cm.Metadata.Name, k)
			}
		}
	}
	if seen != len(out.JSON) {
		t.Errorf("%d ConfigMaps for %d dashboards", seen, len(out.JSON))
	}
}

// Grafana's own schema (as the SDK encodes it) accepts the JSON strictly: no unknown or
// mistyped field.
func TestJSONDecodesStrictly(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	_, out := rendered(t)
	for name, b := range out.JSON {
		var d dashboard.Dashboard
		err := d.UnmarshalJSONStrict(b)
		// The SDK returns an empty cog.BuildErrors as a non-nil error on success.
		if errs, ok := err.(cog.BuildErrors); ok && len(errs) == 0 {
			err = nil
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestEverySelectorCarriesArgocd: every series selector of every panel and variable query (but
// the argocd variable's own) picks the argocd variable's instances, so a dashboard over a
// federated store shows one Argo CD at a time when asked (docs/scale.md).
func TestEverySelectorCarriesArgocd(t *testing.T) {
	models, _ := rendered(t)
	n := 0
	for uid, m := range models {
		hasVar := false
		for _, v := range m.Templating.List {
			hasVar = hasVar || (v.Name == "argocd" && v.Type == "query")
		}
		if !hasVar {
			t.Errorf("%s: no argocd query variable", uid)
		}
		for _, q := range queries(t, m) {
			if q.expr == "argocd_monitor_app_info" {
				continue // the argocd variable's own query
			}
			expr := substitute(strings.ReplaceAll(q.expr, "$argocd", "ARGOCD_VARIABLE"), map[string]string{
				"namespace": "ns", "project": "p", "name": "n"})
			e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
			if err != nil {
				t.Errorf("%s: %v\n%s", uid, err, expr)
				continue
			}
			parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
				vs, ok := node.(*parser.VectorSelector)
				if !ok {
					return nil
				}
				n++
				for _, lm := range vs.LabelMatchers {
					if lm.Name == "argocd" && lm.Type == labels.MatchRegexp && lm.Value == "ARGOCD_VARIABLE" {
						return nil
					}
				}
				t.Errorf("%s: %s lacks argocd=~\"$argocd\" in\n%s", uid, vs, q.expr)
				return nil
			})
		}
	}
	if n == 0 {
		t.Fatal("no selectors")
	}
}
