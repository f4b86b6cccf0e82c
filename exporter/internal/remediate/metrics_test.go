package remediate

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// metricsScenario leaves one app paused, one waiting for its 2nd attempt,
// one recovered and one healthy from the start.
func metricsScenario(t *testing.T) *scenario {
	s := newScenario(t, testConfig())
	s.fake.add(&fakeApp{app: outOfSync("stuck")})
	s.fake.add(&fakeApp{app: outOfSync("fixable"), fixable: true})
	healthy := outOfSync("fine")
	healthy.Sync = argocd.SyncSynced
	s.fake.add(&fakeApp{app: healthy})
	s.run(10 * time.Minute)
	late := outOfSync("late")
	late.Project = "payments"
	late.Namespace = "team-a"
	s.fake.add(&fakeApp{app: late})
	s.run(3 * time.Minute) // two attempts failed, the 3rd scheduled
	return s
}

func TestMetricsGolden(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := metricsScenario(t)
		golden := filepath.Join("testdata", "metrics.prom")
		if *update {
			reg := newTestRegistry(t, s.eng)
			text := gatherText(t, reg)
			if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if err := testutil.CollectAndCompare(s.eng, strings.NewReader(string(want))); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMetricsLint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := metricsScenario(t)
		problems, err := testutil.CollectAndLint(s.eng)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	})
}

// TestAppMetrics: the rows the collector renders as the per-app gauges.
func TestAppMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := metricsScenario(t)
		got := map[string]AppMetric{}
		for _, m := range s.eng.AppMetrics() {
			got[m.Namespace+"/"+m.Name] = m
		}
		want := map[string]AppMetric{
			"argocd/fine":    {Namespace: "argocd", Name: "fine", Project: "default"},
			"argocd/fixable": {Namespace: "argocd", Name: "fixable", Project: "default"},
			"argocd/stuck":   {Namespace: "argocd", Name: "stuck", Project: "default", Attempts: 3, Paused: true},
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %+v, want %+v", k, got[k], w)
			}
		}
		late := got["team-a/late"]
		if late.Project != "payments" || late.Attempts != 2 || late.Paused || late.NextAttempt.IsZero() {
			t.Errorf("team-a/late: %+v, want 2 attempts, not paused, the 3rd scheduled", late)
		}
		if len(got) != 4 {
			t.Errorf("%d rows, want 4: %+v", len(got), got)
		}
	})
}
