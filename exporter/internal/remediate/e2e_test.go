package remediate

import (
	"context"
	"net/http"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// TestEndToEndRealClientAndPoller runs the real argocd.Client and poller
// against the Argo CD simulator's scenario apps, on synctest's clock: List
// JSON, Sync bodies, Argo CD's error answers and operation phases over time
// all go through the wire format.
func TestEndToEndRealClientAndPoller(t *testing.T) {
	const token = "eyJhbGciOi.eyJzdWIiOiJtb25pdG9yIn0.c2lnbmF0dXJl"
	for _, mode := range []string{"full", "projected"} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
				// Filler app-00003 (team-4) is drifted but out of scope.
				cfg.Selector = "app.kubernetes.io/part-of in (demo, team-2, team-3)"
				s := newScenario(t, cfg)
				sim, err := argocdsim.New(argocdsim.Config{Token: token, Apps: 3})
				if err != nil {
					t.Fatal(err)
				}
				outOfSync, yes := argocd.SyncOutOfSync, true
				for name, cs := range map[string]argocdsim.ControlState{
					"app-00001": {Sync: &outOfSync, SyncDenied: &yes}, // "locked": 403 on sync
					"app-00002": {Sync: &outOfSync, Deleting: &yes},
					"app-00003": {Sync: &outOfSync},
				} {
					if err := sim.SetState(name, cs); err != nil {
						t.Fatal(err)
					}
				}
				pipe := sim.ServePipe()
				defer pipe.Close()
				client, err := argocd.NewClient(argocd.Config{APIURL: argocdsim.PipeURL, Token: secret.Static(token),
					Timeout: 5 * time.Second, DialContext: pipe.DialContext}, nil)
				if err != nil {
					t.Fatal(err)
				}
				s.eng = s.newEngine(client)
				p := poller.New(poller.Config{Client: client, Observer: s.eng, Projected: mode == "projected"})
				for time.Now().Before(t0.Add(20 * time.Minute)) {
					if err := p.Poll(context.Background()); err != nil {
						t.Fatal(err)
					}
					s.eng.Wait()
					time.Sleep(pollInterval)
				}

				calls := map[string][]time.Duration{}
				for _, r := range sim.Requests() {
					if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/sync") {
						name := path.Base(path.Dir(r.Path))
						calls[name] = append(calls[name], r.At.Sub(t0))
					}
				}
				for name, want := range map[string][]time.Duration{
					argocdsim.AppFixable: mins(2), argocdsim.AppStuck: mins(2, 3, 5), argocdsim.AppDegrades: mins(2.5, 3.5, 5.5),
					argocdsim.AppHealthy: nil, argocdsim.AppAutomated: nil, argocdsim.AppOptedOut: nil, "app-00002": nil, "app-00003": nil,
				} {
					if got := calls[name]; !slices.Equal(got, want) {
						t.Errorf("%s: syncs at %v, want %v", name, got, want)
					}
				}
				if st := sim.SyncCounts()["app-00001"]; st.Forbidden < 1 || st.Accepted != 0 {
					t.Errorf("locked app: %+v, want refused syncs only", st)
				}
				if got := s.counter("argocd/app-00001", "forbidden"); got < 1 {
					t.Errorf("locked: forbidden = %v, want >= 1", got)
				}
				if mode == "projected" && sim.Count("get") == 0 {
					t.Error("projected mode fetched no detail: the pause message could not have come from Argo CD")
				}
				for _, name := range []string{argocdsim.AppStuck, argocdsim.AppDegrades} {
					if st := s.state("argocd/" + name); st.Phase != PhasePaused || st.Attempts != 3 {
						t.Errorf("%s: %+v, want paused after 3", name, st)
					}
				}
				if n := s.logs.count("level=WARN", "remediation paused", "app=argocd/stuck", "failed to apply"); n != 1 {
					t.Errorf("pause warnings with Argo CD's message = %d, want 1:\n%s", n, s.logs)
				}
			})
		})
	}
}
