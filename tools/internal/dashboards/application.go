package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

// appFilter selects the one app of the application dashboard.
const appFilter = instanceFilter + `, namespace="$namespace", name="$name", project=~"$project"`

var pausedStates = map[string]state{"0": {"trying", "orange"}, "1": {"paused", "red"}}

func encodedStat(title, expr string, states []state, span uint32) *stat.PanelBuilder {
	return newStat(title).Height(4).Span(span).
		WithTarget(query("A", expr, title)).ReduceOptions(lastValue()).
		Mappings(stateMappings(states)).ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone)
}

func application(p params.Params) *dashboard.DashboardBuilder {
	f := appFilter
	health := encodedState("argocd_monitor_app_health_status", "health_status", f, healthStates)
	sync := encodedState("argocd_monitor_app_sync_status", "sync_status", f, syncStates)
	phase := encodedState("argocd_monitor_app_operation_phase", "phase", f, phases)

	b := base("Argo CD Monitor / Application", params.AppUID, p,
		"One Argo CD application over time: health, sync, operations and auto-sync remediation.").
		WithVariable(namespaceVar(false)).
		WithVariable(projectVar()).
		WithVariable(nameVar()).
		Link(dashboard.NewDashboardLinkBuilder("Overview").Type(dashboard.DashboardLinkTypeLink).
			Url(params.OverviewDashboardPath).Icon("dashboard").Tooltip("All applications").
			IncludeVars(true).KeepTime(true)).
		Link(dashboard.NewDashboardLinkBuilder("Open in Argo CD").Type(dashboard.DashboardLinkTypeLink).
			Url("${argocd_url}/applications/${namespace}/${name}").Icon("external link").TargetBlank(true))

	b.WithPanel(encodedStat("Health", health, healthStates, 4)).
		WithPanel(encodedStat("Sync", sync, syncStates, 4)).
		WithPanel(encodedStat("Last operation", phase, phases, 4)).
		WithPanel(newStat("Sync attempts").Height(4).Span(3).
			Description("Remediation attempts in the current streak; the app pauses at the maximum.").
			WithTarget(query("A", remediationAttempts(f), "attempts")).
			ReduceOptions(lastValue()).Thresholds(thresholds("green", 1.0, "orange", 3.0, "red")).
			NoValue("not remediated").ColorMode(common.BigValueColorModeValue).GraphMode(common.BigValueGraphModeNone)).
		WithPanel(newStat("Remediation").Height(4).Span(3).
			WithTarget(query("A", remediationState(f), "remediation")).
			ReduceOptions(lastValue()).Mappings(valueMappings(pausedStates)).NoValue("not remediated").
			ColorMode(common.BigValueColorModeBackground).GraphMode(common.BigValueGraphModeNone)).
		WithPanel(newStat("Next sync attempt").Height(4).Span(3).
			WithTarget(query("A", perApp(fmt.Sprintf("argocd_monitor_app_remediation_next_attempt_timestamp_seconds{%s}", f))+" * 1000", "next")).
			ReduceOptions(lastValue()).Unit("dateTimeFromNow").NoValue("none scheduled").
			ColorMode(common.BigValueColorModeNone).GraphMode(common.BigValueGraphModeNone)).
		WithPanel(newStat("Health changed").Height(4).Span(3).
			WithTarget(query("A", perApp(fmt.Sprintf("argocd_monitor_app_health_transition_timestamp_seconds{%s}", f))+" * 1000", "changed")).
			ReduceOptions(lastValue()).Unit("dateTimeFromNow").NoValue("not reported").
			ColorMode(common.BigValueColorModeNone).GraphMode(common.BigValueGraphModeNone))

	b.WithPanel(statetimeline.NewPanelBuilder().Title("State").Height(7).Span(24).
		Description("Health, sync, the last operation's phase and whether remediation is trying or paused.").
		WithTarget(query("A", health, "Health")).
		WithTarget(query("B", sync, "Sync")).
		WithTarget(query("C", phase, "Last operation")).
		WithTarget(query("D", remediationState(f), "Remediation")).
		OverrideByQuery("A", []dashboard.DynamicConfigValue{{Id: "mappings", Value: stateMappings(healthStates)}}).
		OverrideByQuery("B", []dashboard.DynamicConfigValue{{Id: "mappings", Value: stateMappings(syncStates)}}).
		OverrideByQuery("C", []dashboard.DynamicConfigValue{{Id: "mappings", Value: stateMappings(phases)}}).
		OverrideByQuery("D", []dashboard.DynamicConfigValue{{Id: "mappings", Value: valueMappings(pausedStates)}}).
		ShowValue(common.VisibilityModeAuto).MergeValues(true).RowHeight(0.8).FillOpacity(80).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(false)))

	b.WithPanel(timeseries.NewPanelBuilder().Title("Sync attempts in the current streak").Height(8).Span(12).
		WithTarget(query("A", remediationAttempts(f), "attempts")).
		LineInterpolation(common.LineInterpolationStepAfter).Min(0).Decimals(0).Legend(listLegend())).
		WithPanel(timeseries.NewPanelBuilder().Title("Remediation syncs by result (per minute)").Height(8).Span(12).
			WithTarget(query("A", perMinute("result", fmt.Sprintf("argocd_monitor_remediation_syncs_total{%s}", f)), "{{result}}")).
			DrawStyle(common.GraphDrawStyleBars).FillOpacity(80).Min(0).Legend(listLegend()))

	b.WithPanel(newTable("Application").Height(5).Span(18).
		Description("Source and destination as Argo CD reports them.").
		WithTarget(tableQuery("A", perApp(fmt.Sprintf("argocd_monitor_app_info{%s}", f), "repo", "dest_server", "dest_namespace", "auto_sync"))).
		WithTransformation(organize([]string{"Time", "Value", "__name__", "job", "instance"},
			map[string]string{"repo": "Repository", "dest_server": "Destination server",
				"dest_namespace": "Destination namespace", "auto_sync": "Automated sync"},
			[]string{"namespace", "name", "project", "repo", "dest_server", "dest_namespace", "auto_sync"}))).
		WithPanel(newStat("Since last reconcile").Height(5).Span(6).
			WithTarget(instant("A", fmt.Sprintf("time() - max(argocd_monitor_app_reconciled_timestamp_seconds{%s})", f), "age")).
			ReduceOptions(lastValue()).Unit("s").NoValue("not reported").
			Thresholds(thresholds("green", 600.0, "orange", 3600.0, "red")).
			ColorMode(common.BigValueColorModeValue).GraphMode(common.BigValueGraphModeNone))
	return b
}
