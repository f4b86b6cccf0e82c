// Package params holds the settings shared by the alert rule and dashboard generators: job
// selectors, alert durations and severities, the thresholds of the Argo CD component rules, and
// the URLs the alerts and dashboards link to. Every setting has a default here; a strict YAML
// file (alerts/params.yaml) overrides any subset of them.
package params

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// Alert names: a public contract (routing, silences and the runbook anchors depend on them).
const (
	AppDegraded           = "ArgoCDAppDegraded"
	AppUnhealthy          = "ArgoCDAppUnhealthy"
	AppSyncFailed         = "ArgoCDAppSyncFailed"
	AppOutOfSync          = "ArgoCDAppOutOfSync"
	AppRemediationPaused  = "ArgoCDAppRemediationPaused"
	AppSyncStuck          = "ArgoCDAppSyncStuck"
	MonitorAPIUnreachable = "ArgoCDMonitorAPIUnreachable"
	MonitorDown           = "ArgoCDMonitorDown"
	MonitorBridgeFailing  = "ArgoCDMonitorBridgeFailing"

	// Fleet alerts: one cause breaking many apps (the fleet group).
	DestinationDown = "ArgoCDDestinationDown"
	ParentDegraded  = "ArgoCDParentDegraded"

	// Alerts over Argo CD's own metrics (the components group).
	ControllerReconcileSlow = "ArgoCDControllerReconcileSlow"
	AppSyncsFailing         = "ArgoCDAppSyncsFailing"
	ClusterConnectionLost   = "ArgoCDClusterConnectionLost"
	KubectlErrors           = "ArgoCDKubectlErrors"
	KubectlExecPending      = "ArgoCDKubectlExecPending"
	GitRequestsFailing      = "ArgoCDGitRequestsFailing"
	GitRequestsSlow         = "ArgoCDGitRequestsSlow"
	RedisUnreachable        = "ArgoCDRedisUnreachable"
	AppSetErrors            = "ArgoCDAppSetErrors"
	NotificationsFailing    = "ArgoCDNotificationsFailing"
)

// Dashboard uids: stable, because the alerts' dashboard_url annotations and the dashboards' links
// to each other depend on them.
const (
	OverviewUID   = "argocd-monitor-overview"
	AppUID        = "argocd-monitor-app"
	ComponentsUID = "argocd-monitor-components"
)

// Grafana paths of the dashboards (the slug after the uid is cosmetic: Grafana resolves by uid).
const (
	AppDashboardPath        = "/d/" + AppUID + "/argocd-monitor-application"
	OverviewDashboardPath   = "/d/" + OverviewUID + "/argocd-monitor-overview"
	ComponentsDashboardPath = "/d/" + ComponentsUID + "/argo-cd-components"
)

// MonitorAlerts are the alerts over argocd-monitor's own metrics, ComponentAlerts those over Argo
// CD's (generated only when Components.Enabled), each in rule file order.
var (
	MonitorAlerts = []string{
		AppDegraded, AppUnhealthy, AppSyncFailed, AppOutOfSync, AppRemediationPaused, AppSyncStuck,
		DestinationDown, ParentDegraded,
		MonitorAPIUnreachable, MonitorDown, MonitorBridgeFailing,
	}
	ComponentAlerts = []string{
		ControllerReconcileSlow, AppSyncsFailing, ClusterConnectionLost, KubectlErrors, KubectlExecPending,
		GitRequestsFailing, GitRequestsSlow, RedisUnreachable, AppSetErrors, NotificationsFailing,
	}
	// AlertNames is every alert the generator knows, in rule file order.
	AlertNames = append(append([]string{}, MonitorAlerts...), ComponentAlerts...)
)

// Duration is a duration written the Prometheus way ("5m", "1h30m").
type Duration model.Duration

// UnmarshalYAML parses a Prometheus duration and names the line of a bad one.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := model.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration in Prometheus notation.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func (d Duration) String() string { return model.Duration(d).String() }

// Alert is the tunable part of one alert.
type Alert struct {
	For      Duration `yaml:"for"`
	Severity string   `yaml:"severity"`
	// KeepFiringFor keeps a firing alert firing this long after its expression stops
	// returning it (Prometheus's keep_firing_for): a scrape gap while every exporter replica
	// restarts is then no resolve. 0 leaves it out.
	KeepFiringFor Duration `yaml:"keepFiringFor"`
}

// Alerts holds the settings per alert name.
type Alerts map[string]Alert

// UnmarshalYAML lays each entry over the alert's default, so an entry may set one field only.
func (a *Alerts) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: alerts: want a map of alert names", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, v := n.Content[i].Value, n.Content[i+1]
		cur, ok := (*a)[name]
		if !ok {
			return fmt.Errorf("line %d: alerts: unknown alert %q (known: %s)", n.Content[i].Line, name, strings.Join(AlertNames, ", "))
		}
		// Node.Decode is not strict, so the two keys are checked here.
		for j := 0; v.Kind == yaml.MappingNode && j < len(v.Content); j += 2 {
			if k := v.Content[j].Value; k != "for" && k != "severity" && k != "keepFiringFor" {
				return fmt.Errorf("line %d: alerts.%s: field %s not found", v.Content[j].Line, name, k)
			}
		}
		if err := v.Decode(&cur); err != nil {
			return fmt.Errorf("alerts.%s: %w", name, err)
		}
		(*a)[name] = cur
	}
	return nil
}

// Components are the settings of the rule group and dashboard over Argo CD's own metrics.
type Components struct {
	// Enabled false leaves the group (and its recording rules) out of the rule files.
	Enabled bool `yaml:"enabled"`
	// Selector picks the scrape targets of Argo CD's components (label matchers, no braces).
	Selector string `yaml:"selector"`
	// RateWindow is the rate window of Argo CD's counters and histograms.
	RateWindow Duration `yaml:"rateWindow"`
	// Thresholds: p95 latencies in seconds, error ratios between 0 and 1, a count.
	ReconcileP95Seconds  float64 `yaml:"reconcileP95Seconds"`
	GitRequestP95Seconds float64 `yaml:"gitRequestP95Seconds"`
	KubectlErrorRatio    float64 `yaml:"kubectlErrorRatio"`
	KubectlPendingMax    float64 `yaml:"kubectlPendingMax"`
	RedisFailureRatio    float64 `yaml:"redisFailureRatio"`
}

// Fleet are the settings of the fleet alerts (ArgoCDDestinationDown, ArgoCDParentDegraded).
type Fleet struct {
	// MinApps is how many apps of one destination (or children of one parent) must be in trouble
	// before the fleet alert fires and inhibits their per-app alerts.
	MinApps int `yaml:"minApps"`
}

// Params are every setting the generators take. A params file is decoded over Default().
type Params struct {
	// ExporterSelector and BridgeSelector are PromQL label matchers (without braces) that pick the
	// scrape targets of the exporter and the bridge, e.g. job="argocd-monitor-exporter".
	ExporterSelector string `yaml:"exporterSelector"`
	BridgeSelector   string `yaml:"bridgeSelector"`
	// RunbookURL is the runbook document; each alert links to its own anchor in it.
	RunbookURL string `yaml:"runbookURL"`
	// GrafanaURL is the Grafana base URL the dashboard_url annotations point into.
	GrafanaURL string `yaml:"grafanaURL"`
	// ArgoCDURL is the Argo CD UI base URL (links to applications).
	ArgoCDURL string `yaml:"argocdURL"`
	// BridgeFailureWindow is the rate window for the bridge's failed webhook answers.
	BridgeFailureWindow Duration `yaml:"bridgeFailureWindow"`
	// SyncStuckAfter is how long an operation may run (Running or Terminating) before
	// ArgoCDAppSyncStuck fires.
	SyncStuckAfter Duration   `yaml:"syncStuckAfter"`
	Components     Components `yaml:"components"`
	Fleet          Fleet      `yaml:"fleet"`
	// Alerts holds for and severity per alert name; names not given keep their defaults.
	Alerts Alerts `yaml:"alerts"`
}

// Default returns the settings the committed files are generated with when no file overrides them.
func Default() Params {
	m := Duration(model.Duration(60e9))
	return Params{
		ExporterSelector:    `job="argocd-monitor-exporter"`,
		BridgeSelector:      `job="argocd-monitor-bridge"`,
		RunbookURL:          "https://github.com/argocd-monitor/argocd-monitor/blob/main/alerts/RUNBOOK.md",
		GrafanaURL:          "https://grafana.example.com",
		ArgoCDURL:           "https://argocd.example.com",
		BridgeFailureWindow: 5 * m,
		Fleet:               Fleet{MinApps: 3},
		SyncStuckAfter:      30 * m,
		Components: Components{
			Enabled: true,
			// Argo CD's Services are argocd-metrics, argocd-server-metrics, argocd-repo-server,
			// argocd-applicationset-controller, argocd-notifications-controller-metrics (the Helm
			// chart adds -metrics); ours start with argocd-monitor- and are left out.
			Selector:             `job=~"argocd-.*", job!~"argocd-monitor-.*"`,
			RateWindow:           5 * m,
			ReconcileP95Seconds:  10,
			GitRequestP95Seconds: 10,
			KubectlErrorRatio:    0.05,
			KubectlPendingMax:    10,
			RedisFailureRatio:    0.5,
		},
		Alerts: Alerts{
			AppDegraded:          {For: 5 * m, Severity: "critical"},
			AppUnhealthy:         {For: 15 * m, Severity: "warning"},
			AppSyncFailed:        {For: 5 * m, Severity: "warning"},
			AppOutOfSync:         {For: 30 * m, Severity: "warning"},
			AppRemediationPaused: {For: 0, Severity: "critical"},
			// The expression holds the threshold (syncStuckAfter); the for rides out a scrape gap.
			AppSyncStuck:          {For: 1 * m, Severity: "warning"},
			MonitorAPIUnreachable: {For: 5 * m, Severity: "critical"},
			MonitorDown:           {For: 5 * m, Severity: "critical"},
			// Longer than bridgeFailureWindow, so one failed webhook alone never fires it.
			MonitorBridgeFailing: {For: 10 * m, Severity: "critical"},
			// Shorter than the per-app alerts they inhibit, so the fleet message comes first. They
			// keep firing through a scrape gap (every exporter restarting), so a restart storm
			// neither resolves the fleet message nor, when the gap ends, pages anew.
			DestinationDown: {For: 2 * m, KeepFiringFor: 2 * m, Severity: "critical"},
			ParentDegraded:  {For: 2 * m, KeepFiringFor: 2 * m, Severity: "critical"},

			ControllerReconcileSlow: {For: 15 * m, Severity: "warning"},
			// A failed sync is news on its own (like the mixin); the for only rides out a scrape gap.
			AppSyncsFailing:       {For: 1 * m, Severity: "warning"},
			ClusterConnectionLost: {For: 5 * m, Severity: "critical"},
			KubectlErrors:         {For: 15 * m, Severity: "warning"},
			KubectlExecPending:    {For: 15 * m, Severity: "warning"},
			// Failures that keep coming for longer than components.rateWindow, not one blip.
			GitRequestsFailing:   {For: 10 * m, Severity: "warning"},
			GitRequestsSlow:      {For: 15 * m, Severity: "warning"},
			RedisUnreachable:     {For: 5 * m, Severity: "critical"},
			AppSetErrors:         {For: 10 * m, Severity: "warning"},
			NotificationsFailing: {For: 10 * m, Severity: "warning"},
		},
	}
}

// Load reads a params file over the defaults. Unknown keys, unknown alert names and bad values are
// errors naming the key and line. An empty path returns the defaults.
func Load(path string) (Params, error) {
	p := Default()
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Params{}, fmt.Errorf("read params: %w", err)
	}
	if err := p.decode(b); err != nil {
		return Params{}, fmt.Errorf("params %s: %w", path, err)
	}
	return p, nil
}

// decode lays a YAML document over p: keys it does not name keep their values.
func (p *Params) decode(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	// A section left empty ("alerts:") decodes as null, which zeroes it: it keeps the defaults.
	d := Default()
	if p.Alerts == nil {
		p.Alerts = d.Alerts
	}
	if p.Components == (Components{}) {
		p.Components = d.Components
	}
	if p.Fleet == (Fleet{}) {
		p.Fleet = d.Fleet
	}
	return p.Validate()
}

// Validate checks what a generator needs: selectors that parse, absolute URLs, a severity for
// every alert, thresholds in range.
func (p Params) Validate() error {
	sels := map[string]string{"exporterSelector": p.ExporterSelector, "bridgeSelector": p.BridgeSelector}
	if p.Components.Enabled {
		sels["components.selector"] = p.Components.Selector
	}
	for key, sel := range sels {
		if strings.TrimSpace(sel) == "" {
			return fmt.Errorf("%s: empty", key)
		}
		if _, err := parser.NewParser(parser.Options{}).ParseMetricSelector("{" + sel + "}"); err != nil {
			return fmt.Errorf("%s: %q is not a PromQL label matcher list: %w", key, sel, err)
		}
	}
	for key, u := range map[string]string{"runbookURL": p.RunbookURL, "grafanaURL": p.GrafanaURL, "argocdURL": p.ArgoCDURL} {
		v, err := url.Parse(u)
		if err != nil || (v.Scheme != "http" && v.Scheme != "https") || v.Host == "" {
			return fmt.Errorf("%s: %q is not an absolute http(s) URL", key, u)
		}
	}
	c := p.Components
	for key, ok := range map[string]bool{
		"bridgeFailureWindow: must be positive":             p.BridgeFailureWindow > 0,
		"fleet.minApps: must be at least 2":                 p.Fleet.MinApps >= 2,
		"syncStuckAfter: must be positive":                  p.SyncStuckAfter > 0,
		"components.rateWindow: must be positive":           c.RateWindow > 0,
		"components.reconcileP95Seconds: must be positive":  c.ReconcileP95Seconds > 0,
		"components.gitRequestP95Seconds: must be positive": c.GitRequestP95Seconds > 0,
		"components.kubectlPendingMax: must be positive":    c.KubectlPendingMax > 0,
		"components.kubectlErrorRatio: must be in (0, 1]":   c.KubectlErrorRatio > 0 && c.KubectlErrorRatio <= 1,
		"components.redisFailureRatio: must be in (0, 1]":   c.RedisFailureRatio > 0 && c.RedisFailureRatio <= 1,
	} {
		if !ok {
			return errors.New(key)
		}
	}
	for _, name := range AlertNames {
		a, ok := p.Alerts[name]
		if !ok {
			return fmt.Errorf("alerts: %s missing", name)
		}
		if strings.TrimSpace(a.Severity) == "" {
			return fmt.Errorf("alerts.%s.severity: empty", name)
		}
	}
	if bf := p.Alerts[MonitorBridgeFailing].For; bf <= p.BridgeFailureWindow {
		return fmt.Errorf("alerts.%s.for (%s) must be longer than bridgeFailureWindow (%s), or a single failed webhook fires it", MonitorBridgeFailing, bf, p.BridgeFailureWindow)
	}
	return nil
}

// GrafanaBase is the Grafana URL without a trailing slash.
func (p Params) GrafanaBase() string { return strings.TrimRight(p.GrafanaURL, "/") }

// ArgoCDBase is the Argo CD URL without a trailing slash.
func (p Params) ArgoCDBase() string { return strings.TrimRight(p.ArgoCDURL, "/") }
