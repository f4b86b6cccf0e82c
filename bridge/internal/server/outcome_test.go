package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich/enrichtest"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/route"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

type resumer struct{ calls int }

func (r *resumer) Resume(context.Context, string, string, string) (string, error) {
	r.calls++
	return "one attempt scheduled", nil
}

func (r *resumer) Terminate(context.Context, string, string, string) (string, error) {
	return "", errors.New("not in this test")
}

func (r *resumer) Rollback(context.Context, string, string, string) (string, error) {
	return "", errors.New("not in this test")
}

// TestResumeOutcomeInThread: after "Resume auto-sync" from Slack, the group's next
// notification carries the resumed sync's result (from the exporter's story) in the thread.
func TestResumeOutcomeInThread(t *testing.T) {
	fake := slackfake.New("xoxb-1")
	exp := enrichtest.New(apiToken)
	defer exp.Close()
	exp.AnswerAny(stuckApp())
	cfg := botConfig(t, fake, &syncBuffer{})
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(apiToken), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Enrich = &enrich.Config{URL: exp.URL, Token: readToken(t, file), MaxApps: 10}
	cfg.EnrichBudget = time.Second
	router, err := route.Parse([]byte("actions:\n  resume:\n    users: [U0BOB]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	rem := &resumer{}
	cfg.Router, cfg.Remediator = router, rem
	s, url := startFiring(t, cfg)
	ts := fake.Requests()[0].TS
	m, err := notification.Decode(payload(t, "firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	value := render.ButtonValue{Group: render.GroupID(m.GroupKey), Namespace: "argocd", Name: "payments"}.Encode()
	if code := clickButton(t, url, render.ActionResume, value, "C0ALERTS", ts); code != 200 {
		t.Fatalf("click answered %d", code)
	}
	s.receiver.Wait()
	if rem.calls != 1 {
		t.Fatalf("exporter asked %d times, want 1", rem.calls)
	}
	// The exporter's resumed attempt fixed the app: its streak ended with it.
	at := time.Now().Add(time.Second)
	fixed := stuckApp()
	fixed.Remediation = &apiv1.Remediation{Mode: "on", MaxAttempts: 3, LastReset: &apiv1.Reset{At: at.Add(time.Minute), Reason: "healthy",
		Attempts: []apiv1.Attempt{{N: 1, At: at, Result: "succeeded", DoneAt: at.Add(30 * time.Second)}}}}
	exp.AnswerAny(fixed)
	if code, body := post(t, url, payload(t, "resolved.json")); code != 200 {
		t.Fatalf("resolved: %d %s", code, body)
	}
	reqs := fake.Requests()
	last := reqs[len(reqs)-1]
	if last.ThreadTS != ts || !strings.Contains(last.Text, "The sync after <@U0BOB>'s resume of argocd/payments succeeded") {
		t.Fatalf("last Slack request %+v: want the thread reply with the resumed sync's result", last)
	}
}
