// Package alertrules builds argocd-monitor's Prometheus alert rules from params.Params and renders
// them as a plain Prometheus rule file and as a Prometheus Operator PrometheusRule manifest. It is
// the one source of truth for alerts/argocd-monitor.rules.yaml and the PrometheusRule in deploy/.
package alertrules

import (
	"fmt"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

// Rule is one alerting or recording rule as Prometheus reads it.
type Rule struct {
	Record        string            `yaml:"record,omitempty"`
	Alert         string            `yaml:"alert,omitempty"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for,omitempty"`
	KeepFiringFor string            `yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `yaml:"labels,omitempty"`
	Annotations   map[string]string `yaml:"annotations,omitempty"`
}

// Group is a rule group.
type Group struct {
	Name  string `yaml:"name"`
	Rules []Rule `yaml:"rules"`
}

// Groups is the content of a rule file (and the spec of a PrometheusRule).
type Groups struct {
	Groups []Group `yaml:"groups"`
}

// appKeys are the labels every app series carries: the join key between app metrics and the
// routing labels the bridge renders. argocd names the Argo CD instance where several are
// federated or remote-written into one store (docs/scale.md); absent, it changes nothing.
const appKeys = "argocd, namespace, name, project"

// builder carries the params while the rules are assembled.
type builder struct{ p params.Params }

// sel renders a vector selector for metric on the exporter's targets with extra matchers.
func (b builder) sel(metric string, extra ...string) string {
	return selector(metric, b.p.ExporterSelector, extra)
}

// bsel renders a vector selector for metric on the bridge's targets.
func (b builder) bsel(metric string, extra ...string) string {
	return selector(metric, b.p.BridgeSelector, extra)
}

func selector(metric, base string, extra []string) string {
	return metric + "{" + strings.Join(append([]string{base}, extra...), ", ") + "}"
}

// forText says how long a condition has held, for descriptions ("" when the alert fires at once).
func forText(d params.Duration) string {
	if d == 0 {
		return ""
	}
	return " for more than " + d.String()
}

// rule assembles one alert with the labels and annotations every alert carries.
func (b builder) rule(name, expr, summary, description, dashboardURL string, extra map[string]string) Rule {
	a := b.p.Alerts[name]
	r := Rule{
		Alert:  name,
		Expr:   strings.TrimSpace(expr),
		Labels: map[string]string{"severity": a.Severity},
		Annotations: map[string]string{
			"summary":       summary,
			"description":   description,
			"runbook_url":   b.p.RunbookURL + "#" + strings.ToLower(name),
			"dashboard_url": dashboardURL,
		},
	}
	if a.For > 0 {
		r.For = a.For.String()
	}
	if a.KeepFiringFor > 0 {
		r.KeepFiringFor = a.KeepFiringFor.String()
	}
	for k, v := range extra {
		r.Annotations[k] = v
	}
	return r
}

// appDashboard links to the Application dashboard for the alert's app.
func (b builder) appDashboard() string {
	return b.p.GrafanaBase() + params.AppDashboardPath +
		"?var-namespace={{ $labels.namespace }}&var-project={{ $labels.project }}&var-name={{ $labels.name }}"
}

func (b builder) overviewDashboard() string { return b.p.GrafanaBase() + params.OverviewDashboardPath }

// perApp keeps one series per app (and state label) with only the labels that identify it. The
// scrape adds target labels (instance, pod, container...) that change when the exporter pod is
// replaced; left in, a restart would turn every firing alert into a new one (resolved, then
// pending again from zero, then re-notified).
func perApp(stateLabel, expr string) string {
	by := "job, " + appKeys
	if stateLabel != "" {
		by += ", " + stateLabel
	}
	expr = strings.TrimSpace(expr)
	if !strings.Contains(expr, "\n") {
		return fmt.Sprintf("max by (%s) (%s)", by, expr)
	}
	return fmt.Sprintf("max by (%s) (\n  %s\n)", by, strings.ReplaceAll(expr, "\n", "\n  "))
}

// appRef names an app in summaries and descriptions.
const appRef = "{{ $labels.namespace }}/{{ $labels.name }}"

// Build returns the rule groups for p.
func Build(p params.Params) (Groups, error) {
	if err := p.Validate(); err != nil {
		return Groups{}, err
	}
	b := builder{p}
	f := func(name string) string { return forText(p.Alerts[name].For) }
	paused := b.sel("argocd_monitor_app_remediation_paused") + " == 1"

	apps := Group{Name: "argocd-monitor.apps", Rules: []Rule{
		b.rule(params.AppDegraded,
			perApp("health_status", b.sel("argocd_monitor_app_health_status", `health_status="Degraded"`)+" == 1"),
			"Argo CD app "+appRef+" is Degraded",
			"Application "+appRef+" (project {{ $labels.project }}) has been Degraded"+f(params.AppDegraded)+
				": some of its resources fail their health checks. Progressing apps are not counted.",
			b.appDashboard(), nil),
		b.rule(params.AppUnhealthy,
			perApp("health_status", b.sel("argocd_monitor_app_health_status", `health_status=~"Missing|Unknown"`)+" == 1"),
			"Argo CD app "+appRef+" health is {{ $labels.health_status }}",
			"Application "+appRef+" (project {{ $labels.project }}) has had health {{ $labels.health_status }}"+f(params.AppUnhealthy)+
				": its resources are not in the cluster, or Argo CD cannot assess them.",
			b.appDashboard(), nil),
		// The phase of the last operation stays Failed until the next sync, so an app that became
		// Synced and Healthy by other means (a manual fix, a later commit) must not keep it firing.
		b.rule(params.AppSyncFailed, perApp("phase", fmt.Sprintf(`
%s == 1
unless on (%s)
(
    (%s == 1)
  and on (%s)
    (%s == 1)
)`,
			b.sel("argocd_monitor_app_operation_phase", `phase=~"Failed|Error"`), appKeys,
			b.sel("argocd_monitor_app_sync_status", `sync_status="Synced"`), appKeys,
			b.sel("argocd_monitor_app_health_status", `health_status="Healthy"`))),
			"Argo CD app "+appRef+": last sync {{ $labels.phase }}",
			"The last sync operation of application "+appRef+" (project {{ $labels.project }}) ended {{ $labels.phase }}"+
				", and the app has not been Synced and Healthy"+f(params.AppSyncFailed)+".",
			b.appDashboard(), nil),
		// Remediation is working on an app while it has attempts left (attempts > 0, not paused) or
		// a retry scheduled; only apps it does not cover, or gave up on, count as plain drift.
		b.rule(params.AppOutOfSync, perApp("sync_status", fmt.Sprintf(`
%s == 1
unless on (%s)
(
    (%s > 0 unless on (%s) %s)
  or on (%s)
    %s
)`,
			b.sel("argocd_monitor_app_sync_status", `sync_status="OutOfSync"`), appKeys,
			b.sel("argocd_monitor_app_remediation_attempts"), appKeys, paused, appKeys,
			b.sel("argocd_monitor_app_remediation_next_attempt_timestamp_seconds"))),
			"Argo CD app "+appRef+" is OutOfSync",
			"Application "+appRef+" (project {{ $labels.project }}) has been OutOfSync"+f(params.AppOutOfSync)+
				" and auto-sync remediation is not working on it (excluded, automated sync, or paused): the cluster differs from git.",
			b.appDashboard(), nil),
		// The value is the number of attempts; the fallback keeps the alert if the attempts series
		// were ever missing for a paused app.
		b.rule(params.AppRemediationPaused, perApp("", fmt.Sprintf(`
(
    %s
  and on (%s)
    (%s)
)
or on (%s)
  (%s)`,
			b.sel("argocd_monitor_app_remediation_attempts"), appKeys, paused, appKeys, paused)),
			"Argo CD app "+appRef+": auto-sync stopped after {{ $value }} attempts",
			"Auto-sync remediation of application "+appRef+" (project {{ $labels.project }}) stopped after {{ $value }} sync attempts"+
				" that did not bring it back to Synced and Healthy. No more syncs until a person fixes it: "+
				p.ArgoCDBase()+"/applications/"+appRef,
			b.appDashboard(),
			map[string]string{"argocd_url": p.ArgoCDBase() + "/applications/" + appRef}),
		// The start timestamp exists only while an operation runs, so a finished (or terminated)
		// operation clears the alert; the value is how long it has run.
		b.rule(params.AppSyncStuck,
			perApp("", "time() - "+b.sel("argocd_monitor_app_operation_start_timestamp_seconds")+
				fmt.Sprintf(" > %g", time.Duration(p.SyncStuckAfter).Seconds())),
			"Argo CD app "+appRef+": sync running for {{ $value | humanizeDuration }}",
			"The sync operation of application "+appRef+" (project {{ $labels.project }}) has been running for {{ $value | humanizeDuration }}"+
				", longer than "+p.SyncStuckAfter.String()+": it is probably waiting on a hook that never finishes. Nothing else syncs this app until it ends;"+
				" terminate it in Argo CD (or let --remediation.terminate-after do it).",
			b.appDashboard(),
			map[string]string{"argocd_url": p.ArgoCDBase() + "/applications/" + appRef}),
	}}

	self := Group{Name: "argocd-monitor.self", Rules: []Rule{
		b.rule(params.MonitorAPIUnreachable,
			// max: the API counts as reachable while any exporter of the job reaches it.
			"max by (argocd, job) ("+b.sel("argocd_monitor_api_up")+") == 0",
			"argocd-monitor cannot reach the Argo CD API",
			"The exporter ({{ $labels.job }}) has failed to poll the Argo CD API"+f(params.MonitorAPIUnreachable)+
				". App metrics are frozen at the last good poll (and vanish after --argocd.stale-after), so app alerts may be stale. Its log names the cause (token, RBAC, TLS, network).",
			b.overviewDashboard(), nil),
		b.rule(params.MonitorDown,
			// Per job, not per pod, so a replaced pod continues the same alert.
			fmt.Sprintf("max by (argocd, job) (%s) == 0\nor\nabsent(%s)", b.sel("up"), b.sel("up")),
			"argocd-monitor exporter is down",
			"The argocd-monitor exporter has been down or missing from Prometheus' targets"+f(params.MonitorDown)+
				": no app alerts and no auto-sync remediation while it is gone.",
			b.overviewDashboard(), nil),
		// Failed answers to Alertmanager (5xx: Slack unreachable past the deadline; 422: Slack
		// refused the message; 401: Alertmanager's token is wrong) or no bridge up at all.
		b.rule(params.MonitorBridgeFailing, fmt.Sprintf(`
sum by (argocd, job) (rate(%s[%s])) > 0
or
sum by (argocd, job) (%s) == 0`,
			b.bsel("argocd_monitor_bridge_webhooks_total", `code=~"5..|401|422"`), p.BridgeFailureWindow,
			b.bsel("up")),
			"Slack bridge is failing to deliver alerts",
			"The Slack bridge ({{ $labels.job }}) has been failing to deliver Alertmanager notifications to Slack"+f(params.MonitorBridgeFailing)+
				" (webhooks answered 5xx, 401 or 422, or no bridge up). Alerts are not reaching Slack: this alert cannot reach you through the bridge either.",
			b.overviewDashboard(), nil),
	}}
	for i := range apps.Rules {
		apps.Rules[i].Expr = b.withFleetLabels(apps.Rules[i].Expr)
	}
	groups := []Group{apps, b.fleet(), self, b.records()}
	if p.Components.Enabled {
		groups = append(groups, b.components())
	}
	return Groups{Groups: groups}, nil
}
