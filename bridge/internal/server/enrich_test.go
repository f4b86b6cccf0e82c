package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich/enrichtest"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

const apiToken = "api-token"

func stuckApp() *apiv1.App {
	return &apiv1.App{
		Health:                &apiv1.Health{Status: "Degraded"},
		Operation:             &apiv1.Operation{Phase: "Failed", Message: "one or more objects failed to apply"},
		FailingResources:      []apiv1.Resource{{Kind: "Deployment", Name: "payments", Health: "Degraded", Message: "progress deadline exceeded"}},
		FailingResourcesTotal: 1,
		Remediation: &apiv1.Remediation{Mode: "on", MaxAttempts: 3, Paused: true, Attempts: []apiv1.Attempt{
			{N: 1, Result: "failed", Message: "one or more objects failed to apply"}, {N: 2, Result: "failed"}, {N: 3, Result: "failed"}}},
	}
}

// readToken is the token file as the binary reads it.
func readToken(t testing.TB, file string) secret.Source {
	t.Helper()
	tok, err := secret.ReadFile(file, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// enrichedBridge is a webhook-mode bridge against a fake Slack whose enrichment asks exp.
func enrichedBridge(t testing.TB, fake *slackfake.Fake, exp *enrichtest.Server, budget time.Duration, maxApps int) *Server {
	t.Helper()
	cfg := testConfig(t, fake, io.Discard)
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(apiToken), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Deadline = 4 * budget
	cfg.Enrich = &enrich.Config{URL: exp.URL, Token: readToken(t, file), MaxApps: maxApps}
	cfg.EnrichBudget = budget
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnrichedDelivery(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*enrichtest.Server)
		want       []string
		wantResult string
	}{
		{"why", func(e *enrichtest.Server) { e.AnswerAny(stuckApp()) },
			[]string{"*Why*", "*Failing:* Deployment payments Degraded", "*Auto-sync:* tried 3 times of 3", "*paused*"}, enrich.ResultOK},
		{"exporter down", func(e *enrichtest.Server) { e.SetStatus(http.StatusServiceUnavailable) },
			[]string{"*Detail:* no detail: the exporter answered 503"}, enrich.ResultError},
		// Real time: this case is about the budget; the exporter answers far too late.
		{"exporter slow", func(e *enrichtest.Server) { e.AnswerAny(stuckApp()); e.SetDelay(time.Minute) },
			[]string{"*Detail:* no detail: the exporter did not answer in time"}, enrich.ResultTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := slackfake.New("")
			exp := enrichtest.New(apiToken)
			defer exp.Close()
			tc.setup(exp)
			s := enrichedBridge(t, fake, exp, 300*time.Millisecond, 10)
			if code, body := serve(s, payload(t, "firing.json")); code != 200 {
				t.Fatalf("answer %d %s: the message must go out with or without detail", code, body)
			}
			reqs := fake.Messages()
			if len(reqs) != 1 {
				t.Fatalf("%d Slack messages", len(reqs))
			}
			for _, w := range tc.want {
				if !strings.Contains(reqs[0].Content(), w) {
					t.Errorf("message lacks %q:\n%s", w, reqs[0].Content())
				}
			}
			if got := testutil.ToFloat64(s.metrics.Enrich.Results.WithLabelValues(tc.wantResult)); got != 1 {
				t.Errorf("enrichments_total{result=%q} = %v", tc.wantResult, got)
			}
		})
	}
}

func TestEnrichBudgetMustLeaveRoomForSlack(t *testing.T) {
	fake := slackfake.New("")
	cfg := testConfig(t, fake, io.Discard)
	cfg.Enrich = &enrich.Config{URL: "http://127.0.0.1:1", Token: static(apiToken)}
	cfg.EnrichBudget = cfg.Deadline
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "--enrich.budget") {
		t.Fatalf("New = %v, want an --enrich.budget error", err)
	}
}

// groupOf100 is a 100-app group (one alert per app), distinct per i so dedupe never answers.
func groupOf100(i int64) []byte {
	type alert struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
	}
	msg := struct {
		Version  string  `json:"version"`
		GroupKey string  `json:"groupKey"`
		Status   string  `json:"status"`
		Receiver string  `json:"receiver"`
		Alerts   []alert `json:"alerts"`
	}{Version: "4", GroupKey: fmt.Sprintf("{}:{alertname=\"ArgoCDAppDegraded\", i=\"%d\"}", i), Status: "firing", Receiver: "slack"}
	for a := range 100 {
		msg.Alerts = append(msg.Alerts, alert{Status: "firing",
			Labels:      map[string]string{"alertname": "ArgoCDAppDegraded", "namespace": "apps", "name": fmt.Sprintf("app-%03d", a), "severity": "critical", "i": fmt.Sprint(i)},
			Annotations: map[string]string{"summary": "Degraded"}, StartsAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)})
	}
	b, _ := json.Marshal(msg)
	return b
}

// benchGroupHandler times the handler for 100-app groups; maxApps 0 turns enrichment off.
func benchGroupHandler(b *testing.B, exporterLatency time.Duration, maxApps int, warm bool) {
	fake := slackfake.New("")
	fake.KeepCountOnly()
	exp := enrichtest.New(apiToken)
	defer exp.Close()
	exp.AnswerAny(stuckApp())
	exp.SetDelay(exporterLatency)
	var s *Server
	if maxApps > 0 {
		s = enrichedBridge(b, fake, exp, 2500*time.Millisecond, maxApps)
	} else {
		cfg := testConfig(b, fake, io.Discard)
		cfg.Deadline = 10 * time.Second
		var err error
		if s, err = New(cfg); err != nil {
			b.Fatal(err)
		}
	}
	h := s.mux
	send := func(i int64) time.Duration {
		req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(groupOf100(i)))
		req.Header.Set("Authorization", "Bearer am-token")
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		took := time.Since(start)
		if rec.Code != http.StatusOK {
			b.Fatalf("answer %d: %s", rec.Code, rec.Body)
		}
		return took
	}
	if warm {
		send(-1) // the exporter's cache is warm in real life; here: connections are open
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	cpu0 := processCPU()
	var i int64
	for b.Loop() {
		i++
		lat = append(lat, send(i))
	}
	// CPU per op (bridge, fake exporter and fake Slack together): unlike wall time, it does
	// not grow with other load on a shared machine.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(len(lat)), "cpu-ms/op")
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	if maxApps > 0 {
		if n := testutil.ToFloat64(s.metrics.Enrich.Results.WithLabelValues(enrich.ResultOK)); int(n) != len(lat)+btoi(warm) {
			b.Fatalf("%v of %d enrichments ok", n, len(lat))
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BenchmarkGroup100Plain is the handler for a 100-app group without enrichment: the baseline.
func BenchmarkGroup100Plain(b *testing.B) { benchGroupHandler(b, 0, 0, true) }

// BenchmarkGroup100EnrichedWarm: detail for the first 10 apps (--enrich.max-apps default),
// answered from the exporter's cache; the difference to Plain is what enrichment adds.
func BenchmarkGroup100EnrichedWarm(b *testing.B) { benchGroupHandler(b, 0, 10, true) }

// BenchmarkGroup100EnrichedWarmAll asks about all 100 apps (--enrich.max-apps=100).
func BenchmarkGroup100EnrichedWarmAll(b *testing.B) { benchGroupHandler(b, 0, 100, true) }

// BenchmarkGroup100EnrichedCold: every answer takes 1.4 s (the slowest cold answer of the
// exporter's BenchmarkColdAnswers: 10 apps, Argo CD at 100 ms a call); the handler stays inside
// the 2.5s budget plus Slack, with every app's detail.
func BenchmarkGroup100EnrichedCold(b *testing.B) {
	benchGroupHandler(b, 1400*time.Millisecond, 10, false)
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
