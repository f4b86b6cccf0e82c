package demo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// demoUser is who clicks Silence 1h in the story (anyone may silence).
const demoUser = "U0DEMOUSER"

// consoleRecord is one line of the bridge's console file (the fields the story needs).
type consoleRecord struct {
	Method      string          `json:"method"`
	Channel     string          `json:"channel"`
	TS          string          `json:"ts"`
	ThreadTS    string          `json:"thread_ts"`
	Text        string          `json:"text"`
	Attachments json.RawMessage `json:"attachments"`
}

// pausedMessage finds the stuck app's message in the console file, as its latest version shows
// it (one message per app: it may have opened for another alert), once it holds the pause.
func (n *Narrator) pausedMessage() (consoleRecord, bool) {
	f, err := os.Open(n.st.ConsoleFile)
	if err != nil {
		return consoleRecord{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var post, last consoleRecord
	found := false
	for sc.Scan() {
		var r consoleRecord
		if json.Unmarshal(sc.Bytes(), &r) != nil || r.ThreadTS != "" {
			continue
		}
		switch {
		case !found && r.Method == "chat.postMessage" && strings.Contains(r.Text, "argocd/stuck"):
			post, last, found = r, r, true
		case found && r.Method == "chat.update" && r.TS == post.TS && r.Channel == post.Channel:
			last = r
		}
	}
	if !found || !strings.Contains(last.Text+string(last.Attachments), PausedAlert) {
		return consoleRecord{}, false
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
	m, ok := n.pausedMessage()
	if !ok {
		return nil
	}
	click := func(prefix, user, what string) error {
		b, ok := stack.FindButton(string(m.Attachments), prefix)
		if !ok {
			return fmt.Errorf("no %s button on the stuck pause message", prefix)
		}
		code, err := n.st.Click(ctx, stack.Click{User: user, Channel: m.Channel, TS: m.TS, Button: b})
		if err != nil {
			return err
		}
		n.say("Slack: <@%s> clicks %q on the stuck pause message (signed request to /slack/interactions: %d)", user, what, code)
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
