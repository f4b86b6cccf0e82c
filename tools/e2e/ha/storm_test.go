//go:build e2e_ha

package ha

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// stormApps is how many apps fail at once: one fleet on one destination that becomes unreachable.
const stormApps = 500

// renderConfig reads a config of deploy/local and replaces each old string (which must occur).
func renderConfig(t *testing.T, root, src, out string, reps ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, src))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i < len(reps); i += 2 {
		if !strings.Contains(s, reps[i]) {
			t.Fatalf("%s: %q not in it; update the storm test with the file", src, reps[i])
		}
		s = strings.ReplaceAll(s, reps[i], reps[i+1])
	}
	if err := os.WriteFile(out, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRestartStorm (issue 22): 500 apps of one destination fail; the shipped rules (short `for`
// and keep_firing_for from the e2e params) and Alertmanager routing/inhibition make one fleet
// message. Then every exporter replica goes down at once until Prometheus misses a scrape of each,
// and every bridge replica restarts at once (of each, one SIGKILLed, one SIGTERMed). After
// Alertmanager re-delivers the group (repeat_interval shortened so it does within the test) there
// is still exactly one top-level message, updated in place, never resolved, naming the
// destination and the count: the group state is in Kubernetes.
func TestRestartStorm(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := startCluster(t, ctx)
	exporterKube := c.kubeconfig(t, ctx, "argocd-exporter")
	bridgeKube := c.kubeconfig(t, ctx, "slack-bridge")

	botTokenFile := filepath.Join(c.work, "bot-token")
	hookToken := filepath.Join(c.work, "webhook-token")
	argocdToken := filepath.Join(c.work, "argocd-token")
	for path, v := range map[string]string{botTokenFile: botToken, hookToken: "am-to-bridge-token"} {
		if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// The simulator: only the fleet, 500 apps on prod-eu.
	simAddr := freeAddr(t)
	sim := &stack.Stack{SimURL: "http://" + simAddr}
	c.start(t, ctx, "argocd-sim", c.bins.Sim, sim.SimURL+"/api/version", nil,
		"--web.listen-address="+simAddr, "--auth.token-file="+argocdToken, "--no-scenario",
		fmt.Sprintf("--fleet=prod-eu=%d", stormApps))

	// Two exporters electing a leader.
	exporterAddrs := []string{freeAddr(t), freeAddr(t)}
	startExporter := func(i, gen int) *proc.Proc {
		id := fmt.Sprintf("exporter-%d-%d", i, gen)
		addr := exporterAddrs[i]
		return c.start(t, ctx, id, c.bins.Exporter, "http://"+addr+"/-/ready", []string{"POD_NAME=" + id},
			"--argocd.api="+sim.SimURL, "--argocd.token-file="+argocdToken, "--argocd.poll-interval=1s", "--argocd.timeout=5s",
			"--web.listen-address="+addr,
			"--kubeconfig="+exporterKube, "--leader-elect", "--leader-elect-resource-namespace="+namespace,
			"--leader-elect-lease-duration="+lease.String(), "--leader-elect-renew-deadline="+renew.String(),
			"--leader-elect-retry-period="+retry.String(),
			"--remediation.state-configmap=argocd-exporter-remediation")
	}
	exporters := []*proc.Proc{startExporter(0, 0), startExporter(1, 0)}

	// The fake Slack and two bridges behind a round robin, state in Kubernetes.
	slackAddr := freeAddr(t)
	slack := &stack.Stack{SlackURL: "http://" + slackAddr}
	c.start(t, ctx, "slack-fake", c.bins.SlackFake, slack.SlackURL+"/-/ready", nil,
		"--web.listen-address="+slackAddr, "--auth.token-file="+botTokenFile)
	bridgeAddrs := []string{freeAddr(t), freeAddr(t)}
	startBridge := func(i, gen int) *proc.Proc {
		id := fmt.Sprintf("bridge-%d-%d", i, gen)
		return c.start(t, ctx, id, c.bins.Bridge, "http://"+bridgeAddrs[i]+"/-/ready", []string{"POD_NAME=" + id},
			"--web.listen-address="+bridgeAddrs[i], "--webhook.token-file="+hookToken,
			"--slack.api-url="+slack.SlackURL+"/api/", "--slack.bot-token-file="+botTokenFile,
			"--slack.channel=#argocd-alerts", "--slack.per-channel-interval=0", "--log.level=debug",
			// Shorter than the repeat_interval below, so a repeat updates the message.
			"--dedupe.window=10s",
			"--state.kubernetes", "--state.namespace="+namespace, "--kubeconfig="+bridgeKube)
	}
	bridges := []*proc.Proc{startBridge(0, 0), startBridge(1, 0)}
	rr := &roundRobin{}
	for _, a := range bridgeAddrs {
		rr.targets = append(rr.targets, &url.URL{Scheme: "http", Host: a})
	}
	proxy := httptest.NewServer(rr)
	defer proxy.Close()

	// Two clustered Alertmanagers with the shipped routing and inhibition; only the repeat
	// interval is shortened, so the group is re-delivered within the test.
	amCfg := filepath.Join(c.work, "alertmanager.yml")
	const repeat = 20 * time.Second
	renderConfig(t, c.root, stack.AlertmanagerConfig, amCfg,
		"http://bridge:9798/webhook", proxy.URL+"/webhook",
		"/etc/alertmanager/bridge-token", hookToken,
		"repeat_interval: 4h", "repeat_interval: "+repeat.String())
	amWeb := []string{freeAddr(t), freeAddr(t)}
	amCluster := []string{freeAddr(t), freeAddr(t)}
	for i := range 2 {
		c.start(t, ctx, fmt.Sprintf("alertmanager-%d", i), c.bins.Alertmanager, "http://"+amWeb[i]+"/-/ready", nil,
			"--config.file="+amCfg, "--storage.path="+filepath.Join(c.work, fmt.Sprintf("am-%d", i)),
			"--web.listen-address="+amWeb[i], "--cluster.listen-address="+amCluster[i],
			"--cluster.advertise-address="+amCluster[i], "--cluster.peer="+amCluster[1-i],
			"--cluster.peer-timeout=50ms", "--cluster.settle-timeout=2s")
	}

	// Prometheus with the generated rules, scraping both exporters and both bridges, sending to
	// both Alertmanagers.
	genDir := filepath.Join(c.work, "generated")
	gen := exec.CommandContext(ctx, "go", "-C", filepath.Join(c.root, "tools"), "run", "./cmd/generate",
		"-root", c.root, "-params", stack.DefaultParams, "-out", genDir)
	gen.Env = append(os.Environ(), "GOWORK=off")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generate: %v\n%s", err, out)
	}
	promCfg := filepath.Join(c.work, "prometheus.yml")
	renderConfig(t, c.root, stack.PrometheusConfig, promCfg,
		"'exporter:9797'", "'"+exporterAddrs[0]+"', '"+exporterAddrs[1]+"'",
		"'bridge:9798'", "'"+bridgeAddrs[0]+"', '"+bridgeAddrs[1]+"'",
		"'alertmanager:9093'", "'"+amWeb[0]+"', '"+amWeb[1]+"'",
		"/etc/prometheus/rules/*.yaml", filepath.Join(genDir, "alerts", "*.yaml"))
	promAddr := freeAddr(t)
	prom := &stack.Stack{PrometheusURL: "http://" + promAddr}
	c.start(t, ctx, "prometheus", c.bins.Prometheus, prom.PrometheusURL+"/-/ready", nil,
		"--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(c.work, "prometheus-data"),
		"--web.listen-address="+promAddr, "--rules.alert.resend-delay=1s")

	value := func(expr string) float64 {
		s, err := prom.Query(ctx, expr)
		if err != nil || len(s) == 0 {
			return -1
		}
		return s[0].Value
	}
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
	posts := func(ms []stack.SlackRequest) []stack.SlackRequest {
		var out []stack.SlackRequest
		for _, m := range ms {
			if m.Method == "chat.postMessage" && m.ThreadTS == "" {
				out = append(out, m)
			}
		}
		return out
	}
	latest := func(ms []stack.SlackRequest, ts string) stack.SlackRequest {
		var l stack.SlackRequest
		for _, m := range ms {
			if m.TS == ts && m.ThreadTS == "" {
				l = m
			}
		}
		return l
	}
	// noResolve fails on any message of the test that says Resolved: the cause holds throughout.
	noResolve := func(ms []stack.SlackRequest) {
		t.Helper()
		for _, m := range ms {
			if strings.Contains(m.Content(), "Resolved") {
				t.Fatalf("a %s (ts %s, thread %q) says resolved while prod-eu is still unreachable: %s", m.Method, m.TS, m.ThreadTS, firstLine(m.Content()))
			}
		}
	}

	appSeries := `count(max by (name) (argocd_monitor_app_info{dest_server="prod-eu"}))`
	// scrapedSince: Prometheus scraped the exporter at addr successfully after t0, and has its 500 apps.
	scrapedSince := func(what string, addr string, t0 time.Time) {
		t.Helper()
		eventually(t, what, 2*time.Minute, func() (bool, string) {
			at := value(fmt.Sprintf(`timestamp(up{instance=%q} == 1)`, addr))
			n := value(fmt.Sprintf(`count(argocd_monitor_app_info{dest_server="prod-eu", instance=%q})`, addr))
			return at > float64(t0.UnixMilli())/1000 && n == stormApps, fmt.Sprintf("last good scrape %v, apps %v", at, n)
		})
	}
	eventually(t, "both exporters scraped with 500 apps", 2*time.Minute, func() (bool, string) {
		up, n := value(`sum(up{job="argocd-monitor-exporter"})`), value(appSeries)
		return up == 2 && n == stormApps, fmt.Sprintf("up %v, apps %v", up, n)
	})

	if err := sim.SetSimDestination(ctx, "prod-eu", false); err != nil {
		t.Fatal(err)
	}
	broke := time.Now()
	header := fmt.Sprintf("cluster prod-eu unreachable: %d apps", stormApps)
	eventually(t, "one fleet message: "+header, 2*time.Minute, func() (bool, string) {
		ms := messages()
		p := posts(ms)
		if len(p) != 1 {
			return false, fmt.Sprintf("%d top-level posts", len(p))
		}
		l := latest(ms, p[0].TS)
		return strings.Contains(l.Content(), header), "latest: " + firstLine(l.Content())
	})
	// Settled: the request count stays the same for 3 s (group_interval is 2 s).
	settle := func(what string) []stack.SlackRequest {
		t.Helper()
		last, since := -1, time.Now()
		var ms []stack.SlackRequest
		eventually(t, what, 2*time.Minute, func() (bool, string) {
			ms = messages()
			if len(ms) != last {
				last, since = len(ms), time.Now()
			}
			return time.Since(since) >= 3*time.Second, fmt.Sprintf("%d requests", len(ms))
		})
		return ms
	}
	settled := settle("Slack settles")
	tookSettle := time.Since(broke)
	before := posts(settled)
	if len(before) != 1 {
		t.Fatalf("%d top-level messages after settling, want 1: %+v", len(before), before)
	}
	ts := before[0].TS
	noResolve(settled)
	t.Logf("settled %s after the destination broke: %d top-level message (ts %s), %d Slack requests", tookSettle.Round(100*time.Millisecond), len(before), ts, len(settled))

	// The storm. Exporters: both at once (one SIGKILLed, one SIGTERMed), down until Prometheus
	// has seen a failed scrape of each, so the app series go stale and the rules see nothing for
	// a while (a rolling restart would keep one replica's series; this is the harder case).
	restarted := time.Now()
	exporters[0].Kill()
	exporters[1].Stop(10 * time.Second)
	eventually(t, "both exporters down in Prometheus", time.Minute, func() (bool, string) {
		v := value(`sum(up{job="argocd-monitor-exporter"})`)
		return v == 0, fmt.Sprintf("up %v", v)
	})
	gap := time.Now()
	exporters[0], exporters[1] = startExporter(0, 1), startExporter(1, 1)
	// Bridges: all at once, one SIGKILLed, one SIGTERMed; both come back with empty memory.
	bridges[0].Kill()
	bridges[1].Stop(10 * time.Second)
	bridges[0], bridges[1] = startBridge(0, 1), startBridge(1, 1)
	back := time.Now()
	t.Logf("every replica restarted in %s", back.Sub(restarted).Round(100*time.Millisecond))
	scrapedSince("the first exporter scraped again with 500 apps", exporterAddrs[0], gap)
	scrapedSince("the second exporter scraped again with 500 apps", exporterAddrs[1], gap)
	t.Logf("the exporters' series were back %s after the storm began", time.Since(restarted).Round(100*time.Millisecond))

	// Alertmanager re-delivers the group (repeat_interval) to the new bridges: the same message is
	// updated, nothing new is posted.
	n0 := len(settled)
	eventually(t, "the fleet group re-delivered after the restart", 2*time.Minute, func() (bool, string) {
		ms := messages()
		for _, m := range ms[n0:] {
			if m.Method == "chat.update" && m.TS == ts {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d new requests", len(ms)-n0)
	})
	t.Logf("re-delivered %s after the bridges were back (%s after the storm began; repeat_interval %s)",
		time.Since(back).Round(100*time.Millisecond), time.Since(restarted).Round(100*time.Millisecond), repeat)
	after := settle("Slack settles after the restart")
	if p := posts(after); len(p) != 1 || p[0].TS != ts {
		for _, m := range p {
			t.Logf("top-level %s: %s", m.TS, firstLine(m.Content()))
		}
		t.Fatalf("%d top-level messages after the restart storm, want still the one (ts %s)", len(p), ts)
	}
	noResolve(after)
	if l := latest(after, ts); !strings.Contains(l.Content(), header) {
		t.Fatalf("the fleet message after the storm: %s, want %q", firstLine(l.Content()), header)
	}
	// Prometheus kept all 500 alerts firing through the storm (evaluated every second): no resolved
	// alert reached Alertmanager either.
	window := int(time.Since(restarted).Seconds()) + 1
	firing := `count(ALERTS{alertname="ArgoCDDestinationDown", alertstate="firing", dest_server="prod-eu"})`
	if v := value(fmt.Sprintf(`min_over_time((%s or vector(0))[%ds:1s])`, firing, window)); v != stormApps {
		t.Errorf("at least once during the storm %v ArgoCDDestinationDown alerts were firing, want %d throughout", v, stormApps)
	}
}

// firstLine is the first 200 characters of a message's content, for failure details.
func firstLine(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
