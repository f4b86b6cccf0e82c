package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// demoUser is who clicks Silence 1h in the story (anyone may silence).
const demoUser = "U0DEMOUSER"

// pausedMessage finds the stuck app's message as its latest version shows it (one message per
// app: it may have opened for another alert), once it holds the pause.
func (n *Narrator) pausedMessage(ctx context.Context) (stack.SlackRequest, bool) {
	reqs, err := n.st.SlackRequests(ctx)
	if err != nil {
		return stack.SlackRequest{}, false
	}
	var post, last stack.SlackRequest
	found := false
	for _, r := range reqs {
		if r.Result != "ok" || r.ThreadTS != "" {
			continue
		}
		switch {
		case !found && r.Method == "chat.postMessage" && strings.Contains(r.Content(), "argocd/stuck"):
			post, last, found = r, r, true
		case found && r.Method == "chat.update" && r.TS == post.TS && r.ChannelID == post.ChannelID:
			last = r
		}
	}
	if !found || !strings.Contains(last.Content(), PausedAlert) {
		return stack.SlackRequest{}, false
	}
	return last, true
}

// stepActions, once the pause reached Slack, clicks Resume auto-sync (as the on-call user the
// config allows) and then Silence 1h on that message with signed requests, as Slack would, and
// tells what changed: one more sync, the silence in Alertmanager.
func (n *Narrator) stepActions(ctx context.Context) error {
	if !n.slackPrinted {
		return nil
	}
	m, ok := n.pausedMessage(ctx)
	if !ok {
		return nil
	}
	click := func(prefix, user, what string) error {
		b, ok := stack.FindButton(prefix, m.Blocks, m.Attach)
		if !ok {
			return fmt.Errorf("no %s button on the stuck pause message", prefix)
		}
		code, err := n.st.Click(ctx, stack.Click{User: user, Channel: m.ChannelID, TS: m.TS, ActionID: b.ActionID})
		if err != nil {
			return err
		}
		n.say("Slack: <@%s> clicks %q on the stuck pause message (the fake Slack's signed request to /slack/interactions: %d)", user, what, code)
		return nil
	}
	switch {
	case !n.resumeClicked:
		n.resumeClicked, n.syncsAtResume = true, n.syncs["stuck"]
		return click("resume_sync", stack.ActionsUser, "Resume auto-sync")
	case !n.resumed:
		if n.syncs["stuck"] == n.syncsAtResume+1 {
			n.resumed = true
			n.say("✔ Resume: exactly one more sync of stuck (#%d); it stays paused until that attempt's outcome", n.syncs["stuck"])
		}
	case !n.silenceClicked:
		n.silenceClicked = true
		return click("silence_1h", demoUser, "Silence 1h")
	case !n.silenced:
		ss, err := n.st.Silences(ctx)
		if err != nil {
			return fmt.Errorf("alertmanager: %w", err)
		}
		for _, s := range ss {
			if s.Status.State == "active" && s.Matches("name", "stuck") {
				n.silenced = true
				n.say("✔ Alertmanager: silence %s active (createdBy %q), matching the alert's identifying labels", s.ID, s.CreatedBy)
			}
		}
	}
	return nil
}
