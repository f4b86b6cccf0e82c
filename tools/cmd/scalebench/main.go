// Command scalebench runs the pinned Prometheus against an exporter watching a simulated Argo CD
// of many apps, once per --metrics.state-sets mode, and reports what Prometheus saw: scrapes,
// failed scrapes, scrape_duration_seconds p99, samples per scrape, head series and its own RSS.
// It is not part of make test (minutes of two busy cores); docs/scale.md holds its figures.
//
//	GOWORK=off go -C tools run ./cmd/scalebench [-apps 100000] [-duration 10m] [-interval 30s] [-modes full,current]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

// result is one mode's run as Prometheus saw it.
type result struct {
	mode                                  string
	scrapes, failed                       float64
	p99, maxDuration, samples, headSeries float64
	promRSS, exporterRSS, exporterMaxRSS  float64
	loadMean, loadMax                     float64 // 1-minute load average over the window, sampled every 15 s
}

func run(args []string) error {
	fs := flag.NewFlagSet("scalebench", flag.ContinueOnError)
	root := fs.String("root", "..", "repository root (the default suits go -C tools run)")
	apps := fs.Int("apps", 100000, "filler apps the simulator serves")
	duration := fs.Duration("duration", 10*time.Minute, "how long Prometheus scrapes in each mode")
	interval := fs.Duration("interval", 30*time.Second, "scrape interval")
	modes := fs.String("modes", "full,current", "the --metrics.state-sets modes to run, one after the other")
	protocols := fs.String("scrape-protocols", "", "Prometheus' scrape_protocols for the exporter's job, comma-separated (empty: Prometheus' default, OpenMetrics first)")
	memLimit := fs.String("exporter.gomemlimit", "", "GOMEMLIMIT for the exporter alone, as a Deployment sets it (empty: unset)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	abs, err := filepath.Abs(*root)
	if err != nil {
		return err
	}
	bins, err := stack.Build(ctx, abs, os.Stderr)
	if err != nil {
		return err
	}
	var results []result
	for mode := range strings.SplitSeq(*modes, ",") {
		r, err := runMode(ctx, bins, mode, *apps, *duration, *interval, *memLimit, *protocols)
		if err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
		results = append(results, r)
	}
	limit := *memLimit
	if limit == "" {
		limit = "unset"
	}
	fmt.Printf("\n%d apps, scraped every %s for %s (Prometheus %s; exporter GOMEMLIMIT %s)\n\n", *apps, *interval, *duration, bins.Prometheus, limit)
	fmt.Println("| --metrics.state-sets | scrapes | failed | scrape_duration p99 | max | samples/scrape | head series | Prometheus RSS | exporter RSS (max) | load average (mean, max) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %.0f | %.0f | %.2f s | %.2f s | %.0f | %.0f | %.0f MiB | %.0f MiB (%.0f) | %.1f, %.1f |\n", r.mode, r.scrapes, r.failed, r.p99, r.maxDuration,
			r.samples, r.headSeries, r.promRSS/(1<<20), r.exporterRSS/(1<<20), r.exporterMaxRSS/(1<<20), r.loadMean, r.loadMax)
	}
	return nil
}

func runMode(ctx context.Context, bins stack.Binaries, mode string, apps int, duration, interval time.Duration, memLimit, protocols string) (result, error) {
	work, err := os.MkdirTemp("", "scalebench-"+mode+"-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(work)
	ports, err := proc.FreePorts(3)
	if err != nil {
		return result{}, err
	}
	simAddr, expAddr, promAddr := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2])
	tokenFile := filepath.Join(work, "token")
	var procs []*proc.Proc
	defer func() {
		for i := len(procs) - 1; i >= 0; i-- {
			procs[i].Stop(10 * time.Second)
		}
	}()
	start := func(name, bin string, env []string, args ...string) (*proc.Proc, error) {
		p, err := proc.Start(proc.Config{Name: name, Bin: bin, Args: args, Env: env, LogPath: filepath.Join(work, name+".log")})
		if err == nil {
			procs = append(procs, p)
		}
		return p, err
	}
	fmt.Fprintf(os.Stderr, "%s: simulator with %d apps\n", mode, apps)
	sim, err := start("argocd-sim", bins.Sim, nil, "--web.listen-address="+simAddr, "--auth.token-file="+tokenFile, "--apps="+strconv.Itoa(apps), "--no-scenario", "--log.level=warn")
	if err != nil {
		return result{}, err
	}
	if err := sim.WaitFor(ctx, "token file", 5*time.Minute, func(context.Context) error { _, err := os.Stat(tokenFile); return err }); err != nil {
		return result{}, err
	}
	var expEnv []string
	if memLimit != "" {
		expEnv = []string{"GOMEMLIMIT=" + memLimit}
	}
	exp, err := start("argocd-exporter", bins.Exporter, expEnv, "--argocd.api=http://"+simAddr, "--argocd.token-file="+tokenFile,
		"--web.listen-address="+expAddr, "--metrics.state-sets="+mode, "--remediation.mode=dry-run", "--log.level=warn")
	if err != nil {
		return result{}, err
	}
	if err := exp.WaitReady(ctx, "http://"+expAddr+"/-/ready", 10*time.Minute); err != nil {
		return result{}, err
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[2]s
scrape_configs:
  - job_name: argocd-monitor-exporter
    honor_labels: true%[5]s
    static_configs: [{targets: ["%[3]s"]}]
  - job_name: prometheus
    static_configs: [{targets: ["%[4]s"]}]
`, interval, interval*5/6, expAddr, promAddr, scrapeProtocols(protocols))
	cfgFile := filepath.Join(work, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		return result{}, err
	}
	prom, err := start("prometheus", bins.Prometheus, nil, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(work, "data"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	if err != nil {
		return result{}, err
	}
	if err := prom.WaitReady(ctx, "http://"+promAddr+"/-/ready", 2*time.Minute); err != nil {
		return result{}, err
	}
	fmt.Fprintf(os.Stderr, "%s: Prometheus scrapes for %s\n", mode, duration)
	var loads []float64
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	end := time.After(duration)
wait:
	for {
		select {
		case <-ctx.Done():
			return result{}, ctx.Err()
		case <-end:
			break wait
		case <-tick.C:
			if l, err := loadAverage(); err == nil {
				loads = append(loads, l)
			}
		}
	}
	s := &stack.Stack{PrometheusURL: "http://" + promAddr}
	window := fmt.Sprintf("%ds", int(duration.Seconds()))
	one := func(expr string) (float64, error) {
		v, err := s.Query(ctx, expr)
		if err != nil {
			return 0, err
		}
		if len(v) == 0 {
			return 0, nil
		}
		return v[0].Value, nil
	}
	job := `{job="argocd-monitor-exporter"}`
	r := result{mode: mode}
	for _, q := range []struct {
		dst  *float64
		expr string
	}{
		{&r.scrapes, "count_over_time(up" + job + "[" + window + "])"},
		{&r.failed, "count_over_time((up" + job + " == 0)[" + window + ":])"},
		{&r.p99, "quantile_over_time(0.99, scrape_duration_seconds" + job + "[" + window + "])"},
		{&r.maxDuration, "max_over_time(scrape_duration_seconds" + job + "[" + window + "])"},
		{&r.samples, "max_over_time(scrape_samples_scraped" + job + "[" + window + "])"},
		{&r.headSeries, "prometheus_tsdb_head_series"},
		{&r.promRSS, `max_over_time(process_resident_memory_bytes{job="prometheus"}[` + window + "])"},
		{&r.exporterRSS, "process_resident_memory_bytes" + job},
		{&r.exporterMaxRSS, "max_over_time(process_resident_memory_bytes" + job + "[" + window + "])"},
	} {
		if *q.dst, err = one(q.expr); err != nil {
			return result{}, err
		}
	}
	for _, l := range loads {
		r.loadMean += l / float64(len(loads))
		r.loadMax = max(r.loadMax, l)
	}
	return r, nil
}

// loadAverage is the machine's 1-minute load average (/proc/loadavg).
func loadAverage() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("/proc/loadavg: %q", b)
	}
	return strconv.ParseFloat(f[0], 64)
}

// scrapeProtocols is the scrape_protocols line of the exporter's job ("" for Prometheus' default).
func scrapeProtocols(list string) string {
	if list == "" {
		return ""
	}
	return "\n    scrape_protocols: [" + list + "]"
}
