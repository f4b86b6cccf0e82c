package server

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
)

// appGroup is the stuck app's group (group_by [namespace, name]) holding the given alerts.
func appGroup(t *testing.T, alerts map[string]string) []byte {
	t.Helper()
	type alert struct {
		Status   string            `json:"status"`
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"startsAt"`
		EndsAt   time.Time         `json:"endsAt,omitzero"`
	}
	var as []alert
	for name, status := range alerts {
		a := alert{Status: status, Labels: map[string]string{"alertname": name, "namespace": "argocd", "name": "stuck", "severity": "critical"},
			StartsAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
		if status == "resolved" {
			a.EndsAt = a.StartsAt.Add(10 * time.Minute)
		}
		as = append(as, a)
	}
	b, err := json.Marshal(map[string]any{
		"version": "4", "groupKey": `{}:{name="stuck", namespace="argocd"}`, "receiver": "slack",
		"groupLabels":  map[string]string{"namespace": "argocd", "name": "stuck"},
		"commonLabels": map[string]string{"namespace": "argocd", "name": "stuck"}, "alerts": as,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBotModeGroupChangesInThread: one app, one message. Alerts joining or leaving the group
// update the message in place and say what changed in its thread.
func TestBotModeGroupChangesInThread(t *testing.T) {
	fake := slackfake.New("xoxb-1")
	cfg := testConfig(t, fake, io.Discard)
	cfg.Mode, cfg.WebhookURL, cfg.BotToken, cfg.APIURL, cfg.Channel = ModeBot, nil, static("xoxb-1"), fake.APIURL(), "#argocd"
	cfg.DedupeWindow = 0
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	steps := []map[string]string{
		{"ArgoCDAppDegraded": "firing", "ArgoCDAppSyncFailed": "firing"},
		// The pause fires; the inhibit rule takes SyncFailed out of the group.
		{"ArgoCDAppDegraded": "firing", "ArgoCDAppRemediationPaused": "firing"},
		{"ArgoCDAppDegraded": "resolved", "ArgoCDAppRemediationPaused": "resolved"},
	}
	for i, st := range steps {
		if code, body := serve(s, appGroup(t, st)); code != 200 {
			t.Fatalf("step %d: %d %s", i, code, body)
		}
	}
	reqs := fake.Messages()
	var posts, updates int
	var replies []string
	for _, r := range reqs {
		switch {
		case r.Method == slackfake.MethodUpdate:
			updates++
		case r.ThreadTS != "":
			replies = append(replies, r.Text)
		default:
			posts++
		}
	}
	if posts != 1 || updates != 2 || len(replies) != 2 {
		t.Fatalf("%d posts, %d updates, %d replies; want 1, 2, 2: %+v", posts, updates, len(replies), reqs)
	}
	if r := replies[0]; !strings.Contains(r, "now firing: ArgoCDAppRemediationPaused") || !strings.Contains(r, "no longer in this message (inhibited or silenced): ArgoCDAppSyncFailed") {
		t.Errorf("first reply does not say what changed: %q", r)
	}
	if r := replies[1]; !strings.Contains(r, "Resolved") || !strings.Contains(r, "resolved: ArgoCDAppDegraded, ArgoCDAppRemediationPaused") {
		t.Errorf("second reply: %q", r)
	}
	if !strings.Contains(reqs[0].Blocks, "argocd/stuck") {
		t.Errorf("the group's title does not name the app: %s", reqs[0].Blocks)
	}
}
