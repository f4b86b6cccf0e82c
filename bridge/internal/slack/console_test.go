package slack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
)

func TestConsole(t *testing.T) {
	var out bytes.Buffer
	path := filepath.Join(t.TempDir(), "messages.jsonl")
	c, err := NewConsole(&out, path)
	if err != nil {
		t.Fatal(err)
	}
	btn := slack.NewButtonBlockElement("argocd-0", "", slack.NewTextBlockObject(slack.PlainTextType, "Open in Argo CD", true, false))
	btn.URL = "https://argocd.example.com/applications/argocd/payments"
	m := &render.Message{
		Text:   "fallback",
		Color:  render.ColorCritical,
		Header: []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "🔴 Firing: ArgoCDAppDegraded (1)", true, false))},
		Body: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*<https://argocd.example.com/applications/argocd/payments|argocd/payments>*: a &amp; b", false, false),
				[]*slack.TextBlockObject{slack.NewTextBlockObject(slack.MarkdownType, "*Health*\nDegraded", false, false)}, nil),
			slack.NewActionBlock("", btn),
		},
	}
	ctx := context.Background()
	ref, err := c.Post(ctx, Target{Route: "default", Channel: "#argocd"}, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, ref, m); err != nil {
		t.Fatal(err)
	}
	if err := c.Reply(ctx, ref, "✅ Resolved"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"── #argocd · NEW", "🔴 Firing: ArgoCDAppDegraded (1)",
		"argocd/payments (https://argocd.example.com/applications/argocd/payments): a & b",
		"Health: Degraded", "[Open in Argo CD] https://argocd.example.com/applications/argocd/payments",
		"UPDATE " + ref.TS, "thread reply in #argocd on " + ref.TS + ": ✅ Resolved",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("console output lacks %q:\n%s", want, text)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var methods []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			Method      string            `json:"method"`
			ThreadTS    string            `json:"thread_ts"`
			Blocks      []json.RawMessage `json:"blocks"`
			Attachments []struct {
				Color  string            `json:"color"`
				Blocks []json.RawMessage `json:"blocks"`
			} `json:"attachments"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line is not one JSON object: %v", err)
		}
		methods = append(methods, rec.Method)
		if rec.Method == MethodUpdate && (len(rec.Blocks) != 1 || len(rec.Attachments) != 1 || len(rec.Attachments[0].Blocks) != 2 || rec.Attachments[0].Color != render.ColorCritical) {
			t.Errorf("update record lacks the Block Kit message: %s", sc.Text())
		}
	}
	if strings.Join(methods, ",") != "chat.postMessage,chat.update,chat.postMessage" {
		t.Errorf("records %v", methods)
	}
}
