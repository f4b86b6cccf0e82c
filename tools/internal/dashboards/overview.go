package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/alertrules"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

// overviewFilter narrows app series to the dashboard's namespace and project variables.
const overviewFilter = instanceFilter + `, namespace=~"$namespace", project=~"$project"`

// perMinute turns a counter into events per minute (alerts and syncs are rare: per second reads
// as noise like 0.003).
func perMinute(by, selector string) string {
	return fmt.Sprintf("sum by (%s) (rate(%s[$__rate_interval])) * 60", by, selector)
}

// quantiles are p50 and p99 of a histogram.
func quantiles(bucket string) (string, string) {
	q := func(v string) string {
		return fmt.Sprintf("histogram_quantile(%s, sum by (le) (rate(%s[$__rate_interval])))", v, bucket)
	}
	return q("0.5"), q("0.99")
}

// problemApps selects, per app that is not both Synced and Healthy, one series carrying its
// health_status and sync_status labels (one per app even with two exporter replicas).
func problemApps(filter string) string {
	health := func(m string) string {
		return perApp(fmt.Sprintf("argocd_monitor_app_health_status{%s%s}", filter, m), "health_status") + " == 1"
	}
	sync := func(m string) string {
		return perApp(fmt.Sprintf("argocd_monitor_app_sync_status{%s%s}", filter, m), "sync_status") + " == 1"
	}
	return fmt.Sprintf(`(%[1]s)
* on (%[3]s) group_left (sync_status)
  (%[2]s)
unless on (%[3]s)
  (
    (%[4]s)
  and on (%[3]s)
    (%[5]s)
  )`, health(""), sync(""), appKeys, health(`, health_status="Healthy"`), sync(`, sync_status="Synced"`))
}

func stateStat(title, by, record string, states []state) *stat.PanelBuilder {
	p := newStat(title).Height(5).Span(8).
		Description(fmt.Sprintf("Applications per %s now.", by)).
		WithTarget(instant("A", fmt.Sprintf("sum by (%s) (%s{%s})", by, record, overviewFilter), "{{"+by+"}}")).
		ReduceOptions(lastValue()).TextMode(common.BigValueTextModeValueAndName).
		ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone)
	for _, s := range states {
		p.OverrideByName(s.name, fixedColor(s.color))
	}
	return p
}

func stateOverTime(title, by, record string, states []state) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Height(8).Span(12).
		Description(fmt.Sprintf("Applications per %s, stacked.", by)).
		WithTarget(query("A", fmt.Sprintf("sum by (%s) (%s{%s})", by, record, overviewFilter), "{{"+by+"}}")).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		FillOpacity(60).LineWidth(1).LineInterpolation(common.LineInterpolationStepAfter).
		Legend(listLegend()).Min(0).Decimals(0)
	for _, s := range states {
		p.OverrideByName(s.name, fixedColor(s.color))
	}
	return p
}

func overview(p params.Params) *dashboard.DashboardBuilder {
	f := overviewFilter
	appLink := link{"Application dashboard", params.AppDashboardPath +
		"?${datasource:queryparam}&${argocd:queryparam}&var-namespace=${__data.fields.namespace}&var-project=${__data.fields.project}&var-name=${__data.fields.name}&${__url_time_range}"}
	argoLink := link{"Open in Argo CD", "${argocd_url}/applications/${__data.fields.namespace}/${__data.fields.name}"}
	problems := problemApps(f)
	slackP50, slackP99 := quantiles(instance("argocd_monitor_bridge_slack_request_duration_seconds_bucket"))
	resultColors := map[string]string{
		"succeeded": "green", "triggered": "blue", "failed": "red", "error": "dark-red",
		"forbidden": "orange", "busy": "yellow", "dry_run": "purple",
	}

	b := base("Argo CD Monitor / Overview", params.OverviewUID, p,
		"Argo CD applications by health and sync, the apps that need a person, auto-sync remediation, and the monitor's own health.").
		WithVariable(namespaceVar(true)).
		WithVariable(projectVar()).
		Link(dashboard.NewDashboardLinkBuilder("Application").Type(dashboard.DashboardLinkTypeLink).
			Url(params.AppDashboardPath).Icon("dashboard").Tooltip("One application over time").
			IncludeVars(true).KeepTime(true)).
		Link(dashboard.NewDashboardLinkBuilder("Argo CD").Type(dashboard.DashboardLinkTypeLink).
			Url("${argocd_url}").Icon("external link").TargetBlank(true))
	if p.Components.Enabled {
		b.Link(dashboard.NewDashboardLinkBuilder("Argo CD components").Type(dashboard.DashboardLinkTypeLink).
			Url(params.ComponentsDashboardPath).Icon("dashboard").Tooltip("Argo CD's own controller, repo-server, Redis, ApplicationSets and notifications").
			KeepTime(true))
	}

	b.WithRow(dashboard.NewRowBuilder("Applications")).
		WithPanel(stateStat("Health", "health_status", alertrules.RecordHealth, healthStates)).
		WithPanel(stateStat("Sync", "sync_status", alertrules.RecordSync, syncStates)).
		WithPanel(newStat("Apps").Height(5).Span(4).
			Description("Applications watched in the selected namespaces and projects.").
			WithTarget(instant("A", fmt.Sprintf("sum(%s{%s})", alertrules.RecordApps, f), "apps")).
			ReduceOptions(lastValue()).GraphMode(common.BigValueGraphModeNone).ColorMode(common.BigValueColorModeNone)).
		WithPanel(newStat("Remediation paused").Height(5).Span(4).
			Description("Apps whose auto-sync gave up after the maximum attempts (ArgoCDAppRemediationPaused).").
			WithTarget(instant("A", fmt.Sprintf("sum(%s{%s})", alertrules.RecordPaused, f), "paused")).
			ReduceOptions(lastValue()).GraphMode(common.BigValueGraphModeNone).
			ColorMode(common.BigValueColorModeBackground).Thresholds(thresholds("green", 1.0, "red")).NoValue("0")).
		WithPanel(stateOverTime("Health over time", "health_status", alertrules.RecordHealth, healthStates)).
		WithPanel(stateOverTime("Sync over time", "sync_status", alertrules.RecordSync, syncStates)).
		WithPanel(newTable("Per project").Height(8).Span(24).
			Description("Applications, and how many need attention, per Argo CD project.").
			WithTarget(tableQuery("A", fmt.Sprintf("sum by (project) (%s{%s})", alertrules.RecordApps, f))).
			WithTarget(tableQuery("B", fmt.Sprintf(`sum by (project) (%s{%s, health_status!="Healthy"})`, alertrules.RecordHealth, f))).
			WithTarget(tableQuery("C", fmt.Sprintf(`sum by (project) (%s{%s, sync_status="OutOfSync"})`, alertrules.RecordSync, f))).
			WithTarget(tableQuery("D", fmt.Sprintf("sum by (project) (%s{%s})", alertrules.RecordPaused, f))).
			WithTransformation(merge()).
			WithTransformation(organize([]string{"Time"},
				map[string]string{"Value #A": "Apps", "Value #B": "Not Healthy", "Value #C": "OutOfSync", "Value #D": "Remediation paused"},
				[]string{"project", "Value #A", "Value #B", "Value #C", "Value #D"})).
			SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("Not Healthy").Desc(true)}))

	b.WithRow(dashboard.NewRowBuilder("Apps that need attention")).
		WithPanel(newTable("Apps that are not Synced and Healthy").Height(10).Span(24).
			Description("Click an app for its dashboard or to open it in Argo CD.").
			WithTarget(tableQuery("A", problems)).
			WithTarget(tableQuery("B", fmt.Sprintf("(%s == 1)\nand on (%s)\n(%s)", perApp(fmt.Sprintf("argocd_monitor_app_operation_phase{%s}", f), "phase"), appKeys, problems))).
			WithTarget(tableQuery("C", fmt.Sprintf("%s\nand on (%s)\n(%s)", remediationAttempts(f), appKeys, problems))).
			WithTarget(tableQuery("D", fmt.Sprintf("%s\nand on (%s)\n(%s)", remediationState(f), appKeys, problems))).
			WithTransformation(merge()).
			WithTransformation(organize([]string{"Time", "job", "instance", "__name__", "Value #A", "Value #B"},
				map[string]string{"health_status": "Health", "sync_status": "Sync", "phase": "Last operation",
					"Value #C": "Sync attempts", "Value #D": "Remediation"},
				[]string{"namespace", "name", "project", "health_status", "sync_status", "phase", "Value #C", "Value #D"})).
			OverrideByName("name", fieldLinks(appLink, argoLink)).
			OverrideByName("Health", textStateColors(healthStates)).
			OverrideByName("Sync", textStateColors(syncStates)).
			OverrideByName("Last operation", textStateColors(phases)).
			OverrideByName("Remediation", append(
				[]dashboard.DynamicConfigValue{{Id: "mappings", Value: valueMappings(map[string]state{"0": {"active", "green"}, "1": {"paused", "red"}})}},
				colorCell()...)).
			SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("Health")}))

	syncs := timeseries.NewPanelBuilder().Title("Remediation syncs by result (per minute)").Height(8).Span(12).
		Description("Syncs the exporter triggered and their outcomes (recorded as argocd_monitor:remediation_syncs:rate5m).").
		WithTarget(query("A", fmt.Sprintf("sum by (result) (%s{%s}) * 60", alertrules.RecordRemediationSyncs, f), "{{result}}")).
		DrawStyle(common.GraphDrawStyleBars).FillOpacity(80).Legend(listLegend()).Min(0)
	for _, r := range sortedKeys(resultColors) {
		syncs.OverrideByName(r, fixedColor(resultColors[r]))
	}
	b.WithRow(dashboard.NewRowBuilder("Auto-sync remediation")).
		WithPanel(timeseries.NewPanelBuilder().Title("Sync attempts in the current streak").Height(8).Span(12).
			Description("Apps with remediation attempts; at the maximum the app is paused.").
			WithTarget(query("A", perApp(fmt.Sprintf("argocd_monitor_app_remediation_attempts{%s}", f))+" > 0", "{{namespace}}/{{name}}")).
			LineInterpolation(common.LineInterpolationStepAfter).Legend(tableLegend()).Min(0).Decimals(0)).
		WithPanel(syncs).
		WithPanel(timeseries.NewPanelBuilder().Title("Apps being remediated and paused").Height(8).Span(24).
			Description("Being remediated: attempts left in the current streak. Paused: remediation gave up and a person must act.").
			WithTarget(query("A", fmt.Sprintf("sum(%s{%s}) or vector(0)", alertrules.RecordRemediating, f), "being remediated")).
			WithTarget(query("B", fmt.Sprintf("sum(%s{%s})", alertrules.RecordPaused, f), "paused")).
			LineInterpolation(common.LineInterpolationStepAfter).Legend(listLegend()).Min(0).Decimals(0).
			OverrideByName("being remediated", fixedColor("orange")).OverrideByName("paused", fixedColor("red")))

	exp := p.ExporterSelector
	b.WithRow(dashboard.NewRowBuilder("Exporter")).
		WithPanel(newStat("Argo CD API").Height(4).Span(4).
			Description("Whether an exporter's last poll of the Argo CD API succeeded (ArgoCDMonitorAPIUnreachable): UP while any replica reaches it.").
			WithTarget(instant("A", "max("+instance("argocd_monitor_api_up")+")", "api")).ReduceOptions(lastValue()).
			Mappings(valueMappings(map[string]state{"0": {"DOWN", "red"}, "1": {"UP", "green"}})).
			ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone)).
		WithPanel(newStat("Exporter targets up").Height(4).Span(4).
			Description("Scrape targets of the exporter that are up (ArgoCDMonitorDown).").
			WithTarget(instant("A", fmt.Sprintf("sum(%s)", instance("up", exp)), "up")).ReduceOptions(lastValue()).
			Thresholds(thresholds("red", 1.0, "green")).NoValue("absent").
			ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone)).
		WithPanel(newStat("Since last successful poll").Height(4).Span(4).
			WithTarget(instant("A", "time() - max("+instance("argocd_monitor_last_poll_success_timestamp_seconds")+")", "age")).
			ReduceOptions(lastValue()).Unit("s").Thresholds(thresholds("green", 120.0, "orange", 300.0, "red")).
			ColorMode(common.BigValueColorModeValue).GraphMode(common.BigValueGraphModeNone)).
		WithPanel(newStat("Apps in last poll").Height(4).Span(4).
			WithTarget(query("A", "sum(max by (argocd, job) ("+instance("argocd_monitor_apps")+"))", "apps")).ReduceOptions(lastValue()).
			GraphMode(common.BigValueGraphModeArea).ColorMode(common.BigValueColorModeNone)).
		WithPanel(newStat("Versions").Height(4).Span(8).
			WithTarget(instant("A", "max by (version) ("+instance("argocd_monitor_build_info")+")", "exporter {{version}}")).
			WithTarget(instant("B", "max by (version) ("+instance("argocd_monitor_bridge_build_info")+")", "bridge {{version}}")).
			ReduceOptions(lastValue()).TextMode(common.BigValueTextModeName).
			ColorMode(common.BigValueColorModeNone).GraphMode(common.BigValueGraphModeNone)).
		WithPanel(timeseries.NewPanelBuilder().Title("Watch stream").Height(8).Span(12).
			Description("1 while the exporter follows Argo CD's application stream, 0 while it polls instead; stream messages per minute by type.").
			WithTarget(query("A", "min("+instance("argocd_monitor_watch_up")+")", "watch up")).
			WithTarget(query("B", perMinute("type", instance("argocd_monitor_watch_events_total")), "{{type}}")).
			Min(0).Legend(listLegend())).
		WithPanel(timeseries.NewPanelBuilder().Title("List duration").Height(8).Span(12).
			Description("Time to list the applications from Argo CD: every poll without watch; with watch only the first List, resyncs and polls while the stream is down, too rarely for quantiles over a short window: the mean since start.").
			WithTarget(query("A", "sum("+instance("argocd_monitor_poll_duration_seconds_sum")+") / sum("+instance("argocd_monitor_poll_duration_seconds_count")+")", "mean since start")).
			Unit("s").Min(0).Legend(listLegend())).
		WithPanel(timeseries.NewPanelBuilder().Title("Argo CD API requests by endpoint and code (per minute)").Height(8).Span(12).
			Description("Failed requests (any code but 2xx) in red.").
			WithTarget(query("A", perMinute("endpoint, code", instance("argocd_monitor_api_requests_total")), "{{endpoint}} {{code}}")).
			Legend(tableLegend()).Min(0).
			OverrideByRegexp(`^\S+ (?!2\d\d$)\S+$`, fixedColor("red")))

	b.WithRow(dashboard.NewRowBuilder("Slack bridge")).
		WithPanel(timeseries.NewPanelBuilder().Title("Notifications by route and status (per minute)").Height(8).Span(12).
			WithTarget(query("A", perMinute("route, status", instance("argocd_monitor_bridge_notifications_total")), "{{route}} {{status}}")).
			Legend(tableLegend()).Min(0)).
		WithPanel(timeseries.NewPanelBuilder().Title("Answers to Alertmanager by code (per minute)").Height(8).Span(12).
			Description("Anything but 2xx means a notification not delivered yet (ArgoCDMonitorBridgeFailing).").
			WithTarget(query("A", perMinute("code", instance("argocd_monitor_bridge_webhooks_total")), "{{code}}")).
			Legend(tableLegend()).Min(0).
			OverrideByRegexp(`^(?!2\d\d$).*`, fixedColor("red"))).
		WithPanel(timeseries.NewPanelBuilder().Title("Slack API requests by result (per minute)").Height(8).Span(12).
			WithTarget(query("A", perMinute("method, result", instance("argocd_monitor_bridge_slack_requests_total")), "{{method}} {{result}}")).
			Legend(tableLegend()).Min(0)).
		WithPanel(timeseries.NewPanelBuilder().Title("Slack request latency").Height(8).Span(12).
			WithTarget(query("A", slackP50, "p50")).WithTarget(query("B", slackP99, "p99")).
			Unit("s").Min(0).Legend(listLegend()))
	return b
}
