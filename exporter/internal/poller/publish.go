package poller

import (
	"context"
	"sync"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// Publish replaces the snapshot with apps built from somewhere other than a
// List (the watch stream's events applied to the last one): like a good
// poll, it marks the API up and the data current as of now, and tells the
// Observer. apps is shared from then on: do not modify it.
func (p *Poller) Publish(ctx context.Context, apps []argocd.App, now time.Time) {
	p.stampSyncSince(apps, now)
	p.mu.Lock()
	p.apps, p.up, p.lastSuccess, p.attempted = apps, true, now, true
	p.lastCause, p.staleLogged = "", false
	p.mu.Unlock()
	if p.cfg.Observer != nil {
		p.cfg.Observer.Observe(ctx, apps, now)
	}
}

// Touch records that the snapshot is still current at now (the watch
// stream is alive and has nothing to say), so it does not go stale.
func (p *Poller) Touch(now time.Time) {
	p.mu.Lock()
	if p.up && now.After(p.lastSuccess) {
		p.lastSuccess = now
	}
	p.mu.Unlock()
}

// Apps returns the last good snapshot whatever its age (nil before the
// first): the base the watch stream's events apply to. Shared: do not modify.
func (p *Poller) Apps() []argocd.App {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.apps
}

// sinceTracker remembers when each app's current sync status began.
type sinceTracker struct {
	mu  sync.Mutex // Poll and Publish may come from different goroutines
	gen uint64
	m   map[appKey]*sinceEntry
}

type appKey struct{ namespace, name string }

type sinceEntry struct {
	sync argocd.SyncStatus
	at   time.Time
	gen  uint64
}

// stampSyncSince sets SyncSince on every app of a new snapshot: kept from
// the last snapshot while the status is the same, now when it changed or the
// app is new.
func (p *Poller) stampSyncSince(apps []argocd.App, now time.Time) {
	t := &p.since
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[appKey]*sinceEntry, len(apps))
	}
	t.gen++
	for i := range apps {
		a := &apps[i]
		k := appKey{a.Namespace, a.Name}
		e := t.m[k]
		switch {
		case e == nil:
			e = &sinceEntry{sync: a.Sync, at: now}
			t.m[k] = e
		case e.sync != a.Sync:
			e.sync, e.at = a.Sync, now
		}
		e.gen = t.gen
		a.SyncSince = e.at
	}
	for k, e := range t.m {
		if e.gen != t.gen {
			delete(t.m, k)
		}
	}
}
