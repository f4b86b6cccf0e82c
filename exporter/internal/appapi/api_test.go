package appapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

const token = "s3cret-token"

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// fakeSource answers like Argo CD for the app "stuck", after per-part delays.
type fakeSource struct {
	delay    map[string]time.Duration // part -> delay
	fail     map[string]error
	calls    sync.Map // part -> *atomic.Int64
	inFlight atomic.Int64
	maxSeen  atomic.Int64
}

func (f *fakeSource) enter(ctx context.Context, part string) error {
	n, _ := f.calls.LoadOrStore(part, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	cur := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxSeen.Load()
		if cur <= m || f.maxSeen.CompareAndSwap(m, cur) {
			break
		}
	}
	if d := f.delay[part]; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return f.fail[part]
}

func (f *fakeSource) count(part string) int64 {
	n, ok := f.calls.Load(part)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

var (
	deployment = argocd.ResourceRef{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "stuck", UID: "u-dep"}
	pod        = argocd.ResourceRef{Kind: "Pod", Namespace: "shop", Name: "stuck-7d9f-x2", UID: "u-pod"}
	applyError = `one or more objects failed to apply, reason: Deployment.apps "stuck" is invalid: spec.template.spec.containers[0].image: Required value`
)

func (f *fakeSource) GetDetail(ctx context.Context, name, ns, project string) (argocd.AppDetail, error) {
	if err := f.enter(ctx, partApplication); err != nil {
		return argocd.AppDetail{}, err
	}
	return argocd.AppDetail{
		Namespace: ns, Name: name, Project: "demo",
		Health: argocd.HealthDegraded, HealthMessage: "", HealthSince: t0.Add(-time.Hour),
		Sync: argocd.SyncOutOfSync, Revisions: []string{"abc1234def5678"}, RepoURLs: []string{"https://github.com/example/apps.git"},
		Operation: &argocd.OperationDetail{
			Phase: argocd.PhaseFailed, Message: applyError, StartedAt: t0.Add(-2 * time.Minute), FinishedAt: t0.Add(-time.Minute),
			Username: "argocd-monitor", Revisions: []string{"abc1234def5678"},
			FailedItems: []argocd.ResourceResult{{ResourceRef: deployment, Status: "SyncFailed", Message: "image: Required value"}},
		},
		OutOfSync: []argocd.ResourceRef{deployment},
		History:   []argocd.HistoryEntry{{Revisions: []string{"0ld"}, DeployedAt: t0.Add(-72 * time.Hour), Username: "admin"}},
	}, nil
}

func (f *fakeSource) ResourceTree(ctx context.Context, name, ns string) ([]argocd.TreeNode, error) {
	if err := f.enter(ctx, partTree); err != nil {
		return nil, err
	}
	return []argocd.TreeNode{
		{ResourceRef: deployment, Health: argocd.HealthDegraded, HealthMessage: `Deployment "stuck" exceeded its progress deadline`},
		{ResourceRef: argocd.ResourceRef{Kind: "Service", Namespace: "shop", Name: "stuck"}, Health: argocd.HealthHealthy},
		{ResourceRef: pod, Health: argocd.HealthDegraded, HealthMessage: "back-off 5m0s restarting failed container", ParentUIDs: []string{"u-rs"}},
	}, nil
}

func (f *fakeSource) Events(ctx context.Context, name, ns string, r argocd.ResourceRef) ([]argocd.Event, error) {
	if err := f.enter(ctx, partEvents); err != nil {
		return nil, err
	}
	if r.UID != pod.UID {
		return []argocd.Event{{Type: "Normal", Reason: "ScalingReplicaSet", Message: "Scaled up", Last: t0.Add(-time.Hour), Object: r}}, nil
	}
	return []argocd.Event{
		{Type: "Warning", Reason: "Failed", Message: "Failed to pull image", Count: 3, Last: t0.Add(-3 * time.Minute), Object: r},
		{Type: "Warning", Reason: "BackOff", Message: "Back-off restarting failed container", Count: 12, Last: t0.Add(-time.Minute), Object: r},
		{Type: "Normal", Reason: "Pulling", Message: "Pulling image", Last: t0, Object: r},
	}, nil
}

func (f *fakeSource) RevisionMetadata(ctx context.Context, name, ns, rev string, idx int) (argocd.RevisionMetadata, error) {
	if err := f.enter(ctx, partRevision); err != nil {
		return argocd.RevisionMetadata{}, err
	}
	return argocd.RevisionMetadata{Author: "Jane Doe <jane@example.com>", Date: t0.Add(-10 * time.Minute), Message: "Bump image\n\nlong body"}, nil
}

type fakeStories map[string]remediate.Story

func (s fakeStories) Story(ns, name string) (remediate.Story, bool) {
	st, ok := s[ns+"/"+name]
	return st, ok
}

func newTestAPI(t testing.TB, src Source, cfg Config) *API {
	t.Helper()
	if cfg.Token == nil {
		cfg.Token = secret.Static(token)
	}
	stories := fakeStories{"argocd/stuck": {Mode: "on", MaxAttempts: 3, Paused: true, PausedAt: t0,
		Attempts: []remediate.Attempt{{N: 1, At: t0.Add(-8 * time.Minute), Result: "failed", Message: applyError}}}}
	a, err := New(cfg, src, stories, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func get(t testing.TB, h http.Handler, path, bearer string) (*httptest.ResponseRecorder, *apiv1.App) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return rec, nil
	}
	var ans apiv1.App
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
		t.Fatalf("decode answer: %v\n%s", err, rec.Body)
	}
	return rec, &ans
}

func mux(a *API) http.Handler {
	m := http.NewServeMux()
	m.Handle(Pattern, a)
	return m
}

// TestBearerRule: the read API applies the one Bearer rule (issue 20, defect 8): the scheme
// in any case, one or more spaces before the token.
func TestBearerRule(t *testing.T) {
	h := mux(newTestAPI(t, &fakeSource{}, Config{Now: func() time.Time { return t0 }}))
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer " + token, 200},
		{"bearer " + token, 200},
		{"BEARER " + token, 200},
		{"Bearer  " + token, 200},
		{"bearer  " + token, 200},
		{"Bearer" + token, 401},
		{"Basic " + token, 401},
	} {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/apps/argocd/stuck", nil)
		req.Header.Set("Authorization", tc.header)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("Authorization %q: code %d, want %d", tc.header, rec.Code, tc.want)
		}
	}
}

func TestAuthAndValidation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ft, err := secret.ReadFile(file, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := newTestAPI(t, &fakeSource{}, Config{Token: ft, Now: func() time.Time { return t0 }})
	h := mux(a)
	for _, tc := range []struct {
		name, path, bearer string
		want               int
	}{
		{"no token", "/api/v1/apps/argocd/stuck", "", 401},
		{"wrong token", "/api/v1/apps/argocd/stuck", "nope", 401},
		{"token prefix", "/api/v1/apps/argocd/stuck", token[:4], 401},
		{"good", "/api/v1/apps/argocd/stuck", token, 200},
		{"bad name", "/api/v1/apps/argocd/Not_A_Name", token, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, _ := get(t, h, tc.path, tc.bearer)
			if rec.Code != tc.want {
				t.Fatalf("code %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if strings.Contains(rec.Body.String(), token) {
				t.Error("answer contains the token")
			}
		})
	}
	// A rotated token file takes effect without a restart.
	if err := os.WriteFile(file, []byte("rotated-token-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	if rec, _ := get(t, h, "/api/v1/apps/argocd/stuck", token); rec.Code != 401 {
		t.Errorf("old token after rotation: code %d, want 401", rec.Code)
	}
	if rec, _ := get(t, h, "/api/v1/apps/argocd/stuck", "rotated-token-value"); rec.Code != 200 {
		t.Errorf("new token after rotation: code %d, want 200", rec.Code)
	}
	want := `
# HELP argocd_monitor_app_api_requests_total Requests to the exporter's read API (/api/v1/apps/...) by HTTP answer code.
# TYPE argocd_monitor_app_api_requests_total counter
argocd_monitor_app_api_requests_total{code="200"} 2
argocd_monitor_app_api_requests_total{code="400"} 1
argocd_monitor_app_api_requests_total{code="401"} 4
argocd_monitor_app_api_requests_total{code="404"} 0
argocd_monitor_app_api_requests_total{code="500"} 0
`
	if err := testutil.CollectAndCompare(a.requests, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if probs, err := testutil.CollectAndLint(a.requests); err != nil || len(probs) > 0 {
		t.Errorf("lint: %v %v", probs, err)
	}
}

func TestAnswerTellsWhy(t *testing.T) {
	src := &fakeSource{}
	_, ans := get(t, mux(newTestAPI(t, src, Config{Now: func() time.Time { return t0 }})), "/api/v1/apps/argocd/stuck", token)
	if ans == nil {
		t.Fatal("no answer")
	}
	if len(ans.Errors) != 0 {
		t.Errorf("errors: %+v", ans.Errors)
	}
	if ans.Health.Status != "Degraded" || ans.Sync.Status != "OutOfSync" || ans.Project != "demo" {
		t.Errorf("health/sync/project: %+v %+v %q", ans.Health, ans.Sync, ans.Project)
	}
	if got := ans.Operation; got == nil || got.Phase != "Failed" || got.Message != applyError ||
		len(got.FailedResources) != 1 || got.FailedResources[0].Kind != "Deployment" || got.InitiatedBy.Username != "argocd-monitor" {
		t.Errorf("operation: %+v", got)
	}
	if ans.FailingResourcesTotal != 2 || len(ans.FailingResources) != 2 || ans.FailingResources[1].Kind != "Pod" ||
		!strings.Contains(ans.FailingResources[0].Message, "progress deadline") {
		t.Errorf("failing resources: %d %+v", ans.FailingResourcesTotal, ans.FailingResources)
	}
	if len(ans.Events) != 2 || ans.Events[0].Reason != "BackOff" || ans.Events[1].Reason != "Failed" {
		t.Errorf("events (Warnings, newest first): %+v", ans.Events)
	}
	if len(ans.OutOfSync) != 1 || ans.OutOfSyncTotal != 1 || ans.OutOfSync[0].Name != "stuck" {
		t.Errorf("out of sync: %+v", ans.OutOfSync)
	}
	if len(ans.Commits) != 1 || ans.Commits[0].Message != "Bump image" || ans.Commits[0].Author != "Jane Doe <jane@example.com>" ||
		ans.Commits[0].RepoURL != "https://github.com/example/apps.git" {
		t.Errorf("commits: %+v", ans.Commits)
	}
	if ans.LastDeploy == nil || ans.LastDeploy.InitiatedBy.Username != "admin" {
		t.Errorf("last deploy: %+v", ans.LastDeploy)
	}
	if r := ans.Remediation; r == nil || !r.Paused || len(r.Attempts) != 1 {
		t.Errorf("remediation: %+v", r)
	}
	// Events were asked for the two failing resources only.
	if n := src.count(partEvents); n != 2 {
		t.Errorf("event calls: %d, want 2", n)
	}
}

func TestBudgetGivesPartialAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{delay: map[string]time.Duration{partTree: 5 * time.Second, partApplication: 100 * time.Millisecond, partRevision: 100 * time.Millisecond}}
		a := newTestAPI(t, src, Config{Budget: 2 * time.Second})
		start := time.Now()
		rec, ans := get(t, mux(a), "/api/v1/apps/argocd/stuck", token)
		if rec.Code != 200 {
			t.Fatalf("code %d", rec.Code)
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("answered after %s, want the 2s budget", took)
		}
		if len(ans.Errors) != 1 || ans.Errors[0].Part != partTree || !strings.Contains(ans.Errors[0].Error, "timeout") {
			t.Errorf("errors: %+v", ans.Errors)
		}
		if ans.Operation == nil || len(ans.Commits) != 1 {
			t.Errorf("the parts that answered are missing: %+v", ans)
		}
		// A partial answer is cached a fifth of the TTL (3s), then asked again.
		time.Sleep(2 * time.Second)
		get(t, mux(a), "/api/v1/apps/argocd/stuck", token)
		if n := src.count(partApplication); n != 1 {
			t.Errorf("within 3s: %d Gets, want 1 (cached)", n)
		}
		time.Sleep(2 * time.Second)
		get(t, mux(a), "/api/v1/apps/argocd/stuck", token)
		if n := src.count(partApplication); n != 2 {
			t.Errorf("after 3s: %d Gets, want 2", n)
		}
	})
}

func TestErrorsArePartsNotFailures(t *testing.T) {
	src := &fakeSource{fail: map[string]error{partRevision: &argocd.APIError{StatusCode: 500, Message: "rpc error: repo unreachable"}}}
	_, ans := get(t, mux(newTestAPI(t, src, Config{})), "/api/v1/apps/argocd/stuck", token)
	if ans == nil || len(ans.Errors) != 1 || ans.Errors[0].Part != partRevision || ans.Operation == nil {
		t.Fatalf("answer: %+v", ans)
	}
}

func TestSingleflightCacheAndConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{delay: map[string]time.Duration{partApplication: 100 * time.Millisecond, partTree: 100 * time.Millisecond,
			partEvents: 100 * time.Millisecond, partRevision: 100 * time.Millisecond}}
		a := newTestAPI(t, src, Config{Concurrency: 2, CacheTTL: 15 * time.Second})
		h := mux(a)
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				app := "stuck"
				if i%2 == 1 {
					app = "other"
				}
				if rec, _ := get(t, h, "/api/v1/apps/argocd/"+app, token); rec.Code != 200 {
					t.Errorf("code %d", rec.Code)
				}
			})
		}
		wg.Wait()
		if n := src.count(partApplication); n != 2 {
			t.Errorf("100 requests for 2 apps made %d Gets, want 2", n)
		}
		if m := src.maxSeen.Load(); m > 2 {
			t.Errorf("%d calls to Argo CD in flight, want at most 2", m)
		}
		time.Sleep(14 * time.Second)
		get(t, h, "/api/v1/apps/argocd/stuck", token)
		if n := src.count(partApplication); n != 2 {
			t.Errorf("within the TTL: %d Gets, want 2", n)
		}
		time.Sleep(2 * time.Second)
		get(t, h, "/api/v1/apps/argocd/stuck", token)
		if n := src.count(partApplication); n != 3 {
			t.Errorf("after the TTL: %d Gets, want 3", n)
		}
	})
}

func TestNotFound(t *testing.T) {
	src := &fakeSource{fail: map[string]error{partApplication: &argocd.APIError{StatusCode: 404, Message: "not found"}}}
	a := newTestAPI(t, src, Config{Project: func(ns, name string) (string, bool) { return "demo", name != "unknown" }})
	if rec, _ := get(t, mux(a), "/api/v1/apps/argocd/unknown", token); rec.Code != 404 {
		t.Errorf("unknown to the poller: code %d, want 404", rec.Code)
	}
	if n := src.count(partApplication); n != 0 {
		t.Errorf("an app the poller does not know cost %d Gets", n)
	}
	if rec, _ := get(t, mux(a), "/api/v1/apps/argocd/gone", token); rec.Code != 404 {
		t.Errorf("Argo CD says 404: code %d, want 404", rec.Code)
	}
}

func TestCallerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{delay: map[string]time.Duration{partApplication: time.Second}}
		a := newTestAPI(t, src, Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/v1/apps/argocd/stuck", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		mux(a).ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("code %d, want 503", rec.Code)
		}
		// The fetch went on and filled the cache for the next caller.
		time.Sleep(2 * time.Second)
		if rec, _ := get(t, mux(a), "/api/v1/apps/argocd/stuck", token); rec.Code != 200 || src.count(partApplication) != 1 {
			t.Errorf("code %d, Gets %d", rec.Code, src.count(partApplication))
		}
	})
}

// BenchmarkCachedAnswers serves cached answers over loopback HTTP, as the
// bridge calls it (run with -cpu 2 for the 2-core figure).
func BenchmarkCachedAnswers(b *testing.B) {
	a := newTestAPI(b, &fakeSource{}, Config{CacheTTL: time.Hour})
	srv := httptest.NewServer(mux(a))
	defer srv.Close()
	for i := range 100 {
		get(b, mux(a), fmt.Sprintf("/api/v1/apps/argocd/app-%d", i), token)
	}
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.ReportAllocs()
	b.ResetTimer()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/apps/argocd/app-%d", srv.URL, i%100), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("code %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
}

// BenchmarkColdAnswers: 10 apps asked at once (the bridge's default --enrich.max-apps), each
// call to Argo CD taking 100 ms, nothing cached, default concurrency 4. Reports the slowest
// answer and how many answers were partial: all must come inside the 2s budget.
func BenchmarkColdAnswers(b *testing.B) {
	const lat = 100 * time.Millisecond
	src := &fakeSource{delay: map[string]time.Duration{partApplication: lat, partTree: lat, partEvents: lat, partRevision: lat}}
	var slowest time.Duration
	partial := 0
	b.ReportAllocs()
	for b.Loop() {
		a := newTestAPI(b, src, Config{}) // a fresh, cold cache
		h := mux(a)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				start := time.Now()
				_, ans := get(b, h, fmt.Sprintf("/api/v1/apps/argocd/app-%d", i), token)
				took := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				slowest = max(slowest, took)
				if ans == nil || len(ans.Errors) > 0 {
					partial++
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(slowest.Milliseconds()), "slowest-ms")
	b.ReportMetric(float64(partial), "partial-answers")
}
