//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/params"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// BenchmarkFleetLatency (issue 22) measures the alert chain's latency at fleet scale: the
// simulator serves 1,000 apps, and 10% of them change state per minute (seeded: a healthy app
// breaks, health Degraded; a broken one heals), through the pinned Prometheus and Alertmanager
// with the shipped rules (generated from the e2e params, which shorten `for`), the exporter, the
// bridge and the fake Slack. Per change, the latency is the time from the simulator's change to
// the fake Slack's answer to the bridge's message (a break: the app's message posted or updated
// to firing; a heal: updated to Resolved), minus, for a break, the rule's `for` and
// Alertmanager's `group_wait` (read from the params and deploy/local/alertmanager.yml). What is
// left is the chain's own delay: the exporter's watch, Prometheus's scrape and evaluation
// intervals (1s each in deploy/local/prometheus.yml), Alertmanager's group_interval for a
// resolve, the bridge's enrichment and Slack. It runs once whatever b.N is:
//
//	make bench-fleet            # FLEET_BENCH_DURATION=5m FLEET_BENCH_SEED=1 by default
//
// and reports p50, p95 and max (seconds) of breaks, heals and both, and the number of changes.
// docs/bridge.md#fleet-latency holds the figures.
func BenchmarkFleetLatency(b *testing.B) {
	const apps = 1000
	duration := envDuration(b, "FLEET_BENCH_DURATION", 5*time.Minute)
	seed := uint64(1)
	if s := os.Getenv("FLEET_BENCH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			b.Fatalf("FLEET_BENCH_SEED: %v", err)
		}
		seed = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration+10*time.Minute)
	defer cancel()
	root, err := repofile.FindRootFromWD()
	if err != nil {
		b.Fatal(err)
	}
	forBreak, groupWait := latencyAllowances(b, root)
	bins, err := stack.Build(ctx, root, benchWriter{b})
	if err != nil {
		b.Fatal(err)
	}
	work := os.Getenv("FLEET_BENCH_WORK") // logs and data kept there; default a temporary directory
	if work == "" {
		work = b.TempDir()
	}
	sim := stack.DefaultSim
	sim.Apps, sim.NoScenario = apps, true
	// The exporter's remediation would sync a Degraded app back to Healthy within seconds, before
	// its alert fires: the benchmark measures the alert chain, so remediation is off.
	rem := stack.DefaultRemediation
	rem.Mode = "off"
	st, err := stack.Start(ctx, stack.Config{
		Root: root, Work: work, Bin: bins, Sim: sim, Remediation: rem,
		Slack: stack.Slack{BotToken: botToken, Channel: channel},
		Log:   benchWriter{b},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Stop()
	if err := waitValue(ctx, st, `count(argocd_monitor_app_info)`, apps, time.Minute); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()

	// 10% of the apps per minute: one change every 600ms. An app changes again only after
	// its last change has had time to reach Slack, so every change has its own message.
	rng := rand.New(rand.NewPCG(seed, seed))
	every := time.Minute / (apps / 10)
	quiet := forBreak + groupWait + 30*time.Second
	broken := map[string]bool{}
	last := map[string]time.Time{}
	var changes []change
	tick := time.NewTicker(every)
	defer tick.Stop()
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			b.Fatal(ctx.Err())
		case <-tick.C:
		}
		if name := st.Exited(); name != "" {
			b.Fatalf("%s exited", name)
		}
		// Half the changes heal a broken app (when one has been broken long enough), half
		// break a healthy one.
		var healable []string
		for name := range broken {
			if time.Since(last[name]) > quiet {
				healable = append(healable, name)
			}
		}
		slices.Sort(healable) // map order is random; the seed decides
		app := ""
		if len(healable) > 0 && rng.IntN(2) == 0 {
			app = healable[rng.IntN(len(healable))]
		} else {
			for range 100 {
				cand := fmt.Sprintf("app-%05d", 1+rng.IntN(apps))
				if t, ok := last[cand]; !broken[cand] && (!ok || time.Since(t) > quiet) {
					app = cand
					break
				}
			}
		}
		if app == "" {
			continue
		}
		health := "Degraded"
		if broken[app] {
			health = "Healthy"
		}
		at := time.Now()
		if err := st.SetSimState(ctx, app, map[string]any{"health": health}); err != nil {
			b.Fatal(err)
		}
		breaks := !broken[app]
		if breaks {
			broken[app] = true
		} else {
			delete(broken, app)
		}
		last[app] = at
		changes = append(changes, change{app: app, breaks: breaks, at: at})
	}
	// Let the last changes arrive.
	drain := time.Now().Add(quiet)
	for time.Now().Before(drain) {
		if _, _, pending := measure(ctx, st, changes, forBreak+groupWait); pending == 0 {
			break
		}
		time.Sleep(2 * time.Second)
	}
	b.StopTimer()
	lat, seen, pending := measure(ctx, st, changes, forBreak+groupWait)
	if pending > 0 {
		b.Errorf("%d of %d changes never reached Slack", pending, len(changes))
		shown := 0
		for i, c := range changes {
			if seen[i] || shown == 5 {
				continue
			}
			shown++
			alerts, _ := st.Query(ctx, fmt.Sprintf(`ALERTS{name=%q}`, c.app))
			b.Logf("unseen: %s breaks=%v at %s; alerts now %v", c.app, c.breaks, c.at.Format(time.StampMilli), alerts)
			reqs, _ := st.SlackRequests(ctx)
			for _, r := range reqs {
				if strings.Contains(r.Text, "argocd/"+c.app) {
					b.Logf("  slack %s %s ts=%s thread=%s %q", r.At.Format(time.StampMilli), r.Method, r.TS, r.ThreadTS, firstLine(r.Text))
				}
			}
		}
	}
	var all, breaks, heals []time.Duration
	for i, d := range lat {
		if !seen[i] {
			continue
		}
		all = append(all, d)
		if changes[i].breaks {
			breaks = append(breaks, d)
		} else {
			heals = append(heals, d)
		}
	}
	b.ReportMetric(float64(len(changes)), "changes")
	for _, s := range []struct {
		name string
		d    []time.Duration
	}{{"all-", all}, {"break-", breaks}, {"heal-", heals}} {
		if len(s.d) == 0 {
			continue
		}
		p50, p95, maxd := percentiles(s.d)
		b.Logf("%-6s n=%d min=%.3fs p50=%.3fs p95=%.3fs max=%.3fs", strings.TrimSuffix(s.name, "-")+":", len(s.d), slices.Min(s.d).Seconds(), p50.Seconds(), p95.Seconds(), maxd.Seconds())
		b.ReportMetric(p50.Seconds(), s.name+"p50-s")
		b.ReportMetric(p95.Seconds(), s.name+"p95-s")
		b.ReportMetric(maxd.Seconds(), s.name+"max-s")
	}
	b.Logf("%d changes (%d breaks, %d heals) on %d apps in %s; subtracted from each break: for %s + group_wait %s",
		len(changes), len(breaks), len(heals), apps, duration, forBreak, groupWait)
}

// change is one state change the benchmark made in the simulator.
type change struct {
	app    string
	breaks bool // health Degraded; false: Healthy again
	at     time.Time
}

// measure matches each change with the first Slack message after it that tells it: for a break
// the app's message posted or updated while firing, for a heal its update to Resolved. It returns
// each change's latency (a break's minus allowance), whether it was seen, and how many are unseen.
// A break's figure can be slightly negative: when the app's previous incident's group is still
// in Alertmanager, the new alert goes out at that group's next group_interval tick, which may come
// sooner than group_wait.
func measure(ctx context.Context, st *stack.Stack, changes []change, allowance time.Duration) ([]time.Duration, []bool, int) {
	seen := make([]bool, len(changes))
	reqs, err := st.SlackRequests(ctx)
	if err != nil {
		return nil, seen, len(changes)
	}
	// Top-level messages (posts and their updates) per app, in order.
	byApp := map[string][]stack.SlackRequest{}
	for _, r := range reqs {
		if r.Result != "ok" || r.ThreadTS != "" || (r.Method != "chat.postMessage" && r.Method != "chat.update") {
			continue
		}
		i := strings.Index(r.Text, "argocd/app-")
		if i < 0 || len(r.Text) < i+len("argocd/app-00000") {
			continue
		}
		app := r.Text[i+len("argocd/") : i+len("argocd/app-00000")]
		byApp[app] = append(byApp[app], r)
	}
	out := make([]time.Duration, len(changes))
	pending := 0
	for i, c := range changes {
		for _, r := range byApp[c.app] {
			if !r.At.After(c.at) || strings.Contains(r.Text, "Resolved:") == c.breaks {
				continue
			}
			d := r.At.Sub(c.at)
			if c.breaks {
				d -= allowance
			}
			out[i], seen[i] = d, true
			break
		}
		if !seen[i] {
			pending++
		}
	}
	return out, seen, pending
}

// latencyAllowances reads what a break's latency is allowed beyond the chain's own delay: the
// `for` of ArgoCDAppDegraded in the stack's params and group_wait of the app route in the local
// Alertmanager config.
func latencyAllowances(b *testing.B, root string) (forBreak, groupWait time.Duration) {
	p, err := params.Load(filepath.Join(root, stack.DefaultParams))
	if err != nil {
		b.Fatal(err)
	}
	forBreak = time.Duration(p.Alerts[params.AppDegraded].For)
	raw, err := os.ReadFile(filepath.Join(root, stack.AlertmanagerConfig))
	if err != nil {
		b.Fatal(err)
	}
	var am struct {
		Route struct {
			GroupWait string `yaml:"group_wait"`
		} `yaml:"route"`
	}
	if err := yaml.Unmarshal(raw, &am); err != nil {
		b.Fatal(err)
	}
	if groupWait, err = time.ParseDuration(am.Route.GroupWait); err != nil {
		b.Fatalf("%s: group_wait: %v", stack.AlertmanagerConfig, err)
	}
	return forBreak, groupWait
}

func percentiles(d []time.Duration) (p50, p95, maxd time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[int(q*float64(len(s)-1)+0.5)] }
	return at(0.5), at(0.95), s[len(s)-1]
}

func waitValue(ctx context.Context, st *stack.Stack, expr string, want float64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		s, err := st.Query(ctx, expr)
		if err == nil && len(s) == 1 && s[0].Value == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not %v within %s (%v, %v)", expr, want, timeout, s, err)
		}
		time.Sleep(time.Second)
	}
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return d
}

type benchWriter struct{ b *testing.B }

func (w benchWriter) Write(p []byte) (int, error) {
	w.b.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
