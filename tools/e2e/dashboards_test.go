//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// TestDashboardsCurrentMode runs the stack with the exporter in --metrics.state-sets=current
// until the story's states are there (an app paused after its syncs, its alert delivered to
// Slack), and checks that every dashboard query returns data from a real Prometheus scraping
// that exporter, as TestEndToEnd checks it in full mode (issue 26).
func TestDashboardsCurrentMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, bins := rootAndBins(ctx, t)
	sim := stack.DefaultSim
	sim.Apps = 20
	st, err := stack.Start(ctx, stack.Config{
		Root: root, Work: t.TempDir(), Bin: bins, Sim: sim, StateSets: "current",
		Slack: stack.Slack{BotToken: botToken, Channel: channel, Deadline: 2 * time.Second},
		Log:   testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	e := &e2e{t: t, ctx: ctx, st: st, start: time.Now(), root: root}
	defer e.dumpOnFailure()

	e.expectValue(`argocd_monitor_api_up{job="argocd-monitor-exporter"}`, 1, 30*time.Second)
	e.expectValue(`count(argocd_monitor_app_info{namespace="argocd"})`, 26, 10*time.Second)
	// The current shape: one health series per app, no state-set member at 0.
	e.expectValue(`count(argocd_monitor_app_health_status{name="stuck"})`, 1, 5*time.Second)
	e.expectValue(`count(argocd_monitor_app_health_status == 0 or argocd_monitor_app_sync_status == 0) or vector(0)`, 0, 5*time.Second)
	e.expectValue(`argocd_monitor_app_remediation_paused{name="stuck"}`, 1, 90*time.Second)
	e.expectValue(`ALERTS{alertname="`+paused+`", name="stuck", alertstate="firing"}`, 1, 15*time.Second)
	e.eventually("a Slack message for stuck", 30*time.Second, func() (bool, string) {
		p := e.posts("argocd/stuck")
		return len(p) >= 1, fmt.Sprintf("%d posts", len(p))
	})
	// A second app paused, a second message: Slack's request rate, not just its first request.
	s, err := e.st.Query(e.ctx, `argocd_monitor_app_info{auto_sync="false", project=~"team-.*"}`)
	if err != nil || len(s) == 0 {
		t.Fatalf("no filler app without auto-sync: %v", err)
	}
	second := s[0].Metric["name"]
	if err := e.st.SetSimState(e.ctx, second, map[string]any{"health": "Degraded", "onSync": "fail"}); err != nil {
		t.Fatal(err)
	}
	e.eventually("a Slack message for "+second, 90*time.Second, func() (bool, string) {
		p := e.posts("argocd/" + second)
		return len(p) >= 1, fmt.Sprintf("%d posts", len(p))
	})
	e.eventually("Slack request latency has a rate", 30*time.Second, func() (bool, string) {
		series, err := e.st.QueryRange(e.ctx, `histogram_quantile(0.5, sum by (le) (rate(argocd_monitor_bridge_slack_request_duration_seconds_bucket[10s])))`,
			e.start, time.Now(), 2*time.Second)
		if err != nil {
			return false, err.Error()
		}
		return hasFinite(series), "no finite quantile yet"
	})
	e.dashboardQueriesReturnData()
}

type panelQuery struct {
	title, expr string
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// panelQueries returns every panel target's PromQL in a dashboard file, rows' panels included.
func panelQueries(path string) ([]panelQuery, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d struct {
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	var out []panelQuery
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				if strings.TrimSpace(t.Expr) != "" {
					out = append(out, panelQuery{title: p.Title, expr: t.Expr})
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out, nil
}

var grafanaVar = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)

// substitute replaces Grafana's variables ($name, ${name}, ${name:fmt}, [[name]]) with values;
// an unknown variable is left as it is, so the query fails to parse and the test names it.
func substitute(expr string, vars map[string]string) string {
	return grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}
