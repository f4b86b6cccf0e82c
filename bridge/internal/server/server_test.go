package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/route"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
	"github.com/argocd-monitor/argocd-monitor/exporter/lifecycle"
	"github.com/argocd-monitor/argocd-monitor/exporter/metricstest"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

var update = flag.Bool("update", false, "rewrite golden files")

func payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testConfig is a webhook-mode bridge against fake (in process), with pacing off and a short
// deadline.
func testConfig(t testing.TB, fake *slackfake.Fake, logs io.Writer) Config {
	t.Helper()
	router, err := route.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Mode: ModeWebhook, WebhookURL: secret.Func(fake.WebhookURL), Router: router, WebhookToken: static("am-token"),
		ArgoCDURL: "https://argocd.example.com", Deadline: 2 * time.Second, AttemptTimeout: time.Second,
		DedupeWindow: 2 * time.Minute, StateTTL: time.Hour, MaxInFlight: 64, HTTPClient: slack.NewHTTPClient(fake),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func static(v string) secret.Source { return secret.Static(v) }

func post(t testing.TB, url string, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer am-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAnswersToAlertmanager drives the whole bridge through its handler against a fake Slack,
// on synctest's clock.
func TestAnswersToAlertmanager(t *testing.T) {
	tests := []struct {
		name      string
		script    []slackfake.Response
		wantCode  int
		wantBody  string
		wantSlack int
		deadline  time.Duration
	}{
		{name: "accepted", wantCode: 200, wantSlack: 1},
		{name: "429 then ok", script: []slackfake.Response{{Status: 429, RetryAfter: "1"}}, wantCode: 200, wantSlack: 2},
		{name: "invalid payload is 422", script: []slackfake.Response{{Status: 400, Body: "invalid_payload"}}, wantCode: 422, wantBody: "invalid_payload", wantSlack: 1},
		{name: "slack down is 503", script: slices.Repeat([]slackfake.Response{{Status: 500}}, 50), wantCode: 503, wantBody: "server_error", deadline: 600 * time.Millisecond},
		{name: "slack hanging is 503", script: slices.Repeat([]slackfake.Response{{Delay: 5 * time.Second}}, 50), wantCode: 503, wantBody: "timeout", deadline: 600 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := slackfake.New("")
				fake.Push(tc.script...)
				var logs syncBuffer
				cfg := testConfig(t, fake, &logs)
				cfg.AttemptTimeout = 300 * time.Millisecond
				if tc.deadline > 0 {
					cfg.Deadline = tc.deadline
				}
				s, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				code, body := serve(s, payload(t, "firing.json"))
				if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
					t.Fatalf("answer %d %q, want %d with %q", code, body, tc.wantCode, tc.wantBody)
				}
				if tc.wantSlack > 0 && fake.Count() != tc.wantSlack {
					t.Errorf("%d Slack requests, want %d", fake.Count(), tc.wantSlack)
				}
				if strings.Contains(logs.String(), "SECRET") || strings.Contains(body, "SECRET") {
					t.Errorf("webhook URL leaked:\n%s", logs.String())
				}
			})
		})
	}
}

// serve hands one webhook to the bridge's handler in process.
func serve(s *Server, body []byte) (int, string) {
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer am-token")
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func httpServer(t testing.TB, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.HTTPServer()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

// newBridge builds a default webhook-mode bridge against a new fake Slack.
func newBridge(t *testing.T) (*slackfake.Fake, *Server) {
	t.Helper()
	fake := slackfake.New("")
	s, err := New(testConfig(t, fake, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	return fake, s
}

// TestDuplicateFromHAPair: the second Alertmanager's copy is acknowledged without a post.
func TestDuplicateFromHAPair(t *testing.T) { synctest.Test(t, testDuplicateFromHAPair) }

func testDuplicateFromHAPair(t *testing.T) {
	fake, s := newBridge(t)
	for range 2 {
		if code, body := serve(s, payload(t, "firing.json")); code != 200 {
			t.Fatalf("answer %d %s", code, body)
		}
	}
	if fake.Count() != 1 {
		t.Errorf("%d posts for two copies", fake.Count())
	}
	if v := testutil.ToFloat64(s.metrics.Duplicates); v != 1 {
		t.Errorf("duplicates = %v", v)
	}
	if code, _ := serve(s, payload(t, "resolved.json")); code != 200 || fake.Count() != 2 {
		t.Errorf("resolved must post: %d posts", fake.Count())
	}
}

// TestBotModeResolvedUpdatesInPlace: through the whole bridge, with the state in a file that
// a second instance (a restart) reads.
func TestBotModeResolvedUpdatesInPlace(t *testing.T) {
	synctest.Test(t, testBotModeResolvedUpdatesInPlace)
}

func testBotModeResolvedUpdatesInPlace(t *testing.T) {
	fake := slackfake.New("xoxb-1")
	cfg := testConfig(t, fake, io.Discard)
	cfg.Mode, cfg.WebhookURL, cfg.BotToken, cfg.APIURL, cfg.Channel = ModeBot, nil, static("xoxb-1"), fake.APIURL(), "#argocd"
	cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
	s1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := serve(s1, payload(t, "firing.json")); code != 200 {
		t.Fatalf("firing: %d %s", code, body)
	}
	s2, err := New(cfg) // a restart
	if err != nil {
		t.Fatal(err)
	}
	if code, body := serve(s2, payload(t, "resolved.json")); code != 200 {
		t.Fatalf("resolved: %d %s", code, body)
	}
	reqs := fake.Messages()
	if len(reqs) != 3 || reqs[1].Method != slackfake.MethodUpdate || reqs[1].TS != reqs[0].TS || reqs[2].ThreadTS != reqs[0].TS {
		t.Fatalf("want post, update of it, thread reply: %+v", reqs)
	}
	if !strings.Contains(reqs[1].Attach, "#2EB67D") || !strings.Contains(reqs[1].Blocks, "Resolved") {
		t.Errorf("update is not the green resolved message: %s %s", reqs[1].Blocks, reqs[1].Attach)
	}
}

// TestDrainOnShutdown: cancelling Run (SIGTERM in the binary) lets an in-flight delivery
// finish and answer 200 before Run returns.
func TestDrainOnShutdown(t *testing.T) {
	fake := slackfake.New("")
	fake.Push(slackfake.Response{Delay: 500 * time.Millisecond})
	cfg := testConfig(t, fake, io.Discard)
	cfg.Deadline, cfg.AttemptTimeout = time.Minute, time.Minute // real time here: no deadline is tested
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	process := s.Process()
	process.Listeners = []net.Listener{l}
	done := make(chan error, 1)
	go func() { done <- lifecycle.Run(ctx, process) }()
	url := "http://" + l.Addr().String()

	answer := make(chan int, 1)
	go func() {
		code, _ := post(t, url, payload(t, "firing.json"))
		answer <- code
	}()
	for fake.Count() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-answer; code != 200 {
		t.Errorf("in-flight delivery answered %d during drain", code)
	}
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, err := http.Get(url + "/-/healthy"); err == nil {
		t.Error("still serving after drain")
	}
}

func TestEndpoints(t *testing.T) {
	_, s := newBridge(t)
	url := httpServer(t, s)
	for path, want := range map[string]string{"/-/healthy": "Healthy", "/-/ready": "Ready", "/metrics": "argocd_monitor_bridge_build_info", "/": "Slack bridge"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d, want 200 with %q", path, resp.StatusCode, want)
		}
	}
	resp, err := http.Get(url + "/webhook")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /webhook = %d", resp.StatusCode)
	}
}

func TestValidate(t *testing.T) {
	router, _ := route.Load("")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"webhook without URL", Config{Mode: ModeWebhook, Router: router, Deadline: time.Second}, "no webhook_url_file"},
		{"bot without channel", Config{Mode: ModeBot, BotToken: static("x"), Router: router, Deadline: time.Second}, "no channel"},
		{"bot without token", Config{Mode: ModeBot, Channel: "#a", Router: router, Deadline: time.Second}, "bot token"},
		{"unknown mode", Config{Mode: "carrier-pigeon", Router: router, Deadline: time.Second}, "unknown mode"},
	}
	for _, tc := range tests {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestMetricFamilies builds the registry the binary serves, drives a webhook through a fake
// Slack so every family has a series, and compares the family names with
// bridge/testdata/metric-families.txt (the dashboards read that list; -update rewrites it).
func TestMetricFamilies(t *testing.T) { synctest.Test(t, testMetricFamilies) }

func testMetricFamilies(t *testing.T) {
	_, s := newBridge(t)
	serve(s, payload(t, "firing.json"))
	serve(s, payload(t, "firing.json"))

	names := metricstest.Families(t, s.metrics.Registry, filepath.Join("..", "..", "testdata", "metric-families.txt"), *update)
	// No label with unbounded values (a test that fails on a label outside the allow-list).
	for fam, labels := range metricstest.Labels(t, s.metrics.Registry) {
		t.Logf("%s %v", fam, labels)
	}
	for _, n := range []string{"argocd_monitor_bridge_webhooks_total", "argocd_monitor_bridge_notifications_total",
		"argocd_monitor_bridge_slack_requests_total", "argocd_monitor_bridge_slack_request_duration_seconds", "argocd_monitor_bridge_build_info"} {
		if !slices.Contains(names, n) {
			t.Errorf("issue 4 metric %s missing", n)
		}
	}
	problems, err := testutil.GatherAndLint(s.metrics.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, namespace) {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
	if err := testutil.GatherAndCompare(s.metrics.Registry, strings.NewReader(`
# HELP argocd_monitor_bridge_notifications_total Notifications Slack accepted, by route and group status (firing, resolved).
# TYPE argocd_monitor_bridge_notifications_total counter
argocd_monitor_bridge_notifications_total{route="default",status="firing"} 1
argocd_monitor_bridge_notifications_total{route="default",status="resolved"} 0
# HELP argocd_monitor_bridge_webhooks_total Alertmanager webhook requests by HTTP answer code.
# TYPE argocd_monitor_bridge_webhooks_total counter
argocd_monitor_bridge_webhooks_total{code="200"} 2
argocd_monitor_bridge_webhooks_total{code="400"} 0
argocd_monitor_bridge_webhooks_total{code="401"} 0
argocd_monitor_bridge_webhooks_total{code="405"} 0
argocd_monitor_bridge_webhooks_total{code="413"} 0
argocd_monitor_bridge_webhooks_total{code="422"} 0
argocd_monitor_bridge_webhooks_total{code="503"} 0
`), "argocd_monitor_bridge_notifications_total", "argocd_monitor_bridge_webhooks_total"); err != nil {
		t.Error(err)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T/B/SECRET": "https://hooks.slack.com/<redacted>",
		"https://user:pw@example.com/x?token=SECRET":  "https://example.com/<redacted>",
		"SECRET": "<redacted>",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRoutesPickChannelAndTemplates: first matching route decides the channel and the title.
func TestRoutesPickChannelAndTemplates(t *testing.T) {
	synctest.Test(t, testRoutesPickChannelAndTemplates)
}

func testRoutesPickChannelAndTemplates(t *testing.T) {
	fake := slackfake.New("")
	router, err := route.Parse([]byte(`
routes:
  - name: critical
    matchers: ['severity="critical"']
    channel: "#crit"
    title: '{{ .CommonLabels.alertname }} on {{ .CommonLabels.name }} ({{ .Status | toUpper }})'
  - name: also-critical
    matchers: ['alertname="ArgoCDAppDegraded"']
    channel: "#never"
default_route:
  channel: "#rest"
`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, fake, io.Discard)
	cfg.Mode, cfg.WebhookURL, cfg.BotToken, cfg.APIURL, cfg.Router = ModeBot, nil, static("xoxb-1"), fake.APIURL(), router
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := serve(s, payload(t, "firing.json")); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	other := bytes.ReplaceAll(payload(t, "firing.json"), []byte(`"critical"`), []byte(`"info"`))
	other = bytes.ReplaceAll(other, []byte(`ArgoCDAppDegraded`), []byte(`Other`))
	if code, body := serve(s, other); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].Channel != "#crit" || reqs[1].Channel != "#rest" {
		t.Fatalf("channels: %+v", reqs)
	}
	if !strings.Contains(reqs[0].Blocks, "ArgoCDAppDegraded on payments (FIRING)") {
		t.Errorf("title template not applied: %s", reqs[0].Blocks)
	}
	if v := testutil.ToFloat64(s.metrics.Notifications.WithLabelValues("critical", "firing")); v != 1 {
		t.Errorf("notifications_total{route=critical} = %v", v)
	}
}

// TestProcessEndsWhenAnActorFails: an actor's error (Socket Mode failing for good, say) ends the
// bridge's process, server and drain included, with that error, without waiting for a signal.
func TestProcessEndsWhenAnActorFails(t *testing.T) {
	_, s := newBridge(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	process := s.Process()
	process.Listeners = []net.Listener{l}
	process.Actors = append(process.Actors, func(context.Context) error { return boom })
	if err := lifecycle.Run(context.Background(), process); !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the actor's error", err)
	}
	if !s.draining.Load() {
		t.Error("the bridge did not drain")
	}
}

// TestRefireWithinTheDedupeWindowPosts (issues 20, 22): an alert that resolves and fires again (a
// new startsAt) within --dedupe.window is a new incident, not a copy of the last one: its firing
// posts a new message and its resolve updates that message (found by the chaos soak and by
// BenchmarkFleetLatency: 1 of 500 changes never reached Slack).
func TestRefireWithinTheDedupeWindowPosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := slackfake.New("xoxb-1")
		cfg := testConfig(t, fake, io.Discard)
		cfg.Mode, cfg.WebhookURL, cfg.BotToken, cfg.APIURL, cfg.Channel = ModeBot, nil, static("xoxb-1"), fake.APIURL(), "#argocd"
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		newer := func(b []byte) []byte {
			out := bytes.Replace(b, []byte(`"startsAt": "2026-11-20T10:00:00Z"`), []byte(`"startsAt": "2026-11-20T10:01:00Z"`), 1)
			if bytes.Equal(out, b) {
				t.Fatal("no startsAt to change")
			}
			return out
		}
		firing, resolved := payload(t, "firing.json"), payload(t, "resolved.json")
		steps := []struct {
			name        string
			body        []byte
			wantPosts   int // top-level messages so far
			wantUpdates int // chat.update calls so far
		}{
			{name: "firing", body: firing, wantPosts: 1},
			{name: "resolved", body: resolved, wantPosts: 1, wantUpdates: 1},
			{name: "re-fire", body: newer(firing), wantPosts: 2, wantUpdates: 1},
			{name: "resolve of the re-fire", body: newer(resolved), wantPosts: 2, wantUpdates: 2},
		}
		for _, st := range steps {
			time.Sleep(20 * time.Second) // all within the 2-minute dedupe window
			if code, body := serve(s, st.body); code != 200 {
				t.Fatalf("%s: answer %d %s", st.name, code, body)
			}
			posts, updates := 0, 0
			for _, m := range fake.Messages() {
				switch {
				case m.Method == slackfake.MethodPost && m.ThreadTS == "":
					posts++
				case m.Method == slackfake.MethodUpdate:
					updates++
				}
			}
			if posts != st.wantPosts || updates != st.wantUpdates {
				t.Fatalf("%s: %d top-level messages and %d updates, want %d and %d", st.name, posts, updates, st.wantPosts, st.wantUpdates)
			}
		}
	})
}

// TestLateFiringCopyAfterResolve (issue 20): with two clustered Alertmanagers the peer's
// firing copy of an alert can arrive after the group resolved. Same fingerprint and startsAt:
// acknowledged, no new message; a newer startsAt (a real re-fire): a new message.
func TestLateFiringCopyAfterResolve(t *testing.T) { synctest.Test(t, testLateFiringCopyAfterResolve) }

func testLateFiringCopyAfterResolve(t *testing.T) {
	fake := slackfake.New("xoxb-1")
	cfg := testConfig(t, fake, io.Discard)
	cfg.Mode, cfg.WebhookURL, cfg.BotToken, cfg.APIURL, cfg.Channel = ModeBot, nil, static("xoxb-1"), fake.APIURL(), "#argocd"
	cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	firing := payload(t, "firing.json")
	refire := bytes.Replace(firing, []byte(`"startsAt": "2026-11-20T10:00:00Z"`), []byte(`"startsAt": "2026-11-20T10:30:00Z"`), 1)
	if bytes.Equal(refire, firing) {
		t.Fatal("firing.json has no startsAt to change")
	}
	steps := []struct {
		name      string
		body      []byte
		wait      time.Duration // before it: past the dedupe window, as on another replica
		wantPosts int
	}{
		{name: "firing", body: firing, wantPosts: 1},
		{name: "resolved", body: payload(t, "resolved.json"), wait: 3 * time.Minute, wantPosts: 1},
		{name: "late firing copy", body: firing, wait: 5 * time.Second, wantPosts: 1},
		{name: "re-fire", body: refire, wait: time.Minute, wantPosts: 2},
	}
	for _, st := range steps {
		time.Sleep(st.wait)
		if code, body := serve(s, st.body); code != 200 {
			t.Fatalf("%s: answer %d %s", st.name, code, body)
		}
		posts := 0
		for _, m := range fake.Messages() {
			if m.Method == slackfake.MethodPost && m.ThreadTS == "" {
				posts++
			}
		}
		if posts != st.wantPosts {
			t.Fatalf("%s: %d top-level messages, want %d: %+v", st.name, posts, st.wantPosts, fake.Messages())
		}
	}
	if v := testutil.ToFloat64(s.metrics.Duplicates); v != 1 {
		t.Errorf("duplicates = %v, want the late copy counted", v)
	}
}
