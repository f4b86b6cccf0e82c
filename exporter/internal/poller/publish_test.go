package poller_test

import (
	"context"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
)

func TestSyncSinceFollowsTheStatus(t *testing.T) {
	p := poller.New(poller.Config{})
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	snap := func(syncs ...argocd.SyncStatus) []argocd.App {
		var apps []argocd.App
		for i, s := range syncs {
			apps = append(apps, argocd.App{Namespace: "argocd", Name: string(rune('a' + i)), Sync: s})
		}
		return apps
	}
	since := func() []time.Time {
		var out []time.Time
		for _, a := range p.Apps() {
			out = append(out, a.SyncSince)
		}
		return out
	}
	ctx := context.Background()
	p.Publish(ctx, snap(argocd.SyncSynced, argocd.SyncOutOfSync), t0)
	p.Publish(ctx, snap(argocd.SyncSynced, argocd.SyncOutOfSync), t0.Add(time.Hour))
	if got := since(); !got[0].Equal(t0) || !got[1].Equal(t0) {
		t.Fatalf("unchanged status: since %v, want %v", got, t0)
	}
	p.Publish(ctx, snap(argocd.SyncOutOfSync, argocd.SyncOutOfSync), t0.Add(2*time.Hour))
	if got := since(); !got[0].Equal(t0.Add(2*time.Hour)) || !got[1].Equal(t0) {
		t.Fatalf("a's status changed: since %v", got)
	}
	// b leaves and comes back: its history is gone, it starts afresh.
	p.Publish(ctx, snap(argocd.SyncOutOfSync), t0.Add(3*time.Hour))
	p.Publish(ctx, snap(argocd.SyncOutOfSync, argocd.SyncOutOfSync), t0.Add(4*time.Hour))
	if got := since(); !got[1].Equal(t0.Add(4 * time.Hour)) {
		t.Fatalf("returning app: since %v", got[1])
	}
}
