//go:build e2e_chaos

package ha

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/chaos"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// The soak's chain timings. Notify is for (10s, tools/testdata/e2e-params.yaml) + group_wait
// + scrape, evaluation and resend intervals, with room for a busy machine; an incident
// shorter than that may end untold. Incidents last at least minIncident.
const (
	chaosApps   = 1000
	maxAttempts = 3
	groupWait   = 2 * time.Second
	notify      = 45 * time.Second
	resolve     = 2 * time.Minute
	minIncident = time.Minute
	warmup      = 45 * time.Second
	// goroutineSlack is the growth tolerated between the start and the end of the soak
	// (reconnected clients, timers); a leak of one per notification or fault goes past it.
	goroutineSlack = 50
)

// procs are the chain's processes by name, replaced as faults restart them.
type procs struct {
	mu    sync.Mutex
	m     map[string]*proc.Proc
	ready map[string]string
	peak  map[string]int64 // VmHWM, bytes, the largest seen per name
	// faulting names the process a fault stops on purpose; any other that exits crashed:
	// it is restarted, as the kubelet would, and counted.
	faulting string
	crashes  map[string]int
}

func (ps *procs) fault(name string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.faulting = name
}

// supervise restarts the processes that exited on their own and counts them.
func (ps *procs) supervise(ctx context.Context) {
	ps.mu.Lock()
	var crashed []string
	for name, p := range ps.m {
		if name != ps.faulting && p.Exited() {
			crashed = append(crashed, name)
			ps.crashes[name]++
		}
	}
	ps.mu.Unlock()
	for _, name := range crashed {
		fmt.Printf("chaos: %s exited on its own, restarting it\n%s\n", name, ps.get(name).LogTail(20))
		if err := ps.restart(ctx, name); err != nil {
			fmt.Printf("chaos: restart %s: %v\n", name, err)
		}
	}
}

func (ps *procs) get(name string) *proc.Proc {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.m[name]
}

func (ps *procs) set(name string, p *proc.Proc) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.m[name] = p
}

// restart starts a stopped or killed process again and waits until it is ready.
func (ps *procs) restart(ctx context.Context, name string) error {
	p, err := ps.get(name).Restart()
	if err != nil {
		return err
	}
	ps.set(name, p)
	if u := ps.ready[name]; u != "" {
		return p.WaitReady(ctx, u, 2*time.Minute)
	}
	return nil
}

// sample reads every process's peak RSS (VmHWM, which a sample every few seconds cannot miss).
func (ps *procs) sample(extra []*proc.Proc) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	all := map[string]*proc.Proc{}
	for k, v := range ps.m {
		all[k] = v
	}
	for _, p := range extra {
		all[p.Name] = p
	}
	for name, p := range all {
		if p.Exited() {
			continue
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid())); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
					ps.peak[name] = max(ps.peak[name], kb<<10)
				}
			}
		}
	}
}

// trackingRR is the round robin in front of the bridges, counting each one's requests in
// flight (so a bridge can be killed mid-delivery).
type trackingRR struct {
	targets  []*url.URL
	n        atomic.Uint64
	inFlight []atomic.Int64
}

func (rr *trackingRR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := rr.n.Add(1) % uint64(len(rr.targets))
	rr.inFlight[i].Add(1)
	defer rr.inFlight[i].Add(-1)
	httputil.NewSingleHostReverseProxy(rr.targets[i]).ServeHTTP(w, r)
}

// deployLimits are the memory limits of deploy/base's containers, by binary.
func deployLimits(t *testing.T, root string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for file, bin := range map[string]string{"exporter-deployment.yaml": "exporter", "bridge-deployment.yaml": "bridge"} {
		data, err := os.ReadFile(filepath.Join(root, "deploy", "base", file))
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if err != nil {
				break
			}
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
			if err != nil {
				continue
			}
			if d, ok := obj.(*appsv1.Deployment); ok {
				for _, c := range d.Spec.Template.Spec.Containers {
					if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
						out[bin] = q.Value()
					}
				}
			}
		}
		if out[bin] == 0 {
			t.Fatalf("deploy/base/%s: no memory limit found", file)
		}
	}
	return out
}

// goroutines reads go_goroutines from a process's /metrics (0 when it cannot).
func goroutines(ctx context.Context, addr string) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f)
		}
	}
	return 0
}

func do(ctx context.Context, method, u string, body any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, msg)
	}
	return nil
}

// TestChaos is the chaos soak (make chaos; make chaos-smoke runs it for 2 minutes): the whole
// HA chain under a seeded fault schedule and app churn, then the invariants of
// tools/internal/chaos. SOAK= sets the soak's length (faults and churn; the check comes after
// the resolve window), SEED= replays a printed schedule.
func TestChaos(t *testing.T) {
	soak, err := chaos.SoakFromEnv(nil, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := chaos.SeedFromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	sched := chaos.NewSchedule(seed, soak)
	var eligible []int // filler apps (app-00001 on) that start Healthy and Synced (argocdsim's fixture order)
	for i := 4; i <= chaosApps; i += 4 {
		eligible = append(eligible, i)
	}
	churn := chaos.NewChurn(seed, soak, eligible, minIncident)
	fmt.Print(sched.String())
	fmt.Printf("chaos churn: %d incidents on %d apps\n", len(churn), chaosApps)
	t.Cleanup(func() {
		if t.Failed() {
			fmt.Printf("chaos soak FAILED: replay with SEED=%d SOAK=%s make chaos\n", seed, soak)
		}
	})

	// A cold kube-apiserver build (make chaos builds it first, in real-bins) fits in this too.
	ctx, cancel := context.WithTimeout(context.Background(), soak+time.Hour)
	defer cancel()
	c := startCluster(t, ctx)
	ps := &procs{m: map[string]*proc.Proc{}, ready: map[string]string{}, peak: map[string]int64{}, crashes: map[string]int{}}
	start := func(name, bin, readyURL string, env []string, args ...string) *proc.Proc {
		t.Helper()
		p := c.start(t, ctx, name, bin, readyURL, env, args...)
		ps.set(name, p)
		ps.ready[name] = readyURL
		return p
	}
	t.Cleanup(func() { // the restarted copies (c.start's cleanup stops the first ones)
		for _, p := range ps.m {
			p.Stop(10 * time.Second)
		}
	})

	// The simulator: 1,000 filler apps, no scenario apps.
	simAddr := freeAddr(t)
	simURL := "http://" + simAddr
	argoToken := filepath.Join(c.work, "argocd-token")
	start("argocd-sim", c.bins.Sim, simURL+"/api/version", nil,
		"--web.listen-address="+simAddr, "--auth.token-file="+argoToken, "--no-scenario", "--apps="+strconv.Itoa(chaosApps),
		"--scenario.sync-pickup=500ms", "--scenario.sync-duration=2s")
	st := &stack.Stack{SimURL: simURL}

	// Two exporters electing a leader on the real API server.
	exporterKube := c.kubeconfig(t, ctx, "argocd-exporter")
	exporterAddrs := map[string]string{}
	for _, id := range []string{"exporter-a", "exporter-b"} {
		addr := freeAddr(t)
		exporterAddrs[id] = addr
		start(id, c.bins.Exporter, "http://"+addr+"/-/ready", []string{"POD_NAME=" + id},
			"--argocd.api="+simURL, "--argocd.token-file="+argoToken, "--argocd.poll-interval=10s", "--argocd.timeout=5s",
			"--web.listen-address="+addr,
			"--remediation.grace=3s", "--remediation.backoff=4s", "--remediation.max-backoff=8s",
			"--remediation.max-attempts="+strconv.Itoa(maxAttempts), "--remediation.include-automated", // the churned apps auto-sync
			"--kubeconfig="+exporterKube, "--leader-elect", "--leader-elect-resource-namespace="+namespace,
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

	// The fake Slack, two bot-mode bridges sharing the group state, a round robin before them.
	botTokenFile, hookToken := filepath.Join(c.work, "bot-token"), filepath.Join(c.work, "webhook-token")
	for path, v := range map[string]string{botTokenFile: botToken, hookToken: "am-to-bridge-token"} {
		if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	slackAddr := freeAddr(t)
	slack := &stack.Stack{SlackURL: "http://" + slackAddr}
	start("slack-fake", c.bins.SlackFake, slack.SlackURL+"/-/ready", nil,
		"--web.listen-address="+slackAddr, "--auth.token-file="+botTokenFile)
	bridgeKube := c.kubeconfig(t, ctx, "slack-bridge")
	bridgeAddrs := []string{freeAddr(t), freeAddr(t)}
	rr := &trackingRR{inFlight: make([]atomic.Int64, 2)}
	for i, addr := range bridgeAddrs {
		id := fmt.Sprintf("bridge-%d", i)
		start(id, c.bins.Bridge, "http://"+addr+"/-/ready", []string{"POD_NAME=" + id},
			"--web.listen-address="+addr, "--webhook.token-file="+hookToken,
			"--slack.api-url="+slack.SlackURL+"/api/", "--slack.bot-token-file="+botTokenFile,
			"--slack.channel=C0ARGOCDAL", "--slack.per-channel-interval=0",
			"--state.kubernetes", "--state.namespace="+namespace, "--kubeconfig="+bridgeKube)
		rr.targets = append(rr.targets, &url.URL{Scheme: "http", Host: addr})
	}
	proxy := httptest.NewServer(rr)
	defer proxy.Close()

	// Two clustered Alertmanagers, grouping per app as deploy/local/alertmanager.yml does.
	amCfg := filepath.Join(c.work, "alertmanager.yml")
	if err := os.WriteFile(amCfg, []byte(fmt.Sprintf(`route:
  receiver: bridge
  group_by: [namespace, name]
  group_wait: %s
  group_interval: 5s
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
`, groupWait, proxy.URL, hookToken)), 0o600); err != nil {
		t.Fatal(err)
	}
	amWeb, amCluster := []string{freeAddr(t), freeAddr(t)}, []string{freeAddr(t), freeAddr(t)}
	for i := range 2 {
		start(fmt.Sprintf("alertmanager-%d", i), c.bins.Alertmanager, "http://"+amWeb[i]+"/-/ready", nil,
			"--config.file="+amCfg, "--storage.path="+filepath.Join(c.work, fmt.Sprintf("am-%d", i)),
			"--web.listen-address="+amWeb[i], "--cluster.listen-address="+amCluster[i],
			"--cluster.advertise-address="+amCluster[i], "--cluster.peer="+amCluster[1-i],
			"--cluster.settle-timeout=2s")
	}

	// Prometheus with the shipped rules (e2e params: short `for`), scraping both of each.
	genDir := filepath.Join(c.work, "generated")
	gen := exec.CommandContext(ctx, "go", "-C", filepath.Join(c.root, "tools"), "run", "./cmd/generate",
		"-root", c.root, "-params", stack.DefaultParams, "-out", genDir)
	gen.Env = append(os.Environ(), "GOWORK=off")
	if err := proc.Run(gen); err != nil {
		t.Fatal(err)
	}
	quote := func(addrs ...string) string { return "['" + strings.Join(addrs, "', '") + "']" }
	promCfg := filepath.Join(c.work, "prometheus.yml")
	if err := os.WriteFile(promCfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 2s
  evaluation_interval: 2s
rule_files:
  - %s
alerting:
  alertmanagers:
    - static_configs:
        - targets: %s
scrape_configs:
  - job_name: argocd-monitor-exporter
    honor_labels: true
    static_configs:
      - targets: %s
  - job_name: argocd-monitor-bridge
    honor_labels: true
    static_configs:
      - targets: %s
`, filepath.Join(genDir, "alerts", "*.yaml"), quote(amWeb...), quote(exporterAddrs["exporter-a"], exporterAddrs["exporter-b"]), quote(bridgeAddrs...))), 0o600); err != nil {
		t.Fatal(err)
	}
	promAddr := freeAddr(t)
	start("prometheus", c.bins.Prometheus, "http://"+promAddr+"/-/ready", nil,
		"--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(c.work, "prometheus-data"),
		"--web.listen-address="+promAddr, "--rules.alert.resend-delay=2s")

	eventually(t, "an exporter leads", 2*time.Minute, func() (bool, string) { return holder() != "", "no holder" })
	sampleStop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			ps.sample(c.srv.Processes())
			ps.supervise(ctx)
			select {
			case <-sampleStop:
				return
			case <-tick.C:
			}
		}
	}()
	// Warm up: the fixtures that start broken fire, are notified and remediated first.
	fmt.Printf("chaos: stack ready, warming up for %s\n", warmup)
	time.Sleep(warmup)
	ours := map[string]string{"exporter-a": exporterAddrs["exporter-a"], "exporter-b": exporterAddrs["exporter-b"], "bridge-0": bridgeAddrs[0], "bridge-1": bridgeAddrs[1]}
	gStart := map[string]int{}
	for name, addr := range ours {
		gStart[name] = goroutines(ctx, addr)
	}
	t0 := time.Now()
	since := func() time.Duration { return time.Since(t0).Round(time.Second) }
	fmt.Printf("chaos: soak begins (%s), goroutines %v\n", soak, gStart)

	// The churn, on its own goroutine.
	type step struct {
		at    time.Duration
		app   string
		state map[string]any
	}
	var steps []step
	for _, in := range churn {
		steps = append(steps, step{in.Start, in.App, map[string]any{"health": "Degraded", "onSync": "keep"}})
		if in.End > 0 {
			steps = append(steps, step{in.End, in.App, map[string]any{"health": "Healthy"}})
		}
	}
	slices.SortStableFunc(steps, func(a, b step) int { return int(a.at - b.at) })
	churnDone := make(chan struct{})
	go func() {
		defer close(churnDone)
		for _, s := range steps {
			time.Sleep(time.Until(t0.Add(s.at)))
			if err := st.SetSimState(ctx, s.app, s.state); err != nil {
				t.Errorf("churn %s %v: %v", s.app, s.state, err)
			}
		}
	}()

	// The faults, in order (they never overlap).
	simFaults := func(faults ...map[string]any) error {
		if faults == nil {
			faults = []map[string]any{}
		}
		return do(ctx, http.MethodPut, simURL+"/sim/faults", faults)
	}
	apiFaults := func(f map[string]any) []map[string]any {
		var out []map[string]any
		for _, ep := range []string{"list", "get", "watch"} {
			g := map[string]any{"endpoint": ep}
			for k, v := range f {
				g[k] = v
			}
			out = append(out, g)
		}
		return out
	}
	injected := map[chaos.Kind]int{}
	for _, f := range sched.Faults {
		time.Sleep(time.Until(t0.Add(f.At)))
		fmt.Printf("chaos: +%s %s\n", since(), f)
		var err error
		ps.fault("")
		switch f.Kind {
		case chaos.KillLeaderExporter:
			leader := holder()
			if leader == "" || ps.get(leader) == nil {
				err = fmt.Errorf("no leader to kill (%q)", leader)
				break
			}
			ps.fault(leader)
			ps.get(leader).Kill()
			time.Sleep(f.For)
			err = ps.restart(ctx, leader)
		case chaos.KillBridge:
			name := fmt.Sprintf("bridge-%d", f.Target)
			deadline := time.Now().Add(20 * time.Second)
			for rr.inFlight[f.Target].Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			fmt.Printf("chaos:   %s has %d notification(s) in flight\n", name, rr.inFlight[f.Target].Load())
			ps.fault(name)
			ps.get(name).Kill()
			time.Sleep(f.For)
			err = ps.restart(ctx, name)
		case chaos.RestartAlertmanager:
			name := fmt.Sprintf("alertmanager-%d", f.Target)
			ps.fault(name)
			ps.get(name).Stop(10 * time.Second)
			time.Sleep(f.For)
			err = ps.restart(ctx, name)
		case chaos.CutArgoStream:
			if err = simFaults(map[string]any{"endpoint": "watch", "cutAfter": 3}); err == nil {
				time.Sleep(f.For)
				err = simFaults()
			}
		case chaos.ArgoCD5xx:
			if err = simFaults(apiFaults(map[string]any{"status": 503, "message": "chaos: unavailable"})...); err == nil {
				time.Sleep(f.For)
				err = simFaults()
			}
		case chaos.ArgoCDTimeouts:
			if err = simFaults(apiFaults(map[string]any{"delay": "30s"})...); err == nil {
				time.Sleep(f.For)
				err = simFaults()
			}
		case chaos.Slack429:
			err = slack.FailSlack(ctx, stack.SlackPlan{RateLimited: 10, RetryAfter: max(1, int(f.For.Seconds()))})
		case chaos.Slack500:
			err = slack.FailSlack(ctx, stack.SlackPlan{ServerErrorsFor: f.For})
		case chaos.RestartKubeAPI:
			err = c.srv.RestartAPIServer(ctx, f.For)
		}
		ps.fault("")
		if err != nil {
			t.Errorf("fault %s: %v", f, err)
			continue
		}
		injected[f.Kind]++
	}
	<-churnDone

	// The check comes once every ended incident's resolve window is over.
	checkAt := soak
	for _, in := range churn {
		if in.End > 0 {
			checkAt = max(checkAt, in.End+resolve+5*time.Second)
		}
	}
	fmt.Printf("chaos: +%s faults and churn done; checking at +%s\n", since(), checkAt)
	time.Sleep(time.Until(t0.Add(checkAt)))
	close(sampleStop)
	<-sampled
	now := time.Since(t0)

	reqs, err := slack.SlackRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []chaos.Message
	for _, r := range reqs {
		if r.Result == "ok" {
			msgs = append(msgs, chaos.Message{At: r.At.Sub(t0), Method: r.Method, TS: r.TS, ThreadTS: r.ThreadTS, Content: r.Content()})
		}
	}
	syncs, err := st.SimSyncs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	accepted, standing := map[string]int{}, map[string]int{}
	churned := map[string]bool{}
	for _, in := range churn {
		churned[in.App] = true
	}
	for app, s := range syncs {
		accepted[app] = s.Accepted
		if !churned[app] {
			standing[app] = 1 // a fixture broken from the start: one streak
		}
	}
	limits := deployLimits(t, c.root)
	var processes []chaos.Process
	ps.mu.Lock()
	names := make([]string, 0, len(ps.peak))
	for n := range ps.peak {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := chaos.Process{Name: n, MaxRSS: ps.peak[n]}
		switch {
		case strings.HasPrefix(n, "exporter-"):
			p.Limit = limits["exporter"]
		case strings.HasPrefix(n, "bridge-"):
			p.Limit = limits["bridge"]
		}
		if addr, ok := ours[n]; ok {
			p.GoroutinesStart, p.GoroutinesEnd = gStart[n], goroutines(ctx, addr)
		}
		processes = append(processes, p)
	}
	ps.mu.Unlock()
	res := chaos.Verify(chaos.Check{
		Seed: seed, Now: now, Incidents: churn, Notify: notify, Resolve: resolve,
		Syncs: accepted, Standing: standing, MaxAttempts: maxAttempts, Messages: msgs,
		Processes: processes, GoroutineSlack: goroutineSlack, Faults: sched.Faults,
	})

	// The figures docs/reliability.md reports.
	fmt.Printf("chaos figures: seed %d, soak %s, checked at +%s\n", seed, soak, now.Round(time.Second))
	fmt.Printf("  faults injected: %d %v\n", len(sched.Faults), injected)
	fmt.Printf("  incidents: %d (%d long enough to be told), top-level messages: %d (all groups), Slack requests: %d\n", res.Incidents, res.Notified, res.Messages, len(reqs))
	history := 0 // a bridge taking over a dead one's claim looked for its post
	for _, r := range reqs {
		if r.Method == "conversations.history" {
			history++
		}
	}
	fmt.Printf("  channel history reads (takeovers of a claim with no message recorded): %d\n", history)
	total := 0
	for _, n := range accepted {
		total += n
	}
	fmt.Printf("  accepted syncs: %d\n", total)
	for _, p := range processes {
		limit := ""
		if p.Limit > 0 {
			limit = fmt.Sprintf(" (limit %d MiB)", p.Limit>>20)
		}
		g := ""
		if p.GoroutinesStart > 0 {
			g = fmt.Sprintf(", goroutines %d -> %d", p.GoroutinesStart, p.GoroutinesEnd)
		}
		fmt.Printf("  %-16s max RSS %4d MiB%s%s\n", p.Name, p.MaxRSS>>20, limit, g)
	}
	ps.mu.Lock()
	crashes := maps.Clone(ps.crashes)
	ps.mu.Unlock()
	fmt.Printf("  processes that exited on their own: %v\n", crashes)
	if len(crashes) > 0 {
		t.Errorf("processes exited on their own (a crash under chaos; logs in %s): %v", c.work, crashes)
	}
	if r := res.Report(seed); r != "" {
		fmt.Print(r)
		t.Fatalf("chaos invariants failed (SEED=%d SOAK=%s make chaos replays the schedule):\n%s", seed, soak, r)
	}
	fmt.Println("chaos: every invariant holds")
}
