//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// click presses the button whose action ID starts with prefix on message m (as its latest
// version shows it), as user.
func (e *e2e) click(m stack.SlackRequest, prefix, user string) {
	e.t.Helper()
	shown := e.latest(m)
	b, ok := stack.FindButton(prefix, shown.Blocks, shown.Attach)
	if !ok {
		e.t.Fatalf("no %s button on the message:\n%s\n%s", prefix, shown.Blocks, shown.Attach)
	}
	code, err := e.st.Click(e.ctx, stack.Click{User: user, Channel: m.ChannelID, TS: m.TS, ActionID: b.ActionID})
	if err != nil || code != 200 {
		e.t.Fatalf("click %s as %s: %d %v", prefix, user, code, err)
	}
}

// threadReply waits for a reply in m's thread containing text.
func (e *e2e) threadReply(m stack.SlackRequest, what, text string) {
	e.t.Helper()
	e.eventually(what, 20*time.Second, func() (bool, string) {
		for _, r := range e.messages() {
			if r.ThreadTS == m.TS && strings.Contains(r.Text, text) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("no reply with %q in the thread of %s", text, m.TS)
	})
}

func (e *e2e) stuckSyncCalls() int {
	counts, err := e.st.SimSyncs(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return counts["stuck"].Calls
}

// A Resume by someone the config does not allow changes nothing: an ephemeral refusal, an
// audit reply, no sync.
func (e *e2e) refusedResumeChangesNothing() {
	e.t.Helper()
	m := e.stuckPost()
	e.click(m, "resume_sync", "U0STRANGER")
	e.threadReply(m, "refused Resume: audit reply in the thread", "refused")
	e.eventually("refused Resume: ephemeral explanation", 10*time.Second, func() (bool, string) {
		for _, r := range e.messages() {
			if r.Method == "chat.postEphemeral" && strings.Contains(r.Text, "may not resume") {
				return true, ""
			}
		}
		return false, "none"
	})
	time.Sleep(3 * time.Second) // several exporter polls
	if n := e.stuckSyncCalls(); n != 3 {
		e.t.Fatalf("refused Resume: stuck has %d sync calls, want still 3", n)
	}
	e.expectValue(`argocd_monitor_app_remediation_paused{name="stuck"}`, 1, 5*time.Second)
}

// Resume by the allowed user: exactly one more sync, the audit reply in the thread, and the app
// (still stuck) paused again.
func (e *e2e) resumeGivesExactlyOneMoreSync() {
	e.t.Helper()
	m := e.stuckPost()
	e.click(m, "resume_sync", stack.ActionsUser)
	e.threadReply(m, "Resume: audit reply with the exporter's answer", "resumed auto-sync remediation of argocd/stuck")
	e.eventually("Resume: one more sync call for stuck", 20*time.Second, func() (bool, string) {
		n := e.stuckSyncCalls()
		return n == 4, fmt.Sprintf("%d calls", n)
	})
	e.eventually("Resume: the message updated in place", 10*time.Second, func() (bool, string) {
		for _, u := range e.messages() {
			if u.Method == "chat.update" && u.TS == m.TS && strings.Contains(u.Content(), "Remediation resumed by") {
				return true, ""
			}
		}
		return false, "no update"
	})
	e.expectValue(`argocd_monitor_remediation_syncs_total{name="stuck", result="failed"}`, 4, 30*time.Second)
	time.Sleep(5 * time.Second) // backoff would have started another round by now
	if n := e.stuckSyncCalls(); n != 4 {
		e.t.Fatalf("after Resume: %d sync calls for stuck, want exactly 4", n)
	}
	e.stuckSyncs = 4
	e.expectValue(`argocd_monitor_app_remediation_paused{name="stuck"}`, 1, 5*time.Second)
	if p := e.posts("argocd/stuck"); len(p) != 1 {
		e.t.Fatalf("%d top-level posts for the stuck app after Resume, want 1 (no flapping)", len(p))
	}
}

// Silence 1h on the opted-out Degraded message: Alertmanager reports the silence active, and the
// group's next notification (its resolution) never reaches Slack.
func (e *e2e) silenceStopsTheNextNotification() {
	e.t.Helper()
	p := e.posts("argocd/opted-out")
	if len(p) != 1 {
		e.t.Fatalf("%d top-level posts for opted-out, want 1", len(p))
	}
	m := p[0]
	e.click(m, "silence_1h", "U0SOMEONE")
	e.threadReply(m, "Silence 1h: audit reply", "silenced this group for 1h")
	e.eventually("Alertmanager reports the silence active", 10*time.Second, func() (bool, string) {
		ss, err := e.st.Silences(e.ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range ss {
			if s.Status.State == "active" && s.Matches("name", "opted-out") && s.Matches("alertname", degraded) &&
				!s.Has("health_status") && strings.Contains(s.CreatedBy, "slack:U0SOMEONE") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d silences, none active for opted-out", len(ss))
	})
	updates := func() int {
		n := 0
		for _, u := range e.messages() {
			if u.TS == m.TS && (u.Method == "chat.update" || u.ThreadTS == m.TS) && strings.Contains(strings.ToLower(u.Content()), "resolved") {
				n++
			}
		}
		return n
	}
	before := updates()
	if err := e.st.SetSimState(e.ctx, "opted-out", map[string]any{"health": "Healthy"}); err != nil {
		e.t.Fatal(err)
	}
	e.expectValue(`max(ALERTS{alertname="`+degraded+`", name="opted-out"}) or vector(0)`, 0, 20*time.Second)
	time.Sleep(8 * time.Second) // group_interval is 2s: a resolved notification would be here by now
	if n := updates(); n != before {
		e.t.Fatalf("the silenced group's resolution reached Slack (%d resolved updates, before %d)", n, before)
	}
}
