package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
)

const namespace = "argocd_monitor_bridge"

// Metrics are the bridge's own metrics, all registered on one explicit registry.
type Metrics struct {
	Registry      *prometheus.Registry
	Webhooks      *prometheus.CounterVec
	Notifications *prometheus.CounterVec
	Duplicates    prometheus.Counter
	SlackRequests *prometheus.CounterVec
	SlackDuration *prometheus.HistogramVec
	Actions       *prometheus.CounterVec
	Interactions  *prometheus.CounterVec
	Enrich        *enrich.Metrics
}

// NewMetrics builds the registry the binary serves on /metrics (tests build the same one).
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhooks_total",
			Help: "Alertmanager webhook requests by HTTP answer code.",
		}, []string{"code"}),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "notifications_total",
			Help: "Notifications Slack accepted, by route and group status (firing, resolved).",
		}, []string{"route", "status"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "duplicate_notifications_total",
			Help: "Notifications acknowledged without posting because the same one was delivered within the dedupe window.",
		}),
		SlackRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "slack_requests_total",
			Help: "Requests to Slack by method and result (ok, ratelimited, server_error, client_error, timeout, network_error).",
		}, []string{"method", "result"}),
		SlackDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "slack_request_duration_seconds",
			Help:    "Duration of requests to Slack.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method"}),
		Actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "actions_total",
			Help: "Slack button actions by action (silence, expire_silence, ack, retry, resume, unknown) and result (ok, refused, error, replay, invalid).",
		}, []string{"action", "result"}),
		Interactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "interactions_total",
			Help: "Slack interaction payloads received, by way (http, socket_mode) and result (accepted, ignored, unauthorized, invalid, too_large, overloaded).",
		}, []string{"via", "result"}),
		Enrich: enrich.NewMetrics(),
	}
	m.Registry.MustRegister(m.Enrich.Collectors()...)
	m.Registry.MustRegister(
		versioncollector.NewCollector(namespace),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Webhooks, m.Notifications, m.Duplicates, m.SlackRequests, m.SlackDuration, m.Actions, m.Interactions,
	)
	return m
}
