// Package watch keeps the poller's snapshot current from Argo CD's Watch
// stream: one List seeds it, ADDED / MODIFIED / DELETED events update it,
// a List every resync interval heals anything missed, and while the stream
// is down the snapshot is polled as without watch. It owns the mode (watch
// or polling), its metrics and its log lines; the snapshot stays the
// poller's, so the collector and the remediation engine see one kind.
package watch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/prometheus/client_golang/prometheus"
)

// Client is the part of *argocd.Client the watcher uses.
type Client interface {
	Watch(ctx context.Context, opts argocd.WatchOptions) (*argocd.Stream, error)
	Get(ctx context.Context, name, appNamespace, project string) (argocd.App, error)
}

// Due is what the remediation engine tells about its next decision: with
// events, nothing else would wake it when a grace period or backoff ends.
type Due interface {
	NextDue(now time.Time) (time.Time, bool)
}

// Config configures a Watcher. Zero durations get the defaults noted.
type Config struct {
	Client Client
	// Poller lists (seed, resync, fallback) and holds the snapshot.
	Poller   *poller.Poller
	Selector string
	Projects []string
	// Projected asks for StreamFields only (detail included).
	Projected bool
	// ResyncInterval: a resync this often while the stream is up (10m).
	// Most are the poller's cheap Resync; every FullResyncEvery-th (6) is a
	// full List, which also heals what Resync cannot see (labels, spec).
	ResyncInterval  time.Duration
	FullResyncEvery int
	// PollInterval: a List this often while the stream is down (30s).
	PollInterval time.Duration
	// StallTimeout: a stream silent this long is cut and reconnected
	// (45s: three of Argo CD's 15 s keepalives).
	StallTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting (1s, 1m).
	MinBackoff, MaxBackoff time.Duration
	Due                    Due // optional
	Logger                 *slog.Logger
}

// Watcher runs the watch; it is a prometheus.Collector of its metrics.
type Watcher struct {
	cfg    Config
	log    *slog.Logger
	up     prometheus.Gauge
	events *prometheus.CounterVec
}

// Event type label values.
var eventLabels = map[argocd.EventType]string{
	argocd.EventAdded: "added", argocd.EventModified: "modified", argocd.EventDeleted: "deleted",
	argocd.EventKeepalive: "keepalive", argocd.EventUnknown: "unknown",
}

// New builds a Watcher; it does nothing until Run.
func New(cfg Config) *Watcher {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.ResyncInterval, 10*time.Minute)
	def(&cfg.PollInterval, 30*time.Second)
	def(&cfg.StallTimeout, 45*time.Second)
	def(&cfg.MinBackoff, time.Second)
	def(&cfg.MaxBackoff, time.Minute)
	if cfg.FullResyncEvery <= 0 {
		cfg.FullResyncEvery = 6
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		cfg: cfg,
		log: log,
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "argocd_monitor_watch_up",
			Help: "1 while the Argo CD watch stream is connected; 0 while the exporter polls instead.",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argocd_monitor_watch_events_total",
			Help: "Events read from the Argo CD watch stream by type (added, modified, deleted, keepalive, unknown).",
		}, []string{"type"}),
	}
	for _, l := range eventLabels {
		w.events.WithLabelValues(l)
	}
	return w
}

// Describe implements prometheus.Collector.
func (w *Watcher) Describe(ch chan<- *prometheus.Desc) {
	w.up.Describe(ch)
	w.events.Describe(ch)
}

// Collect implements prometheus.Collector.
func (w *Watcher) Collect(ch chan<- prometheus.Metric) {
	w.up.Collect(ch)
	w.events.Collect(ch)
}

// streamEnd is how a stream ended.
type streamEnd struct {
	err error
}

// Run seeds the snapshot, then watches until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	_ = w.cfg.Poller.Poll(ctx) // seed; a failure is logged by the poller and retried below

	var (
		events    chan argocd.WatchEvent
		ended     chan streamEnd
		connected bool
		backoff   = w.cfg.MinBackoff
		resyncs   int // since the last full List
	)
	connect := newTimer(0)
	poll := newTimer(-1)   // armed while the stream is down
	resync := newTimer(-1) // armed while the stream is up
	wake := newTimer(-1)   // armed for the remediation engine's next decision
	// While the stream is up, the engine still sees the whole snapshot (in
	// memory, no List) every poll interval, as when polling: what depends on
	// time rather than on a change (a replica that starts leading) waits no
	// longer than it did.
	review := newTimer(-1)
	// An engine that can start a streak on a call's answer (no event follows) says so.
	var kicks <-chan struct{}
	if k, ok := w.cfg.Due.(interface{ Kicks() <-chan struct{} }); ok {
		kicks = k.Kicks()
	}
	defer func() {
		for _, t := range []*time.Timer{connect, poll, resync, wake, review} {
			t.Stop()
		}
	}()
	downSince := time.Time{}
	w.log.Debug("watch starting")
	for {
		select {
		case <-ctx.Done():
			return
		case <-connect.C:
			st, err := w.cfg.Client.Watch(ctx, argocd.WatchOptions{
				Selector: w.cfg.Selector, Projects: w.cfg.Projects, Fields: w.fields(), StallTimeout: w.cfg.StallTimeout,
			})
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				w.down(&connected, &downSince, err, poll)
				connect.Reset(backoff)
				backoff = min(backoff*2, w.cfg.MaxBackoff)
				continue
			}
			events, ended = make(chan argocd.WatchEvent, 1024), make(chan streamEnd, 1)
			go w.read(ctx, st, events, ended) // ends with the stream, or with ctx
			connected = true
			w.up.Set(1)
			poll.Stop()
			resync.Reset(w.cfg.ResyncInterval)
			review.Reset(w.cfg.PollInterval)
			w.log.Info("watching Argo CD applications", "mode", "watch", "resync_interval", w.cfg.ResyncInterval,
				"down_for", sinceOrZero(downSince))
			downSince = time.Time{}
		case ev := <-events:
			// With what else is queued: a burst (every connect starts with
			// ADDED for every app) is applied in a few batches.
			batch := []argocd.WatchEvent{ev}
			for len(events) > 0 && len(batch) < cap(events) {
				batch = append(batch, <-events)
			}
			if w.apply(ctx, batch) {
				backoff = w.cfg.MinBackoff // the stream works: a later cut reconnects quickly
			}
			w.armWake(wake)
		case end := <-ended:
			// Events sent before the end are all in the channel and good.
			var batch []argocd.WatchEvent
			for len(events) > 0 {
				batch = append(batch, <-events)
			}
			w.apply(ctx, batch)
			events, ended = nil, nil
			if ctx.Err() != nil {
				return
			}
			resync.Stop()
			review.Stop()
			w.down(&connected, &downSince, end.err, poll)
			connect.Reset(backoff)
			backoff = min(backoff*2, w.cfg.MaxBackoff)
		case <-poll.C:
			_ = w.cfg.Poller.Poll(ctx)
			w.armWake(wake)
			poll.Reset(w.cfg.PollInterval)
		case <-resync.C:
			// Events that arrive meanwhile wait in the channel and are applied
			// on top of the List: each carries a whole state newer than the
			// request.
			resyncs++
			if resyncs >= w.cfg.FullResyncEvery {
				if w.cfg.Poller.Poll(ctx) == nil {
					resyncs = 0
					w.log.Debug("full resync done")
				}
			} else {
				_ = w.cfg.Poller.Resync(ctx) // logged by the poller
			}
			w.armWake(wake)
			resync.Reset(w.cfg.ResyncInterval)
		case <-review.C:
			w.cfg.Poller.Reobserve(ctx, time.Now())
			w.armWake(wake)
			review.Reset(w.cfg.PollInterval)
		case <-kicks:
			if connected {
				w.cfg.Poller.Reobserve(ctx, time.Now())
				w.armWake(wake)
			}
		case <-wake.C:
			// The engine has a decision due (grace or backoff over): show it
			// the snapshot again. While polling, the polls do.
			if connected {
				w.cfg.Poller.Reobserve(ctx, time.Now())
				w.armWake(wake)
			}
		}
	}
}

// down switches to polling mode (once per outage: one log line).
func (w *Watcher) down(connected *bool, downSince *time.Time, err error, poll *time.Timer) {
	w.up.Set(0)
	if *connected || downSince.IsZero() {
		w.log.Warn("watch stream down, polling Argo CD instead", "mode", "poll", "poll_interval", w.cfg.PollInterval,
			"cause", cause(err), "err", err)
		*downSince = time.Now()
		poll.Reset(w.cfg.PollInterval)
	} else {
		w.log.Debug("watch reconnect failed", "err", err)
	}
	*connected = false
}

func cause(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "the server or a proxy ended the stream"
	case errors.Is(err, argocd.ErrStreamStalled):
		return "no data or keepalive for the stall timeout: a proxy may hold a dead connection"
	default:
		return argocd.Cause(err)
	}
}

func sinceOrZero(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return time.Since(t).Round(time.Second)
}

func (w *Watcher) fields() []string {
	if w.cfg.Projected {
		return argocd.StreamFields
	}
	return nil
}

// read forwards a stream's events until it ends; events whose app lacks
// detail a metric needs get a Get first, as in polling.
func (w *Watcher) read(ctx context.Context, st *argocd.Stream, out chan<- argocd.WatchEvent, ended chan<- streamEnd) {
	defer st.Close()
	for {
		ev, err := st.Next()
		if err != nil {
			ended <- streamEnd{err: err}
			return
		}
		if (ev.Type == argocd.EventAdded || ev.Type == argocd.EventModified) && !ev.App.Detailed && poller.NeedsDetail(&ev.App) {
			if full, err := w.cfg.Client.Get(ctx, ev.App.Name, ev.App.Namespace, ev.App.Project); err == nil {
				ev.App = full
			} else if ctx.Err() == nil {
				w.log.Debug("detail get failed; the event is used as it came", "app", ev.App.Key(), "err", err)
			}
		}
		select {
		case out <- ev:
		case <-ctx.Done():
			ended <- streamEnd{err: ctx.Err()}
			return
		}
	}
}

// apply counts a batch of events and hands the changes to the poller; it
// reports whether the batch held more than keepalives.
func (w *Watcher) apply(ctx context.Context, batch []argocd.WatchEvent) bool {
	changes := batch[:0:0]
	for _, ev := range batch {
		w.events.WithLabelValues(eventLabels[ev.Type]).Inc()
		switch ev.Type {
		case argocd.EventAdded, argocd.EventModified, argocd.EventDeleted:
			changes = append(changes, ev)
		}
	}
	now := time.Now()
	if len(changes) == 0 {
		if len(batch) > 0 {
			w.cfg.Poller.Touch(now)
		}
		return false
	}
	w.cfg.Poller.Apply(ctx, changes, now)
	return true
}

// armWake sets the wake timer to the engine's next due decision.
func (w *Watcher) armWake(wake *time.Timer) {
	wake.Stop()
	if w.cfg.Due == nil {
		return
	}
	now := time.Now()
	if t, ok := w.cfg.Due.NextDue(now); ok {
		wake.Reset(t.Sub(now))
	}
}

// newTimer returns a timer firing after d, or a stopped one when d < 0.
func newTimer(d time.Duration) *time.Timer {
	if d < 0 {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return t
	}
	return time.NewTimer(d)
}
