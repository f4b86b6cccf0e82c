package alertrules

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

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

func load(t *testing.T, path string) params.Params {
	t.Helper()
	p, err := params.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// parseRules validates rendered rules the way Prometheus loads them (strict fields, PromQL,
// templates).
func parseRules(t *testing.T, b []byte) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.Parse(b, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil {
		t.FailNow()
	}
	return groups
}

func TestRulesLoadInPrometheus(t *testing.T) {
	root := repoRoot(t)
	for _, file := range []string{"", "alerts/params.yaml", "tools/testdata/e2e-params.yaml"} {
		t.Run("params="+file, func(t *testing.T) {
			path := ""
			if file != "" {
				path = filepath.Join(root, file)
			}
			p := load(t, path)
			out, err := Files(p, "test")
			if err != nil {
				t.Fatal(err)
			}
			groups := parseRules(t, out.Rules)
			var names []string
			for _, g := range groups.Groups {
				for _, r := range g.Rules {
					if r.Record != "" {
						if !strings.HasPrefix(r.Record, "argocd_monitor:") || strings.Count(r.Record, ":") != 2 {
							t.Errorf("recording rule %s is not argocd_monitor:metric:operations", r.Record)
						}
						continue
					}
					names = append(names, r.Alert)
					a := p.Alerts[r.Alert]
					if got := time.Duration(r.For); got != time.Duration(a.For) {
						t.Errorf("%s: for %v, want %v", r.Alert, got, a.For)
					}
					if got := time.Duration(r.KeepFiringFor); got != time.Duration(a.KeepFiringFor) {
						t.Errorf("%s: keep_firing_for %v, want %v", r.Alert, got, a.KeepFiringFor)
					}
					if r.Labels["severity"] != a.Severity {
						t.Errorf("%s: severity %q, want %q", r.Alert, r.Labels["severity"], a.Severity)
					}
					for _, k := range []string{"summary", "description", "runbook_url", "dashboard_url"} {
						if r.Annotations[k] == "" {
							t.Errorf("%s: no %s annotation", r.Alert, k)
						}
					}
					if !strings.HasPrefix(r.Annotations["dashboard_url"], p.GrafanaBase()+"/d/") {
						t.Errorf("%s: dashboard_url %q not under %s", r.Alert, r.Annotations["dashboard_url"], p.GrafanaURL)
					}
					if !strings.Contains(r.Expr, p.ExporterSelector) && !strings.Contains(r.Expr, p.BridgeSelector) &&
						!(p.Components.Enabled && strings.Contains(r.Expr, p.Components.Selector)) {
						t.Errorf("%s: expr does not use the job selectors: %s", r.Alert, r.Expr)
					}
				}
			}
			want := params.MonitorAlerts
			if p.Components.Enabled {
				want = params.AlertNames
			}
			if strings.Join(names, ",") != strings.Join(want, ",") {
				t.Errorf("alerts %v, want %v", names, want)
			}
		})
	}
}

// One parameter removes the Argo CD component group, alerts and recording rule alike.
func TestComponentsCanBeRemoved(t *testing.T) {
	p := params.Default()
	p.Components.Enabled = false
	g, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, grp := range g.Groups {
		if grp.Name == componentsGroup {
			t.Fatal("components group generated although disabled")
		}
		for _, r := range grp.Rules {
			if strings.Contains(r.Expr, p.Components.Selector) {
				t.Errorf("%s%s reads Argo CD's metrics", r.Alert, r.Record)
			}
		}
	}
}

// Two exporter replicas export the same app series (issue 14): every aggregation over app series
// in a recording rule first keeps one series per app.
func TestRecordsDedupeReplicas(t *testing.T) {
	g, err := Build(params.Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, grp := range g.Groups {
		if grp.Name != recordingGroup {
			continue
		}
		for _, r := range grp.Rules {
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
			if err != nil {
				t.Fatal(err)
			}
			parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
				vs, ok := n.(*parser.VectorSelector)
				if !ok || !strings.HasPrefix(vs.Name, "argocd_monitor_app_") {
					return nil
				}
				for i := len(path) - 1; i >= 0; i-- {
					if a, ok := path[i].(*parser.AggregateExpr); ok {
						if a.Op != parser.MAX || len(a.Grouping) < 4 || strings.Join(a.Grouping[:4], ",") != "argocd,namespace,name,project" {
							t.Errorf("%s: %s first aggregated by %s %v, not max by the app", r.Record, vs.Name, a.Op, a.Grouping)
						}
						return nil
					}
				}
				t.Errorf("%s: %s not deduplicated", r.Record, vs.Name)
				return nil
			})
		}
	}
}

// The app alerts must keep the routing labels the bridge renders, and only labels that survive an
// exporter pod replacement: the per-app expression is max by (job, argocd, namespace, name,
// project, [state]); inside, every set operation matches on exactly the app's labels (argocd: the
// Argo CD instance in a federated store, docs/scale.md). Around it, the fleet labels (dest_server,
// parent_kind, parent) are joined from app_info, falling back to the bare expression for an app
// without app_info.
func TestAppAlertsKeepRoutingLabels(t *testing.T) {
	g, err := Build(params.Default())
	if err != nil {
		t.Fatal(err)
	}
	unparen := func(e parser.Expr) parser.Expr {
		for {
			p, ok := e.(*parser.ParenExpr)
			if !ok {
				return e
			}
			e = p.Expr
		}
	}
	for _, r := range g.Groups[0].Rules {
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
		if err != nil {
			t.Fatal(err)
		}
		or, ok := expr.(*parser.BinaryExpr)
		if !ok || or.Op != parser.LOR || strings.Join(or.VectorMatching.MatchingLabels, ",") != "argocd,namespace,name,project" {
			t.Errorf("%s: outermost operation is not `or on (argocd, namespace, name, project)`: %s", r.Alert, r.Expr)
			continue
		}
		join, ok := or.LHS.(*parser.BinaryExpr)
		if !ok || join.Op != parser.MUL || join.VectorMatching.Card != parser.CardManyToOne ||
			strings.Join(join.VectorMatching.Include, ",") != "dest_server,parent_kind,parent" ||
			unparen(join.LHS).String() != unparen(or.RHS).String() {
			t.Errorf("%s: not the per-app expression joined with app_info's fleet labels, or else itself: %s", r.Alert, r.Expr)
			continue
		}
		top, ok := unparen(or.RHS).(*parser.AggregateExpr)
		if !ok || top.Op != parser.MAX || top.Without {
			t.Errorf("%s: outermost operation is not max by (...): %s", r.Alert, r.Expr)
			continue
		}
		if by := strings.Join(top.Grouping, ","); !strings.HasPrefix(by, "job,argocd,namespace,name,project") || len(top.Grouping) > 6 {
			t.Errorf("%s: grouped by %s", r.Alert, by)
		}
		parser.Inspect(top.Expr, func(n parser.Node, _ []parser.Node) error {
			switch n := n.(type) {
			case *parser.AggregateExpr:
				t.Errorf("%s: inner aggregation %s", r.Alert, n)
			case *parser.BinaryExpr:
				if n.VectorMatching != nil && n.VectorMatching.Card == parser.CardManyToMany &&
					strings.Join(n.VectorMatching.MatchingLabels, ",") != "argocd,namespace,name,project" {
					t.Errorf("%s: %s matches on %v", r.Alert, n.Op, n.VectorMatching.MatchingLabels)
				}
			}
			return nil
		})
		if !strings.Contains(r.Annotations["dashboard_url"], "/d/"+params.AppUID+"/") ||
			!strings.Contains(r.Annotations["dashboard_url"], "var-namespace={{ $labels.namespace }}") ||
			!strings.Contains(r.Annotations["dashboard_url"], "var-name={{ $labels.name }}") {
			t.Errorf("%s: dashboard_url %q does not open the app dashboard for the app", r.Alert, r.Annotations["dashboard_url"])
		}
	}
}

func TestRulesReadOnlyExposedMetrics(t *testing.T) {
	root := repoRoot(t)
	fams, err := promcheck.LoadRepoFamilies(root)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(params.Default())
	if err != nil {
		t.Fatal(err)
	}
	fams.Add(g.Records()...)
	for _, grp := range g.Groups {
		for _, r := range grp.Rules {
			if err := fams.Check(r.Expr); err != nil {
				t.Errorf("%s%s: %v", r.Alert, r.Record, err)
			}
		}
	}
}

func TestPrometheusRuleManifest(t *testing.T) {
	out, err := Files(params.Default(), "defaults")
	if err != nil {
		t.Fatal(err)
	}
	var pr prometheusRule
	dec := yamlStrict(out.PrometheusRule)
	if err := dec.Decode(&pr); err != nil {
		t.Fatal(err)
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" || pr.Metadata.Name != "argocd-monitor" {
		t.Errorf("header %+v", pr)
	}
	// The manifest's spec is exactly the rule file's content.
	rules := bytes.SplitN(out.Rules, []byte("groups:"), 2)[1]
	spec, err := encode(pr.Spec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.SplitN(spec, []byte("groups:"), 2)[1], rules) {
		t.Error("PrometheusRule spec differs from the rule file")
	}
}

func yamlStrict(b []byte) *yaml.Decoder {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec
}

// Every alert's runbook_url anchor must exist: a "## <AlertName>" heading per alert, and no
// section for an alert that does not exist.
func TestRunbookHasASectionPerAlert(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "alerts", "RUNBOOK.md"))
	if err != nil {
		t.Fatal(err)
	}
	var headings []string
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			headings = append(headings, strings.TrimSpace(h))
		}
	}
	if strings.Join(headings, ",") != strings.Join(params.AlertNames, ",") {
		t.Errorf("RUNBOOK.md sections %v, want one per alert in rule order %v", headings, params.AlertNames)
	}
	if !strings.Contains(string(b), "cannot reach you through the bridge") {
		t.Error("RUNBOOK.md does not say that ArgoCDMonitorBridgeFailing cannot be delivered through the bridge")
	}
}
