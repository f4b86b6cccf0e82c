// Package params holds the settings shared by the alert rule and dashboard generators: job
// selectors, alert durations and severities, and the URLs the alerts and dashboards link to. Every
// setting has a default here; a strict YAML file overrides any subset of them.
package params

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

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
	MonitorAPIUnreachable = "ArgoCDMonitorAPIUnreachable"
	MonitorDown           = "ArgoCDMonitorDown"
	MonitorBridgeFailing  = "ArgoCDMonitorBridgeFailing"
)

// Dashboard uids: stable, because the alerts' dashboard_url annotations and the dashboards' links
// to each other depend on them.
const (
	OverviewUID = "argocd-monitor-overview"
	AppUID      = "argocd-monitor-app"
)

// AppDashboardPath and OverviewDashboardPath are the Grafana paths of the two dashboards (the slug
// after the uid is cosmetic: Grafana resolves by uid).
const (
	AppDashboardPath      = "/d/" + AppUID + "/argocd-monitor-application"
	OverviewDashboardPath = "/d/" + OverviewUID + "/argocd-monitor-overview"
)

// AlertNames lists every alert in the order the rule file holds them.
var AlertNames = []string{
	AppDegraded, AppUnhealthy, AppSyncFailed, AppOutOfSync, AppRemediationPaused,
	MonitorAPIUnreachable, MonitorDown, MonitorBridgeFailing,
}

// Duration is a time.Duration written in YAML the Prometheus way ("5m", "30s").
type Duration time.Duration

// UnmarshalYAML accepts a Go duration string such as "90s" or "5m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	if v < 0 {
		return fmt.Errorf("line %d: negative duration %q", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration in Prometheus notation.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String renders the duration as Prometheus does ("5m", "1h30m", "0s").
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := v / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			v -= n * u.unit
		}
	}
	return b.String()
}

// Alert is the tunable part of one alert.
type Alert struct {
	For      Duration `yaml:"for"`
	Severity string   `yaml:"severity"`
}

// Params are every setting the generators take.
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
	// Alerts holds for and severity per alert name; names not given keep their defaults.
	Alerts map[string]Alert `yaml:"alerts"`
}

// Default returns the settings the committed files are generated with when no file overrides them.
func Default() Params {
	m := time.Minute
	return Params{
		ExporterSelector:    `job="argocd-monitor-exporter"`,
		BridgeSelector:      `job="argocd-monitor-bridge"`,
		RunbookURL:          "https://github.com/argocd-monitor/argocd-monitor/blob/main/alerts/RUNBOOK.md",
		GrafanaURL:          "https://grafana.example.com",
		ArgoCDURL:           "https://argocd.example.com",
		BridgeFailureWindow: Duration(5 * m),
		Alerts: map[string]Alert{
			AppDegraded:           {For: Duration(5 * m), Severity: "critical"},
			AppUnhealthy:          {For: Duration(15 * m), Severity: "warning"},
			AppSyncFailed:         {For: Duration(5 * m), Severity: "warning"},
			AppOutOfSync:          {For: Duration(30 * m), Severity: "warning"},
			AppRemediationPaused:  {For: 0, Severity: "critical"},
			MonitorAPIUnreachable: {For: Duration(5 * m), Severity: "critical"},
			MonitorDown:           {For: Duration(5 * m), Severity: "critical"},
			// Longer than bridgeFailureWindow, so one failed webhook alone never fires it.
			MonitorBridgeFailing: {For: Duration(10 * m), Severity: "critical"},
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

// file mirrors Params with pointers so a file can override a subset and an alert entry can set
// only one of its two fields.
type file struct {
	ExporterSelector    *string               `yaml:"exporterSelector"`
	BridgeSelector      *string               `yaml:"bridgeSelector"`
	RunbookURL          *string               `yaml:"runbookURL"`
	GrafanaURL          *string               `yaml:"grafanaURL"`
	ArgoCDURL           *string               `yaml:"argocdURL"`
	BridgeFailureWindow *Duration             `yaml:"bridgeFailureWindow"`
	Alerts              map[string]alertPatch `yaml:"alerts"`
}

type alertPatch struct {
	For      *Duration `yaml:"for"`
	Severity *string   `yaml:"severity"`
}

func (p *Params) decode(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&p.ExporterSelector, f.ExporterSelector)
	set(&p.BridgeSelector, f.BridgeSelector)
	set(&p.RunbookURL, f.RunbookURL)
	set(&p.GrafanaURL, f.GrafanaURL)
	set(&p.ArgoCDURL, f.ArgoCDURL)
	if f.BridgeFailureWindow != nil {
		p.BridgeFailureWindow = *f.BridgeFailureWindow
	}
	for name, patch := range f.Alerts {
		a, ok := p.Alerts[name]
		if !ok {
			return fmt.Errorf("alerts: unknown alert %q (known: %s)", name, strings.Join(AlertNames, ", "))
		}
		if patch.For != nil {
			a.For = *patch.For
		}
		set(&a.Severity, patch.Severity)
		p.Alerts[name] = a
	}
	return p.Validate()
}

// Validate checks what a generator needs: selectors that parse, absolute URLs, a severity for
// every alert.
func (p Params) Validate() error {
	for key, sel := range map[string]string{"exporterSelector": p.ExporterSelector, "bridgeSelector": p.BridgeSelector} {
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
	if p.BridgeFailureWindow <= 0 {
		return errors.New("bridgeFailureWindow: must be positive")
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
