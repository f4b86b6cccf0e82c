package dashboards

import (
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/alertrules"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

// components is the "Argo CD components" dashboard: Argo CD's own metrics (3.x names), the panels
// behind the argocd-monitor.argocd-components alerts. Its scrape targets are picked by
// components.selector of the params, not by a variable, so the panels and alerts agree.
func components(p params.Params) *dashboard.DashboardBuilder {
	sel := func(metric string, extra ...string) string {
		return instance(metric, append(nonEmpty(p.Components.Selector), extra...)...)
	}
	rate := func(metric string, extra ...string) string {
		return fmt.Sprintf("rate(%s[$__rate_interval])", sel(metric, extra...))
	}
	p95 := func(bucket string, by ...string) string {
		return fmt.Sprintf("histogram_quantile(0.95, sum by (%s) (%s))", strings.Join(append(by, "le"), ", "), rate(bucket))
	}
	ts := func(title, description string) *timeseries.PanelBuilder {
		return timeseries.NewPanelBuilder().Title(title).Description(description).Height(8).Span(12).Min(0).Legend(tableLegend())
	}

	b := base("Argo CD Monitor / Argo CD components", params.ComponentsUID, p,
		"Argo CD's own components from the metrics they expose: application controller, repo-server, Redis, ApplicationSets and notifications (the ArgoCD component alerts).").
		Link(dashboard.NewDashboardLinkBuilder("Overview").Type(dashboard.DashboardLinkTypeLink).
			Url(params.OverviewDashboardPath).Icon("dashboard").Tooltip("All applications").KeepTime(true)).
		Link(dashboard.NewDashboardLinkBuilder("Argo CD").Type(dashboard.DashboardLinkTypeLink).
			Url("${argocd_url}").Icon("external link").TargetBlank(true))

	b.WithRow(dashboard.NewRowBuilder("Application controller")).
		WithPanel(newTable("Clusters").Height(8).Span(12).
			Description("Connection of the controller to each destination cluster (ArgoCDClusterConnectionLost).").
			WithTarget(tableQuery("A", fmt.Sprintf("max by (server, k8s_version) (%s)", sel("argocd_cluster_connection_status")))).
			WithTransformation(organize([]string{"Time"}, map[string]string{"server": "Cluster", "k8s_version": "Kubernetes", "Value": "Connection"},
				[]string{"server", "k8s_version", "Value"})).
			OverrideByName("Connection", append(
				[]dashboard.DynamicConfigValue{{Id: "mappings", Value: valueMappings(map[string]state{"0": {"lost", "red"}, "1": {"connected", "green"}})}},
				colorCell()...))).
		WithPanel(ts("Reconcile duration", "p50 and p95 of app reconciliation (ArgoCDControllerReconcileSlow).").
			WithTarget(query("A", fmt.Sprintf("histogram_quantile(0.5, sum by (le) (%s))", rate("argocd_app_reconcile_bucket")), "p50")).
			WithTarget(query("B", p95("argocd_app_reconcile_bucket"), "p95")).Unit("s")).
		WithPanel(ts("Syncs by phase (per minute)", "Argo CD's sync counter, recorded as "+alertrules.RecordArgoCDSyncs+" (ArgoCDAppSyncsFailing).").
			WithTarget(query("A", fmt.Sprintf("sum by (phase) (%s) * 60", instance(alertrules.RecordArgoCDSyncs, nonEmpty(p.Components.Selector)...)), "{{phase}}")).
			DrawStyle(common.GraphDrawStyleBars).FillOpacity(80).
			OverrideByName("Failed", fixedColor("red")).OverrideByName("Error", fixedColor("dark-red")).
			OverrideByName("Succeeded", fixedColor("green"))).
		WithPanel(ts("Kubernetes API requests by code (per minute)", "Requests of Argo CD's Kubernetes clients; 429, 5xx and <error> are failures (ArgoCDKubectlErrors, Argo CD 3.0+).").
			WithTarget(query("A", fmt.Sprintf("sum by (code) (%s) * 60", rate("argocd_kubectl_requests_total")), "{{code}}")).
			OverrideByRegexp(`^(429|5\d\d|<error>)$`, fixedColor("red"))).
		WithPanel(ts("kubectl executions pending", "Per controller pod (ArgoCDKubectlExecPending).").
			WithTarget(query("A", fmt.Sprintf("sum by (hostname) (%s)", sel("argocd_kubectl_exec_pending")), "{{hostname}}")).Decimals(0)).
		WithPanel(ts("kubectl executions by command (per minute)", "").
			WithTarget(query("A", fmt.Sprintf("sum by (command) (%s) * 60", rate("argocd_kubectl_exec_total")), "{{command}}")))

	b.WithRow(dashboard.NewRowBuilder("Repo server")).
		WithPanel(ts("Git requests by type (per minute)", "").
			WithTarget(query("A", fmt.Sprintf("sum by (request_type) (%s) * 60", rate("argocd_git_request_total")), "{{request_type}}"))).
		WithPanel(ts("Git failures by repository (per minute)", "Failed fetch and ls-remote (ArgoCDGitRequestsFailing; Argo CD 2.11+ and 2.12+).").
			WithTarget(query("A", fmt.Sprintf("sum by (repo) (%s) * 60", rate("argocd_git_fetch_fail_total")), "fetch {{repo}}")).
			WithTarget(query("B", fmt.Sprintf("sum by (repo) (%s) * 60", rate("argocd_git_lsremote_fail_total")), "ls-remote {{repo}}"))).
		WithPanel(ts("Git request duration p95 by repository", "ArgoCDGitRequestsSlow.").
			WithTarget(query("A", p95("argocd_git_request_duration_seconds_bucket", "repo", "request_type"), "{{request_type}} {{repo}}")).Unit("s")).
		WithPanel(ts("Requests waiting for a repository lock", "").
			WithTarget(query("A", fmt.Sprintf("sum by (repo) (%s)", sel("argocd_repo_pending_request_total")), "{{repo}}")).Decimals(0))

	b.WithRow(dashboard.NewRowBuilder("Redis, ApplicationSets, notifications")).
		WithPanel(ts("Failed Redis requests by component", "Share of Redis requests that failed (ArgoCDRedisUnreachable).").
			WithTarget(query("A", fmt.Sprintf("sum by (initiator) (%s)\n/\nsum by (initiator) (%s)",
				rate("argocd_redis_request_total", `failed="true"`), rate("argocd_redis_request_total")), "{{initiator}}")).
			Unit("percentunit").Max(1)).
		WithPanel(newTable("ApplicationSets").Height(8).Span(12).
			Description("Status of each ApplicationSet's resources (ArgoCDAppSetErrors; Argo CD 2.13+).").
			WithTarget(tableQuery("A", fmt.Sprintf("max by (name, resource_update_status) (%s)", sel("argocd_appset_info")))).
			WithTransformation(organize([]string{"Time", "Value"}, map[string]string{"name": "ApplicationSet", "resource_update_status": "Status"},
				[]string{"name", "resource_update_status"}))).
		WithPanel(ts("Notification deliveries (per minute)", "By trigger and outcome (ArgoCDNotificationsFailing).").
			WithTarget(query("A", fmt.Sprintf("sum by (trigger, succeeded) (%s) * 60", rate("argocd_notifications_deliveries_total")), "{{trigger}} succeeded={{succeeded}}")).
			OverrideByRegexp(`succeeded=false$`, fixedColor("red"))).
		WithPanel(newStat("Argo CD version").Height(8).Span(12).
			WithTarget(instant("A", fmt.Sprintf("max by (version) (%s)", sel("argocd_info")), "{{version}}")).
			ReduceOptions(lastValue()).TextMode(common.BigValueTextModeName).
			ColorMode(common.BigValueColorModeNone).GraphMode(common.BigValueGraphModeNone))
	return b
}
