package remediate

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/prometheus/client_golang/prometheus"
)

type nopSyncer struct{}

func (nopSyncer) Sync(context.Context, argocd.SyncRequest) error { return nil }

// benchApps: n apps, 1 in 100 OutOfSync, with labels and annotations like real ones.
func benchApps(n int) []argocd.App {
	apps := make([]argocd.App, n)
	for i := range apps {
		apps[i] = argocd.App{
			Namespace: "argocd", Name: "app-" + strconv.Itoa(i), Project: "team-" + strconv.Itoa(i%50),
			Labels:      map[string]string{"team": "t" + strconv.Itoa(i%50), "tier": "web"},
			Annotations: map[string]string{"argocd.argoproj.io/manifest-generate-paths": "."},
			Sync:        argocd.SyncSynced, Health: argocd.HealthHealthy, Revision: "0123456789abcdef",
			Operation: &argocd.OperationState{Phase: argocd.PhaseSucceeded, StartedAt: t0, FinishedAt: t0},
		}
		if i%100 == 0 {
			apps[i].Sync = argocd.SyncOutOfSync
		}
	}
	return apps
}

func BenchmarkObserve10k(b *testing.B) {
	cfg := defaultConfig()
	cfg.RateLimit = 0
	cfg.Selector = "tier=web"
	e, err := New(cfg, nopSyncer{}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	apps := benchApps(10_000)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(30 * time.Second)
		e.Observe(context.Background(), apps, now)
		e.jobs.Wait()
	}
}

func BenchmarkCollect10k(b *testing.B) {
	cfg := defaultConfig()
	cfg.RateLimit = 0
	e, err := New(cfg, nopSyncer{}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	apps := benchApps(10_000)
	for i := range 20 { // pause the OutOfSync apps, give some counters
		e.Observe(context.Background(), apps, t0.Add(time.Duration(i)*time.Minute))
		e.jobs.Wait()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
