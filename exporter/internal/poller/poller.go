// Package poller keeps the exporter's picture of Argo CD: it lists the
// applications in the background, keeps the last good snapshot through API
// failures (until it is too old to trust), tracks whether the API is up, and
// hands each fresh snapshot to an Observer (the remediation engine).
package poller

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// Client is the part of *argocd.Client the poller uses.
type Client interface {
	List(ctx context.Context, opts argocd.ListOptions) ([]argocd.App, error)
	Get(ctx context.Context, name, appNamespace, project string) (argocd.App, error)
}

// Observer is told about every successful poll. apps is the new snapshot:
// read it, do not modify it. Observe runs on the poll loop, so it must return
// quickly (the remediation engine does its syncs on its own goroutines).
type Observer interface {
	Observe(ctx context.Context, apps []argocd.App, now time.Time)
}

// Config configures a Poller. Zero values get the defaults noted.
type Config struct {
	Client   Client
	Selector string
	Projects []string
	// Projected asks List for ProjectedFields only and Gets the whole
	// Application for the apps that need detail (see NeedsDetail). Items that
	// come back whole anyway (a server that ignores `fields`) are used as is.
	Projected bool
	// DetailConcurrency bounds concurrent Gets (default 4).
	DetailConcurrency int
	// MaxDetailGets: when more projected apps than this need detail (a git
	// outage turning hundreds of apps OutOfSync), one whole List replaces
	// the Gets (default 100).
	MaxDetailGets int
	Interval      time.Duration // default 30s
	// StaleAfter: app series from the last good poll are served this long
	// after it, then dropped (default 5m).
	StaleAfter time.Duration
	Observer   Observer // optional
	Logger     *slog.Logger
}

// Snapshot is what the collector renders.
type Snapshot struct {
	// Apps from the last good poll; nil when there was none or it is older
	// than StaleAfter. Shared: do not modify.
	Apps []argocd.App
	// Up is true when the last poll succeeded.
	Up bool
	// LastSuccess is when the last good poll finished; zero if none yet.
	LastSuccess time.Time
	// Attempted is true once the first poll finished, good or not.
	Attempted bool
}

// Poller polls Argo CD and holds the latest snapshot.
type Poller struct {
	cfg      Config
	log      *slog.Logger
	duration prometheus.Histogram

	mu          sync.RWMutex
	apps        []argocd.App
	up          bool
	lastSuccess time.Time
	attempted   bool
	lastCause   string // cause of the current outage, for log-once
	staleLogged bool

	// Watch events not yet folded into apps (see Apply), and where each app
	// of apps is.
	pending map[appKey]argocd.WatchEvent
	index   map[appKey]int
}

// New builds a Poller; it does nothing until Run or Poll.
func New(cfg Config) *Poller {
	if cfg.DetailConcurrency <= 0 {
		cfg.DetailConcurrency = 4
	}
	if cfg.MaxDetailGets <= 0 {
		cfg.MaxDetailGets = 100
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 5 * time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{
		cfg: cfg,
		log: log,
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "argocd_monitor_poll_duration_seconds",
			Help:    "Time one poll of the Argo CD API took (List plus detail Gets), failed polls included.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
}

// Describe and Collect expose the poll duration histogram.
func (p *Poller) Describe(ch chan<- *prometheus.Desc) { p.duration.Describe(ch) }

// Collect implements prometheus.Collector.
func (p *Poller) Collect(ch chan<- prometheus.Metric) { p.duration.Collect(ch) }

// Run polls at once, then every Interval, until ctx is done.
func (p *Poller) Run(ctx context.Context) {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		_ = p.Poll(ctx) // the outcome is in the snapshot and the log
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll lists the applications once. On success the snapshot is replaced and
// the Observer called; on failure the last good snapshot is kept and Up goes
// false. The returned error is for callers that want it (tests).
func (p *Poller) Poll(ctx context.Context) error {
	start := time.Now()
	apps, err := p.fetch(ctx)
	now := time.Now()
	if ctx.Err() != nil && err != nil {
		return err // shutting down: not an outage
	}
	p.duration.Observe(now.Sub(start).Seconds())
	if err != nil {
		p.failed(err, now)
		return err
	}
	p.mu.Lock()
	wasUp, attempted := p.up, p.attempted
	p.replaceLocked(apps, now)
	p.up, p.lastSuccess, p.attempted = true, now, true
	p.lastCause, p.staleLogged = "", false
	p.mu.Unlock()
	if attempted && !wasUp {
		p.log.Info("Argo CD API reachable again", "apps", len(apps))
	}
	p.log.Debug("poll done", "apps", len(apps), "duration", now.Sub(start))
	if p.cfg.Observer != nil {
		p.cfg.Observer.Observe(ctx, apps, now)
	}
	return nil
}

func (p *Poller) failed(err error, now time.Time) {
	cause := argocd.Cause(err)
	p.mu.Lock()
	changed := p.up || !p.attempted || cause != p.lastCause
	p.up, p.attempted, p.lastCause = false, true, cause
	stale := !p.lastSuccess.IsZero() && now.Sub(p.lastSuccess) > p.cfg.StaleAfter && !p.staleLogged
	if stale {
		p.staleLogged = true
	}
	last := p.lastSuccess
	p.mu.Unlock()
	if changed {
		p.log.Warn("Argo CD API unavailable", "cause", cause, "err", err, "last_success", timeOrNever(last))
	} else {
		p.log.Debug("poll failed", "err", err)
	}
	if stale {
		p.log.Warn("last good snapshot is older than the stale-after limit; app series dropped until the API answers",
			"last_success", last, "stale_after", p.cfg.StaleAfter)
	}
}

func timeOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// Snapshot returns the current picture; app data older than StaleAfter is
// withheld so a long outage shows no ghosts.
func (p *Poller) Snapshot() Snapshot {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.foldLocked()
	s := Snapshot{Up: p.up, LastSuccess: p.lastSuccess, Attempted: p.attempted}
	if !p.lastSuccess.IsZero() && now.Sub(p.lastSuccess) <= p.cfg.StaleAfter {
		s.Apps = p.apps
	}
	return s
}

// Ready reports whether the first poll has finished (good or not): from then
// on /metrics tells the truth, api_up included.
func (p *Poller) Ready() bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.attempted
}

// NeedsDetail reports whether an app's missing detail (conditions,
// reconciledAt, operation message) matters: it is not Synced and Healthy, or
// its last operation failed.
func NeedsDetail(a *argocd.App) bool {
	if a.Health != argocd.HealthHealthy || a.Sync != argocd.SyncSynced {
		return true
	}
	return a.Operation != nil && (a.Operation.Phase == argocd.PhaseFailed || a.Operation.Phase == argocd.PhaseError)
}

func (p *Poller) fetch(ctx context.Context) ([]argocd.App, error) {
	opts := argocd.ListOptions{Selector: p.cfg.Selector, Projects: p.cfg.Projects}
	if p.cfg.Projected {
		opts.Fields = argocd.ProjectedFields
	}
	apps, err := p.cfg.Client.List(ctx, opts)
	if err != nil {
		return nil, err
	}
	if !p.cfg.Projected {
		return apps, nil
	}
	need := 0
	for i := range apps {
		if !apps[i].Detailed && NeedsDetail(&apps[i]) {
			need++
		}
	}
	switch {
	case need == 0:
		return apps, nil
	case need > p.cfg.MaxDetailGets:
		p.log.Debug("many apps need detail: one whole List instead of Gets", "apps", need)
		opts.Fields = nil
		return p.cfg.Client.List(ctx, opts)
	}
	return apps, p.fillDetail(ctx, apps)
}

// fillDetail replaces, in place, the projected apps that need detail with
// their whole Application, at most DetailConcurrency Gets at a time. An app
// deleted since the List (404) keeps its projected form; any other failure
// fails the poll, like a failed List, and cancels the Gets not yet done.
func (p *Poller) fillDetail(ctx context.Context, apps []argocd.App) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.cfg.DetailConcurrency)
	for i := range apps {
		a := &apps[i]
		if a.Detailed || !NeedsDetail(a) {
			continue
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			full, err := p.cfg.Client.Get(gctx, a.Name, a.Namespace, a.Project)
			switch {
			case err == nil:
				*a = full
			case argocd.IsNotFound(err):
			default:
				return err
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
