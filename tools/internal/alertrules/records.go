package alertrules

import (
	"fmt"
	"strings"
)

// Recording rules for the questions people ask of 10,000 apps (docs/promql.md) and the Overview's
// heavy panels: each reads the ~60k app series once per evaluation, so a panel or an ad-hoc query
// reads a few series per namespace and project instead. Names follow level:metric:operations with
// the level argocd_monitor; the labels kept are namespace and project (plus the state or result).
const (
	RecordHealth           = "argocd_monitor:app_health_status:count"
	RecordSync             = "argocd_monitor:app_sync_status:count"
	RecordApps             = "argocd_monitor:apps:count"
	RecordPaused           = "argocd_monitor:app_remediation_paused:count"
	RecordRemediating      = "argocd_monitor:app_remediation_active:count"
	RecordRemediationSyncs = "argocd_monitor:remediation_syncs:rate5m"
	RecordOutOfSyncSince   = "argocd_monitor:app_out_of_sync:since_timestamp_seconds"
	RecordArgoCDSyncs      = "argocd_monitor:argocd_app_sync:rate5m"
	recordingGroup         = "argocd-monitor.records"
	nsProject              = "argocd, namespace, project"
)

// dedupe keeps one series per app (and extra labels): two exporter replicas export the same app
// series with different instance labels, and every count must see each app once.
func dedupe(expr string, extra ...string) string {
	by := strings.Join(append([]string{appKeys}, extra...), ", ")
	return fmt.Sprintf("max by (%s) (%s)", by, expr)
}

func record(name, expr string) Rule { return Rule{Record: name, Expr: strings.TrimSpace(expr)} }

// The values of the exporter's state sets (exporter/internal/argocd), for the zeros of the counts.
var (
	healthStatuses = []string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
	syncStatuses   = []string{"Synced", "OutOfSync", "Unknown"}
)

// stateCount counts per namespace, project and label the series of set that are 1, and gives 0
// for each of values no app of a namespace and project (with apps) has.
func stateCount(set, label string, values []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "count by (%s, %s) (\n  %s == 1\n)", nsProject, label, set)
	for _, v := range values {
		fmt.Fprintf(&b, "\nor on (%s, %s)\n  label_replace(%s * 0, %q, %q, \"\", \"\")", nsProject, label, RecordApps, label, v)
	}
	return b.String()
}

// records is the group of recording rules over the exporter's series.
func (b builder) records() Group {
	outOfSync := dedupe(b.sel("argocd_monitor_app_sync_status", `sync_status="OutOfSync"`)) + " == 1"
	return Group{Name: recordingGroup, Rules: []Rule{
		// Apps first: the counts below read it, in the same evaluation, for their zeros.
		record(RecordApps, fmt.Sprintf("count by (%s) (%s)", nsProject, dedupe(b.sel("argocd_monitor_app_info")))),
		// Counts of the members that are 1, and 0 for every other known state of a namespace and
		// project that has apps: the same answers with --metrics.state-sets=current, where the
		// members at 0 are not scraped.
		record(RecordHealth, stateCount(dedupe(b.sel("argocd_monitor_app_health_status"), "health_status"), "health_status", healthStatuses)),
		record(RecordSync, stateCount(dedupe(b.sel("argocd_monitor_app_sync_status"), "sync_status"), "sync_status", syncStatuses)),
		record(RecordPaused, fmt.Sprintf("count by (%s) (\n  %s == 1\n)\nor on (%s)\n  %s * 0", nsProject,
			dedupe(b.sel("argocd_monitor_app_remediation_paused")), nsProject, RecordApps)),
		// Remediation works on an app while it has attempts in the streak and is not paused.
		record(RecordRemediating, fmt.Sprintf("count by (%s) (\n  %s > 0\nunless on (%s)\n  %s == 1\n)", nsProject,
			dedupe(b.sel("argocd_monitor_app_remediation_attempts")), appKeys,
			dedupe(b.sel("argocd_monitor_app_remediation_paused")))),
		// Our own sync actions: each replica counts the syncs it triggered, so they add up.
		record(RecordRemediationSyncs, fmt.Sprintf("sum by (%s, result) (rate(%s[5m]))", nsProject,
			b.sel("argocd_monitor_remediation_syncs_total"))),
		// Since when each app has been OutOfSync: the rule reads its own last value and keeps it
		// while the app stays OutOfSync, else starts at the evaluation time. A gap of more than
		// the lookback (5m) without the rule or the exporter restarts the clock.
		record(RecordOutOfSyncSince, fmt.Sprintf("%s\n  and on (%s)\n%s\nor on (%s)\n  (%s) * 0 + time()",
			RecordOutOfSyncSince, appKeys, outOfSync, appKeys, outOfSync)),
	}}
}

// Records lists the series g's recording rules write.
func (g Groups) Records() []string {
	var names []string
	for _, grp := range g.Groups {
		for _, r := range grp.Rules {
			if r.Record != "" {
				names = append(names, r.Record)
			}
		}
	}
	return names
}
