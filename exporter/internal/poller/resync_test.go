package poller_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// resyncEnv is a simulator with n filler apps and a poller seeded from it.
func resyncEnv(t *testing.T, n int, cfg poller.Config) (*argocdsim.Sim, *poller.Poller) {
	t.Helper()
	sim, err := argocdsim.New(argocdsim.Config{Token: token, Apps: n, NoScenario: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cl, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: secret.Static(token)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Client = cl
	p := poller.New(cfg)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sim, p
}

func setHealth(t *testing.T, sim *argocdsim.Sim, name string, h argocd.HealthStatus) {
	t.Helper()
	if err := sim.SetState(name, argocdsim.ControlState{Health: &h}); err != nil {
		t.Fatal(err)
	}
}

func TestResyncGetsOnlyWhatDiffers(t *testing.T) {
	sim, p := resyncEnv(t, 5, poller.Config{Projected: true})
	gets := sim.Count("get")
	setHealth(t, sim, "app-00003", argocd.HealthDegraded)
	if err := p.Resync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sim.Count("get") - gets; got != 1 {
		t.Errorf("%d Gets, want 1 (the changed app)", got)
	}
	reqs := sim.Requests()
	if f := reqs[len(reqs)-2].Query.Get("fields"); f != strings.Join(argocd.ResyncFields, ",") {
		t.Errorf("resync List asked for %q", f)
	}
	for _, a := range p.Snapshot().Apps {
		if want := (a.Name == "app-00003"); (a.Health == argocd.HealthDegraded) != want {
			t.Errorf("%s: health %s", a.Name, a.Health)
		}
	}
	// Nothing changed since: a List and no Get.
	gets = sim.Count("get")
	if err := p.Resync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sim.Count("get") - gets; got != 0 {
		t.Errorf("%d Gets with nothing changed", got)
	}
}

func TestResyncManyDifferencesMeanOneFullList(t *testing.T) {
	sim, p := resyncEnv(t, 5, poller.Config{MaxDetailGets: 1})
	setHealth(t, sim, "app-00001", argocd.HealthProgressing)
	setHealth(t, sim, "app-00002", argocd.HealthProgressing)
	if err := p.Resync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l, g := sim.Count("list"), sim.Count("get"); l != 3 || g != 0 {
		t.Errorf("%d Lists and %d Gets, want 3 (seed, resync, full) and 0", l, g)
	}
	n := 0
	for _, a := range p.Snapshot().Apps {
		if a.Health == argocd.HealthProgressing {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d apps Progressing, want 2", n)
	}
}
