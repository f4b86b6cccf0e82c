package poller_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

const token = "eyJhbGciOi.eyJzdWIiOiJtb25pdG9yIn0.c2lnbmF0dXJl"

type observer struct {
	mu    sync.Mutex
	calls []observation
}

type observation struct {
	apps []argocd.App
	now  time.Time
}

func (o *observer) Observe(_ context.Context, apps []argocd.App, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, observation{apps, now})
}

func (o *observer) Calls() []observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]observation(nil), o.calls...)
}

func fixtures() [][]byte {
	var items [][]byte
	for _, f := range argocdsim.AllFixtures {
		items = append(items, argocdsim.Fixture(f))
	}
	return items
}

type harness struct {
	srv    *argocdsim.Server
	client *argocd.Client
	p      *poller.Poller
	obs    *observer
	logs   *bytes.Buffer
}

func newHarness(t *testing.T, projected bool, items ...[]byte) *harness {
	t.Helper()
	return newHarnessTimeout(t, projected, time.Minute, items...)
}

// newHarnessTimeout takes the client's timeout: short only in tests about it.
func newHarnessTimeout(t *testing.T, projected bool, timeout time.Duration, items ...[]byte) *harness {
	t.Helper()
	srv := argocdsim.NewServer(token, items...)
	t.Cleanup(srv.Close)
	cl, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: secret.Static(token), Timeout: timeout}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{srv: srv, client: cl, obs: &observer{}, logs: &bytes.Buffer{}}
	h.p = poller.New(poller.Config{
		Client:     cl,
		Projected:  projected,
		Interval:   30 * time.Second,
		StaleAfter: 5 * time.Minute,
		Observer:   h.obs,
		Logger:     slog.New(slog.NewTextHandler(&lockedWriter{w: h.logs}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	return h
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func keys(apps []argocd.App) string {
	var k []string
	for _, a := range apps {
		k = append(k, a.Key())
	}
	return strings.Join(k, " ")
}

func TestPollSnapshotAndObserver(t *testing.T) {
	h := newHarness(t, false, fixtures()...)
	if s := h.p.Snapshot(); s.Up || s.Attempted || s.Apps != nil || h.p.Ready() {
		t.Fatalf("before the first poll: %+v", s)
	}
	if err := h.p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := h.p.Snapshot()
	if !s.Up || !s.Attempted || !h.p.Ready() || s.LastSuccess.IsZero() || len(s.Apps) != 4 {
		t.Fatalf("after a good poll: %+v", s)
	}
	calls := h.obs.Calls()
	if len(calls) != 1 || len(calls[0].apps) != 4 || !calls[0].now.Equal(s.LastSuccess) {
		t.Fatalf("observer calls = %+v", calls)
	}

	// An app deleted in Argo CD vanishes on the next successful poll.
	if err := h.srv.SetItems(argocdsim.Fixture(argocdsim.DegradedOutOfSync)); err != nil {
		t.Fatal(err)
	}
	if err := h.p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := keys(h.p.Snapshot().Apps); got != "argocd/my-app-4" {
		t.Errorf("after deletion: %s", got)
	}
	if n := len(h.obs.Calls()); n != 2 {
		t.Errorf("observer called %d times, want 2", n)
	}
}

func TestFaultsKeepSnapshotAndLogOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   argocdsim.Fault
		cause   string
		timeout time.Duration // of the client; only the timeout case is about time
	}{
		{"500", argocdsim.Fault{Status: 500, Message: "internal"}, "server error (500)", time.Minute},
		{"401", argocdsim.Fault{Status: 401, Message: "invalid session: token is expired"}, "token expired or wrong", time.Minute},
		{"403", argocdsim.Fault{Status: 403, Message: "permission denied"}, "applications, get", time.Minute},
		{"truncated", argocdsim.Fault{Truncate: true}, "malformed or truncated JSON", time.Minute},
		{"slow", argocdsim.Fault{Delay: time.Minute}, "timeout", 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessTimeout(t, false, tc.timeout, fixtures()...)
			ctx := context.Background()
			if err := h.p.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			good := h.p.Snapshot()

			h.srv.SetFaults(tc.fault)
			for range 3 {
				if err := h.p.Poll(ctx); err == nil {
					t.Fatal("poll succeeded against a failing server")
				}
			}
			s := h.p.Snapshot()
			if s.Up {
				t.Error("Up after a failed poll")
			}
			if keys(s.Apps) != keys(good.Apps) || !s.LastSuccess.Equal(good.LastSuccess) {
				t.Errorf("snapshot not kept: %s, last success %v", keys(s.Apps), s.LastSuccess)
			}
			if n := len(h.obs.Calls()); n != 1 {
				t.Errorf("observer called %d times, want 1 (failed polls are not observed)", n)
			}
			logs := h.logs.String()
			if n := strings.Count(logs, "Argo CD API unavailable"); n != 1 {
				t.Errorf("outage logged %d times, want once:\n%s", n, logs)
			}
			if !strings.Contains(logs, tc.cause) {
				t.Errorf("log lacks the cause %q:\n%s", tc.cause, logs)
			}
			if strings.Contains(logs, token) {
				t.Error("token in the logs")
			}

			h.srv.SetFaults()
			if err := h.p.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			if !h.p.Snapshot().Up || !strings.Contains(h.logs.String(), "Argo CD API reachable again") {
				t.Errorf("recovery not seen or not logged:\n%s", h.logs.String())
			}
		})
	}
}

func TestCauseChangeIsLoggedAgain(t *testing.T) {
	h := newHarness(t, false, fixtures()...)
	ctx := context.Background()
	h.srv.SetFaults(argocdsim.Fault{Status: 500})
	_ = h.p.Poll(ctx)
	_ = h.p.Poll(ctx)
	h.srv.SetFaults(argocdsim.Fault{Status: 401})
	_ = h.p.Poll(ctx)
	if n := strings.Count(h.logs.String(), "Argo CD API unavailable"); n != 2 {
		t.Errorf("logged %d times, want 2 (first failure, then a new cause):\n%s", n, h.logs.String())
	}
	if !h.p.Ready() || h.p.Snapshot().Up {
		t.Error("a failed first poll must make the exporter ready with api down")
	}
}

// flakyClient is an in-memory Client whose List fails while err is set.
type flakyClient struct {
	mu   sync.Mutex
	apps []argocd.App
	err  error
}

func (c *flakyClient) setErr(err error) { c.mu.Lock(); defer c.mu.Unlock(); c.err = err }

func (c *flakyClient) List(context.Context, argocd.ListOptions) ([]argocd.App, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	return c.apps, nil
}

func (c *flakyClient) Get(context.Context, string, string, string) (argocd.App, error) {
	return argocd.App{}, errors.New("not used")
}

// TestStaleSnapshotIsDropped runs on synctest's clock: the outage lasts
// minutes of fake time.
func TestStaleSnapshotIsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl := &flakyClient{apps: []argocd.App{{Namespace: "argocd", Name: "a"}, {Namespace: "argocd", Name: "b"}}}
		logs := &lockedWriter{w: &bytes.Buffer{}}
		p := poller.New(poller.Config{Client: cl, StaleAfter: 5 * time.Minute,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
		ctx := context.Background()
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		cl.setErr(&argocd.APIError{StatusCode: 503, Message: "unavailable"})
		time.Sleep(4 * time.Minute)
		_ = p.Poll(ctx)
		if n := len(p.Snapshot().Apps); n != 2 {
			t.Fatalf("4m into an outage: %d apps, want the last good 2", n)
		}
		time.Sleep(61 * time.Second)
		_ = p.Poll(ctx)
		s := p.Snapshot()
		if s.Apps != nil || s.Up || s.LastSuccess.IsZero() {
			t.Fatalf("past stale-after: %+v", s)
		}
		if !strings.Contains(logs.String(), "older than the stale-after limit") {
			t.Errorf("staleness not logged:\n%s", logs.String())
		}
		cl.setErr(nil)
		if err := p.Poll(ctx); err != nil || len(p.Snapshot().Apps) != 2 {
			t.Fatalf("recovery: %v", err)
		}
	})
}

// TestRunPollsEveryInterval: Run polls at once, then once per interval.
func TestRunPollsEveryInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		obs := &observer{}
		p := poller.New(poller.Config{Client: &flakyClient{}, Interval: 30 * time.Second, Observer: obs})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.Run(ctx); close(done) }()
		time.Sleep(95 * time.Second)
		synctest.Wait()
		if n := len(obs.Calls()); n != 4 {
			t.Errorf("%d polls in 95s, want 4 (0s, 30s, 60s, 90s)", n)
		}
		cancel()
		<-done
	})
}

func TestProjectedFetchesDetailOnlyWhereNeeded(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ignore bool
		gets   int
	}{
		// my-app-2 is Synced and Healthy: no Get. The three others need detail.
		{"server projects", false, 3},
		{"server ignores fields", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, true, fixtures()...)
			h.srv.IgnoreFields(tc.ignore)
			if err := h.p.Poll(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := h.srv.Count("get"); n != tc.gets {
				t.Errorf("%d Gets, want %d", n, tc.gets)
			}
			apps := map[string]argocd.App{}
			for _, a := range h.p.Snapshot().Apps {
				apps[a.Key()] = a
			}
			if a := apps["argocd/my-app-4"]; !a.Detailed || a.Conditions["ExcludedResourceWarning"] != 2 {
				t.Errorf("degraded app lacks detail: %+v", a)
			}
			if a := apps["fake-argocd-ns/my-app"]; a.Operation == nil || a.Operation.Message != "successfully synced" {
				t.Errorf("operation message missing: %+v", a.Operation)
			}
			if a := apps["argocd/my-app-2"]; a.Detailed != tc.ignore || !a.OperationInProgress {
				t.Errorf("healthy app: %+v", a)
			}
			for _, r := range h.srv.Requests() {
				if r.Path == "/api/v1/applications" && !strings.Contains(r.Query.Get("fields"), "items.status.health") {
					t.Errorf("list without projection: %v", r.Query)
				}
			}
		})
	}
}

func TestManyNeedingDetailMeansOneWholeList(t *testing.T) {
	h := newHarness(t, true, fixtures()...)
	h.p = poller.New(poller.Config{Client: h.client, Projected: true, MaxDetailGets: 2})
	if err := h.p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if g, l := h.srv.Count("get"), h.srv.Count("list"); g != 0 || l != 2 {
		t.Errorf("%d Gets and %d Lists, want 0 and 2 (projected, then whole)", g, l)
	}
	for _, a := range h.p.Snapshot().Apps {
		if !a.Detailed {
			t.Errorf("%s not detailed", a.Key())
		}
	}
	if r := h.srv.Requests()[1]; r.Query.Has("fields") {
		t.Errorf("second List still projected: %v", r.Query)
	}
}

func TestProjectedDetailFailures(t *testing.T) {
	t.Run("404 keeps the projected app", func(t *testing.T) {
		h := newHarness(t, true, fixtures()...)
		h.srv.SetFaults(argocdsim.Fault{Endpoint: "get", Status: 404, Message: "not found"})
		if err := h.p.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := len(h.p.Snapshot().Apps); n != 4 {
			t.Errorf("%d apps", n)
		}
	})
	t.Run("500 fails the poll and keeps the old snapshot", func(t *testing.T) {
		h := newHarness(t, true, fixtures()...)
		if err := h.p.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		h.srv.SetFaults(argocdsim.Fault{Endpoint: "get", Status: 500})
		if err := h.p.Poll(context.Background()); err == nil {
			t.Fatal("poll succeeded")
		}
		if s := h.p.Snapshot(); s.Up || len(s.Apps) != 4 {
			t.Errorf("snapshot: up %v, %d apps", s.Up, len(s.Apps))
		}
	})
}

// countingClient serves n unhealthy projected apps and records how many Gets
// run at once.
type countingClient struct {
	n             int
	inFlight, max atomic.Int32
}

func (c *countingClient) List(context.Context, argocd.ListOptions) ([]argocd.App, error) {
	apps := make([]argocd.App, c.n)
	for i := range apps {
		apps[i] = argocd.App{Namespace: "argocd", Name: fmt.Sprint("app-", i), Health: argocd.HealthDegraded, Sync: argocd.SyncOutOfSync}
	}
	return apps, nil
}

func (c *countingClient) Get(_ context.Context, name, ns, _ string) (argocd.App, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(time.Millisecond)
	return argocd.App{Namespace: ns, Name: name, Health: argocd.HealthDegraded, Detailed: true}, nil
}

// TestDetailConcurrencyIsBounded: on synctest's clock every Get takes the
// same millisecond, so the bound is reached exactly, never passed.
func TestDetailConcurrencyIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cl := &countingClient{n: 60}
		p := poller.New(poller.Config{Client: cl, Projected: true, DetailConcurrency: 3})
		if err := p.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		if m := cl.max.Load(); m != 3 {
			t.Errorf("max concurrent Gets = %d, want 3", m)
		}
		for _, a := range p.Snapshot().Apps {
			if !a.Detailed {
				t.Fatalf("%s not detailed", a.Key())
			}
		}
	})
}

func TestRunStopsWithContext(t *testing.T) {
	h := newHarness(t, false, fixtures()...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.p.Run(ctx); close(done) }()
	deadline := time.After(time.Minute)
	for !h.p.Ready() {
		select {
		case <-deadline:
			t.Fatal("first poll never finished")
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after cancel")
	}
}

// TestProjectedListKeepsApplicationSetParent: Argo CD's List `fields` whitelist has no
// metadata.ownerReferences, so a projected List never names an app's ApplicationSet; the
// snapshot keeps what a whole object said (here a List whose server ignored the projection; the
// stream and Get in production) instead of dropping the parent label on every poll.
func TestProjectedListKeepsApplicationSetParent(t *testing.T) {
	owned := argocdsim.Patch(argocdsim.Fixture(argocdsim.AllFixtures[0]), map[string]any{
		"metadata.ownerReferences": []any{map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "name": "shop-set"}},
	})
	parentOf := func(h *harness) string {
		for _, a := range h.p.Snapshot().Apps {
			if a.ParentKind == argocd.ParentApplicationSet {
				return a.Parent
			}
		}
		return ""
	}
	h := newHarness(t, true, owned)
	h.srv.IgnoreFields(true)
	if err := h.p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := parentOf(h); got != "shop-set" {
		t.Fatalf("whole object: parent %q", got)
	}
	h.srv.IgnoreFields(false)
	if err := h.p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := parentOf(h); got != "shop-set" {
		t.Fatalf("after a projected List: parent %q, want it kept", got)
	}

	fresh := newHarness(t, true, owned)
	if err := fresh.p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := parentOf(fresh); got != "" {
		t.Fatalf("a projected List alone named the ApplicationSet %q: the whitelist has no ownerReferences", got)
	}
}
