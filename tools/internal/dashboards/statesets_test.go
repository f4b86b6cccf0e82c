package dashboards

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/promqltest"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/alerttests"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

// currentShape rewrites a promqltest load block as the exporter writes it with
// --metrics.state-sets=current: state-set members and per-app values at 0 are not scraped.
func currentShape(t *testing.T, load string) string {
	t.Helper()
	var out []string
	for line := range strings.Lines(load) {
		line = strings.TrimRight(line, "\n")
		i := strings.LastIndex(line, "} ")
		if !strings.HasPrefix(line, "  ") || i < 0 {
			out = append(out, line)
			continue
		}
		series, values := line[:i+1], line[i+2:]
		v, keep, err := alerttests.CurrentSeries(strings.TrimSpace(series), values)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if keep {
			out = append(out, series+" "+v)
		}
	}
	return strings.Join(out, "\n") + "\n"
}

// TestQueriesSameInBothStateSetModes evaluates every dashboard query (panels and variables, the
// recording rules they read included) over the same fleet as the exporter writes it with
// --metrics.state-sets=full and =current: the answers must be the same.
func TestQueriesSameInBothStateSetModes(t *testing.T) {
	full := syntheticSeries()
	current := currentShape(t, full)
	if len(current) >= len(full) || strings.Contains(current, "} 0x30") {
		t.Fatalf("the current shape left the zero members in:\n%s", current)
	}
	at := time.Unix(0, 0).Add(30 * time.Minute)
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, promqltest.DefaultMaxSamplesPerQuery)
	fullStorage := promqltest.LoadedStorage(t, full)
	currentStorage := promqltest.LoadedStorage(t, current)
	recordRules(t, engine, fullStorage, time.Unix(0, 0), at)
	recordRules(t, engine, currentStorage, time.Unix(0, 0), at)
	vars := map[string]map[string]string{
		params.OverviewUID:   {"argocd": ".*", "namespace": ".*", "project": ".*"},
		params.AppUID:        {"argocd": ".*", "namespace": "argocd", "project": ".*", "name": "stuck"},
		params.ComponentsUID: {"argocd": ".*"},
	}
	models, _ := rendered(t)
	n := 0
	for uid, m := range models {
		for _, q := range queries(t, m) {
			expr := substitute(q.expr, vars[uid])
			if mm := labelValuesRE.FindStringSubmatch(q.expr); mm != nil {
				// A variable: Grafana lists the label's values.
				expr = "group by (" + mm[2] + ") (" + substitute(mm[1], vars[uid]) + ")"
			}
			for _, name := range []string{"instant", "range"} {
				var a, b string
				if name == "instant" {
					a, b = eval(t, engine, fullStorage, expr, at), eval(t, engine, currentStorage, expr, at)
				} else {
					from := at.Add(-30 * time.Minute)
					a, b = evalRange(t, engine, fullStorage, expr, from, at), evalRange(t, engine, currentStorage, expr, from, at)
				}
				n++
				if a != b {
					t.Errorf("%s, %s query differs between the modes:\n%s\n--- full:\n%s\n--- current:\n%s", uid, name, expr, a, b)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no queries")
	}
}
