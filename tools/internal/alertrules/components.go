package alertrules

import (
	"fmt"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

// componentsGroup alerts on Argo CD's own metrics (Argo CD 3.x names; RUNBOOK.md says which rule
// needs which version). The Argo CD targets are usually scraped without honor_labels, so Argo CD's
// own namespace label may arrive as exported_namespace: the rules group by labels that survive
// either way (job, and the entity's name, server, repo or host).
const componentsGroup = "argocd-monitor.argocd-components"

// csel renders a vector selector for metric on Argo CD's targets.
func (b builder) csel(metric string, extra ...string) string {
	return selector(metric, b.p.Components.Selector, extra)
}

func (b builder) componentsDashboard() string {
	return b.p.GrafanaBase() + params.ComponentsDashboardPath
}

// p95 is the 95th percentile of a histogram over the rate window, per the by labels.
func (b builder) p95(bucket, by string) string {
	return fmt.Sprintf("histogram_quantile(0.95, sum by (%s, le) (rate(%s[%s])))", by, b.csel(bucket), b.p.Components.RateWindow)
}

// ratio is the share of a counter's rate that matches bad, per the by labels.
func (b builder) ratio(metric, bad, by string) string {
	w := b.p.Components.RateWindow
	return fmt.Sprintf("sum by (%[1]s) (rate(%[2]s[%[4]s]))\n/\nsum by (%[1]s) (rate(%[3]s[%[4]s]))",
		by, b.csel(metric, bad), b.csel(metric), w)
}

func (b builder) components() Group {
	c := b.p.Components
	w := c.RateWindow.String()
	f := func(name string) string { return forText(b.p.Alerts[name].For) }
	dash := b.componentsDashboard()
	return Group{Name: componentsGroup, Rules: []Rule{
		// Argo CD counts a sync per app: at 10,000 apps the dashboard reads this instead.
		record(RecordArgoCDSyncs, fmt.Sprintf("sum by (job, project, phase) (rate(%s[5m]))",
			b.csel("argocd_app_sync_total", `dry_run!="true"`))),
		b.rule(params.ControllerReconcileSlow,
			fmt.Sprintf("%s > %g", b.p95("argocd_app_reconcile_bucket", "job"), c.ReconcileP95Seconds),
			"Argo CD application controller reconciles slowly",
			fmt.Sprintf("The 95th percentile of app reconciliation in {{ $labels.job }} has been {{ $value | humanizeDuration }} (above %gs)%s: "+
				"changes reach the cluster late. The controller may be short of CPU, processors (--status-processors, --operation-processors) or shards, or blocked on the Kubernetes API.",
				c.ReconcileP95Seconds, f(params.ControllerReconcileSlow)),
			dash, nil),
		// dry_run!="true" also matches Argo CD before 3.1, whose series have no dry_run label.
		// Argo CD creates an app's series at its first sync of that phase, at 1, and increase()
		// cannot see an increment before a series' first sample: the second arm counts a series
		// new in the window, if its target was scraped a window ago (after a scrape or
		// Prometheus outage, an old series only looks new).
		b.rule(params.AppSyncsFailing, fmt.Sprintf(`
(sum by (job, name, project, phase) (increase(%[1]s[%[2]s])) > 0)
  or
sum by (job, name, project, phase) (
    (%[1]s unless %[1]s offset %[2]s)
  and on (job, instance)
    (up offset %[2]s == 1)
) > 0`, b.csel("argocd_app_sync_total", `phase=~"Error|Failed"`, `dry_run!="true"`), w),
			"Argo CD syncs of app {{ $labels.name }} end {{ $labels.phase }}",
			"Argo CD's own sync counter says syncs of application {{ $labels.name }} (project {{ $labels.project }}) ended {{ $labels.phase }} in the last "+w+
				". ArgoCDAppSyncFailed tells whether the app is still broken.",
			dash, nil),
		b.rule(params.ClusterConnectionLost,
			b.clusterConnectionLost(),
			"Argo CD lost the connection to cluster {{ $labels.server }}",
			"The application controller ({{ $labels.job }}) has not been connected to cluster {{ $labels.server }}"+f(params.ClusterConnectionLost)+
				": apps deployed there are neither refreshed nor synced. While ArgoCDDestinationDown fires for the cluster (label dest_server), it inhibits this alert.",
			dash, nil),
		b.rule(params.KubectlErrors,
			fmt.Sprintf("(\n%s\n) > %g", b.ratio("argocd_kubectl_requests_total", `code=~"429|5..|<error>"`, "job, host"), c.KubectlErrorRatio),
			"Argo CD's Kubernetes requests to {{ $labels.host }} fail",
			fmt.Sprintf("{{ $value | humanizePercentage }} of the Kubernetes API requests of {{ $labels.job }} to {{ $labels.host }} have failed (429, 5xx or no answer; threshold %g%%)%s.",
				c.KubectlErrorRatio*100, f(params.KubectlErrors)),
			dash, nil),
		b.rule(params.KubectlExecPending,
			fmt.Sprintf("sum by (job, hostname) (%s) > %g", b.csel("argocd_kubectl_exec_pending"), c.KubectlPendingMax),
			"Argo CD has kubectl executions waiting in {{ $labels.hostname }}",
			fmt.Sprintf("{{ $value }} kubectl executions (apply, auth reconcile...) have been pending in {{ $labels.hostname }} ({{ $labels.job }}), more than %g%s: syncs queue behind them.",
				c.KubectlPendingMax, f(params.KubectlExecPending)),
			dash, nil),
		// request_type uses the values of argocd_git_request_total, so both read alike.
		b.rule(params.GitRequestsFailing, fmt.Sprintf(`
sum by (job, repo, request_type) (
    label_replace(increase(%s[%s]), "request_type", "fetch", "", "")
  or
    label_replace(increase(%s[%s]), "request_type", "ls-remote", "", "")
) > 0`, b.csel("argocd_git_fetch_fail_total"), w, b.csel("argocd_git_lsremote_fail_total"), w),
			"Argo CD cannot {{ $labels.request_type }} {{ $labels.repo }}",
			"The repo-server ({{ $labels.job }}) has kept failing git {{ $labels.request_type }} of {{ $labels.repo }}"+f(params.GitRequestsFailing)+
				": apps from this repository see no new commits and manifests may fail to generate.",
			dash, nil),
		b.rule(params.GitRequestsSlow,
			fmt.Sprintf("%s > %g", b.p95("argocd_git_request_duration_seconds_bucket", "job, repo, request_type"), c.GitRequestP95Seconds),
			"Argo CD's git {{ $labels.request_type }} of {{ $labels.repo }} is slow",
			fmt.Sprintf("The 95th percentile of git {{ $labels.request_type }} of {{ $labels.repo }} by {{ $labels.job }} has been {{ $value | humanizeDuration }} (above %gs)%s.",
				c.GitRequestP95Seconds, f(params.GitRequestsSlow)),
			dash, nil),
		b.rule(params.RedisUnreachable,
			fmt.Sprintf("(\n%s\n) > %g", b.ratio("argocd_redis_request_total", `failed="true"`, "job, initiator"), c.RedisFailureRatio),
			"Argo CD's {{ $labels.initiator }} cannot use Redis",
			fmt.Sprintf("{{ $value | humanizePercentage }} of the Redis requests of {{ $labels.initiator }} ({{ $labels.job }}) have failed (threshold %g%%)%s: "+
				"every refresh regenerates manifests and the UI slows down.", c.RedisFailureRatio*100, f(params.RedisUnreachable)),
			dash, nil),
		b.rule(params.AppSetErrors,
			fmt.Sprintf("max by (job, name, resource_update_status) (%s)",
				b.csel("argocd_appset_info", `resource_update_status=~".*Error.*|ApplicationSetInvalidRolloutConfig"`)),
			"ApplicationSet {{ $labels.name }}: {{ $labels.resource_update_status }}",
			"ApplicationSet {{ $labels.name }} has reported {{ $labels.resource_update_status }}"+f(params.AppSetErrors)+
				": the applications it generates are not created, updated or deleted as its generators say.",
			dash, nil),
		b.rule(params.NotificationsFailing,
			fmt.Sprintf("sum by (job, trigger) (increase(%s[%s])) > 0", b.csel("argocd_notifications_deliveries_total", `succeeded="false"`), w),
			"Argo CD notifications of trigger {{ $labels.trigger }} fail",
			"The notifications controller ({{ $labels.job }}) has kept failing to deliver notifications of trigger {{ $labels.trigger }}"+f(params.NotificationsFailing)+
				": people and systems subscribed to it are not told.",
			dash, nil),
	}}
}
