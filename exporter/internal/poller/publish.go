package poller

import (
	"context"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// Publish replaces the snapshot with apps built from somewhere other than a
// List (the watch stream's events applied to the last one): like a good
// poll, it marks the API up and the data current as of now, and tells the
// Observer. apps is shared from then on: do not modify it.
func (p *Poller) Publish(ctx context.Context, apps []argocd.App, now time.Time) {
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
