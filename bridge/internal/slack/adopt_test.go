package slack

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/kubegroups"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
	"github.com/argocd-monitor/argocd-monitor/exporter/kubetest"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// crashing is a replica's transport that is SIGKILLed in chat.postMessage: after Slack accepted
// the post (before the replica can record it), or before the request left. It never returns
// while the test runs.
type crashing struct {
	Transport
	beforePost bool
	reached    chan struct{} // closed at the crash point
	release    chan struct{} // closed at the end of the test
}

func (c *crashing) Post(ctx context.Context, t Target, m *render.Message) (Ref, error) {
	if !c.beforePost {
		if _, err := c.Transport.Post(ctx, t, m); err != nil {
			return Ref{}, err
		}
	}
	close(c.reached)
	<-c.release
	return Ref{}, errors.New("killed")
}

const adoptNS = "argocd-monitor"

func kubeReplica(t *testing.T, api *kubetest.API, id string, tr Transport) *Deliverer {
	t.Helper()
	store, err := kubegroups.New(kubegroups.Config{Client: api.NewClient(), Namespace: adoptNS, Identity: id,
		ClaimTimeout: 30 * time.Second, ResolvedWindow: time.Hour, TTL: 168 * time.Hour, DedupeWindow: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	requests, duration := NewMetrics(nil)
	return NewDeliverer(tr, store, NewPacer(0), Options{Deadline: 8 * time.Second, AttemptTimeout: time.Second}, requests, duration)
}

// TestTakeoverAdoptsThePostOfADeadReplica (issue 20, chaos seed 8312004917331583366): replica A
// claims a group in the shared state and is killed in its chat.postMessage; Alertmanager's retry
// reaches replica B, which takes the abandoned claim over after the claim timeout. If Slack had
// accepted A's post, B finds it in the channel's history by its metadata and updates it; if not,
// B posts. Either way the group has exactly one top-level message.
func TestTakeoverAdoptsThePostOfADeadReplica(t *testing.T) {
	tests := []struct {
		name       string
		channel    string
		bPostedTo  bool // B posted to the channel before (it knows the name's ID)
		beforePost bool // A died before its post left
	}{
		{name: "died after the post, channel by ID", channel: "C0ALERTS01"},
		{name: "died after the post, channel by name", channel: "#alerts", bPostedTo: true},
		{name: "died before the post", channel: "C0ALERTS01", beforePost: true},
		{name: "died before the post, channel by name", channel: "#alerts", bPostedTo: true, beforePost: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := t.Context()
				fake := slackfake.New("xoxb-test-token")
				bot := NewBot(secret.Static("xoxb-test-token"), fake.APIURL(), NewHTTPClient(fake))
				api := kubetest.New()
				crash := &crashing{Transport: bot, beforePost: tc.beforePost, reached: make(chan struct{}), release: make(chan struct{})}
				a, b := kubeReplica(t, api, "bridge-0", crash), kubeReplica(t, api, "bridge-1", bot)
				note := func(group string) Notification {
					return Notification{GroupKey: group, Key: group + "-firing-1", Target: Target{Route: "default", Channel: tc.channel},
						Message: &render.Message{Text: "incident " + group, Reply: "still firing"}}
				}
				if tc.bPostedTo {
					if err := b.Deliver(ctx, note("other")); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(time.Minute)

				died := make(chan error, 1)
				go func() { died <- a.Deliver(ctx, note("g")) }()
				<-crash.reached
				time.Sleep(31 * time.Second) // Alertmanager retries; B waits out A's claim
				if err := b.Deliver(ctx, note("g")); err != nil {
					t.Fatalf("B's delivery: %v", err)
				}

				var posts []slackfake.Request
				for _, r := range fake.Messages() {
					if r.Method == slackfake.MethodPost && r.ThreadTS == "" && r.Text == "incident g" {
						posts = append(posts, r)
					}
				}
				if len(posts) != 1 {
					t.Fatalf("%d top-level messages for the group, want 1: %+v", len(posts), posts)
				}
				var meta struct {
					EventType string            `json:"event_type"`
					Payload   map[string]string `json:"event_payload"`
				}
				if err := json.Unmarshal([]byte(posts[0].Metadata), &meta); err != nil || meta.EventType != MarkEventType || meta.Payload["claim"] == "" {
					t.Errorf("post metadata = %s (%v), want the claim's mark", posts[0].Metadata, err)
				}
				rec := groupRecord(t, api, "g")
				if rec.TS != posts[0].TS || len(rec.Unrecorded) != 0 {
					t.Errorf("recorded %+v, want the message %s and no unrecorded claim", rec, posts[0].TS)
				}
				history := 0
				for _, r := range fake.Requests() {
					if r.Method == slackfake.MethodHistory {
						history++
					}
				}
				if history != 1 {
					t.Errorf("%d history reads, want 1 (the takeover's)", history)
				}
				if !tc.beforePost {
					updated := false
					for _, r := range fake.Messages() {
						updated = updated || (r.Method == slackfake.MethodUpdate && r.TS == posts[0].TS)
					}
					if !updated {
						t.Error("B did not update the message A posted")
					}
				}
				close(crash.release) // A's late outcome must not overwrite B's record
				if err := <-died; err == nil {
					t.Error("A's delivery succeeded after it was killed")
				}
				if again := groupRecord(t, api, "g"); again.TS != posts[0].TS {
					t.Errorf("record after A's late outcome = %+v", again)
				}
			})
		})
	}
}

type recordView struct {
	TS         string   `json:"ts"`
	Phase      string   `json:"phase"`
	Unrecorded []string `json:"unrecorded"`
}

func groupRecord(t *testing.T, api *kubetest.API, group string) recordView {
	t.Helper()
	cm, err := api.NewClient().CoreV1().ConfigMaps(adoptNS).Get(t.Context(), kubegroups.Name(group), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var r recordView
	if err := json.Unmarshal([]byte(cm.Data["record"]), &r); err != nil || !strings.Contains(cm.Data["record"], `"phase":"sent"`) {
		t.Fatalf("record %s: %v", cm.Data["record"], err)
	}
	return r
}
