package server

import (
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/kubegroups"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/route"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
	"github.com/argocd-monitor/argocd-monitor/exporter/kubetest"
)

// TestReplicasShareGroups: two bot-mode replicas on one Kubernetes API. The
// HA pair's two copies of the firing notification reach both at once; both
// replicas restart; the resolved notification reaches each of them. Slack
// sees one post, one update of it and one thread reply.
func TestReplicasShareGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := slackfake.New("xoxb-1")
		api := kubetest.New()
		replica := func(id string) *Server {
			cfg := testConfig(t, fake, io.Discard)
			cfg.Mode, cfg.WebhookURL, cfg.BotToken, cfg.APIURL, cfg.Channel = ModeBot, nil, static("xoxb-1"), fake.APIURL(), "#argocd"
			return kubeReplica(t, cfg, api, id)
		}
		deliverToBoth := func(a, b *Server, name string) {
			var wg sync.WaitGroup
			for _, s := range []*Server{a, b} {
				wg.Go(func() {
					if code, body := serve(s, payload(t, name)); code != 200 {
						t.Errorf("%s: %d %s", name, code, body)
					}
				})
			}
			wg.Wait()
		}
		deliverToBoth(replica("a"), replica("b"), "firing.json")
		deliverToBoth(replica("a2"), replica("b2"), "resolved.json") // both restarted
		reqs := fake.Messages()
		if len(reqs) != 3 || reqs[0].Method != slackfake.MethodPost || reqs[1].Method != slackfake.MethodUpdate ||
			reqs[1].TS != reqs[0].TS || reqs[2].ThreadTS != reqs[0].TS {
			t.Fatalf("want one post, one update of it, one thread reply; got %+v", reqs)
		}
	})
}

// TestAckSharedAcrossReplicas: an ack clicked on replica a is in the shared
// group state, so replica b's next update of the message shows it.
func TestAckSharedAcrossReplicas(t *testing.T) {
	fake := slackfake.New("xoxb-1")
	api := kubetest.New()
	replica := func(id string) (*Server, string) {
		s := kubeReplica(t, botConfig(t, fake, io.Discard), api, id)
		return s, httpServer(t, s)
	}
	a, aURL := replica("a")
	_, bURL := replica("b")
	if code, body := post(t, aURL, payload(t, "firing.json")); code != 200 {
		t.Fatalf("firing: %d %s", code, body)
	}
	m, err := notification.Decode(payload(t, "firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	value := render.ButtonValue{Group: render.GroupID(m.GroupKey)}.Encode()
	if code := clickButton(t, aURL, render.ActionAck, value, "C0ALERTS", "1700000000.000001"); code != 200 {
		t.Fatalf("click answered %d", code)
	}
	a.receiver.Wait()
	if code, body := post(t, bURL, payload(t, "resolved.json")); code != 200 {
		t.Fatalf("resolved: %d %s", code, body)
	}
	reqs := fake.Requests()
	last := reqs[len(reqs)-2]
	if last.Method != "chat.update" || last.TS != "1700000000.000001" || !strings.Contains(last.Attach, "Acked by \\u003c@U0BOB\\u003e") {
		t.Fatalf("b's update of the message lacks a's ack: %+v", last)
	}
}

// kubeReplica is a bridge replica with cfg sharing its group state in api.
func kubeReplica(t *testing.T, cfg Config, api *kubetest.API, id string) *Server {
	t.Helper()
	groups, err := kubegroups.New(kubegroups.Config{Client: api.NewClient(), Namespace: "argocd-monitor", Identity: id,
		ClaimTimeout: 2 * cfg.Deadline, ResolvedWindow: time.Hour, TTL: cfg.StateTTL, DedupeWindow: cfg.DedupeWindow})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Groups = groups
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRetryCheckSharedAcrossReplicas: replica a delivers the group; a Resume
// click reaches replica b, which never saw the notification (the round robin,
// or a restart): b checks the app against the group's firing alerts in the
// shared state and asks the exporter. An app not of the group is refused on b
// as well.
func TestRetryCheckSharedAcrossReplicas(t *testing.T) {
	fake := slackfake.New("xoxb-1")
	api := kubetest.New()
	router, err := route.Parse([]byte("actions:\n  resume:\n    users: [U0BOB]\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	rem := &resumer{}
	replica := func(id string) (*Server, string) {
		cfg := botConfig(t, fake, io.Discard)
		cfg.Router, cfg.Remediator = router, rem
		s := kubeReplica(t, cfg, api, id)
		return s, httpServer(t, s)
	}
	_, aURL := replica("a")
	if code, body := post(t, aURL, payload(t, "firing.json")); code != 200 {
		t.Fatalf("firing: %d %s", code, body)
	}
	ts := fake.Requests()[0].TS
	m, err := notification.Decode(payload(t, "firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, bURL := replica("b") // started after the delivery: nothing in memory
	click := func(app string) {
		t.Helper()
		ns, name, _ := strings.Cut(app, "/")
		value := render.ButtonValue{Group: render.GroupID(m.GroupKey), Namespace: ns, Name: name}.Encode()
		if code := clickButton(t, bURL, render.ActionResume, value, "C0ALERTS", ts); code != 200 {
			t.Fatalf("click answered %d", code)
		}
		b.receiver.Wait()
	}
	click("argocd/payments")
	if rem.calls != 1 {
		t.Fatalf("exporter asked %d times for the group's own app on the other replica, want 1", rem.calls)
	}
	if v := testutil.ToFloat64(b.metrics.Actions.WithLabelValues("resume", "ok")); v != 1 {
		t.Errorf("actions_total{resume,ok} on b = %v, want 1", v)
	}
	click("argocd/other")
	if rem.calls != 1 {
		t.Fatalf("exporter asked for an app not of the group")
	}
	if v := testutil.ToFloat64(b.metrics.Actions.WithLabelValues("resume", "invalid")); v != 1 {
		t.Errorf("actions_total{resume,invalid} on b = %v, want 1", v)
	}
}
