package remediate

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
)

// TestEndToEndRealClientAndPoller runs the real argocd.Client and poller
// against fakeArgo served over HTTP: List JSON, Sync bodies, Argo CD's error
// answers and operation phases over time all go through the wire format.
func TestEndToEndRealClientAndPoller(t *testing.T) {
	const token = "eyJhbGciOi.eyJzdWIiOiJtb25pdG9yIn0.c2lnbmF0dXJl"
	for _, mode := range []string{"full", "projected"} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig()
			cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
			cfg.Selector = "team"
			s := newScenario(t, cfg)
			team := map[string]string{"team": "a"}
			app := func(name string, mutate func(a *argocd.App)) argocd.App {
				a := outOfSync(name)
				a.Labels = team
				if mutate != nil {
					mutate(&a)
				}
				return a
			}
			s.fake.add(&fakeApp{app: app("fixable", nil), fixable: true})
			s.fake.add(&fakeApp{app: app("stuck", nil), failMsg: "one or more synchronization tasks completed unsuccessfully"})
			s.fake.add(&fakeApp{app: app("locked", nil), forbidden: true})
			s.fake.add(&fakeApp{app: app("racy", nil), busyOnce: true, fixable: true})
			s.fake.add(&fakeApp{app: app("auto", func(a *argocd.App) { a.AutoSync = true })})
			s.fake.add(&fakeApp{app: app("opted-out", func(a *argocd.App) {
				a.Annotations = map[string]string{AnnotationAutoSync: "false"}
			})})
			s.fake.add(&fakeApp{app: app("deleting", func(a *argocd.App) { a.Deleting = true })})
			s.fake.add(&fakeApp{app: app("unlabelled", func(a *argocd.App) { a.Labels = nil })})
			srv := httptest.NewServer(s.fake.handler(token))
			defer srv.Close()

			client, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: argocd.StaticToken(token), Timeout: 5 * time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.eng = s.newEngine(client)
			p := poller.New(poller.Config{Client: client, Observer: observeAt{s.eng, s.now}, Projected: mode == "projected"})
			for s.now().Before(t0.Add(20 * time.Minute)) {
				s.fake.advance(s.now())
				if err := p.Poll(context.Background()); err != nil {
					t.Fatal(err)
				}
				s.eng.Wait()
				s.mu.Lock()
				s.clock = s.clock.Add(pollInterval)
				s.mu.Unlock()
			}

			for name, want := range map[string][]time.Duration{
				"fixable": mins(2), "stuck": mins(2, 3, 5), "racy": mins(2.5),
				"locked": nil, "auto": nil, "opted-out": nil, "deleting": nil, "unlabelled": nil,
			} {
				if got := s.fake.callsFor("argocd/" + name); !slices.Equal(got, want) {
					t.Errorf("%s: accepted syncs at %v, want %v", name, got, want)
				}
			}
			if mode == "projected" && s.fake.gets == 0 {
				t.Error("projected mode fetched no detail: the pause message could not have come from Argo CD")
			}
			if st := s.state("argocd/stuck"); st.Phase != PhasePaused || st.Attempts != 3 {
				t.Errorf("stuck: %+v, want paused after 3", st)
			}
			if got := s.counter("argocd/locked", "forbidden"); got < 1 {
				t.Errorf("locked: forbidden = %v, want >= 1", got)
			}
			if got := s.counter("argocd/racy", "busy"); got != 1 {
				t.Errorf("racy: busy = %v, want 1", got)
			}
			if n := s.logs.count("level=WARN", "remediation paused", "app=argocd/stuck", "synchronization tasks completed unsuccessfully"); n != 1 {
				t.Errorf("pause warnings with Argo CD's message = %d, want 1:\n%s", n, s.logs)
			}
		})
	}
}

// observeAt hands the engine the scenario's time instead of the poll's.
type observeAt struct {
	eng *Engine
	now func() time.Time
}

func (o observeAt) Observe(ctx context.Context, apps []argocd.App, _ time.Time) {
	o.eng.Observe(ctx, apps, o.now())
}
