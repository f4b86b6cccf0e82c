// Package collector renders the poller's snapshot of Argo CD applications as
// const metrics at scrape time: no gauges set from a ticker, so a deleted app
// disappears with the snapshot that no longer holds it, and a scrape never
// waits on Argo CD.
package collector

import (
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/prometheus/client_golang/prometheus"
)

// Source yields the snapshot to render (a *poller.Poller).
type Source interface {
	Snapshot() poller.Snapshot
}

var appLabels = []string{"namespace", "name", "project"}

func appDesc(name, help string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, append(append([]string{}, appLabels...), extra...), nil)
}

var (
	infoDesc = appDesc("argocd_monitor_app_info",
		"Facts about an Argo CD Application that do not change with its state; always 1.",
		"repo", "dest_server", "dest_namespace", "auto_sync")
	healthDesc = appDesc("argocd_monitor_app_health_status",
		"Application health as a state set: 1 for the current status, 0 for the others.", "health_status")
	syncDesc = appDesc("argocd_monitor_app_sync_status",
		"Application sync status as a state set: 1 for the current status, 0 for the others.", "sync_status")
	phaseDesc = appDesc("argocd_monitor_app_operation_phase",
		"Phase of the application's last (or current) operation as a state set; only for apps that have an operationState.", "phase")
	conditionsDesc = appDesc("argocd_monitor_app_conditions",
		"Number of application conditions of each type (types with none are not emitted).", "condition")
	reconciledDesc = appDesc("argocd_monitor_app_reconciled_timestamp_seconds",
		"When Argo CD last reconciled the application against git (status.reconciledAt).")
	transitionDesc = appDesc("argocd_monitor_app_health_transition_timestamp_seconds",
		"When the application's health status last changed (status.health.lastTransitionTime).")

	upDesc = prometheus.NewDesc("argocd_monitor_api_up",
		"1 when the last poll of the Argo CD API succeeded, 0 when it failed or none finished yet.", nil, nil)
	lastSuccessDesc = prometheus.NewDesc("argocd_monitor_last_poll_success_timestamp_seconds",
		"When the last successful poll of the Argo CD API finished.", nil, nil)
	appsDesc = prometheus.NewDesc("argocd_monitor_apps",
		"Applications in the served snapshot (0 once it is older than --argocd.stale-after).", nil, nil)
)

// Collector is a prometheus.Collector over a Source.
type Collector struct {
	src Source
}

// New returns a collector rendering src.
func New(src Source) *Collector { return &Collector{src: src} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{infoDesc, healthDesc, syncDesc, phaseDesc, conditionsDesc,
		reconciledDesc, transitionDesc, upDesc, lastSuccessDesc, appsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Snapshot()
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, boolValue(s.Up))
	if !s.LastSuccess.IsZero() {
		ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, unixSeconds(s.LastSuccess))
	}
	ch <- prometheus.MustNewConstMetric(appsDesc, prometheus.GaugeValue, float64(len(s.Apps)))
	for i := range s.Apps {
		collectApp(ch, &s.Apps[i])
	}
}

func collectApp(ch chan<- prometheus.Metric, a *argocd.App) {
	ns, name, proj := a.Namespace, a.Name, a.Project
	autoSync := "false"
	if a.AutoSync {
		autoSync = "true"
	}
	ch <- prometheus.MustNewConstMetric(infoDesc, prometheus.GaugeValue, 1,
		ns, name, proj, a.Repo, a.DestServer, a.DestNamespace, autoSync)
	for _, h := range argocd.HealthStatuses {
		ch <- prometheus.MustNewConstMetric(healthDesc, prometheus.GaugeValue, boolValue(a.Health == h), ns, name, proj, string(h))
	}
	for _, st := range argocd.SyncStatuses {
		ch <- prometheus.MustNewConstMetric(syncDesc, prometheus.GaugeValue, boolValue(a.Sync == st), ns, name, proj, string(st))
	}
	if a.Operation != nil {
		for _, ph := range argocd.OperationPhases {
			ch <- prometheus.MustNewConstMetric(phaseDesc, prometheus.GaugeValue, boolValue(a.Operation.Phase == ph), ns, name, proj, string(ph))
		}
	}
	for typ, n := range a.Conditions {
		ch <- prometheus.MustNewConstMetric(conditionsDesc, prometheus.GaugeValue, float64(n), ns, name, proj, typ)
	}
	if !a.ReconciledAt.IsZero() {
		ch <- prometheus.MustNewConstMetric(reconciledDesc, prometheus.GaugeValue, unixSeconds(a.ReconciledAt), ns, name, proj)
	}
	if !a.HealthTransition.IsZero() {
		ch <- prometheus.MustNewConstMetric(transitionDesc, prometheus.GaugeValue, unixSeconds(a.HealthTransition), ns, name, proj)
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1e3 }
