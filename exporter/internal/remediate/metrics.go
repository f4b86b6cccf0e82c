package remediate

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of argocd_monitor_remediation_syncs_total: a fixed set.
const (
	resultTriggered = "triggered" // Argo CD accepted the sync: an attempt
	resultSucceeded = "succeeded" // the accepted sync brought the app back
	resultFailed    = "failed"    // it did not (operation failed, or app still broken)
	resultBusy      = "busy"      // another operation in progress: not an attempt
	resultForbidden = "forbidden" // 403 RBAC or sync window: not an attempt
	resultError     = "error"     // any other failure: not an attempt
	resultDryRun    = "dry_run"   // decided in dry-run mode, never called
)

var results = []string{resultTriggered, resultSucceeded, resultFailed, resultBusy, resultForbidden, resultError, resultDryRun}

var appLabels = []string{"namespace", "name", "project"}

// actionSync is the action label of the engine's sync calls.
const actionSync = "sync"

// actionKinds and actionResults are the label values of argocd_monitor_remediation_actions_total.
var (
	actionKinds   = []string{actionSync, ActionHardRefresh, ActionTerminate, ActionRollback}
	actionResults = []string{actionOK, actionBusy, actionForbidden, actionError}
)

// metrics holds the counters. The per-app gauges are AppMetrics, which the
// collector renders with the app families.
type metrics struct {
	syncs    *prometheus.CounterVec
	actions  *prometheus.CounterVec
	failures *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argocd_monitor_remediation_syncs_total",
			Help: "Remediation sync decisions and their outcomes by result (triggered, succeeded, failed, busy, forbidden, error, dry_run).",
		}, append(appLabels, "result")),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argocd_monitor_remediation_actions_total",
			Help: "Calls the remediation engine made to Argo CD by action (sync, hard_refresh, terminate) and Argo CD's answer (ok, busy, forbidden, error).",
		}, []string{"action", "result"}),
	}
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argocd_monitor_remediation_failures_total",
		Help: "Failed remediation attempts by cause (invalid_manifest, immutable_field, admission_denied, forbidden, missing_kind, hook_failed, stuck, transient, unknown).",
	}, []string{"cause"})
	for _, c := range Causes {
		m.failures.WithLabelValues(c)
	}
	for _, k := range actionKinds {
		for _, r := range actionResults {
			m.actions.WithLabelValues(k, r)
		}
	}
	return m
}

// failure counts one failed attempt by cause.
func (m *metrics) failure(cause string) { m.failures.WithLabelValues(cause).Inc() }

// action counts one call to Argo CD.
func (m *metrics) action(kind, result string) {
	m.actions.WithLabelValues(kind, result).Inc()
}

// count increments one result; an app's first count creates all its results
// at 0 so increase() sees the first event. Called with the engine's mu held.
func (m *metrics) count(st *appState, result string) {
	if !st.counted {
		st.counted = true
		for _, r := range results {
			m.syncs.WithLabelValues(st.namespace, st.name, st.Project, r)
		}
	}
	m.syncs.WithLabelValues(st.namespace, st.name, st.Project, result).Inc()
}

// forget drops an app's counter series.
func (m *metrics) forget(st *appState) {
	if st.counted {
		m.syncs.DeletePartialMatch(prometheus.Labels{"namespace": st.namespace, "name": st.name})
		st.counted = false
	}
}

// Describe implements prometheus.Collector: the syncs counter.
func (e *Engine) Describe(ch chan<- *prometheus.Desc) {
	e.metrics.syncs.Describe(ch)
}

// ActionMetrics is argocd_monitor_remediation_actions_total, registered beside the engine: a
// counter over every app (action, result), not per app.
func (e *Engine) ActionMetrics() prometheus.Collector { return actionCollectors{e.metrics} }

// actionCollectors are the engine's counters over every app: actions and failures by cause.
type actionCollectors struct{ m *metrics }

func (a actionCollectors) Describe(ch chan<- *prometheus.Desc) {
	a.m.actions.Describe(ch)
	a.m.failures.Describe(ch)
}

func (a actionCollectors) Collect(ch chan<- prometheus.Metric) {
	a.m.actions.Collect(ch)
	a.m.failures.Collect(ch)
}

// Collect implements prometheus.Collector: the syncs counter. The per-app
// gauges (attempts, paused, next attempt) are AppMetrics, rendered by the
// collector package beside the app families without a registry's
// per-series checks.
func (e *Engine) Collect(ch chan<- prometheus.Metric) {
	e.metrics.syncs.Collect(ch)
}

// AppMetric is one app's remediation state as metrics show it.
type AppMetric struct {
	Namespace, Name, Project string
	// Attempts is argocd_monitor_app_remediation_attempts.
	Attempts int
	// Paused is argocd_monitor_app_remediation_paused: paused, or resumed
	// until that attempt's outcome (so the alert does not flap).
	Paused bool
	// NextAttempt is argocd_monitor_app_remediation_next_attempt_timestamp_seconds;
	// zero while no attempt is scheduled.
	NextAttempt time.Time
}

// AppMetrics is one row per app in scope (none in mode off), from the
// engine's state now. The caller owns the slice.
func (e *Engine) AppMetrics() []AppMetric {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]AppMetric, 0, len(e.apps))
	for _, st := range e.apps {
		m := AppMetric{Namespace: st.namespace, Name: st.name, Project: st.Project, Attempts: st.Attempts,
			Paused: st.Phase == PhasePaused || st.Resumed}
		if t, ok := e.nextAttempt(st); ok {
			m.NextAttempt = t
		}
		out = append(out, m)
	}
	return out
}
