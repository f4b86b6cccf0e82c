package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/exposition"
	"github.com/argocd-monitor/argocd-monitor/exporter/metricstest"
)

var update = flag.Bool("update", false, "rewrite golden files")

const token = "eyJhbGciOi.eyJzdWIiOiJtb25pdG9yIn0.c2lnbmF0dXJl"

// clearEnv unsets every variable the CLI reads, so the machine's environment
// cannot leak into a test; t.Setenv restores them afterwards.
func clearEnv(t *testing.T) {
	for _, k := range []string{"ARGOCD_API", "ARGOCD_TOKEN", "ARGOCD_TOKEN_FILE", "ARGOCD_CA_FILE", "ARGOCD_INSECURE_SKIP_VERIFY",
		"ARGOCD_TIMEOUT", "ARGOCD_POLL_INTERVAL", "ARGOCD_SELECTOR", "ARGOCD_PROJECT", "ARGOCD_STALE_AFTER", "ARGOCD_LIST_MODE",
		"ARGOCD_DETAIL_CONCURRENCY", "ARGOCD_MAX_DETAIL_GETS", "WEB_LISTEN_ADDRESS", "WEB_CONFIG_FILE", "WEB_SYSTEMD_SOCKET", "WEB_TELEMETRY_PATH",
		"LOG_LEVEL", "LOG_FORMAT", "REMEDIATION_MODE", "REMEDIATION_GRACE", "REMEDIATION_BACKOFF", "REMEDIATION_MAX_BACKOFF",
		"REMEDIATION_MAX_ATTEMPTS", "REMEDIATION_PRUNE", "REMEDIATION_INCLUDE_AUTOMATED", "REMEDIATION_SELECTOR", "REMEDIATION_PROJECT",
		"REMEDIATION_RESET_ON_NEW_REVISION", "REMEDIATION_MAX_CONCURRENT", "REMEDIATION_RATE_LIMIT", "REMEDIATION_RATE_BURST",
		"REMEDIATION_STATE_FILE", "KUBECONFIG", "LEADER_ELECT", "LEADER_ELECT_LEASE_DURATION", "LEADER_ELECT_RENEW_DEADLINE",
		"LEADER_ELECT_RETRY_PERIOD", "LEADER_ELECT_RESOURCE_NAMESPACE", "LEADER_ELECT_RESOURCE_NAME", "REMEDIATION_STATE_CONFIGMAP", "POD_NAME"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func parse(args []string) (*CLI, error) {
	var cli CLI
	p, err := kong.New(&cli, append(kongOptions(), kong.Exit(func(int) {}), kong.Writers(io.Discard, io.Discard))...)
	if err != nil {
		return nil, err
	}
	_, err = p.Parse(args)
	return &cli, err
}

func tokenFile(t *testing.T, tok string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCLI(t *testing.T) {
	tf := tokenFile(t, token)
	unreadable := filepath.Join(t.TempDir(), "missing-token")
	badCA := tokenFile(t, "not a certificate")
	kubeconfig := tokenFile(t, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`)
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		err   string // substring of the parse or build error; names the flag
		check func(t *testing.T, c *CLI)
	}{
		{name: "env only", env: map[string]string{"ARGOCD_API": "https://argocd.example.com", "ARGOCD_TOKEN_FILE": tf,
			"ARGOCD_PROJECT": "a,b", "ARGOCD_POLL_INTERVAL": "10s", "LOG_FORMAT": "json"},
			check: func(t *testing.T, c *CLI) {
				if c.ArgoCD.TokenFile != tf || c.ArgoCD.PollInterval != 10*time.Second || !slices.Equal(c.ArgoCD.Project, []string{"a", "b"}) || c.Log.Format != "json" {
					t.Errorf("%+v", c)
				}
				if c.ArgoCD.Timeout != 30*time.Second || c.ArgoCD.StaleAfter != 5*time.Minute || c.ArgoCD.ListMode != "projected" ||
					!slices.Equal(c.Web.ListenAddress, []string{":9797"}) || c.Web.TelemetryPath != "/metrics" || c.Log.Level != "info" {
					t.Errorf("defaults: %+v", c)
				}
			}},
		{name: "flags beat env", args: []string{"--argocd.api=http://127.0.0.1:8080/api/v1", "--argocd.project=x", "--argocd.project=y",
			"--argocd.selector=team=a", "--web.listen-address=127.0.0.1:1", "--web.listen-address=127.0.0.1:2", "--web.telemetry-path=/m",
			"--argocd.list-mode=full", "--log.level=debug"},
			env: map[string]string{"ARGOCD_TOKEN": token, "ARGOCD_PROJECT": "ignored"},
			check: func(t *testing.T, c *CLI) {
				if !slices.Equal(c.ArgoCD.Project, []string{"x", "y"}) || c.ArgoCD.Selector != "team=a" || len(c.Web.ListenAddress) != 2 ||
					c.Web.TelemetryPath != "/m" || c.ArgoCD.ListMode != "full" || c.ArgoCD.Token != token {
					t.Errorf("%+v", c)
				}
			}},
		{name: "api required", env: map[string]string{"ARGOCD_TOKEN": token}, err: "--argocd.api"},
		{name: "bad api url", args: []string{"--argocd.api=argocd:8080"}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--argocd.api"},
		{name: "credentials in the api url", args: []string{"--argocd.api=https://admin:" + token + "@argocd"}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--argocd.api"},
		{name: "no token", args: []string{"--argocd.api=http://a"}, err: "--argocd.token-file or --argocd.token"},
		{name: "both tokens", args: []string{"--argocd.api=http://a", "--argocd.token-file=" + tf}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "give one, not both"},
		{name: "unreadable token file", args: []string{"--argocd.api=http://a", "--argocd.token-file=" + unreadable}, err: "--argocd.token-file: stat"},
		{name: "bad duration", args: []string{"--argocd.api=http://a", "--argocd.poll-interval=soon"}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--argocd.poll-interval"},
		{name: "bad duration in env", args: []string{"--argocd.api=http://a"}, env: map[string]string{"ARGOCD_TOKEN": token, "ARGOCD_TIMEOUT": "5 minutes"}, err: "--argocd.timeout"},
		{name: "zero interval", args: []string{"--argocd.api=http://a", "--argocd.poll-interval=0s"}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--argocd.poll-interval: must be positive"},
		{name: "stale before poll", args: []string{"--argocd.api=http://a", "--argocd.stale-after=10s"}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--argocd.stale-after"},
		{name: "zero max detail gets", args: []string{"--argocd.api=http://a", "--argocd.max-detail-gets=0"}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--argocd.max-detail-gets"},
		{name: "bad list mode", args: []string{"--argocd.api=http://a", "--argocd.list-mode=watch"}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--argocd.list-mode"},
		{name: "bad log level", args: []string{"--argocd.api=http://a", "--log.level=loud"}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--log.level"},
		{name: "remediation from env", args: []string{"--argocd.api=http://a"},
			env: map[string]string{"ARGOCD_TOKEN": token, "REMEDIATION_MODE": "dry-run", "REMEDIATION_PROJECT": "a,b", "REMEDIATION_STATE_FILE": "/var/lib/m/state.json"},
			check: func(t *testing.T, c *CLI) {
				r := c.Remediation
				if r.Mode != "dry-run" || !slices.Equal(r.Project, []string{"a", "b"}) || r.StateFile != "/var/lib/m/state.json" ||
					r.MaxAttempts != 3 || r.Grace != 2*time.Minute || !r.ResetOnNewRevision {
					t.Errorf("%+v", r)
				}
			}},
		{name: "bad remediation flags", args: []string{"--argocd.api=http://a", "--remediation.max-attempts=0", "--remediation.backoff=1h"},
			env: map[string]string{"ARGOCD_TOKEN": token}, err: "--remediation.max-attempts"},
		{name: "bad remediation mode", args: []string{"--argocd.api=http://a"}, env: map[string]string{"ARGOCD_TOKEN": token, "REMEDIATION_MODE": "yes"},
			err: "--remediation.mode"},
		{name: "leader election", args: []string{"--argocd.api=http://a", "--kubeconfig=" + kubeconfig, "--leader-elect",
			"--leader-elect-resource-namespace=mon", "--remediation.state-configmap=argocd-exporter-remediation"},
			env: map[string]string{"ARGOCD_TOKEN": token, "POD_NAME": "exporter-0", "LEADER_ELECT_LEASE_DURATION": "20s"},
			check: func(t *testing.T, c *CLI) {
				k := c.Kube
				if !k.LeaderElect || k.LeaseDuration != 20*time.Second || k.RenewDeadline != 10*time.Second || k.RetryPeriod != 2*time.Second ||
					k.ResourceName != "argocd-exporter" || k.ResourceNamespace != "mon" {
					t.Errorf("%+v", k)
				}
			}},
		{name: "leader election needs shared state", args: []string{"--argocd.api=http://a", "--kubeconfig=" + kubeconfig, "--leader-elect",
			"--leader-elect-resource-namespace=mon"}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--leader-elect: needs --remediation.state-configmap"},
		{name: "two state stores", args: []string{"--argocd.api=http://a", "--remediation.state-configmap=s", "--remediation.state-file=/tmp/s"},
			env: map[string]string{"ARGOCD_TOKEN": token}, err: "give one, not both"},
		{name: "renew deadline not under lease", args: []string{"--argocd.api=http://a", "--kubeconfig=" + kubeconfig, "--leader-elect",
			"--leader-elect-resource-namespace=mon", "--remediation.state-configmap=s", "--leader-elect-renew-deadline=15s"},
			env: map[string]string{"ARGOCD_TOKEN": token}, err: "--leader-elect-renew-deadline"},
		{name: "bad kubeconfig", args: []string{"--argocd.api=http://a", "--kubeconfig=" + badCA, "--remediation.state-configmap=s",
			"--leader-elect-resource-namespace=mon"}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--kubeconfig"},
		{name: "bad ca file", args: []string{"--argocd.api=http://a", "--argocd.ca-file=" + badCA}, env: map[string]string{"ARGOCD_TOKEN": token}, err: "--argocd.ca-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cli, err := parse(tc.args)
			if err == nil {
				_, err = build(cli, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), token) {
					t.Errorf("error is not one clean line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cli)
		})
	}
}

// newTestExporter builds the binary's registry against a fake Argo CD.
func newTestExporter(t *testing.T, srv *argocdsim.Server, args ...string) (*CLI, *prometheus.Registry, *exporter, *bytes.Buffer) {
	t.Helper()
	clearEnv(t)
	cli, err := parse(append([]string{"--argocd.api=" + srv.URL, "--argocd.timeout=1m"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	reg := prometheus.NewRegistry()
	ex, err := build(cli, reg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return cli, reg, ex, logs
}

// fixtures are the real fixtures, one given the timestamps a live Argo CD
// reports, so every app family has a series.
func fixtures() [][]byte {
	var items [][]byte
	for _, f := range argocdsim.AllFixtures {
		items = append(items, argocdsim.Fixture(f))
	}
	items[1] = argocdsim.Patch(items[1], map[string]any{
		"status.reconciledAt": "2026-11-26T01:58:00Z", "status.health.lastTransitionTime": "2026-11-26T01:40:00Z"})
	return items
}

// TestMetricFamilies is the metric-name contract: the binary's own registry,
// after a poll and a sync against the fake, must expose exactly the families
// in exporter/testdata/metric-families.txt, each with at least one series.
// With no grace, the poll makes the remediation engine sync the degraded
// my-app-4, so the remediation families have series too.
func TestMetricFamilies(t *testing.T) {
	srv := argocdsim.NewServer(token, fixtures()...)
	defer srv.Close()
	cli, reg, ex, _ := newTestExporter(t, srv, "--argocd.token-file="+tokenFile(t, token), "--remediation.grace=0s", "--api.token-file="+tokenFile(t, "api-token"))
	h := newHandler(cli.Web, reg, ex, slog.New(slog.DiscardHandler)) // registers the handler's own metrics, as run does
	ctx := context.Background()
	if err := ex.poller.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	ex.remediation.Wait()
	if err := ex.client.Sync(ctx, argocd.SyncRequest{Name: "my-app-4", AppNamespace: "argocd", Project: "important-project"}); err != nil {
		t.Fatal(err)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/metrics", nil))
	names := metricstest.Families(t, exposition.Gatherers(reg, ex.apps), filepath.Join("..", "..", "testdata", "metric-families.txt"), *update)
	// No label with unbounded values, in either state-set mode (the same labels).
	for fam, labels := range metricstest.Labels(t, exposition.Gatherers(reg, ex.apps)) {
		t.Logf("%s %v", fam, labels)
	}
	for _, n := range []string{"argocd_monitor_build_info", "argocd_monitor_app_conditions", "argocd_monitor_app_reconciled_timestamp_seconds",
		"argocd_monitor_app_health_transition_timestamp_seconds", "argocd_monitor_api_requests_total", "go_goroutines", "process_cpu_seconds_total",
		"argocd_monitor_remediation_syncs_total", "argocd_monitor_app_remediation_next_attempt_timestamp_seconds"} {
		if !slices.Contains(names, n) {
			t.Errorf("%s missing", n)
		}
	}
}

// TestExpositionPromlint runs everything the binary exposes through promlint
// (make lint runs it).
func TestExpositionPromlint(t *testing.T) {
	srv := argocdsim.NewServer(token, fixtures()...)
	defer srv.Close()
	cli, reg, ex, _ := newTestExporter(t, srv, "--argocd.token-file="+tokenFile(t, token))
	if err := ex.poller.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	newHandler(cli.Web, reg, ex, slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	problems, err := promlint.New(rec.Body).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestMetricsMatchPromhttp: the binary's /metrics serves the same
// argocd_monitor_* lines promhttp would serve from the same registry and
// app collector, in text and OpenMetrics, plain and gzip. (The go_ and
// process_ families move between two scrapes; exposition's own tests
// compare whole bodies.)
func TestMetricsMatchPromhttp(t *testing.T) {
	srv := argocdsim.NewServer(token, fixtures()...)
	defer srv.Close()
	cli, reg, ex, _ := newTestExporter(t, srv, "--argocd.token-file="+tokenFile(t, token), "--remediation.grace=0s")
	h := newHandler(cli.Web, reg, ex, slog.New(slog.DiscardHandler))
	if err := ex.poller.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	ex.remediation.Wait()
	theirs := promhttp.HandlerFor(exposition.Gatherers(reg, ex.apps), promhttp.HandlerOpts{EnableOpenMetrics: true})
	ours := func(rec http.ResponseWriter, req *http.Request) { h.ServeHTTP(rec, req) }
	for _, accept := range []string{"text/plain;version=0.0.4",
		"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.3"} {
		for _, enc := range []string{"", "gzip"} {
			var bodies [2]string
			for i, serve := range []http.HandlerFunc{ours, theirs.ServeHTTP} {
				req := httptest.NewRequest("GET", "/metrics", nil)
				req.Header.Set("Accept", accept)
				req.Header.Set("Accept-Encoding", enc)
				rec := httptest.NewRecorder()
				serve(rec, req)
				body := io.Reader(rec.Body)
				if rec.Header().Get("Content-Encoding") == "gzip" {
					zr, err := gzip.NewReader(rec.Body)
					if err != nil {
						t.Fatal(err)
					}
					body = zr
				}
				b, err := io.ReadAll(body)
				if err != nil {
					t.Fatal(err)
				}
				var lines []string
				for l := range strings.Lines(string(b)) {
					if strings.Contains(l, "argocd_monitor_") {
						lines = append(lines, l)
					}
				}
				bodies[i] = strings.Join(lines, "")
			}
			if bodies[0] == "" || bodies[0] != bodies[1] {
				t.Errorf("%s, %q: /metrics differs from promhttp's:\n%s\n--- promhttp\n%s", accept, enc, bodies[0], bodies[1])
			}
			if !strings.Contains(bodies[0], "argocd_monitor_app_health_status{") || !strings.Contains(bodies[0], "argocd_monitor_remediation_") {
				t.Errorf("%s: app and remediation families missing:\n%s", accept, bodies[0])
			}
		}
	}
}

func TestHandler(t *testing.T) {
	srv := argocdsim.NewServer(token, fixtures()...)
	defer srv.Close()
	cli, reg, ex, _ := newTestExporter(t, srv, "--argocd.token-file="+tokenFile(t, token), "--web.telemetry-path=/prom")
	h := newHandler(cli.Web, reg, ex, slog.New(slog.DiscardHandler))
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, _ := get("/-/healthy"); code != 200 {
		t.Errorf("/-/healthy = %d", code)
	}
	if code, _ := get("/-/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready before the first poll = %d, want 503", code)
	}
	if code, body := get("/prom"); code != 200 || !strings.Contains(body, "argocd_monitor_api_up 0") || strings.Contains(body, "argocd_monitor_app_info") {
		t.Errorf("/prom before the first poll = %d:\n%s", code, body)
	}
	// A failed first poll still makes the exporter ready: api_up 0 is the news.
	srv.SetFaults(argocdsim.Fault{Status: 401, Message: "invalid session"})
	_ = ex.poller.Poll(context.Background())
	if code, _ := get("/-/ready"); code != 200 {
		t.Errorf("/-/ready after a failed poll = %d, want 200", code)
	}
	srv.SetFaults()
	_ = ex.poller.Poll(context.Background())
	code, body := get("/prom")
	if code != 200 || !strings.Contains(body, "argocd_monitor_api_up 1") || !strings.Contains(body, `argocd_monitor_app_info{auto_sync="true"`) ||
		!strings.Contains(body, `argocd_monitor_api_requests_total{code="401",endpoint="list"} 1`) {
		t.Errorf("/prom = %d:\n%s", code, body)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, `href="/prom"`) {
		t.Errorf("landing page = %d:\n%s", code, body)
	}
}

func TestTokenFileRotation(t *testing.T) {
	srv := argocdsim.NewServer(token, fixtures()...)
	defer srv.Close()
	tf := tokenFile(t, token)
	_, _, ex, logs := newTestExporter(t, srv, "--argocd.token-file="+tf)
	ctx := context.Background()
	if err := ex.poller.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	// Argo CD's token is rotated before the Secret is: 401, logged with the cause.
	const rotated = "eyJhbGciOi.eyJzdWIiOiJuZXcifQ.bmV3"
	srv.SetToken(rotated)
	if err := ex.poller.Poll(ctx); !argocd.IsUnauthorized(err) {
		t.Fatalf("poll with the old token: %v", err)
	}
	// The kubelet updates the mounted Secret: the next poll uses it.
	later := time.Now().Add(time.Minute)
	if err := os.WriteFile(tf, []byte(rotated+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tf, later, later); err != nil {
		t.Fatal(err)
	}
	if err := ex.poller.Poll(ctx); err != nil {
		t.Fatalf("poll after rotation: %v", err)
	}
	if !ex.poller.Snapshot().Up {
		t.Error("api not up after rotation")
	}
	if l := logs.String(); !strings.Contains(l, "token expired or wrong") || strings.Contains(l, token) || strings.Contains(l, rotated) {
		t.Errorf("logs:\n%s", l)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRunServesAndDrains starts the real server on loopback, scrapes it and
// stops it the way SIGTERM does (context cancel).
func TestRunServesAndDrains(t *testing.T) {
	srv := argocdsim.NewServer(token, fixtures()...)
	defer srv.Close()
	clearEnv(t)
	addr := freePort(t)
	t.Setenv("ARGOCD_TOKEN", token)
	cli, err := parse([]string{"--argocd.api=" + srv.URL + "/api/v1", "--web.listen-address=" + addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cli, slog.New(slog.DiscardHandler)) }()

	var body string
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(fmt.Sprintf("http://%s/-/ready", addr))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/metrics", addr))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body = string(b)
	if !strings.Contains(body, "argocd_monitor_api_up 1") || !strings.Contains(body, "argocd_monitor_apps 4") {
		t.Errorf("metrics:\n%s", body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("run did not return after cancel")
	}
}

// The read API is off by default, and with --api.token-file it answers the
// bridge's token only, 404 for apps the last poll did not see.
func TestAppAPI(t *testing.T) {
	srv := argocdsim.NewServer(token, fixtures()...)
	defer srv.Close()
	cli, reg, ex, _ := newTestExporter(t, srv, "--argocd.token-file="+tokenFile(t, token))
	h := newHandler(cli.Web, reg, ex, slog.New(slog.DiscardHandler))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/apps/argocd/my-app-4", nil))
	if rec.Code == http.StatusOK || rec.Code == http.StatusUnauthorized {
		t.Fatalf("API off by default, got %d", rec.Code)
	}

	cli, reg, ex, _ = newTestExporter(t, srv, "--argocd.token-file="+tokenFile(t, token), "--api.token-file="+tokenFile(t, "api-token"))
	h = newHandler(cli.Web, reg, ex, slog.New(slog.DiscardHandler))
	if err := ex.poller.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{"/api/v1/apps/argocd/my-app-4", "", http.StatusUnauthorized},
		{"/api/v1/apps/argocd/my-app-4", "Bearer " + token, http.StatusUnauthorized}, // the Argo CD token is not the API's
		{"/api/v1/apps/argocd/my-app-4", "Bearer api-token", http.StatusOK},
		{"/api/v1/apps/argocd/no-such-app", "Bearer api-token", http.StatusNotFound},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s with %q: %d, want %d: %s", tc.path, tc.auth, rec.Code, tc.want, rec.Body)
		}
	}
}

// TestStateSetsFlag: --metrics.state-sets=current reaches the collector:
// the app and remediation families keep only series that are not 0, and
// each app has exactly one health and one sync series; full (the default)
// keeps the zeros.
func TestStateSetsFlag(t *testing.T) {
	for _, tc := range []struct {
		flag      string
		wantZeros bool
	}{{"", true}, {"--metrics.state-sets=full", true}, {"--metrics.state-sets=current", false}} {
		t.Run(tc.flag, func(t *testing.T) {
			srv := argocdsim.NewServer(token, fixtures()...)
			defer srv.Close()
			args := []string{"--argocd.token-file=" + tokenFile(t, token)}
			if tc.flag != "" {
				args = append(args, tc.flag)
			}
			_, _, ex, _ := newTestExporter(t, srv, args...)
			if err := ex.poller.Poll(context.Background()); err != nil {
				t.Fatal(err)
			}
			ex.remediation.Wait()
			mfs, err := ex.apps.Gather()
			if err != nil {
				t.Fatal(err)
			}
			zeros, health := 0, map[string]int{}
			for _, mf := range mfs {
				if !strings.HasPrefix(mf.GetName(), "argocd_monitor_app_") {
					continue
				}
				for _, m := range mf.GetMetric() {
					if m.GetGauge().GetValue() == 0 {
						zeros++
					}
					if mf.GetName() == "argocd_monitor_app_health_status" {
						key := ""
						for _, l := range m.GetLabel() {
							if l.GetName() == "namespace" || l.GetName() == "name" {
								key += l.GetValue() + "/"
							}
						}
						health[key]++
					}
				}
			}
			if (zeros > 0) != tc.wantZeros {
				t.Errorf("%d app series at 0, want zeros: %v", zeros, tc.wantZeros)
			}
			for app, n := range health {
				if want := map[bool]int{true: 6, false: 1}[tc.wantZeros]; n != want {
					t.Errorf("%s: %d health series, want %d", app, n, want)
				}
			}
			if len(health) == 0 {
				t.Error("no app series")
			}
		})
	}
}
