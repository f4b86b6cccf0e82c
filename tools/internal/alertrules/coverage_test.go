package alertrules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

// promtoolTests is the part of a promtool test file this check reads.
type promtoolTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromqlExprTest []struct {
			Expr string `yaml:"expr"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

// Every alert has a promtool case where it fires and one where it stays quiet, and every
// recording rule is evaluated by a promtool case (alerts/tests/*.yaml, run by make test-alerts).
func TestEveryRuleHasPromtoolCases(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "alerts", "tests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool tests: %v", err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	var exprs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var pt promtoolTests
		if err := yaml.Unmarshal(b, &pt); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tc := range pt.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
			for _, e := range tc.PromqlExprTest {
				exprs = append(exprs, e.Expr)
			}
		}
	}
	for _, name := range params.AlertNames {
		if !fires[name] || !quiet[name] {
			t.Errorf("%s: promtool cases firing %v, quiet %v; want both", name, fires[name], quiet[name])
		}
	}
	g, err := Build(params.Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range g.Records() {
		if !strings.Contains(strings.Join(exprs, "\n"), rec) {
			t.Errorf("recording rule %s has no promql_expr_test", rec)
		}
	}
}
