//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// TestFleetStory (issue 22): 30 apps on one destination become unreachable in the simulator ->
// exactly one top-level Slack message naming the destination and the count, no per-app message
// for them (one of them also goes health Unknown: its ArgoCDAppUnhealthy is inhibited by the
// destination's alert); 2 recover -> the message is updated in place; all recover -> resolved.
// Then the 3 children of the app of apps prod-us-root go Degraded: one message for the parent,
// whose Why tells the parent's last sync and commit.
func TestFleetStory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	root, bins := rootAndBins(ctx, t)
	sim := stack.DefaultSim
	sim.Fleets = []string{"prod-eu=30", "prod-us=3:Application"}
	st, err := stack.Start(ctx, stack.Config{
		Root: root, Work: t.TempDir(), Bin: bins, Sim: sim,
		Slack: stack.Slack{BotToken: botToken, Channel: channel},
		Log:   testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	e := &e2e{t: t, ctx: ctx, st: st, start: time.Now(), root: root}
	defer e.dumpOnFailure()

	e.expectValue(`count(argocd_monitor_app_info{dest_server="prod-eu", parent_kind="ApplicationSet", parent="prod-eu-apps"})`, 30, 30*time.Second)

	if err := st.SetSimDestination(ctx, "prod-eu", false); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSimState(ctx, "prod-eu-07", map[string]any{"health": "Unknown"}); err != nil {
		t.Fatal(err)
	}
	e.expectValue(`count(ALERTS{alertname="ArgoCDDestinationDown", alertstate="firing", dest_server="prod-eu"})`, 30, 45*time.Second)
	header := "cluster prod-eu unreachable: 30 apps"
	e.eventually("one Slack message for the destination: "+header, 30*time.Second, func() (bool, string) {
		p := e.posts("cluster prod-eu unreachable")
		if len(p) != 1 {
			return false, fmt.Sprintf("%d top-level posts", len(p))
		}
		if l := e.latest(p[0]); !strings.Contains(l.Content(), header) {
			return false, "latest: " + firstLine(l.Content())
		}
		return true, ""
	})
	// prod-eu-07's own ArgoCDAppUnhealthy (for 20s) fires in Prometheus, and Alertmanager holds it
	// back: inhibited by the destination's alert with the same dest_server.
	e.eventually("ArgoCDAppUnhealthy of prod-eu-07 inhibited", 60*time.Second, func() (bool, string) {
		alerts, err := st.AlertmanagerAlerts(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == "ArgoCDAppUnhealthy" && a.Labels["name"] == "prod-eu-07" {
				return a.Status.State == "suppressed", "state " + a.Status.State
			}
		}
		return false, "not in Alertmanager yet"
	})
	orig := e.posts("cluster prod-eu unreachable")[0]
	// The cause in Argo CD's words: the exporter's answer for an affected app carries its
	// ComparisonError, which the message quotes.
	e.eventually("the destination's message quotes Argo CD's ComparisonError", 30*time.Second, func() (bool, string) {
		for _, m := range e.messages() {
			if m.TS == orig.TS && m.ThreadTS == "" && strings.Contains(m.Content(), "failed to get cluster info") &&
				strings.Contains(m.Content(), "ComparisonError on argocd/prod-eu-") {
				return true, ""
			}
		}
		return false, "latest: " + firstLine(e.latest(orig).Content())
	})

	// Two apps recover: the same message says 28, and its thread notes the change.
	for _, app := range []string{"prod-eu-01", "prod-eu-02"} {
		if err := st.SetSimState(ctx, app, map[string]any{"sync": "Synced"}); err != nil {
			t.Fatal(err)
		}
	}
	e.eventually("the destination's message updated in place: 28 apps", 45*time.Second, func() (bool, string) {
		l := e.latest(orig)
		return l.Method == "chat.update" && strings.Contains(l.Content(), "cluster prod-eu unreachable: 28 apps"), "latest: " + firstLine(l.Content())
	})

	// The cluster is back: the message resolves in place.
	if err := st.SetSimDestination(ctx, "prod-eu", true); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSimState(ctx, "prod-eu-07", map[string]any{"health": "Healthy"}); err != nil {
		t.Fatal(err)
	}
	e.eventually("the destination's message resolved in place", 45*time.Second, func() (bool, string) {
		l := e.latest(orig)
		return strings.Contains(l.Content(), "Resolved: cluster prod-eu unreachable"), "latest: " + firstLine(l.Content())
	})

	// One cause, one message: none about a single prod-eu app, one top-level post in all.
	for _, m := range e.messages() {
		if m.Method == "chat.postMessage" && m.ThreadTS == "" && m.TS != orig.TS && strings.Contains(m.Content(), "argocd/prod-eu-") {
			t.Fatalf("a top-level message besides the destination's names a prod-eu app: %s", firstLine(m.Content()))
		}
	}
	if p := e.posts("prod-eu"); len(p) != 1 {
		t.Fatalf("%d top-level posts about prod-eu, want 1", len(p))
	}

	// The parent: prod-us's 3 apps, children of the app of apps prod-us-root, go Degraded, and
	// a sync does not heal them (the parent's bad change is in their manifests: "keep"); without
	// that, remediation synced them healthy within the alert's `for` in some runs. One message
	// names the parent, and its Why tells the parent's last sync and commit (from the exporter's
	// answer for prod-us-root).
	for i := 1; i <= 3; i++ {
		if err := st.SetSimState(ctx, fmt.Sprintf("prod-us-%02d", i), map[string]any{"health": "Degraded", "onSync": "keep"}); err != nil {
			t.Fatal(err)
		}
	}
	e.eventually("one message for the parent with its last sync and commit", 45*time.Second, func() (bool, string) {
		p := e.posts("Application prod-us-root broke its children")
		if len(p) != 1 {
			return false, fmt.Sprintf("%d top-level posts", len(p))
		}
		l := e.latest(p[0]).Content()
		for _, want := range []string{"argocd/prod-us-root", "last sync:", "Succeeded", "by admin", "Parent's commit:", "Release prod-us-root"} {
			if !strings.Contains(l, want) {
				return false, fmt.Sprintf("no %q in %s", want, firstLine(l))
			}
		}
		return true, ""
	})
}

// firstLine is the first 200 characters of a message's content, for failure details.
func firstLine(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
