//go:build e2e_ha

package ha

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// TestExporterLeaderKilledMidStreak: two exporters, one simulator. The leader is SIGKILLed
// after the stuck app's first sync; the other takes over within the lease duration (plus its
// retry) and the stuck app still gets exactly 3 syncs, then pauses.
func TestExporterLeaderKilledMidStreak(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c := startCluster(t, ctx)
	kubeconfig := c.kubeconfig(t, ctx, "argocd-exporter")

	simAddr := freeAddr(t)
	simURL := "http://" + simAddr
	token := filepath.Join(c.work, "argocd-token")
	c.start(t, ctx, "argocd-sim", c.bins.Sim, simURL+"/api/version", nil,
		"--web.listen-address="+simAddr, "--auth.token-file="+token,
		"--scenario.degrade-after=20s", "--scenario.sync-pickup=500ms", "--scenario.sync-duration=2s")
	st := &stack.Stack{SimURL: simURL}

	exporters := map[string]*proc.Proc{}
	for _, id := range []string{"exporter-a", "exporter-b"} {
		addr := freeAddr(t)
		exporters[id] = c.start(t, ctx, id, c.bins.Exporter, "http://"+addr+"/-/ready", []string{"POD_NAME=" + id},
			"--argocd.api="+simURL, "--argocd.token-file="+token, "--argocd.poll-interval=1s", "--argocd.timeout=5s",
			"--web.listen-address="+addr, "--log.level=debug",
			"--remediation.grace=3s", "--remediation.backoff=4s", "--remediation.max-backoff=8s",
			"--kubeconfig="+kubeconfig, "--leader-elect", "--leader-elect-resource-namespace="+namespace,
			"--leader-elect-lease-duration="+lease.String(), "--leader-elect-renew-deadline="+renew.String(),
			"--leader-elect-retry-period="+retry.String(),
			"--remediation.state-configmap=argocd-exporter-remediation")
	}
	holder := func() string {
		l, err := c.admin.CoordinationV1().Leases(namespace).Get(ctx, "argocd-exporter", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	stuck := func() stack.SimSyncStats {
		s, err := st.SimSyncs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s["stuck"]
	}
	eventually(t, "a leader", time.Minute, func() (bool, string) { return holder() != "", "no holder" })
	eventually(t, "the stuck app's first sync", 2*time.Minute, func() (bool, string) {
		s := stuck()
		return s.Accepted >= 1, fmt.Sprintf("%+v", s)
	})
	leader := holder()
	other := "exporter-a"
	if leader == other {
		other = "exporter-b"
	}
	before := stuck()
	exporters[leader].Kill()
	killed := time.Now()
	t.Logf("SIGKILLed the leader %s after %d sync(s) of the stuck app", leader, before.Accepted)
	if before.Accepted >= 3 {
		t.Fatalf("the streak was over before the kill: %+v", before)
	}

	eventually(t, "the other exporter leads", 2*time.Minute, func() (bool, string) { return holder() == other, holder() })
	took := time.Since(killed)
	t.Logf("%s took over %s after the kill (lease %s, retry %s)", other, took.Round(10*time.Millisecond), lease, retry)
	// A candidate takes the Lease once it has seen it unchanged for the lease duration, and
	// tries every retry period with up to 1.2x jitter; the margin is for a busy machine.
	if limit := lease + time.Duration(2.2*float64(retry)) + 5*time.Second; took > limit {
		t.Errorf("takeover took %s, want within %s", took, limit)
	}
	eventually(t, "the stuck app pauses", 3*time.Minute, func() (bool, string) {
		cm, err := c.admin.CoreV1().ConfigMaps(namespace).Get(ctx, "argocd-exporter-remediation", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		d := cm.Data["state.json"]
		return strings.Contains(d, `"argocd/stuck":{`) && strings.Contains(d, `"phase":"paused"`), d
	})
	time.Sleep(10 * time.Second) // a further sync would come within the max backoff
	if s := stuck(); s.Calls != 3 || s.Accepted != 3 {
		t.Errorf("stuck app: %d sync calls (%d accepted) across the leader change, want exactly 3", s.Calls, s.Accepted)
	}
	if _, err := c.admin.CoordinationV1().Leases(namespace).Get(ctx, "argocd-exporter", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		t.Error("the Lease vanished")
	}
}

// TestBridgesBehindRoundRobin: two clustered Alertmanagers deliver to two bridges through a
// round-robin proxy. One Slack message per group; both bridges restart between firing and
// resolved; the resolved notification still updates the original message.
func TestBridgesBehindRoundRobin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	c := startCluster(t, ctx)
	kubeconfig := c.kubeconfig(t, ctx, "slack-bridge")

	botTokenFile := filepath.Join(c.work, "bot-token")
	hookToken := filepath.Join(c.work, "webhook-token")
	for path, v := range map[string]string{botTokenFile: botToken, hookToken: "am-to-bridge-token"} {
		if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	slackAddr := freeAddr(t)
	slack := &stack.Stack{SlackURL: "http://" + slackAddr}
	c.start(t, ctx, "slack-fake", c.bins.SlackFake, slack.SlackURL+"/-/ready", nil,
		"--web.listen-address="+slackAddr, "--auth.token-file="+botTokenFile)
	messages := func() []stack.SlackRequest {
		reqs, err := slack.SlackRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ok []stack.SlackRequest
		for _, r := range reqs {
			if r.Result == "ok" {
				ok = append(ok, r)
			}
		}
		return ok
	}
	bridgeAddrs := []string{freeAddr(t), freeAddr(t)}
	startBridges := func(gen int) []*proc.Proc {
		var ps []*proc.Proc
		for i, addr := range bridgeAddrs {
			id := fmt.Sprintf("bridge-%d-%d", i, gen)
			ps = append(ps, c.start(t, ctx, id, c.bins.Bridge, "http://"+addr+"/-/ready", []string{"POD_NAME=" + id},
				"--web.listen-address="+addr, "--webhook.token-file="+hookToken,
				"--slack.api-url="+slack.SlackURL+"/api/", "--slack.bot-token-file="+botTokenFile,
				"--slack.channel=#argocd-alerts", "--slack.per-channel-interval=0", "--log.level=debug",
				"--state.kubernetes", "--state.namespace="+namespace, "--kubeconfig="+kubeconfig))
		}
		return ps
	}
	bridges := startBridges(0)
	rr := &roundRobin{}
	for _, a := range bridgeAddrs {
		rr.targets = append(rr.targets, &url.URL{Scheme: "http", Host: a})
	}
	proxy := httptest.NewServer(rr)
	defer proxy.Close()

	// Two Alertmanagers, clustered on loopback, both sending to the proxy. A short peer timeout
	// makes the second send its copy before the first one's is gossiped: both deliver.
	amCfg := filepath.Join(c.work, "alertmanager.yml")
	cfg := fmt.Sprintf(`route:
  receiver: bridge
  group_by: [alertname, namespace, name]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
receivers:
  - name: bridge
    webhook_configs:
      - url: %s/webhook
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: %s
`, proxy.URL, hookToken)
	if err := os.WriteFile(amCfg, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	amWeb := []string{freeAddr(t), freeAddr(t)}
	amCluster := []string{freeAddr(t), freeAddr(t)}
	for i := range 2 {
		c.start(t, ctx, fmt.Sprintf("alertmanager-%d", i), c.bins.Alertmanager, "http://"+amWeb[i]+"/-/ready", nil,
			"--config.file="+amCfg, "--storage.path="+filepath.Join(c.work, fmt.Sprintf("am-%d", i)),
			"--web.listen-address="+amWeb[i], "--cluster.listen-address="+amCluster[i],
			"--cluster.advertise-address="+amCluster[i], "--cluster.peer="+amCluster[1-i],
			"--cluster.peer-timeout=50ms", "--cluster.settle-timeout=2s")
	}
	alert := func(endsAt time.Time) {
		body := fmt.Sprintf(`[{"labels":{"alertname":"ArgoCDAppDegraded","namespace":"argocd","name":"guestbook","project":"default","severity":"critical"},
"annotations":{"summary":"Argo CD app argocd/guestbook health is Degraded"},"startsAt":%q,"endsAt":%q}]`,
			time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), endsAt.UTC().Format(time.RFC3339))
		for _, am := range amWeb { // as Prometheus does: every alert to every Alertmanager
			resp, err := http.Post("http://"+am+"/api/v2/alerts", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("post alert to %s: %s", am, resp.Status)
			}
		}
	}
	posts := func() []stack.SlackRequest {
		var out []stack.SlackRequest
		for _, m := range messages() {
			if m.Method == "chat.postMessage" && m.ThreadTS == "" {
				out = append(out, m)
			}
		}
		return out
	}

	alert(time.Now().Add(time.Hour))
	eventually(t, "the firing message", time.Minute, func() (bool, string) { return len(posts()) >= 1, "no post" })
	time.Sleep(5 * time.Second) // the second Alertmanager's copy, and group_interval re-sends
	first := posts()
	if len(first) != 1 {
		t.Fatalf("%d messages for one group, want 1: %+v", len(first), first)
	}
	ts := first[0].TS

	for _, b := range bridges {
		b.Stop(10 * time.Second)
	}
	startBridges(1)

	alert(time.Now().Add(-time.Second)) // resolved
	eventually(t, "the resolved update of the same message", time.Minute, func() (bool, string) {
		for _, m := range messages() {
			if m.Method == "chat.update" && m.TS == ts && strings.Contains(m.Content(), "Resolved") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d messages", len(messages()))
	})
	time.Sleep(5 * time.Second)
	if p := posts(); len(p) != 1 {
		t.Errorf("%d top-level messages after resolve, want still 1: %+v", len(p), p)
	}
	replies := 0
	for _, m := range messages() {
		if m.ThreadTS == ts {
			replies++
		}
	}
	if replies != 1 {
		t.Errorf("%d thread replies on %s, want 1 (the resolve)", replies, ts)
	}
}
