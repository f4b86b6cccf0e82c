package server

import (
	"io"
	"sync"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/kubegroups"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/kubetest"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack/slacktest"
)

// TestReplicasShareGroups: two bot-mode replicas on one Kubernetes API. The
// HA pair's two copies of the firing notification reach both at once; both
// replicas restart; the resolved notification reaches each of them. Slack
// sees one post, one update of it and one thread reply.
func TestReplicasShareGroups(t *testing.T) {
	fake := slacktest.New()
	defer fake.Close()
	api := kubetest.New()
	replica := func(id string) string {
		cfg := testConfig(t, fake, io.Discard)
		cfg.Mode, cfg.WebhookURL, cfg.BotToken, cfg.APIURL, cfg.Channel = ModeBot, "", "xoxb-1", fake.APIURL(), "#argocd"
		groups, err := kubegroups.New(kubegroups.Config{Client: api.NewClient(), Namespace: "argocd-monitor", Identity: id,
			ClaimTimeout: 2 * cfg.Deadline, ResolvedWindow: time.Hour, TTL: cfg.StateTTL, DedupeWindow: cfg.DedupeWindow,
			PollInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Groups = groups
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return httpServer(t, s)
	}
	deliverToBoth := func(a, b, name string) {
		var wg sync.WaitGroup
		for _, url := range []string{a, b} {
			wg.Go(func() {
				if code, body := post(t, url, payload(t, name)); code != 200 {
					t.Errorf("%s to %s: %d %s", name, url, code, body)
				}
			})
		}
		wg.Wait()
	}
	deliverToBoth(replica("a"), replica("b"), "firing.json")
	deliverToBoth(replica("a2"), replica("b2"), "resolved.json") // both restarted
	reqs := fake.Requests()
	if len(reqs) != 3 || reqs[0].Method != "chat.postMessage" || reqs[1].Method != "chat.update" ||
		reqs[1].TS != "1700000000.000001" || reqs[2].ThreadTS != "1700000000.000001" {
		t.Fatalf("want one post, one update of it, one thread reply; got %+v", reqs)
	}
}
