package collector_test

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/collector"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/exposition"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

type source struct{ s poller.Snapshot }

func (s source) Snapshot() poller.Snapshot { return s.s }

type remediation []remediate.AppMetric

func (r remediation) AppMetrics() []remediate.AppMetric { return slices.Clone(r) }

// fixtureRemediation: one app paused after 3 attempts, one waiting for its
// 3rd attempt, two never remediated (all 0).
func fixtureRemediation() remediation {
	return remediation{
		{Namespace: "argocd", Name: "my-app-4", Project: "important-project", Attempts: 3, Paused: true},
		{Namespace: "argocd", Name: "my-app", Project: "important-project", Attempts: 2, NextAttempt: time.Date(2026, 11, 26, 2, 4, 0, 0, time.UTC)},
		{Namespace: "argocd", Name: "my-app-2", Project: "important-project"},
		{Namespace: "fake-argocd-ns", Name: "my-app", Project: "default"},
	}
}

// fixtureApps decodes the real fixtures, with the timestamps and a
// condition-free healthy app a real List would also carry.
func fixtureApps(t *testing.T) []argocd.App {
	t.Helper()
	items := [][]byte{
		argocdsim.Patch(argocdsim.Fixture(argocdsim.AutomatedWithOperation), map[string]any{
			"status.reconciledAt": "2026-11-26T01:59:30Z", "status.health.lastTransitionTime": "2026-11-20T10:00:00Z"}),
		argocdsim.Patch(argocdsim.Fixture(argocdsim.DegradedOutOfSync), map[string]any{
			"status.reconciledAt": "2026-11-26T01:58:00Z", "status.health.lastTransitionTime": "2026-11-26T01:40:00Z"}),
		argocdsim.Fixture(argocdsim.OperationRunning),
		argocdsim.Fixture(argocdsim.OperationSucceeded),
		// A newer Argo CD's states and an operation phase we do not know.
		argocdsim.Patch(argocdsim.Fixture(argocdsim.OperationRunning), map[string]any{
			"metadata.name": "future", "status.health.status": "Stalled", "status.sync.status": "Drifting",
			"status.operationState.phase": "Paused"}),
	}
	var body bytes.Buffer
	body.WriteString(`{"items":[`)
	body.Write(bytes.Join(items, []byte(",")))
	body.WriteString(`]}`)
	apps, err := argocd.DecodeList(&body)
	if err != nil {
		t.Fatal(err)
	}
	// What the poller stamps: when the sync status was first seen.
	apps[1].SyncSince = time.Date(2026, 11, 26, 0, 30, 0, 0, time.UTC)
	return apps
}

func golden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	return want
}

func render(t *testing.T, c prometheus.Collector) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	return []byte(textOf(t, reg))
}

func TestCollectorGolden(t *testing.T) {
	last := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	current := collector.Config{StateSets: collector.StateSetsCurrent, Remediation: fixtureRemediation()}
	for _, tc := range []struct {
		name   string
		snap   poller.Snapshot
		golden string
		cfg    collector.Config
	}{
		{"up", poller.Snapshot{Apps: fixtureApps(t), Up: true, LastSuccess: last, Attempted: true}, "up.prom",
			collector.Config{Remediation: fixtureRemediation()}},
		// Only the members that are 1 and no per-app zeros: app "future"
		// (an operation phase we do not know) has no phase series.
		{"up, current", poller.Snapshot{Apps: fixtureApps(t), Up: true, LastSuccess: last, Attempted: true}, "up-current.prom", current},
		{"down, stale, current", poller.Snapshot{Up: false, LastSuccess: last, Attempted: true}, "down-stale-current.prom", current},
		// Argo CD down but the snapshot is fresh: app series stay, api_up 0.
		{"down, fresh snapshot", poller.Snapshot{Apps: fixtureApps(t)[:1], Up: false, LastSuccess: last, Attempted: true}, "down-fresh.prom", collector.Config{}},
		// Down past stale-after: the poller withholds the apps.
		{"down, stale", poller.Snapshot{Up: false, LastSuccess: last, Attempted: true}, "down-stale.prom", collector.Config{}},
		{"never polled", poller.Snapshot{}, "never.prom", collector.Config{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := collector.New(source{tc.snap}, tc.cfg)
			want := golden(t, tc.golden, render(t, c))
			if err := testutil.CollectAndCompare(c, bytes.NewReader(want)); err != nil {
				t.Fatal(err)
			}
			problems, err := testutil.CollectAndLint(c)
			if err != nil || len(problems) != 0 {
				t.Fatalf("lint: %v %+v", err, problems)
			}
		})
	}
}

func TestStateSetsHaveExactlyOneActiveState(t *testing.T) {
	c := collector.New(source{poller.Snapshot{Apps: fixtureApps(t), Up: true}}, collector.Config{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		name := mf.GetName()
		if name != "argocd_monitor_app_health_status" && name != "argocd_monitor_app_sync_status" {
			continue
		}
		perApp := map[string][2]int{} // series, sum
		for _, m := range mf.GetMetric() {
			var key []string
			for _, l := range m.GetLabel() {
				if l.GetName() == "namespace" || l.GetName() == "name" {
					key = append(key, l.GetValue())
				}
			}
			k := strings.Join(key, "/")
			v := perApp[k]
			v[0]++
			v[1] += int(m.GetGauge().GetValue())
			perApp[k] = v
		}
		want := map[string]int{"argocd_monitor_app_health_status": len(argocd.HealthStatuses), "argocd_monitor_app_sync_status": len(argocd.SyncStatuses)}[name]
		for k, v := range perApp {
			if v[0] != want || v[1] != 1 {
				t.Errorf("%s %s: %d series summing to %d, want %d summing to 1", name, k, v[0], v[1], want)
			}
		}
	}
}

// textOf renders what g gathers as exposition text. (testutil.GatherAndFormat
// with expfmt.TypeTextPlain writes nothing with prometheus/common v0.73, which
// made -update write empty files and the comparisons below vacuous.)
func textOf(t testing.TB, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// variedApps is 1k padded apps that differ in everything a sort key or a
// family depends on.
func variedApps(t *testing.T) []argocd.App {
	t.Helper()
	large, err := argocd.DecodeList(argocdsim.LargeList(1000))
	if err != nil {
		t.Fatal(err)
	}
	for i := range large {
		a := &large[i]
		a.Namespace = []string{"argocd", "team-a", "apps"}[i%3]
		a.Project = []string{"p2", "p1"}[i%2]
		a.DestServer = []string{"https://b", "https://a", ""}[i%3]
		a.AutoSync = i%5 == 0
		if i%7 == 0 {
			a.Conditions = map[string]int{"SyncError": 1, "ComparisonError": 2}
		}
		if i%11 == 0 {
			a.ReconciledAt = time.Time{}
		}
		if i%13 == 0 {
			a.Repo = "https://git.example/\"quoted\"\\path\n"
			a.Operation = nil
		}
		if i%17 == 0 {
			a.SyncSince = time.Unix(1700000000, int64(i)*1e6)
		}
	}
	return large
}

type snapshotCase struct {
	name string
	snap poller.Snapshot
	cfg  collector.Config
}

// snapshots are the cases of the equality tests, each in both modes.
func snapshots(t *testing.T) []snapshotCase {
	varied := variedApps(t)
	var rem remediation
	for i := range varied {
		if i%3 == 0 {
			a := &varied[i]
			r := remediate.AppMetric{Namespace: a.Namespace, Name: a.Name, Project: a.Project, Attempts: i % 4, Paused: i%9 == 0}
			if i%2 == 0 {
				r.NextAttempt = time.Unix(1700000000, int64(i)*1e6)
			}
			rem = append(rem, r)
		}
	}
	base := []snapshotCase{
		{"fixtures", poller.Snapshot{Apps: fixtureApps(t), Up: true, LastSuccess: time.Unix(1700000000, 0)}, collector.Config{Remediation: fixtureRemediation()}},
		{"1k varied", poller.Snapshot{Apps: varied, Up: false, LastSuccess: time.Unix(1700000000, 0)}, collector.Config{Remediation: rem}},
		{"stale", poller.Snapshot{Up: false, LastSuccess: time.Unix(1700000000, 0), Attempted: true}, collector.Config{}},
		{"empty", poller.Snapshot{}, collector.Config{Remediation: remediation{}}},
	}
	var out []snapshotCase
	for _, mode := range []collector.StateSets{collector.StateSetsFull, collector.StateSetsCurrent} {
		for _, c := range base {
			c.name += "/" + string(mode)
			c.cfg.StateSets = mode
			out = append(out, c)
		}
	}
	return out
}

// TestGatherMatchesRegistry: the families Gather builds must equal what a
// pedantic registry makes of Collect, which checks and sorts every series
// itself.
func TestGatherMatchesRegistry(t *testing.T) {
	for _, tc := range snapshots(t) {
		t.Run(tc.name, func(t *testing.T) {
			c := collector.New(source{tc.snap}, tc.cfg)
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(c)
			want := textOf(t, reg)
			got := textOf(t, c)
			if got != want {
				t.Fatalf("Gather differs from the registry's rendering of Collect (%d vs %d bytes)", len(got), len(want))
			}
		})
	}
}

// TestTextMatchesGather: the text families /metrics writes directly are
// byte for byte what expfmt makes of Gather, in both text syntaxes.
func TestTextMatchesGather(t *testing.T) {
	for _, tc := range snapshots(t) {
		t.Run(tc.name, func(t *testing.T) {
			c := collector.New(source{tc.snap}, tc.cfg)
			mfs, err := c.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, om := range []bool{false, true} {
				var want, got bytes.Buffer
				var names []string
				for _, mf := range mfs {
					names = append(names, mf.GetName())
					if om {
						_, err = expfmt.MetricFamilyToOpenMetrics(&want, mf)
					} else {
						_, err = expfmt.MetricFamilyToText(&want, mf)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				bw := exposition.NewWriter(&got, om)
				var written []string
				for _, tf := range c.TextFamilies() {
					before := bw.Buffered() + got.Len()
					if err := tf.Write(bw); err != nil {
						t.Fatal(err)
					}
					if bw.Buffered()+got.Len() > before {
						written = append(written, tf.Name)
					}
				}
				_ = bw.Flush()
				if !slices.Equal(written, names) {
					t.Errorf("om=%v: text families %v, Gather %v", om, written, names)
				}
				if !bytes.Equal(got.Bytes(), want.Bytes()) {
					t.Fatalf("om=%v: text differs from expfmt's rendering of Gather (%d vs %d bytes)", om, got.Len(), want.Len())
				}
			}
		})
	}
}

// mutableSource is a snapshot a test changes between scrapes.
type mutableSource struct{ s *poller.Snapshot }

func (m mutableSource) Snapshot() poller.Snapshot { return *m.s }

// TestKeptChunksFollowChanges: a collector that keeps its orders and
// compressed chunks between gzip'd scrapes serves, scrape after scrape of
// a changing snapshot, exactly what a fresh collector writes for that
// snapshot: changes of each kind (state, timestamps, labels of info, apps
// added, deleted and renamed, a List's fresh copy of the same apps,
// remediation rows) in both modes and syntaxes.
func TestKeptChunksFollowChanges(t *testing.T) {
	for _, mode := range []collector.StateSets{collector.StateSetsFull, collector.StateSetsCurrent} {
		for _, om := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/om=%v", mode, om), func(t *testing.T) {
				apps := variedApps(t)
				snap := &poller.Snapshot{Apps: apps, Up: true, LastSuccess: time.Unix(1700000000, 0)}
				rem := remediation{{Namespace: apps[3].Namespace, Name: apps[3].Name, Project: apps[3].Project, Attempts: 1}}
				remSrc := &rem
				cfg := collector.Config{StateSets: mode, Remediation: remediationFunc(func() []remediate.AppMetric { return slices.Clone(*remSrc) })}
				kept := collector.New(mutableSource{snap}, cfg)
				h := exposition.Handler(prometheus.NewRegistry(), kept, exposition.Opts{})
				accept := "text/plain;version=0.0.4"
				if om {
					accept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8"
				}
				rng := rand.New(rand.NewPCG(1, 2))
				for step := range 40 {
					next := slices.Clone(snap.Apps)
					for range 1 + rng.IntN(30) {
						i := rng.IntN(len(next))
						a := &next[i]
						switch rng.IntN(9) {
						case 0:
							a.Health = argocd.HealthStatuses[rng.IntN(len(argocd.HealthStatuses))]
						case 1:
							a.Sync = argocd.SyncStatuses[rng.IntN(len(argocd.SyncStatuses))]
						case 2:
							a.ReconciledAt = time.Unix(1700000000+int64(rng.IntN(1000)), 0)
						case 3:
							a.Repo = fmt.Sprintf("https://git.example/r%d", rng.IntN(5))
						case 4:
							next = slices.Delete(next, i, i+1)
						case 5:
							b := *a
							b.Name = fmt.Sprintf("new-%d-%d", step, i)
							next = append(next, b)
						case 6:
							if a.Operation != nil {
								op := *a.Operation
								op.Phase = argocd.OperationPhases[rng.IntN(len(argocd.OperationPhases))]
								a.Operation = &op
							}
						case 7:
							a.Conditions = map[string]int{"SyncError": rng.IntN(3)}
						case 8:
							rem = append(slices.Clone(rem), remediate.AppMetric{Namespace: a.Namespace, Name: a.Name, Project: a.Project,
								Attempts: rng.IntN(3), Paused: rng.IntN(2) == 0})
						}
					}
					if step%10 == 9 { // a List: the same apps, fresh strings
						for i := range next {
							next[i].Name = strings.Clone(next[i].Name)
							next[i].Repo = strings.Clone(next[i].Repo)
						}
					}
					snap.Apps = next
					var got []byte
					for range 1 + step%2 { // every other snapshot scraped twice
						req := httptest.NewRequest("GET", "/metrics", nil)
						req.Header.Set("Accept", accept)
						req.Header.Set("Accept-Encoding", "gzip")
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						zr, err := gzip.NewReader(rec.Body)
						if err != nil {
							t.Fatal(err)
						}
						if got, err = io.ReadAll(zr); err != nil {
							t.Fatal(err)
						}
					}
					var want bytes.Buffer
					w := exposition.NewWriter(&want, om)
					for _, tf := range collector.New(mutableSource{snap}, cfg).TextFamilies() {
						if err := tf.Write(w); err != nil {
							t.Fatal(err)
						}
					}
					_ = w.Flush()
					if om {
						want.WriteString("# EOF\n")
					}
					if !bytes.Equal(got, want.Bytes()) {
						t.Fatalf("step %d: kept chunks serve %d bytes, a fresh collector %d", step, len(got), want.Len())
					}
				}
			})
		}
	}
}

type remediationFunc func() []remediate.AppMetric

func (f remediationFunc) AppMetrics() []remediate.AppMetric { return f() }

// TestConcurrentGzipScrapes: scrapes at once share the kept chunks, orders
// and label pairs without a race (go test -race) and each gets the whole
// text.
func TestConcurrentGzipScrapes(t *testing.T) {
	snap := &poller.Snapshot{Apps: variedApps(t), Up: true, LastSuccess: time.Unix(1700000000, 0)}
	cfg := collector.Config{StateSets: collector.StateSetsCurrent}
	h := exposition.Handler(prometheus.NewRegistry(), collector.New(mutableSource{snap}, cfg), exposition.Opts{})
	var want bytes.Buffer
	w := exposition.NewWriter(&want, true)
	for _, tf := range collector.New(mutableSource{snap}, cfg).TextFamilies() {
		if err := tf.Write(w); err != nil {
			t.Fatal(err)
		}
	}
	_ = w.Flush()
	want.WriteString("# EOF\n")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				req := httptest.NewRequest("GET", "/metrics", nil)
				req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
				req.Header.Set("Accept-Encoding", "gzip")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				zr, err := gzip.NewReader(rec.Body)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(got, want.Bytes()) {
					t.Errorf("a concurrent scrape got %d bytes (%v), want %d", len(got), err, want.Len())
					return
				}
			}
		})
	}
	wg.Wait()
}
