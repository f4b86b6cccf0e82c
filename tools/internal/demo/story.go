// Package demo narrates `make demo`: it watches the running stack (simulator, Prometheus,
// Alertmanager, the fake Slack the bridge posts to) and prints the story as it happens, until
// the fixable app is repaired with one sync, the stuck app's pause has reached Slack, and the
// story has clicked that message's Resume and Silence 1h buttons; meanwhile the fleet chapter
// (fleet.go) breaks a cluster of 10 apps and shows one message for it, resolved when it is back,
// and the remedies chapter (remedies.go) has one stuck sync terminated and one bad commit rolled
// back.
// The fake Slack's page draws the channel meanwhile; its buttons work too.
package demo

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// PausedAlert is the alert the story ends with.
const PausedAlert = "ArgoCDAppRemediationPaused"

// Narrator prints what changed since its last Step.
type Narrator struct {
	st    *stack.Stack
	out   io.Writer
	start time.Time

	apps      map[string]stack.SimApp
	syncs     map[string]int
	paused    map[string]bool
	firing    map[string]bool
	routed    map[string]bool
	slackSeen int               // Slack requests narrated
	channels  map[string]string // channel ID -> the name the bridge posted to

	// The story's milestones.
	fixableRepaired, stuckPaused, alertFiring, alertRouted, slackPrinted, whyPrinted bool
	// The Slack buttons (actions.go): clicked, and their effect seen.
	resumeClicked, resumed, silenceClicked, silenced bool
	syncsAtResume                                    int
	// The fleet chapter (fleet.go).
	fleet fleet
	// The remedies chapter (remedies.go).
	remedies remedies
}

// NewNarrator narrates st to out.
func NewNarrator(st *stack.Stack, out io.Writer) *Narrator {
	return &Narrator{
		st: st, out: out, start: time.Now(),
		apps: map[string]stack.SimApp{}, syncs: map[string]int{}, paused: map[string]bool{},
		firing: map[string]bool{}, routed: map[string]bool{}, channels: map[string]string{},
	}
}

// Done reports whether the whole story has been told.
func (n *Narrator) Done() bool {
	return n.fixableRepaired && n.stuckPaused && n.alertFiring && n.alertRouted && n.slackPrinted && n.whyPrinted && n.resumed && n.silenced &&
		n.fleet.posted && n.fleet.resolved && n.remedies.terminated && n.remedies.hookSynced && n.remedies.rolledBack && n.remedies.slackHold && n.remedies.holdEnded
}

// Missing names the milestones not reached yet.
func (n *Narrator) Missing() []string {
	var m []string
	for _, x := range []struct {
		ok   bool
		what string
	}{
		{n.fixableRepaired, "fixable repaired"}, {n.stuckPaused, "stuck paused after 3 syncs"},
		{n.alertFiring, PausedAlert + " firing in Prometheus"}, {n.alertRouted, "alert routed by Alertmanager"},
		{n.slackPrinted, "Slack message posted"},
		{n.whyPrinted, "stuck's Why (failing resource, sync error, 3 attempts) in Slack"},
		{n.resumed, "Resume clicked: one more sync"}, {n.silenced, "Silence 1h clicked: silence active"},
		{n.fleet.posted, "one Slack message for the unreachable cluster " + FleetDestination},
		{n.fleet.resolved, "the cluster's message resolved in place"},
		{n.remedies.terminated, HookApp + "'s stuck sync terminated by the exporter"},
		{n.remedies.hookSynced, HookApp + " synced after its hook was fixed"},
		{n.remedies.rolledBack, RollbackApp + " rolled back to its last healthy revision after 3 failed syncs"},
		{n.remedies.slackHold, RollbackApp + "'s Slack message tells the rollback and the hold"},
		{n.remedies.holdEnded, RollbackApp + "'s hold ended by a fix to its own manifests, which was synced"},
	} {
		if !x.ok {
			m = append(m, x.what)
		}
	}
	return m
}

func (n *Narrator) say(format string, args ...any) {
	fmt.Fprintf(n.out, "[%6.1fs] %s\n", time.Since(n.start).Seconds(), fmt.Sprintf(format, args...))
}

// Step looks at every component once and prints what is new.
func (n *Narrator) Step(ctx context.Context) error {
	if err := n.stepApps(ctx); err != nil {
		return err
	}
	if err := n.stepRemediation(ctx); err != nil {
		return err
	}
	if err := n.stepAlerts(ctx); err != nil {
		return err
	}
	if err := n.stepSlack(ctx); err != nil {
		return err
	}
	if err := n.stepFleet(ctx); err != nil {
		return err
	}
	if err := n.stepActions(ctx); err != nil {
		return err
	}
	return n.stepRemedies(ctx)
}

func (n *Narrator) stepApps(ctx context.Context) error {
	apps, err := n.st.SimApps(ctx)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	syncs, err := n.st.SimSyncs(ctx)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	for _, a := range apps {
		if c := syncs[a.Name].Accepted; c > n.syncs[a.Name] {
			n.syncs[a.Name] = c
			n.say("%-10s sync #%d requested by the exporter (Argo CD accepted it)", a.Name, c)
		}
		prev, seen := n.apps[a.Name]
		n.apps[a.Name] = a
		if !seen {
			n.say("%-10s %s / %s", a.Name, a.Sync, a.Health)
			continue
		}
		if a.Phase != prev.Phase {
			switch a.Phase {
			case "Running":
				n.say("%-10s operation Running", a.Name)
			case "Succeeded", "Failed", "Error":
				msg := ""
				if a.Phase != "Succeeded" {
					msg = ": " + a.Message
				}
				n.say("%-10s operation %s%s", a.Name, a.Phase, msg)
			}
		}
		if a.Sync != prev.Sync || a.Health != prev.Health {
			n.say("%-10s now %s / %s", a.Name, a.Sync, a.Health)
		}
		if a.Name == "fixable" && !n.fixableRepaired && a.Sync == "Synced" && a.Health == "Healthy" && n.syncs[a.Name] == 1 {
			n.fixableRepaired = true
			n.say("✔ fixable repaired with one sync")
		}
	}
	return nil
}

func (n *Narrator) stepRemediation(ctx context.Context) error {
	samples, err := n.st.Query(ctx, `argocd_monitor_app_remediation_paused == 1`)
	if err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	for _, s := range samples {
		name := s.Metric["name"]
		if n.paused[name] || name == RollbackApp { // the remedies chapter tells its pause
			continue
		}
		n.paused[name] = true
		n.say("%-10s remediation paused after %d syncs (argocd_monitor_app_remediation_paused 1)", name, n.syncs[name])
		if name == "stuck" && n.syncs[name] == 3 {
			n.stuckPaused = true
			n.say("✔ stuck synced 3 times, then paused")
		}
	}
	return nil
}

func alertKey(labels map[string]string) string {
	return labels["alertname"] + "{name=" + labels["name"] + "}"
}

func (n *Narrator) stepAlerts(ctx context.Context) error {
	alerts, err := n.st.PrometheusAlerts(ctx)
	if err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	var newFiring []string
	for _, a := range alerts {
		k := alertKey(a.Labels)
		if a.State != "firing" || n.firing[k] {
			continue
		}
		n.firing[k] = true
		newFiring = append(newFiring, k)
		if a.Labels["alertname"] == PausedAlert && a.Labels["name"] == "stuck" {
			n.alertFiring = true
		}
	}
	sort.Strings(newFiring)
	for _, k := range newFiring {
		n.say("Prometheus: alert %s firing", k)
	}
	am, err := n.st.AlertmanagerAlerts(ctx)
	if err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	for _, a := range am {
		k := alertKey(a.Labels)
		if a.Status.State != "active" || n.routed[k] {
			continue
		}
		n.routed[k] = true
		var recv []string
		for _, r := range a.Receivers {
			recv = append(recv, r.Name)
		}
		n.say("Alertmanager: %s routed to %s", k, strings.Join(recv, ", "))
		if a.Labels["alertname"] == PausedAlert && a.Labels["name"] == "stuck" && slices.Contains(recv, "slack-bridge") {
			n.alertRouted = true
		}
	}
	return nil
}

// stepSlack tells what the bridge sent to Slack since the last step: each message's
// notification text (the page at the fake Slack's URL draws the whole message).
func (n *Narrator) stepSlack(ctx context.Context) error {
	reqs, err := n.st.SlackRequests(ctx)
	if err != nil {
		return fmt.Errorf("fake slack: %w", err)
	}
	for _, r := range reqs[min(n.slackSeen, len(reqs)):] {
		if r.Result != "ok" {
			continue
		}
		what := "new message"
		switch {
		case r.Method == "chat.update":
			what = "message updated in place"
		case r.Method == "chat.postEphemeral":
			what = "ephemeral answer to the clicking user"
		case r.ThreadTS != "":
			what = "thread reply"
		}
		if r.Channel != r.ChannelID {
			n.channels[r.ChannelID] = r.Channel
		}
		n.say("Slack %s, %s:", orName(n.channels[r.ChannelID], r.Channel), what)
		for line := range strings.SplitSeq(strings.TrimSpace(r.Text), "\n") {
			fmt.Fprintf(n.out, "           │ %s\n", line)
		}
		if r.ThreadTS == "" && strings.Contains(r.Content(), PausedAlert) && strings.Contains(r.Content(), "argocd/stuck") {
			n.slackPrinted = true
		}
		// The enriched message: the exporter's read API told the bridge why stuck is stuck.
		if r.ThreadTS == "" && strings.Contains(r.Content(), "argocd/stuck") && strings.Contains(r.Content(), "Deployment stuck") && strings.Contains(r.Content(), "3 of 3") {
			if !n.whyPrinted {
				n.say("✔ the stuck app's one message tells why: the failing resource, the sync error, the 3 attempts (see it drawn at %s/)", n.st.SlackURL)
			}
			n.whyPrinted = true
		}
	}
	n.slackSeen = len(reqs)
	return nil
}

func orName(name, id string) string {
	if name == "" {
		return id
	}
	return name
}
