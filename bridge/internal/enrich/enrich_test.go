package enrich_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich/enrichtest"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

const token = "api-token"

func alertsFor(names ...string) []template.Alert {
	var as []template.Alert
	for _, n := range names {
		as = append(as, template.Alert{Status: "firing", Labels: template.KV{"alertname": "ArgoCDAppDegraded", "namespace": "argocd", "name": n}})
	}
	return as
}

func tokenFile(t *testing.T, tok string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newEnricher(t *testing.T, url, file string, maxApps int) (*enrich.Enricher, *enrich.Metrics) {
	t.Helper()
	m := enrich.NewMetrics(nil)
	tok, err := secret.ReadFile(file, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := enrich.New(enrich.Config{URL: url, Token: tok, MaxApps: maxApps}, m)
	if err != nil {
		t.Fatal(err)
	}
	return e, m
}

func TestEnrichResults(t *testing.T) {
	full := &apiv1.App{Health: &apiv1.Health{Status: "Degraded"}}
	tests := []struct {
		name        string
		setup       func(s *enrichtest.Server)
		apps        []string
		budget      time.Duration
		want        string
		wantApps    int
		wantProblem string
	}{
		{"ok", func(s *enrichtest.Server) { s.AnswerAny(full) }, []string{"a", "b"}, time.Minute, enrich.ResultOK, 2, ""},
		{"one unknown app", func(s *enrichtest.Server) { s.Set(&apiv1.App{Namespace: "argocd", Name: "a"}) }, []string{"a", "b"}, time.Minute, enrich.ResultPartial, 1, "detail for 1 of 2 apps"},
		{"answer with errors", func(s *enrichtest.Server) {
			s.AnswerAny(&apiv1.App{Errors: []apiv1.PartError{{Part: "resource-tree", Error: "timeout"}}})
		}, []string{"a"}, time.Minute, enrich.ResultPartial, 1, "Argo CD did not answer resource-tree"},
		{"401", func(s *enrichtest.Server) { s.AnswerAny(full); s.SetToken("other") }, []string{"a"}, time.Minute, enrich.ResultError, 0, "refused the token (401)"},
		{"500", func(s *enrichtest.Server) { s.SetStatus(500) }, []string{"a"}, time.Minute, enrich.ResultError, 0, "answered 500"},
		// A real-time deadline: this test is about the budget (generous margin on both sides).
		{"timeout", func(s *enrichtest.Server) { s.AnswerAny(full); s.SetDelay(time.Minute) }, []string{"a", "b"}, 200 * time.Millisecond, enrich.ResultTimeout, 0, "did not answer in time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := enrichtest.New(token)
			defer s.Close()
			tc.setup(s)
			e, m := newEnricher(t, s.URL, tokenFile(t, token), 10)
			ctx, cancel := context.WithTimeout(context.Background(), tc.budget)
			defer cancel()
			res := e.Enrich(ctx, alertsFor(tc.apps...))
			if res.Status != tc.want || len(res.Apps) != tc.wantApps || !strings.Contains(res.Problem, tc.wantProblem) {
				t.Fatalf("result %+v, want %s with %d apps, problem %q", res, tc.want, tc.wantApps, tc.wantProblem)
			}
			if strings.Contains(res.Problem, token) || strings.Contains(res.Problem, s.URL) {
				t.Errorf("problem leaks the token or URL: %s", res.Problem)
			}
			if got := testutil.ToFloat64(m.Results.WithLabelValues(tc.want)); got != 1 {
				t.Errorf("enrichments_total{result=%q} = %v", tc.want, got)
			}
			if n := testutil.CollectAndCount(m.Duration); n != 1 {
				t.Errorf("duration series %d", n)
			}
		})
	}
}

func TestEnrichAsksFirstAppsOnceEach(t *testing.T) {
	s := enrichtest.New(token)
	defer s.Close()
	s.AnswerAny(&apiv1.App{})
	e, _ := newEnricher(t, s.URL, tokenFile(t, token), 10)
	var names []string
	for i := range 15 {
		names = append(names, fmt.Sprintf("app-%d", i), fmt.Sprintf("app-%d", i)) // two alerts per app
	}
	alerts := alertsFor(names...)
	alerts = append(alerts, template.Alert{Status: "firing", Labels: template.KV{"alertname": "NotAnApp"}})
	res := e.Enrich(context.Background(), alerts)
	if res.Asked != 10 || res.Skipped != 5 || len(res.Apps) != 10 || s.Calls.Load() != 10 {
		t.Fatalf("asked %d skipped %d got %d calls %d, want 10/5/10/10", res.Asked, res.Skipped, len(res.Apps), s.Calls.Load())
	}
	if res.App("argocd", "app-0") == nil || res.App("argocd", "app-14") != nil {
		t.Error("detail is not for the first apps")
	}
	var nilResult *enrich.Result
	if nilResult.App("a", "b") != nil {
		t.Error("nil result has an app")
	}
}

func TestEnrichRereadsTheTokenFile(t *testing.T) {
	s := enrichtest.New(token)
	defer s.Close()
	s.AnswerAny(&apiv1.App{})
	file := tokenFile(t, token)
	e, _ := newEnricher(t, s.URL, file, 10)
	if res := e.Enrich(context.Background(), alertsFor("a")); res.Status != enrich.ResultOK {
		t.Fatalf("before rotation: %+v", res)
	}
	s.SetToken("rotated")
	if err := os.WriteFile(file, []byte("rotated"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := e.Enrich(context.Background(), alertsFor("b")); res.Status != enrich.ResultOK {
		t.Fatalf("after rotation: %+v", res)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  enrich.Config
		want string
	}{
		{enrich.Config{URL: "ftp://x", Token: secret.Static(token)}, "not an http(s) URL"},
		{enrich.Config{URL: "http://user:pw@x", Token: secret.Static(token)}, "carries credentials"},
		{enrich.Config{URL: "http://x"}, "a token is required"},
	} {
		if _, err := enrich.New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := enrich.NewMetrics(reg)
	if probs, err := testutil.GatherAndLint(reg); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", probs, err)
	}
	if n, err := testutil.GatherAndCount(reg, "argocd_monitor_bridge_enrichments_total", "argocd_monitor_bridge_enrichment_duration_seconds"); err != nil || n != len(enrich.Results)+1 {
		t.Errorf("registered %d series (%v), want the result counters and the histogram", n, err)
	}
	if n := testutil.CollectAndCount(m.Results); n != len(enrich.Results) {
		t.Errorf("%d result series, want %d", n, len(enrich.Results))
	}
}

// TestLabelsAreNoPath: labels are outside input and become a path of the exporter's API. What
// is no Kubernetes name is not asked about at all: `namespace=".."` once became
// /api/v1/apps/../metrics, which the exporter's mux redirected (issue 20, defect 7).
func TestLabelsAreNoPath(t *testing.T) {
	s := enrichtest.New(token)
	defer s.Close()
	s.AnswerAny(&apiv1.App{})
	e, _ := newEnricher(t, s.URL, tokenFile(t, token), 100)
	bad := []template.KV{
		{"namespace": "..", "name": "metrics"},
		{"namespace": "argocd", "name": ".."},
		{"namespace": "argocd", "name": "a/b"},
		{"namespace": "a/b", "name": "x"},
		{"namespace": "argocd", "name": "%2e%2e"},
		{"namespace": "argocd", "name": "Payments"},
		{"namespace": "argo.cd", "name": "x"}, // namespaces are DNS-1123 labels: no dots
		{"namespace": "argocd", "name": "x?y=1"},
		{"namespace": "argocd", "name": strings.Repeat("a", 254)},
	}
	var alerts []template.Alert
	for _, l := range bad {
		l["alertname"] = "ArgoCDAppDegraded"
		alerts = append(alerts, template.Alert{Status: "firing", Labels: l})
	}
	res := e.Enrich(context.Background(), alerts)
	if n := s.Calls.Load(); n != 0 || res.Asked != 0 {
		t.Errorf("%d calls to the exporter (%d asked) for labels that are no Kubernetes names", n, res.Asked)
	}
	for _, a := range alerts {
		if k := enrich.Key(a); k != "" {
			t.Errorf("Key(%v) = %q, want none", a.Labels, k)
		}
	}
	good := template.Alert{Status: "firing", Labels: template.KV{"namespace": "argocd", "name": "payments.v2-eu"}}
	if res := e.Enrich(context.Background(), []template.Alert{good}); res.Status != enrich.ResultOK || s.Calls.Load() != 1 {
		t.Errorf("a valid name: %+v after %d calls", res, s.Calls.Load())
	}
}

// TestRedirectsAreNotFollowed: the token goes to the exporter only; a redirect is an answer
// like any other, not a reason to send the token elsewhere (issue 20, defect 7).
func TestRedirectsAreNotFollowed(t *testing.T) {
	var stolen atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
	}))
	defer elsewhere.Close()
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirecting.Close()
	e, _ := newEnricher(t, redirecting.URL, tokenFile(t, token), 10)
	res := e.Enrich(context.Background(), alertsFor("a"))
	if stolen.Load() != 0 {
		t.Errorf("the redirect was followed: %d requests elsewhere", stolen.Load())
	}
	if res.Status != enrich.ResultError || !strings.Contains(res.Problem, "302") {
		t.Errorf("result %+v, want an error naming the 302", res)
	}
}

// A fleet message's parent app (the first keys) is asked about before the alerts' apps, within
// MaxApps, once; a key that is no Kubernetes name is never a request.
func TestEnrichAsksFirstKeysBeforeTheAlerts(t *testing.T) {
	s := enrichtest.New(token)
	defer s.Close()
	s.AnswerAny(&apiv1.App{})
	e, _ := newEnricher(t, s.URL, tokenFile(t, token), 3)
	alerts := alertsFor("child-1", "child-2", "child-3", "shop-root")
	res := e.Enrich(context.Background(), alerts, "argocd/shop-root", "../x", "argocd/a/b")
	if res.Asked != 3 || res.Skipped != 1 || s.Calls.Load() != 3 {
		t.Fatalf("asked %d skipped %d calls %d, want 3/1/3", res.Asked, res.Skipped, s.Calls.Load())
	}
	if res.App("argocd", "shop-root") == nil || res.App("argocd", "child-1") == nil || res.App("argocd", "child-3") != nil {
		t.Errorf("detail for %v, want the parent first, then child-1 and child-2", slices.Sorted(maps.Keys(res.Apps)))
	}
}
