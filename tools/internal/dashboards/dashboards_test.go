package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
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
		params.OverviewUID: "Argo CD Monitor / Overview",
		params.AppUID:      "Argo CD Monitor / Application",
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
		needed := map[string]string{"datasource": "datasource", "namespace": "query", "project": "query", "argocd_url": "constant"}
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
	for from, to := range map[string]string{params.OverviewUID: params.AppDashboardPath, params.AppUID: params.OverviewDashboardPath} {
		found := false
		for _, l := range models[from].Links {
			found = found || (l.URL == to && l.IncludeVars)
		}
		if !found {
			t.Errorf("%s has no link to %s carrying the variables", from, to)
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
	models, _ := rendered(t)
	vars := map[string]map[string]string{
		params.OverviewUID: {"namespace": ".*", "project": ".*"},
		params.AppUID:      {"namespace": "argocd", "project": ".*", "name": "stuck"},
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

// syntheticSeries is 30 minutes of three apps (stuck: Degraded, OutOfSync, last sync Failed,
// paused after 3 attempts; fixing: Progressing, OutOfSync, a retry scheduled; ok: Healthy and
// Synced) plus the exporter's and the bridge's own metrics.
func syntheticSeries() string {
	var b strings.Builder
	b.WriteString("load 1m\n")
	const exp = `job="argocd-monitor-exporter", instance="exporter:9797"`
	const br = `job="argocd-monitor-bridge", instance="bridge:9798"`
	series := func(metric, labels, values string) {
		fmt.Fprintf(&b, "  %s{%s} %s\n", metric, labels, values)
	}
	stateSet := func(metric, label, app string, states []state, current string) {
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
		series("argocd_monitor_app_info", fmt.Sprintf(`%s, %s, repo="https://git.example.com/%s.git", dest_server="https://kubernetes.default.svc", dest_namespace=%q, auto_sync="false"`, exp, app, a.name, a.name), "1x30")
		stateSet("argocd_monitor_app_health_status", "health_status", app, healthStates, a.health)
		stateSet("argocd_monitor_app_sync_status", "sync_status", app, syncStates, a.sync)
		stateSet("argocd_monitor_app_operation_phase", "phase", app, phases, a.phase)
		series("argocd_monitor_app_reconciled_timestamp_seconds", exp+", "+app, "0+60x30")
		series("argocd_monitor_app_health_transition_timestamp_seconds", exp+", "+app, "60x30")
		series("argocd_monitor_app_remediation_attempts", exp+", "+app, a.attempts)
		series("argocd_monitor_app_remediation_paused", exp+", "+app, a.paused)
		if a.next != "" {
			series("argocd_monitor_app_remediation_next_attempt_timestamp_seconds", exp+", "+app, a.next)
		}
		series("argocd_monitor_remediation_syncs_total", exp+", "+app+`, result="triggered"`, "0+1x30")
		series("argocd_monitor_remediation_syncs_total", exp+", "+app+`, result="failed"`, "0+1x30")
	}
	series("up", exp, "1x30")
	series("up", br, "1x30")
	series("argocd_monitor_api_up", exp, "1x30")
	series("argocd_monitor_apps", exp, "3x30")
	series("argocd_monitor_last_poll_success_timestamp_seconds", exp, "0+60x30")
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
	return b.String()
}

func TestGeneratedFilesAreFresh(t *testing.T) {
	root := repoRoot(t)
	const paramsFile = "alerts/params.yaml"
	p, err := params.Load(filepath.Join(root, paramsFile))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Files(p, paramsFile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"deploy/components/prometheus-operator/grafana-dashboards.yaml": out.ConfigMaps}
	for name, b := range out.JSON {
		want["dashboards/"+name] = b
	}
	for path, w := range want {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%s: %v (run `make generate`)", path, err)
			continue
		}
		if !bytes.Equal(got, w) {
			t.Errorf("%s is out of date with tools/internal/dashboards and %s: run `make generate` and commit the result", path, paramsFile)
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, "dashboards"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := out.JSON[e.Name()]; !ok && strings.HasSuffix(e.Name(), ".json") {
			t.Errorf("dashboards/%s is not generated any more: delete it", e.Name())
		}
	}
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
