package argocd_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

const testToken = "eyJhbGciOi.eyJzdWIiOiJtb25pdG9yIn0.c2lnbmF0dXJl"

func allFixtures() [][]byte {
	var items [][]byte
	for _, f := range argocdsim.AllFixtures {
		items = append(items, argocdsim.Fixture(f))
	}
	return items
}

func newClient(t *testing.T, url string, timeout time.Duration) (*argocd.Client, *prometheus.CounterVec) {
	t.Helper()
	reqs := argocd.NewRequestCounter(nil)
	cl, err := argocd.NewClient(argocd.Config{APIURL: url, Token: secret.Static(testToken), Timeout: timeout}, reqs)
	if err != nil {
		t.Fatal(err)
	}
	return cl, reqs
}

func TestParseAPIURL(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "https://argocd.example.com", want: "https://argocd.example.com/api/v1"},
		{in: "https://argocd.example.com/", want: "https://argocd.example.com/api/v1"},
		{in: "https://argocd.example.com/api/v1", want: "https://argocd.example.com/api/v1"},
		{in: "https://argocd.example.com/api/v1/", want: "https://argocd.example.com/api/v1"},
		{in: "http://10.0.0.1:8080/argocd", want: "http://10.0.0.1:8080/argocd/api/v1"},
		{in: "http://10.0.0.1:8080/argocd/api/v1?x=1", want: "http://10.0.0.1:8080/argocd/api/v1"},
		{in: "argocd.example.com", err: "scheme"},
		{in: "ftp://argocd.example.com", err: "scheme"},
		{in: "https://", err: "no host"},
		{in: "https://user:pw@argocd.example.com", err: "credentials"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			u, err := argocd.ParseAPIURL(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want containing %q", err, tc.err)
				}
				return
			}
			if err != nil || u.String() != tc.want {
				t.Fatalf("got %v, %v; want %s", u, err, tc.want)
			}
		})
	}
}

func byKey(apps []argocd.App) map[string]argocd.App {
	m := map[string]argocd.App{}
	for _, a := range apps {
		m[a.Key()] = a
	}
	return m
}

func TestListDecodesFixtures(t *testing.T) {
	rec := time.Date(2025, 1, 29, 8, 40, 0, 0, time.UTC)
	items := allFixtures()
	// Real List items carry reconciledAt, health transition times and
	// annotations; the fixtures lack them, so add some.
	items[1] = argocdsim.Patch(items[1], map[string]any{
		"status.reconciledAt":              rec.Format(time.RFC3339),
		"status.health.lastTransitionTime": "2025-01-29T08:30:00Z",
		"metadata.annotations": map[string]any{
			"argocd-monitor.io/auto-sync":                      "false",
			"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 4096),
		},
		"status.resources": []any{map[string]any{"kind": "Deployment", "name": "web", "status": "OutOfSync"}},
	})
	srv := argocdsim.NewServer(testToken, items...)
	defer srv.Close()

	for _, tc := range []struct {
		name     string
		opts     argocd.ListOptions
		detailed map[string]bool
	}{
		{name: "full", opts: argocd.ListOptions{}, detailed: map[string]bool{
			"argocd/my-app-2": true, "argocd/my-app-4": true, "argocd/my-app": true, "fake-argocd-ns/my-app": true}},
		{name: "projected", opts: argocd.ListOptions{Fields: argocd.ProjectedFields}, detailed: map[string]bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, reqs := newClient(t, srv.URL+"/api/v1/", time.Minute)
			apps, err := cl.List(context.Background(), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(apps) != 4 {
				t.Fatalf("got %d apps, want 4", len(apps))
			}
			m := byKey(apps)
			a2 := m["argocd/my-app-2"]
			if a2.Project != "important-project" || a2.Health != argocd.HealthHealthy || a2.Sync != argocd.SyncSynced ||
				!a2.AutoSync || !a2.OperationInProgress || a2.DestServer != "cluster1" || a2.DestNamespace != "dummy-namespace" ||
				a2.Repo != "https://github.com/argoproj/argocd-example-apps.git" || a2.Labels["team-name"] != "my-team" {
				t.Errorf("my-app-2 = %+v", a2)
			}
			a4 := m["argocd/my-app-4"]
			if a4.Health != argocd.HealthDegraded || a4.Sync != argocd.SyncOutOfSync || a4.AutoSync || a4.OperationInProgress {
				t.Errorf("my-app-4 = %+v", a4)
			}
			if got := a4.HealthTransition; !got.Equal(time.Date(2025, 1, 29, 8, 30, 0, 0, time.UTC)) {
				t.Errorf("my-app-4 health transition = %v", got)
			}
			if len(a4.Annotations) != 1 || a4.Annotations["argocd-monitor.io/auto-sync"] != "false" {
				t.Errorf("my-app-4 annotations = %v, want only the argocd-monitor.io one", a4.Annotations)
			}
			if tc.name == "full" {
				if a4.Conditions["ExcludedResourceWarning"] != 2 || a4.Conditions["OrphanedResourceWarning"] != 1 {
					t.Errorf("my-app-4 conditions = %v", a4.Conditions)
				}
				if !a4.ReconciledAt.Equal(rec) {
					t.Errorf("my-app-4 reconciledAt = %v", a4.ReconciledAt)
				}
			} else if a4.Conditions != nil || !a4.ReconciledAt.IsZero() {
				t.Errorf("projected my-app-4 has unprojectable fields: %+v", a4)
			}
			run := m["argocd/my-app"]
			if run.Operation == nil || run.Operation.Phase != argocd.PhaseRunning ||
				!run.Operation.StartedAt.Equal(time.Date(2025, 1, 29, 8, 42, 34, 0, time.UTC)) {
				t.Errorf("my-app operation = %+v", run.Operation)
			}
			ok := m["fake-argocd-ns/my-app"]
			if ok.Operation == nil || ok.Operation.Phase != argocd.PhaseSucceeded || !ok.AutoSync ||
				ok.DestServer != "https://localhost:6443" || ok.Health != argocd.HealthUnknown || ok.Sync != argocd.SyncUnknown {
				t.Errorf("fake-argocd-ns/my-app = %+v op %+v", ok, ok.Operation)
			}
			if want := map[bool]string{true: "successfully synced", false: ""}[tc.name == "full"]; ok.Operation.Message != want {
				t.Errorf("operation message = %q, want %q", ok.Operation.Message, want)
			}
			for k, a := range m {
				if a.Detailed != tc.detailed[k] {
					t.Errorf("%s: Detailed = %v, want %v", k, a.Detailed, tc.detailed[k])
				}
			}
			if got := testutil.ToFloat64(reqs.WithLabelValues("list", "200")); got != 1 {
				t.Errorf("list 200 counted %v times", got)
			}
		})
	}
	// The request itself: bearer token, fields projection, path.
	r := srv.Requests()[1]
	if r.Path != "/api/v1/applications" || r.Authorization != "Bearer "+testToken ||
		!strings.Contains(r.Query["fields"][0], "items.status.health") {
		t.Errorf("projected list request = %+v", r)
	}
}

func TestListQuery(t *testing.T) {
	srv := argocdsim.NewServer(testToken)
	defer srv.Close()
	cl, _ := newClient(t, srv.URL, time.Minute)
	apps, err := cl.List(context.Background(), argocd.ListOptions{Selector: "team=a,tier!=db", Projects: []string{"p1", "p2"}})
	if err != nil || len(apps) != 0 {
		t.Fatalf("empty list: %v, %v", apps, err)
	}
	q := srv.Requests()[0].Query
	if q.Get("selector") != "team=a,tier!=db" || strings.Join(q["projects"], ",") != "p1,p2" || q.Has("fields") {
		t.Errorf("query = %v", q)
	}
}

func TestListFaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     argocdsim.Fault
		code      string
		retryable bool
		check     func(error) bool
		cause     string
		timeout   time.Duration // of the client; only the timeout case is about time
	}{
		{name: "500", fault: argocdsim.Fault{Status: 500, Message: "rpc error: internal"}, code: "500", retryable: true,
			check: func(err error) bool { var ae *argocd.APIError; return errors.As(err, &ae) && ae.StatusCode == 500 }, cause: "server error"},
		{name: "503", fault: argocdsim.Fault{Status: 503, Message: "unavailable"}, code: "503", retryable: true,
			check: func(err error) bool { return !argocd.IsForbidden(err) }, cause: "server error"},
		{name: "401", fault: argocdsim.Fault{Status: 401, Message: "invalid session: token is expired"}, code: "401",
			check: argocd.IsUnauthorized, cause: "token expired or wrong"},
		{name: "403", fault: argocdsim.Fault{Status: 403, Message: "permission denied"}, code: "403",
			check: argocd.IsForbidden, cause: "applications, get"},
		{name: "truncated", fault: argocdsim.Fault{Truncate: true}, code: "error", retryable: true,
			check: func(err error) bool { return errors.Is(err, argocd.ErrMalformedResponse) }, cause: "malformed"},
		{name: "not json", fault: argocdsim.Fault{Body: "<html>login</html>"}, code: "error", retryable: true,
			check: func(err error) bool { return errors.Is(err, argocd.ErrMalformedResponse) }, cause: "malformed"},
		{name: "slow", fault: argocdsim.Fault{Delay: time.Minute}, code: "timeout", retryable: true,
			check: argocd.IsTimeout, cause: "timeout", timeout: 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := argocdsim.NewServer(testToken, allFixtures()...)
			defer srv.Close()
			srv.SetFaults(tc.fault)
			timeout := cmp.Or(tc.timeout, time.Minute)
			cl, reqs := newClient(t, srv.URL, timeout)
			apps, err := cl.List(context.Background(), argocd.ListOptions{})
			if err == nil || apps != nil {
				t.Fatalf("List = %d apps, %v; want an error and no apps", len(apps), err)
			}
			if !tc.check(err) {
				t.Errorf("error %v not classified as expected", err)
			}
			if argocd.IsRetryable(err) != tc.retryable {
				t.Errorf("IsRetryable(%v) = %v", err, !tc.retryable)
			}
			if c := argocd.Cause(err); !strings.Contains(c, tc.cause) {
				t.Errorf("Cause = %q, want it to mention %q", c, tc.cause)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), srv.URL) {
				t.Errorf("error leaks token or URL: %v", err)
			}
			if got := testutil.ToFloat64(reqs.WithLabelValues("list", tc.code)); got != 1 {
				t.Errorf("api_requests_total{endpoint=list,code=%s} = %v, want 1", tc.code, got)
			}
		})
	}
}

func TestGet(t *testing.T) {
	srv := argocdsim.NewServer(testToken, allFixtures()...)
	defer srv.Close()
	cl, reqs := newClient(t, srv.URL, time.Minute)
	a, err := cl.Get(context.Background(), "my-app-4", "argocd", "important-project")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Detailed || a.Conditions["ExcludedResourceWarning"] != 2 {
		t.Errorf("Get = %+v", a)
	}
	q := srv.Requests()[0].Query
	if q.Get("appNamespace") != "argocd" || q.Get("project") != "important-project" {
		t.Errorf("query = %v", q)
	}
	_, err = cl.Get(context.Background(), "gone", "argocd", "important-project")
	if !argocd.IsNotFound(err) {
		t.Errorf("missing app: %v, want 404", err)
	}
	if testutil.ToFloat64(reqs.WithLabelValues("get", "200")) != 1 || testutil.ToFloat64(reqs.WithLabelValues("get", "404")) != 1 {
		t.Error("get requests not counted by code")
	}
}

func TestSync(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		msg    string
		check  func(error) bool
		code   string
		retry  bool
	}{
		{name: "accepted", check: func(err error) bool { return err == nil }, code: "200"},
		{name: "in progress", status: 400, msg: "another operation is already in progress",
			check: func(err error) bool { return errors.Is(err, argocd.ErrOperationInProgress) }, code: "400"},
		{name: "deleting", status: 400, msg: "application is deleting",
			check: func(err error) bool { return errors.Is(err, argocd.ErrAppDeleting) }, code: "400"},
		{name: "rbac", status: 403, msg: "permission denied: applications, sync, important-project/my-app-4, sub: argocd-monitor",
			check: argocd.IsForbidden, code: "403"},
		{name: "sync window", status: 403, msg: "cannot sync: blocked by sync window",
			check: argocd.IsForbidden, code: "403"},
		{name: "other 400", status: 400, msg: "application spec is invalid",
			check: func(err error) bool {
				var ae *argocd.APIError
				return errors.As(err, &ae) && ae.StatusCode == 400 && !errors.Is(err, argocd.ErrOperationInProgress) && !errors.Is(err, argocd.ErrAppDeleting)
			}, code: "400"},
		{name: "500", status: 500, msg: "boom", check: func(err error) bool { return err != nil }, code: "500", retry: true},
		{name: "echoed token", status: 500, msg: "bad token " + testToken,
			check: func(err error) bool { return err != nil && !strings.Contains(err.Error(), testToken) }, code: "500", retry: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := argocdsim.NewServer(testToken, allFixtures()...)
			defer srv.Close()
			if tc.status != 0 {
				srv.SetFaults(argocdsim.Fault{Endpoint: "sync", Status: tc.status, Message: tc.msg})
			}
			cl, reqs := newClient(t, srv.URL, time.Minute)
			err := cl.Sync(context.Background(), argocd.SyncRequest{Name: "my-app-4", AppNamespace: "argocd", Project: "important-project", Prune: true})
			if !tc.check(err) {
				t.Fatalf("Sync error %v not as expected", err)
			}
			if argocd.IsRetryable(err) != tc.retry {
				t.Errorf("IsRetryable = %v", !tc.retry)
			}
			r := srv.Requests()[0]
			if r.Method != http.MethodPost || r.Path != "/api/v1/applications/my-app-4/sync" || r.ContentType != "application/json" {
				t.Errorf("request = %s %s %q", r.Method, r.Path, r.ContentType)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"project": "important-project", "prune": true, "appNamespace": "argocd"}
			if len(body) != len(want) || body["project"] != want["project"] || body["prune"] != true || body["appNamespace"] != "argocd" {
				t.Errorf("body = %s, want exactly %v", r.Body, want)
			}
			if got := testutil.ToFloat64(reqs.WithLabelValues("sync", tc.code)); got != 1 {
				t.Errorf("sync %s counted %v", tc.code, got)
			}
		})
	}
}

func TestSyncTimeoutIsRetryable(t *testing.T) {
	srv := argocdsim.NewServer(testToken, allFixtures()...)
	defer srv.Close()
	srv.SetFaults(argocdsim.Fault{Endpoint: "sync", Delay: time.Minute})
	cl, reqs := newClient(t, srv.URL, 100*time.Millisecond)
	err := cl.Sync(context.Background(), argocd.SyncRequest{Name: "my-app-4", Project: "important-project"})
	if !argocd.IsTimeout(err) || !argocd.IsRetryable(err) || argocd.IsForbidden(err) {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
	if got := testutil.ToFloat64(reqs.WithLabelValues("sync", "timeout")); got != 1 {
		t.Errorf("sync timeout counted %v", got)
	}
}

func TestCanceledIsNotRetryableNorCounted(t *testing.T) {
	srv := argocdsim.NewServer(testToken, allFixtures()...)
	defer srv.Close()
	srv.SetFaults(argocdsim.Fault{Delay: time.Minute})
	cl, reqs := newClient(t, srv.URL, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := cl.List(ctx, argocd.ListOptions{})
	if !errors.Is(err, context.Canceled) || argocd.IsRetryable(err) {
		t.Fatalf("err = %v", err)
	}
	if n := testutil.CollectAndCount(reqs); n != 0 {
		t.Errorf("%d series counted for a canceled request", n)
	}
}

// TerminateOperation against the simulator, which like Argo CD answers 415 to a DELETE without
// Content-Type: application/json and 400 when no operation runs.
func TestTerminateOperation(t *testing.T) {
	sim, err := argocdsim.New(argocdsim.Config{Token: testToken, SyncPickup: -1, SyncDuration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	hang := argocdsim.OutcomeHang
	if err := sim.SetState(argocdsim.AppStuck, argocdsim.ControlState{OnSync: &hang}); err != nil {
		t.Fatal(err)
	}
	cl, reqs := newClient(t, srv.URL, time.Minute)
	ref := argocd.AppRef{Name: argocdsim.AppStuck, AppNamespace: argocdsim.Namespace, Project: argocdsim.ScenarioProject}
	ctx := context.Background()
	if err := cl.TerminateOperation(ctx, ref); err == nil || !strings.Contains(err.Error(), "No operation is in progress") {
		t.Fatalf("terminate without an operation: %v", err)
	}
	if err := cl.Sync(ctx, argocd.SyncRequest{Name: ref.Name, AppNamespace: ref.AppNamespace, Project: ref.Project}); err != nil {
		t.Fatal(err)
	}
	if err := cl.TerminateOperation(ctx, ref); err != nil {
		t.Fatalf("terminate: %v", err)
	}
	if got := sim.SyncCounts()[argocdsim.AppStuck].Terminated; got != 1 {
		t.Fatalf("terminated %d, want 1", got)
	}
	if got := testutil.ToFloat64(reqs.WithLabelValues("terminate", "200")); got != 1 {
		t.Errorf("requests{terminate,200} = %v", got)
	}
	if got := testutil.ToFloat64(reqs.WithLabelValues("terminate", "400")); got != 1 {
		t.Errorf("requests{terminate,400} = %v", got)
	}
}

// HardRefresh is a Get with refresh=hard; the answer is the app reconciled by it.
func TestHardRefresh(t *testing.T) {
	sim, err := argocdsim.New(argocdsim.Config{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	cl, reqs := newClient(t, srv.URL, time.Minute)
	before := time.Now().Truncate(time.Second)
	app, err := cl.HardRefresh(context.Background(), argocd.AppRef{Name: argocdsim.AppStuck, AppNamespace: argocdsim.Namespace, Project: argocdsim.ScenarioProject})
	if err != nil {
		t.Fatal(err)
	}
	if app.Name != argocdsim.AppStuck || app.ReconciledAt.Before(before) {
		t.Fatalf("answer %s reconciled at %v, want at or after %v", app.Name, app.ReconciledAt, before)
	}
	reqsSeen := sim.Requests()
	if last := reqsSeen[len(reqsSeen)-1]; last.Query.Get("refresh") != "hard" {
		t.Fatalf("request %+v, want refresh=hard", last)
	}
	if got := testutil.ToFloat64(reqs.WithLabelValues("refresh", "200")); got != 1 {
		t.Errorf("requests{refresh,200} = %v", got)
	}
}

// Rollback against the simulator: the body always names id (0 included), the app then runs the
// history entry's revision, Healthy and OutOfSync against its target; auto-sync apps and
// unknown ids are refused.
func TestRollback(t *testing.T) {
	sim, err := argocdsim.New(argocdsim.Config{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	cl, reqs := newClient(t, srv.URL, time.Minute)
	ctx := context.Background()
	ref := argocd.AppRef{Name: argocdsim.AppStuck, AppNamespace: argocdsim.Namespace, Project: argocdsim.ScenarioProject}
	before, err := cl.GetDetail(ctx, ref.Name, ref.AppNamespace, ref.Project)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.History) == 0 {
		t.Fatal("no history")
	}
	good := before.History[len(before.History)-1]
	if good.Revisions[0] == before.Revisions[0] {
		t.Fatalf("the stuck app's target %s is its last deployed revision", before.Revisions[0])
	}
	tests := []struct {
		name    string
		ref     argocd.AppRef
		id      int64
		wantErr string
	}{
		{"unknown id", ref, 9999, "does not have deployment with id 9999"},
		{"auto-sync", argocd.AppRef{Name: argocdsim.AppAutomated, AppNamespace: argocdsim.Namespace, Project: argocdsim.ScenarioProject}, good.ID, "auto-sync is enabled"},
		{"ok", ref, good.ID, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := cl.Rollback(ctx, tc.ref, tc.id)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	after, err := cl.GetDetail(ctx, ref.Name, ref.AppNamespace, ref.Project)
	if err != nil {
		t.Fatal(err)
	}
	if after.Sync != argocd.SyncOutOfSync || after.Health != argocd.HealthHealthy {
		t.Errorf("after rollback: %s/%s, want OutOfSync/Healthy", after.Sync, after.Health)
	}
	if after.Operation == nil || after.Operation.Phase != argocd.PhaseSucceeded || len(after.Operation.Revisions) == 0 || after.Operation.Revisions[0] != good.Revisions[0] {
		t.Errorf("operation after rollback = %+v, want Succeeded at %s", after.Operation, good.Revisions[0])
	}
	// A whole Application carries status.history: App keeps its newest entry.
	app, err := cl.HardRefresh(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	newest := after.History[len(after.History)-1]
	if !app.HasHistory || app.HistoryID != newest.ID || app.HistoryRevision != good.Revisions[0] || newest.ID != good.ID+1 {
		t.Errorf("app history: has %v id %d revision %s; want id %d (after %d) at %s", app.HasHistory, app.HistoryID, app.HistoryRevision,
			newest.ID, good.ID, good.Revisions[0])
	}
	if got := sim.SyncCounts()[argocdsim.AppStuck].RolledBack; got != 1 {
		t.Errorf("rolled back %d times, want 1", got)
	}
	if got := testutil.ToFloat64(reqs.WithLabelValues("rollback", "200")); got != 1 {
		t.Errorf("requests{rollback,200} = %v", got)
	}
}

// The rollback body always carries id, also 0: Argo CD v3.5 answers 500 without it.
func TestRollbackRequestKeepsIDZero(t *testing.T) {
	b, err := json.Marshal(argocd.RollbackRequest{ID: 0})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"id":0}` {
		t.Fatalf("body = %s, want {\"id\":0}", b)
	}
}

// Manifests against the simulator: a commit elsewhere in the repository leaves the app's
// manifests as they were; a commit to its own path changes them.
func TestManifests(t *testing.T) {
	sim, err := argocdsim.New(argocdsim.Config{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	cl, reqs := newClient(t, srv.URL, time.Minute)
	ctx := context.Background()
	ref := argocd.AppRef{Name: argocdsim.AppStuck, AppNamespace: argocdsim.Namespace, Project: argocdsim.ScenarioProject}
	bad, err := cl.Manifests(ctx, ref, "")
	if err != nil || len(bad) == 0 {
		t.Fatalf("manifests: %v %v", bad, err)
	}
	yes, no := true, false
	for _, tc := range []struct {
		rev     string
		own     *bool
		changed bool
	}{
		{"1111111111111111111111111111111111111111", nil, false},
		{"2222222222222222222222222222222222222222", &no, false},
		{"3333333333333333333333333333333333333333", &yes, true},
	} {
		rev := tc.rev
		if err := sim.SetState(argocdsim.AppStuck, argocdsim.ControlState{Revision: &rev, OwnChange: tc.own}); err != nil {
			t.Fatal(err)
		}
		got, err := cl.Manifests(ctx, ref, rev)
		if err != nil {
			t.Fatal(err)
		}
		if changed := !slices.Equal(got, bad); changed != tc.changed {
			t.Errorf("revision %s: manifests changed %v, want %v", rev[:7], changed, tc.changed)
		}
	}
	if got := testutil.ToFloat64(reqs.WithLabelValues("manifests", "200")); got != 4 {
		t.Errorf("requests{manifests,200} = %v, want 4", got)
	}
}
