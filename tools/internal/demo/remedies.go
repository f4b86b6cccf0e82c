package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// The remedies chapter (issue 25): two healthy manual filler apps get a new commit each.
// HookApp's commit adds a PreSync hook that never completes: the exporter terminates the stuck
// sync after TerminateAfter, someone fixes the hook, the next attempt syncs it. RollbackApp's
// commit cannot apply: 3 failed syncs, the pause, and the exporter rolls it back to its last
// healthy revision and holds it; a fix to its own manifests ends the hold and is synced.
const (
	HookApp     = "app-00001" // manual filler (the simulator's fixture order), project team-2
	RollbackApp = "app-00002" // manual filler, project team-3
	// TerminateAfter is the demo exporter's --remediation.terminate-after.
	TerminateAfter = 5 * time.Second
	// appsNamespace is where the simulator's Applications live.
	appsNamespace = "argocd"
)

// Remediation is the demo exporter's remediation: the stack's defaults, stuck syncs terminated
// after TerminateAfter, and automatic rollback.
func Remediation() stack.RemediationTimings {
	r := stack.DefaultRemediation
	r.TerminateAfter, r.Rollback = TerminateAfter, "auto"
	return r
}

// MinApps is the fewest filler apps the story needs (HookApp and RollbackApp are fillers).
const MinApps = 3

// StackConfig is the demo's stack: the simulator with apps filler apps and the fleet chapter's
// destination, the exporter with Remediation(), the bridge in bot mode against the fake Slack.
// The caller sets ports and the log.
func StackConfig(root, work string, bins stack.Binaries, apps int) stack.Config {
	sim := stack.DefaultSim
	sim.Apps = apps
	sim.Fleets = []string{FleetFlag}
	return stack.Config{
		Root: root, Work: work, Bin: bins, Sim: sim, Remediation: Remediation(),
		Slack: stack.Slack{BotToken: "xoxb-demo", Channel: "#argocd-demo"},
	}
}

// Commits the chapter pushes (the simulator takes any lowercase hex id).
const (
	hookCommit  = "0b0c0c0de0000000000000000000000000000001"
	badCommit   = "bad0c0ffee000000000000000000000000000002"
	fixedCommit = "f12ed0000000000000000000000000000000000f"
)

// remedies is the chapter's progress.
type remedies struct {
	hookPushed, hookRunning, terminated, hookFixed, hookSynced bool
	badPushed, rolledBack, slackHold, fixPushed, holdEnded     bool
	syncs                                                      map[string]int
	rollbackSyncs                                              int // RollbackApp's syncs when the fix was pushed
}

func (n *Narrator) stepRemedies(ctx context.Context) error {
	r := &n.remedies
	if r.syncs == nil {
		r.syncs = map[string]int{}
	}
	if !r.hookPushed || !r.badPushed {
		// Both apps in the exporter's metrics in Prometheus: it has seen them Synced and Healthy.
		s, err := n.st.Query(ctx, fmt.Sprintf(`count(argocd_monitor_app_sync_status{name=~"%s|%s", sync_status="Synced"} == 1)`, HookApp, RollbackApp))
		if err != nil || len(s) != 1 || s[0].Value != 2 {
			return err
		}
		if err := n.st.SetSimState(ctx, HookApp, map[string]any{"revision": hookCommit, "ownChange": true, "onSync": "hang"}); err != nil {
			return err
		}
		r.hookPushed = true
		n.say("Argo CD: a commit to %s adds a PreSync hook Job that never completes; the app is OutOfSync", HookApp)
		if err := n.st.SetSimState(ctx, RollbackApp, map[string]any{"revision": badCommit, "ownChange": true, "onSync": "fail"}); err != nil {
			return err
		}
		r.badPushed = true
		n.say("Argo CD: a bad commit %s to %s: its manifest cannot apply", short(badCommit), RollbackApp)
		return nil
	}
	syncs, err := n.st.SimSyncs(ctx)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	for _, app := range []string{HookApp, RollbackApp} {
		if c := syncs[app].Accepted; c > r.syncs[app] {
			r.syncs[app] = c
			n.say("%-10s sync #%d requested by the exporter (Argo CD accepted it)", app, c)
		}
	}
	if err := n.stepHook(ctx, syncs[HookApp]); err != nil {
		return err
	}
	return n.stepRollback(ctx, syncs[RollbackApp])
}

// stepHook: the stuck sync, its termination, the fixed hook's sync.
func (n *Narrator) stepHook(ctx context.Context, stats stack.SimSyncStats) error {
	r := &n.remedies
	if r.hookSynced {
		return nil
	}
	st, err := n.st.AppStory(ctx, appsNamespace, HookApp)
	if err != nil {
		return nil // the read API may not know the app's latest state yet
	}
	switch {
	case !r.hookRunning:
		if st.Operation != nil && st.Operation.Phase == "Running" && strings.Contains(st.Operation.Message, "hook") {
			r.hookRunning = true
			n.say("%-10s operation Running: %s", HookApp, st.Operation.Message)
		}
	case !r.terminated:
		if a, ok := st.LastAction("terminate"); ok && a.By == "" && a.Result == "ok" && stats.Terminated >= 1 {
			r.terminated = true
			n.say("✔ %s: the exporter terminated the stuck sync (--remediation.terminate-after=%s): %s", HookApp, TerminateAfter, a.Message)
		}
		fallthrough // fix the hook before the next attempt is due (one backoff)
	case !r.hookFixed:
		if !r.terminated {
			return nil
		}
		if err := n.st.SetSimState(ctx, HookApp, map[string]any{"onSync": "succeed"}); err != nil {
			return err
		}
		r.hookFixed = true
		n.say("Argo CD: someone fixes %s's hook; the exporter's next attempt can complete", HookApp)
	default:
		if st.Sync != nil && st.Sync.Status == "Synced" && st.Health != nil && st.Health.Status == "Healthy" &&
			st.Operation != nil && st.Operation.Phase == "Succeeded" {
			r.hookSynced = true
			n.say("✔ %s synced by the next attempt (#%d): the terminated attempt counted as failed, nothing waited for ever", HookApp, r.syncs[HookApp])
		}
	}
	return nil
}

// stepRollback: three failed syncs, the pause and the rollback, then the fix that ends the hold.
func (n *Narrator) stepRollback(ctx context.Context, stats stack.SimSyncStats) error {
	r := &n.remedies
	if r.holdEnded {
		return nil
	}
	st, err := n.st.AppStory(ctx, appsNamespace, RollbackApp)
	if err != nil || st.Remediation == nil {
		return nil
	}
	switch {
	case !r.rolledBack:
		a, ok := st.LastAction("rollback")
		if !ok || a.Result != "ok" || st.Remediation.Hold == nil || stats.RolledBack < 1 {
			return nil
		}
		r.rolledBack = true
		n.say("%-10s remediation paused after %d failed syncs", RollbackApp, r.syncs[RollbackApp])
		n.say("✔ %s: the exporter %s; Argo CD runs %s again (Healthy, OutOfSync against the bad head); holding until the app's own manifests change",
			RollbackApp, a.Message, short(st.Remediation.Hold.To))
	case !r.slackHold:
		// The pause reaches Slack; the message's Why tells the rollback and the hold (read from
		// the exporter's read API by the bridge). The fix waits for it, so the channel shows it.
		if st.Remediation.Hold == nil {
			return nil
		}
		reqs, err := n.st.SlackRequests(ctx)
		if err != nil {
			return err
		}
		for _, m := range reqs {
			c := m.Content()
			if m.Result == "ok" && m.ThreadTS == "" && strings.Contains(c, "argocd/"+RollbackApp) && strings.Contains(c, "holding until its manifests change") {
				r.slackHold = true
				n.say("✔ Slack: %s's message says it was rolled back and is held (\"rolled back to %s at … by argocd-monitor; holding until its manifests change\")",
					RollbackApp, short(st.Remediation.Hold.To))
				break
			}
		}
	case !r.fixPushed:
		if err := n.st.SetSimState(ctx, RollbackApp, map[string]any{"revision": fixedCommit, "ownChange": true, "onSync": "succeed"}); err != nil {
			return err
		}
		r.fixPushed, r.rollbackSyncs = true, r.syncs[RollbackApp]
		n.say("Argo CD: a fix %s to %s's own manifests", short(fixedCommit), RollbackApp)
	default:
		if st.Remediation.Hold == nil && r.syncs[RollbackApp] == r.rollbackSyncs+1 && st.Sync != nil && st.Sync.Status == "Synced" &&
			st.Health != nil && st.Health.Status == "Healthy" {
			r.holdEnded = true
			n.say("✔ %s: the fix to its own manifests ended the hold; one sync (#%d) deployed it, Synced and Healthy", RollbackApp, r.syncs[RollbackApp])
		}
	}
	return nil
}

// short is a commit's first 7 characters.
func short(rev string) string { return rev[:min(7, len(rev))] }
