package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/actions"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/interact"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/webhook"
)

const namespace = "argocd_monitor_bridge"

// Metrics are the bridge's metrics, all registered on one explicit registry: the pipeline's
// own here, each other package's by that package (its New... constructor registers them).
type Metrics struct {
	Registry      *prometheus.Registry
	Notifications *prometheus.CounterVec
	Duplicates    prometheus.Counter
	Webhooks      *prometheus.CounterVec
	SlackRequests *prometheus.CounterVec
	SlackDuration *prometheus.HistogramVec
	Actions       *prometheus.CounterVec
	Interactions  *prometheus.CounterVec
	Enrich        *enrich.Metrics
}

// NewMetrics builds the registry the binary serves on /metrics (tests build the same one).
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "notifications_total",
			Help: "Notifications Slack accepted, by route and group status (firing, resolved).",
		}, []string{"route", "status"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "duplicate_notifications_total",
			Help: "Notifications acknowledged without posting: the same one was delivered within the dedupe window, or a late firing copy of alerts the group's last notification resolved.",
		}),
		Webhooks:     webhook.NewRequests(reg),
		Actions:      actions.NewCounter(reg),
		Interactions: interact.NewCounter(reg),
		Enrich:       enrich.NewMetrics(reg),
	}
	m.SlackRequests, m.SlackDuration = slack.NewMetrics(reg)
	reg.MustRegister(
		versioncollector.NewCollector(namespace),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Notifications, m.Duplicates,
	)
	return m
}
