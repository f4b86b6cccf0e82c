package poller

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"golang.org/x/sync/errgroup"
)

// Resync heals what a watch stream missed at a fraction of a List's cost:
// it lists ResyncFields only, compares each item with the snapshot, Gets
// the apps that differ or are new, and drops the apps no longer listed.
// When more than MaxDetailGets apps differ, one full Poll does instead.
// Changes reach the snapshot and the Observer as watch events would. On
// failure the snapshot is kept and the API marked down, as by Poll.
func (p *Poller) Resync(ctx context.Context) error {
	start := time.Now()
	listed, err := p.cfg.Client.List(ctx, argocd.ListOptions{
		Selector: p.cfg.Selector, Projects: p.cfg.Projects, Fields: argocd.ResyncFields,
	})
	if err == nil {
		var evs []argocd.WatchEvent
		if evs, err = p.resyncEvents(ctx, listed); errors.Is(err, errTooMany) {
			p.log.Debug("many apps changed unseen: a full List instead of Gets")
			return p.Poll(ctx)
		}
		if err == nil {
			now := time.Now()
			p.duration.Observe(now.Sub(start).Seconds())
			p.log.Debug("resync done", "apps", len(listed), "healed", len(evs), "duration", now.Sub(start))
			p.Apply(ctx, evs, now)
			return nil
		}
	}
	if ctx.Err() != nil {
		return err
	}
	p.duration.Observe(time.Since(start).Seconds())
	p.failed(err, time.Now())
	return err
}

var errTooMany = errors.New("more apps differ than the detail-Get limit")

// resyncEvents compares a ResyncFields List with the snapshot and returns
// the events that bring the snapshot up to it.
func (p *Poller) resyncEvents(ctx context.Context, listed []argocd.App) ([]argocd.WatchEvent, error) {
	var (
		stale []argocd.App // listed apps to Get (project filled in from the snapshot)
		evs   []argocd.WatchEvent
	)
	seen := make(map[appKey]struct{}, len(listed))
	p.mu.Lock()
	p.foldLocked()
	for i := range listed {
		l := &listed[i]
		k := keyOf(l)
		seen[k] = struct{}{}
		j, ok := p.index[k]
		if ok && sameState(&p.apps[j], l) {
			continue
		}
		if ok && l.Project == "" {
			l.Project = p.apps[j].Project // Argo CD before 3.5 drops spec.project
		}
		stale = append(stale, *l)
	}
	for i := range p.apps {
		if _, ok := seen[keyOf(&p.apps[i])]; !ok {
			evs = append(evs, argocd.WatchEvent{Type: argocd.EventDeleted, App: p.apps[i]})
		}
	}
	p.mu.Unlock()
	if len(stale) > p.cfg.MaxDetailGets {
		return nil, errTooMany
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.DetailConcurrency)
	for _, a := range stale {
		g.Go(func() error {
			full, err := p.cfg.Client.Get(gctx, a.Name, a.Namespace, a.Project)
			ev := argocd.WatchEvent{Type: argocd.EventModified, App: full}
			switch {
			case argocd.IsNotFound(err): // deleted since the List
				ev = argocd.WatchEvent{Type: argocd.EventDeleted, App: a}
			case err != nil:
				return err
			}
			mu.Lock()
			evs = append(evs, ev)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return evs, ctx.Err()
}

// sameState reports whether a snapshot app agrees with its ResyncFields
// form on everything that form carries. Values a server may drop from the
// projection (spec.project, status.sync.revision before Argo CD 3.5, the
// revisions of a multi-source app) count only when present.
func sameState(snap, l *argocd.App) bool {
	if snap.Deleting != l.Deleting || snap.Health != l.Health || !snap.HealthTransition.Equal(l.HealthTransition) ||
		snap.Sync != l.Sync || snap.OperationInProgress != l.OperationInProgress ||
		(l.Project != "" && snap.Project != l.Project) || (l.Revision != "" && snap.Revision != l.Revision) {
		return false
	}
	so, lo := snap.Operation, l.Operation
	if so == nil || lo == nil {
		return so == lo
	}
	return so.Phase == lo.Phase && so.StartedAt.Equal(lo.StartedAt) && so.FinishedAt.Equal(lo.FinishedAt)
}
