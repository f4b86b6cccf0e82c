package render

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

// fleetIncident is a destination's group as Alertmanager sends it with the shipped rules and
// route: one ArgoCDDestinationDown alert per app, grouped by dest_server; the first `recovered`
// of them resolved; beyond maxAlerts, Alertmanager's max_alerts truncation.
func fleetIncident(status string, apps, recovered, maxAlerts int) *notification.Message {
	m := &notification.Message{GroupKey: `{}/{alertname=~"ArgoCDDestinationDown|ArgoCDParentDegraded"}:{alertname="ArgoCDDestinationDown", dest_server="prod-eu"}`}
	m.Status, m.Receiver, m.ExternalURL = status, "slack", "http://alertmanager:9093"
	m.GroupLabels = template.KV{"alertname": AlertDestinationDown, "dest_server": "prod-eu"}
	m.CommonLabels = template.KV{"alertname": AlertDestinationDown, "dest_server": "prod-eu", "project": "fleet", "severity": "critical"}
	for i := 1; i <= apps && i <= maxAlerts; i++ {
		name := fmt.Sprintf("prod-eu-%02d", i)
		st := status
		if i <= recovered {
			st = "resolved"
		}
		a := template.Alert{
			Status: st,
			Labels: template.KV{"alertname": AlertDestinationDown, "namespace": "argocd", "name": name, "project": "fleet", "dest_server": "prod-eu", "severity": "critical"},
			Annotations: template.KV{"summary": "Destination prod-eu unreachable: app argocd/" + name + " cannot be compared",
				"dashboard_url": "https://grafana.example.com/d/argocd-monitor-overview/argocd-monitor-overview"},
			StartsAt: whyT0.Add(time.Duration(i%3) * time.Minute), Fingerprint: fmt.Sprintf("%016x", i),
		}
		if st == "resolved" {
			a.EndsAt = whyT0.Add(20 * time.Minute)
		}
		m.Alerts = append(m.Alerts, a)
	}
	if apps > maxAlerts {
		m.TruncatedAlerts = uint64(apps - maxAlerts)
	}
	return m
}

func TestFleetGolden(t *testing.T) {
	parent := fleetIncident("firing", 4, 0, 100)
	parent.GroupLabels = template.KV{"alertname": AlertParentDegraded, "parent_kind": "ApplicationSet", "parent": "shop-set"}
	for i := range parent.Alerts {
		l := parent.Alerts[i].Labels
		l["alertname"], l["parent_kind"], l["parent"] = AlertParentDegraded, "ApplicationSet", "shop-set"
	}
	appOfApps := fleetIncident("firing", 4, 0, 100)
	appOfApps.GroupLabels = template.KV{"alertname": AlertParentDegraded, "parent_kind": "Application", "parent": "shop-root"}
	for i := range appOfApps.Alerts {
		l := appOfApps.Alerts[i].Labels
		l["alertname"], l["parent_kind"], l["parent"] = AlertParentDegraded, "Application", "shop-root"
	}
	tests := []struct {
		name string
		msg  *notification.Message
		opt  Options
	}{
		{"fleet-37", fleetIncident("firing", 37, 0, 100), appOpts(true, Status{})},
		{"fleet-37-webhook", fleetIncident("firing", 37, 0, 100), appOpts(false, Status{})},
		{"fleet-30-2-recovered", fleetIncident("firing", 30, 2, 100), appOpts(true, Status{})},
		{"fleet-resolved", fleetIncident("resolved", 30, 30, 100), appOpts(true, Status{})},
		{"fleet-500", fleetIncident("firing", 500, 0, 100), appOpts(true, Status{})},
		{"fleet-parent", parent, appOpts(true, Status{})},
		{"fleet-parent-app-why", appOfApps, withApp(appOpts(true, Status{}), &apiv1.App{
			Namespace: "argocd", Name: "shop-root", Sync: &apiv1.Sync{Status: "Synced"},
			Operation: &apiv1.Operation{Phase: "Succeeded", Message: "successfully synced (all tasks run)",
				StartedAt: whyT0.Add(-2 * time.Minute), FinishedAt: whyT0.Add(-time.Minute),
				InitiatedBy: apiv1.Initiator{Username: "alice"}, Revisions: []string{"3f2c1e9d8b7a60554433221100ffeeddccbbaa99"}},
			Commits: []apiv1.Commit{{Revision: "3f2c1e9d8b7a60554433221100ffeeddccbbaa99", RepoURL: "https://github.com/acme/apps.git",
				Author: "Jane Doe <jane@acme.example>", Date: whyT0.Add(-5 * time.Minute), Message: "shop: raise replicas, new image tag"}},
		})},
		{"fleet-parent-app-deploy", appOfApps, withApp(appOpts(false, Status{}), &apiv1.App{
			Namespace: "argocd", Name: "shop-root",
			LastDeploy: &apiv1.Deploy{Revisions: []string{"3f2c1e9d8b7a60554433221100ffeeddccbbaa99"}, DeployedAt: whyT0.Add(-time.Minute), InitiatedBy: apiv1.Initiator{Automated: true}},
		})},
		{"fleet-37-why", fleetIncident("firing", 37, 0, 100), withApp(appOpts(true, Status{}), &apiv1.App{
			Namespace: "argocd", Name: "prod-eu-01", Sync: &apiv1.Sync{Status: "Unknown"},
			Conditions: []apiv1.Condition{{Type: "ComparisonError", Message: `Failed to load live state: failed to get cluster info for "https://prod-eu.example.com:6443": dial tcp 10.0.0.1:6443: i/o timeout`}},
		})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			atRenderTime(t, func(t *testing.T) {
				checkGolden(t, tc.name, Render(tc.msg, Overrides{}, tc.opt))
			})
		})
	}
}

// TestFleetOneMessage: a destination's apps make one message naming the cause and the count,
// whatever their number (500 apps, 10,000 alerts in one webhook), within Slack's limits.
func TestFleetOneMessage(t *testing.T) {
	for _, tc := range []struct {
		apps, maxAlerts, recovered int
		header                     string
	}{
		{apps: 3, maxAlerts: 100, header: "🔴 cluster prod-eu unreachable: 3 apps"},
		{apps: 37, maxAlerts: 100, header: "🔴 cluster prod-eu unreachable: 37 apps"},
		{apps: 30, maxAlerts: 100, recovered: 2, header: "🔴 cluster prod-eu unreachable: 28 apps"},
		{apps: 500, maxAlerts: 100, header: "🔴 cluster prod-eu unreachable: 500 apps"},
		{apps: 10000, maxAlerts: 10000, header: "🔴 cluster prod-eu unreachable: 10000 apps"},
	} {
		t.Run(fmt.Sprint(tc.apps, "/", tc.recovered), func(t *testing.T) {
			for _, bot := range []bool{true, false} {
				m := Render(fleetIncident("firing", tc.apps, tc.recovered, tc.maxAlerts), Overrides{}, appOpts(bot, Status{}))
				if err := CheckLimits(m); err != nil {
					t.Fatalf("limits: %v", err)
				}
				js := mustJSON(t, m)
				if !strings.Contains(js, tc.header) {
					t.Fatalf("no header %q in %s", tc.header, js[:min(len(js), 600)])
				}
				if shown := strings.Count(js, "• "); shown > maxFleetApps || shown == 0 {
					t.Fatalf("%d apps listed", shown)
				}
				if more := tc.apps - tc.recovered - maxFleetApps; more > 0 && !strings.Contains(js, fmt.Sprintf("and %d more", more)) {
					t.Fatalf("no \"and %d more\"", more)
				}
			}
		})
	}
}

func TestFleetOf(t *testing.T) {
	mixed := fleetIncident("firing", 3, 0, 100)
	mixed.Alerts[2].Labels = template.KV{"alertname": AlertDestinationDown, "namespace": "argocd", "name": "x", "dest_server": "prod-us"}
	other := fleetIncident("firing", 3, 0, 100)
	other.Alerts[1].Labels = template.KV{"alertname": "ArgoCDAppDegraded", "namespace": "argocd", "name": "x", "dest_server": "prod-eu"}
	for _, tc := range []struct {
		name string
		msg  *notification.Message
		ok   bool
	}{
		{"one destination", fleetIncident("firing", 3, 0, 100), true},
		{"two destinations", mixed, false},
		{"a per-app alert among them", other, false},
		{"per-app incident", incident("firing", 3), false},
	} {
		if _, ok := fleetOf(tc.msg); ok != tc.ok {
			t.Errorf("%s: fleet %v, want %v", tc.name, ok, tc.ok)
		}
	}
}

// FleetParent names the parent app a fleet message asks the exporter about: only an
// ArgoCDParentDegraded group's Application parent, in its children's namespace or the one
// Argo CD's "namespace_name" instance value gives.
func TestFleetParent(t *testing.T) {
	group := func(alertname, kind, parent string) *notification.Message {
		m := fleetIncident("firing", 3, 0, 100)
		for i := range m.Alerts {
			l := m.Alerts[i].Labels
			l["alertname"], l["parent_kind"], l["parent"] = alertname, kind, parent
		}
		return m
	}
	tests := []struct {
		name          string
		msg           *notification.Message
		wantNS, wantN string
		ok            bool
	}{
		{"app of apps", group(AlertParentDegraded, "Application", "shop-root"), "argocd", "shop-root", true},
		{"parent in another namespace", group(AlertParentDegraded, "Application", "team-a_shop-root"), "team-a", "shop-root", true},
		{"ApplicationSet: no sync of its own", group(AlertParentDegraded, "ApplicationSet", "shop-set"), "", "", false},
		{"destination", fleetIncident("firing", 3, 0, 100), "", "", false},
		{"one app's alert with parent labels", group("ArgoCDAppDegraded", "Application", "shop-root"), "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns, n, ok := FleetParent(tt.msg)
			if ns != tt.wantNS || n != tt.wantN || ok != tt.ok {
				t.Errorf("FleetParent = %q, %q, %v; want %q, %q, %v", ns, n, ok, tt.wantNS, tt.wantN, tt.ok)
			}
		})
	}
}
