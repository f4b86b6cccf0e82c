package remediate

import (
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
	actionKinds   = []string{actionSync, ActionHardRefresh, ActionTerminate}
	actionResults = []string{actionOK, actionBusy, actionForbidden, actionError}
)

// metrics holds the descriptors of the state gauges and the syncs counter.
type metrics struct {
	attempts, paused, nextAttempt *prometheus.Desc
	syncs                         *prometheus.CounterVec
	actions                       *prometheus.CounterVec
	failures                      *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		attempts: prometheus.NewDesc("argocd_monitor_app_remediation_attempts",
			"Remediation syncs accepted by Argo CD in the app's current problem streak.", appLabels, nil),
		paused: prometheus.NewDesc("argocd_monitor_app_remediation_paused",
			"1 when remediation gave up on the app after max attempts; a person must look.", appLabels, nil),
		nextAttempt: prometheus.NewDesc("argocd_monitor_app_remediation_next_attempt_timestamp_seconds",
			"When the next remediation sync of the app is due, while one is scheduled.", appLabels, nil),
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

// Describe implements prometheus.Collector.
func (e *Engine) Describe(ch chan<- *prometheus.Desc) {
	ch <- e.metrics.attempts
	ch <- e.metrics.paused
	ch <- e.metrics.nextAttempt
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

// Collect implements prometheus.Collector: one series set per app in scope
// (none in mode off), built from the engine's state at scrape time.
func (e *Engine) Collect(ch chan<- prometheus.Metric) {
	// Build under the lock, send after it: a slow scrape must not hold up
	// Observe or the sync workers.
	e.mu.Lock()
	ms := make([]prometheus.Metric, 0, 2*len(e.apps))
	for _, st := range e.apps {
		labels := []string{st.namespace, st.name, st.Project}
		paused := 0.0
		if st.Phase == PhasePaused || st.Resumed {
			paused = 1
		}
		ms = append(ms,
			prometheus.MustNewConstMetric(e.metrics.attempts, prometheus.GaugeValue, float64(st.Attempts), labels...),
			prometheus.MustNewConstMetric(e.metrics.paused, prometheus.GaugeValue, paused, labels...))
		if t, ok := e.nextAttempt(st); ok {
			ms = append(ms, prometheus.MustNewConstMetric(e.metrics.nextAttempt, prometheus.GaugeValue, unixSeconds(t), labels...))
		}
	}
	e.mu.Unlock()
	for _, m := range ms {
		ch <- m
	}
	e.metrics.syncs.Collect(ch)
}
