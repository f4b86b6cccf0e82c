package poller

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// ChangeObserver is an Observer that can also take changes alone (the
// remediation engine): with a watch stream, a change then costs what it
// touches, not what the snapshot holds.
type ChangeObserver interface {
	ObserveChanges(ctx context.Context, changed, deleted []argocd.App, now time.Time)
}

type appKey struct{ namespace, name string }

func keyOf(a *argocd.App) appKey { return appKey{a.Namespace, a.Name} }

// Apply applies watch stream events to the snapshot and marks it current
// (the API up) as of now. The events are folded into a new snapshot when
// one is next asked for, whole, so no reader sees half of them. The
// Observer hears of the changed and deleted apps (all of the snapshot, if
// it is no ChangeObserver). Events of other types are ignored.
func (p *Poller) Apply(ctx context.Context, evs []argocd.WatchEvent, now time.Time) {
	var changed, deleted []argocd.App
	p.mu.Lock()
	if p.pending == nil {
		p.pending = make(map[appKey]argocd.WatchEvent)
	}
	for _, ev := range evs {
		k := keyOf(&ev.App)
		switch ev.Type {
		case argocd.EventAdded, argocd.EventModified:
			ev.App.SyncSince = now
			if prev, ok := p.currentLocked(k); ok && prev.Sync == ev.App.Sync {
				ev.App.SyncSince = prev.SyncSince
			}
			changed = append(changed, ev.App)
		case argocd.EventDeleted:
			deleted = append(deleted, ev.App)
		default:
			continue
		}
		p.pending[k] = ev
	}
	p.up, p.attempted = true, true
	p.lastCause, p.staleLogged = "", false
	if now.After(p.lastSuccess) {
		p.lastSuccess = now
	}
	p.mu.Unlock()
	switch o := p.cfg.Observer.(type) {
	case nil:
	case ChangeObserver:
		o.ObserveChanges(ctx, changed, deleted, now)
	default:
		o.Observe(ctx, p.Snapshot().Apps, now)
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

// Reobserve shows the Observer the snapshot again at now: its decisions
// may fall due without any change (a grace period ends).
func (p *Poller) Reobserve(ctx context.Context, now time.Time) {
	if p.cfg.Observer == nil {
		return
	}
	s := p.Snapshot()
	if s.Apps != nil {
		p.cfg.Observer.Observe(ctx, s.Apps, now)
	}
}

// currentLocked is the app's latest state: a pending event's, else the
// snapshot's.
func (p *Poller) currentLocked(k appKey) (argocd.App, bool) {
	if ev, ok := p.pending[k]; ok {
		return ev.App, ev.Type != argocd.EventDeleted
	}
	if i, ok := p.index[k]; ok {
		return p.apps[i], true
	}
	return argocd.App{}, false
}

// replaceLocked makes apps (a List's) the snapshot: pending events are
// older than it and dropped. SyncSince is carried over from the old
// snapshot where the sync status is the same, else it is now.
func (p *Poller) replaceLocked(apps []argocd.App, now time.Time) {
	p.foldLocked()
	for i := range apps {
		a := &apps[i]
		a.SyncSince = now
		j, ok := p.index[keyOf(a)]
		if ok && p.apps[j].Sync == a.Sync {
			a.SyncSince = p.apps[j].SyncSince
		}
		// A projected List cannot say which ApplicationSet owns an app
		// (ownerReferences are not in Argo CD's whitelist): keep what the
		// stream or a Get said.
		if ok && !a.Detailed && a.ParentKind == "" && p.apps[j].ParentKind == argocd.ParentApplicationSet {
			a.ParentKind, a.Parent = p.apps[j].ParentKind, p.apps[j].Parent
		}
	}
	p.apps = apps
	p.reindexLocked()
}

// foldLocked builds a new snapshot from the current one and the pending
// events. The old slice is left as it was: readers may hold it.
func (p *Poller) foldLocked() {
	if len(p.pending) == 0 {
		return
	}
	out := make([]argocd.App, 0, len(p.apps)+len(p.pending))
	for i := range p.apps {
		k := keyOf(&p.apps[i])
		ev, ok := p.pending[k]
		switch {
		case !ok:
			out = append(out, p.apps[i])
			continue
		case ev.Type != argocd.EventDeleted:
			out = append(out, ev.App)
		}
		delete(p.pending, k)
	}
	// Apps new to the snapshot, in name order: the snapshot's order must not
	// depend on map iteration (scrapes and tests see the same order each time).
	first := len(out)
	for _, ev := range p.pending {
		if ev.Type != argocd.EventDeleted {
			out = append(out, ev.App)
		}
	}
	slices.SortFunc(out[first:], func(a, b argocd.App) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	clear(p.pending)
	p.apps = out
	p.reindexLocked()
}

func (p *Poller) reindexLocked() {
	if p.index == nil {
		p.index = make(map[appKey]int, len(p.apps))
	}
	clear(p.index)
	for i := range p.apps {
		p.index[keyOf(&p.apps[i])] = i
	}
}

// Apps returns the current snapshot whatever its age (nil before the
// first). Shared: do not modify.
func (p *Poller) Apps() []argocd.App {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.foldLocked()
	return p.apps
}
