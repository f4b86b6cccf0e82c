package poller_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
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
	modified := func(syncs ...argocd.SyncStatus) []argocd.WatchEvent {
		var evs []argocd.WatchEvent
		for _, a := range snap(syncs...) {
			evs = append(evs, argocd.WatchEvent{Type: argocd.EventModified, App: a})
		}
		return evs
	}
	p.Apply(ctx, modified(argocd.SyncSynced, argocd.SyncOutOfSync), t0)
	p.Apply(ctx, modified(argocd.SyncSynced, argocd.SyncOutOfSync), t0.Add(time.Hour))
	if got := since(); !got[0].Equal(t0) || !got[1].Equal(t0) {
		t.Fatalf("unchanged status: since %v, want %v", got, t0)
	}
	p.Apply(ctx, modified(argocd.SyncOutOfSync), t0.Add(2*time.Hour))
	if got := since(); !got[0].Equal(t0.Add(2*time.Hour)) || !got[1].Equal(t0) {
		t.Fatalf("a's status changed: since %v", got)
	}
	// b is deleted and comes back: it starts afresh.
	p.Apply(ctx, []argocd.WatchEvent{{Type: argocd.EventDeleted, App: snap(argocd.SyncOutOfSync, argocd.SyncOutOfSync)[1]}}, t0.Add(3*time.Hour))
	if got := since(); len(got) != 1 {
		t.Fatalf("%d apps after DELETED, want 1", len(got))
	}
	p.Apply(ctx, modified(argocd.SyncOutOfSync, argocd.SyncOutOfSync), t0.Add(4*time.Hour))
	if got := since(); !got[1].Equal(t0.Add(4*time.Hour)) || !got[0].Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("returning app: since %v", got)
	}
}

// A List keeps SyncSince where the status did not change.
func TestSyncSinceSurvivesAList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		apps := []argocd.App{{Namespace: "argocd", Name: "a", Sync: argocd.SyncOutOfSync}}
		p := poller.New(poller.Config{Client: staticList{apps}})
		if err := p.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		if err := p.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := p.Apps()[0].SyncSince; !got.Equal(t0) {
			t.Fatalf("since %v after a second List, want %v", got, t0)
		}
	})
}

type staticList struct{ apps []argocd.App }

func (s staticList) List(context.Context, argocd.ListOptions) ([]argocd.App, error) {
	return slices.Clone(s.apps), nil
}

func (s staticList) Get(context.Context, string, string, string) (argocd.App, error) {
	return argocd.App{}, errors.New("no Get")
}
