package alertrules

import (
	"fmt"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
)

// fleetLabels are the labels of argocd_monitor_app_info that name an app's place in the fleet:
// the per-app alerts carry them, so that a fleet alert with equal labels inhibits them.
const fleetLabels = "dest_server, parent_kind, parent"

// appInfo is one argocd_monitor_app_info series per app with the labels in by (beside the app's
// keys) and extra matchers. topk keeps exactly one per app even while two exporter replicas
// disagree (a rollout that adds a label): a many-to-many match would fail every per-app alert.
func (b builder) appInfo(by string, extra ...string) string {
	return fmt.Sprintf("topk by (%s) (1, max by (%s, %s) (%s))", appKeys, appKeys, by, b.sel("argocd_monitor_app_info", extra...))
}

// withFleetLabels joins a per-app alert's expression with the app's destination and parent. An
// app without an app_info series (never the case with one exporter version; a rule file used
// with an older exporter) keeps its alert, without those labels.
func (b builder) withFleetLabels(expr string) string {
	return fmt.Sprintf("(\n%s\n)\n* on (%s) group_left (%s)\n%s\nor on (%s)\n(\n%s\n)",
		indent(expr), appKeys, fleetLabels, b.appInfo(fleetLabels), appKeys, indent(expr))
}

// indent indents every line of s by two spaces.
func indent(s string) string { return "  " + strings.ReplaceAll(strings.Trim(s, "\n"), "\n", "\n  ") }

// fleet is the rule group of the alerts about one cause breaking many apps. Each fires once per
// affected app (labels: the app's keys and the cause's dest_server, or parent_kind and parent)
// while at least fleet.minApps apps share the cause: Alertmanager groups them by the cause into
// one notification whose alerts are the affected apps, so the message lists them and changes as
// apps join or recover, and each inhibits the per-app alerts with the same cause labels.
func (b builder) fleet() Group {
	p := b.p
	f := func(name string) string { return forText(p.Alerts[name].For) }
	by := "namespace, name, project"
	// An app that cannot be compared because its cluster cannot be reached: health Unknown, or
	// sync Unknown with a ComparisonError condition (Argo CD 3 may keep health Healthy).
	unreachable := fmt.Sprintf(`
max by (%[1]s) (%[2]s == 1)
or
(
    max by (%[1]s) (%[3]s == 1)
  and on (%[1]s)
    max by (%[1]s) (%[4]s > 0)
)`, by,
		b.sel("argocd_monitor_app_health_status", `health_status="Unknown"`),
		b.sel("argocd_monitor_app_sync_status", `sync_status="Unknown"`),
		b.sel("argocd_monitor_app_conditions", `condition="ComparisonError"`))
	destApps := fmt.Sprintf("(\n%s\n)\n* on (%s) group_left (dest_server)\n%s", indent(unreachable), appKeys, b.appInfo("dest_server"))
	destExpr := fmt.Sprintf("%s\nand on (dest_server)\n(\n  count by (dest_server) (\n%s\n  ) >= %d\n)",
		destApps, indent(indent(destApps)), p.Fleet.MinApps)
	if p.Components.Enabled {
		// Argo CD's own word, where its controller is scraped: every app of a cluster it lost,
		// whether the app names the cluster by server URL or by its name in Argo CD.
		destExpr = fmt.Sprintf(`(
%s
)
or on (%s)
(
    %s
  and on (dest_server)
    (
%s
    )
)`, indent(destExpr), appKeys, b.appInfo("dest_server"), indent(indent(indent(b.lostDestinations()))))
	}
	// A child in trouble of its own (not for want of a cluster: that is ArgoCDDestinationDown):
	// Degraded or Missing, or its last sync failed and it is not Synced and Healthy since.
	troubled := fmt.Sprintf(`
max by (%[1]s) (%[2]s == 1)
or
(
    max by (%[1]s) (%[3]s == 1)
  unless on (%[1]s)
    (max by (%[1]s) (%[4]s == 1) and on (%[1]s) max by (%[1]s) (%[5]s == 1))
)`, by,
		b.sel("argocd_monitor_app_health_status", `health_status=~"Degraded|Missing"`),
		b.sel("argocd_monitor_app_operation_phase", `phase=~"Failed|Error"`),
		b.sel("argocd_monitor_app_sync_status", `sync_status="Synced"`),
		b.sel("argocd_monitor_app_health_status", `health_status="Healthy"`))
	parentApps := fmt.Sprintf("(\n%s\n)\n* on (%s) group_left (parent_kind, parent)\n%s",
		indent(troubled), appKeys, b.appInfo("parent_kind, parent", `parent!=""`))
	parentExpr := fmt.Sprintf("%s\nand on (parent_kind, parent)\n(\n  count by (parent_kind, parent) (\n%s\n  ) >= %d\n)",
		parentApps, indent(indent(parentApps)), p.Fleet.MinApps)
	return Group{Name: "argocd-monitor.fleet", Rules: []Rule{
		b.rule(params.DestinationDown, destExpr,
			"Destination {{ $labels.dest_server }} unreachable: app "+appRef+" cannot be compared",
			fmt.Sprintf("Application "+appRef+" (project {{ $labels.project }}) deployed to {{ $labels.dest_server }} has been Unknown or could not be compared with git (sync Unknown with a ComparisonError)%s, with at least %d apps of that destination, or Argo CD reports no connection to the cluster: the cluster (or Argo CD's access to it) is down, not the apps. One alert per app, grouped into one message per destination; their per-app alerts are inhibited.",
				f(params.DestinationDown), p.Fleet.MinApps),
			b.overviewDashboard(), nil),
		b.rule(params.ParentDegraded, parentExpr,
			"{{ $labels.parent_kind }} {{ $labels.parent }}: child "+appRef+" in trouble",
			fmt.Sprintf("Application "+appRef+" (project {{ $labels.project }}), a child of {{ $labels.parent_kind }} {{ $labels.parent }}, has been Degraded, Missing or failing to sync%s, with at least %d children of that parent: look at what the parent changed (its last sync and commit). One alert per child, grouped into one message per parent; their per-app alerts are inhibited.",
				f(params.ParentDegraded), p.Fleet.MinApps),
			b.overviewDashboard(),
			map[string]string{"argocd_url": p.ArgoCDBase() + "/applications?search={{ $labels.parent }}"}),
	}}
}

// lostCluster is Argo CD's controller reporting no connection to a cluster, by (by) with
// server among them.
func (b builder) lostCluster(by string) string {
	return fmt.Sprintf("max by (%s) (%s) == 0", by, b.csel("argocd_cluster_connection_status"))
}

// clusterNames maps a cluster's server URL to its name in Argo CD (argocd_cluster_info), one
// name per server.
func (b builder) clusterNames() string {
	return fmt.Sprintf("topk by (server) (1, max by (server, name) (%s))", b.csel("argocd_cluster_info", `name!=""`))
}

// lostDestinations are the dest_server values of the clusters Argo CD lost: each cluster once
// by its server URL and once by its name, as an app's spec.destination may give either (the
// exporter's dest_server is the server, else the name).
func (b builder) lostDestinations() string {
	return fmt.Sprintf(`label_replace(%[1]s, "dest_server", "$1", "server", "(.*)")
or
label_replace((%[1]s) * on (server) group_left (name) %[2]s, "dest_server", "$1", "name", "(.+)")`,
		b.lostCluster("server"), b.clusterNames())
}

// clusterConnectionLost is ArgoCDClusterConnectionLost's expression: one series per (job,
// server) with dest_server the cluster as the apps name it, its name in Argo CD when an app's
// destination gives that name, else its server URL. ArgoCDDestinationDown with the same
// dest_server inhibits it: one page per lost cluster, the fleet message with its apps.
func (b builder) clusterConnectionLost() string {
	lost := b.lostCluster("job, server")
	return fmt.Sprintf(`max by (job, server, dest_server) (
    label_replace((%[1]s) * on (server) group_left (name) %[2]s, "dest_server", "$1", "name", "(.+)")
  and on (dest_server)
    max by (dest_server) (%[3]s)
)
or on (job, server)
label_replace(%[1]s, "dest_server", "$1", "server", "(.*)")`, lost, b.clusterNames(), b.sel("argocd_monitor_app_info"))
}
