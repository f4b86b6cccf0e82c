package watch_test

import (
	"context"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/collector"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/watch"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
	"github.com/prometheus/client_golang/prometheus"
)

const testToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtb25pdG9yIn0.c2lnbmF0dXJl"

type env struct {
	client  *argocd.Client
	logs    *logLines
	sim     *argocdsim.Sim
	poller  *poller.Poller
	watcher *watch.Watcher
	cancel  context.CancelFunc
	done    chan struct{}
}

const (
	pollInterval = 30 * time.Second
	resync       = 10 * time.Minute
	stall        = 45 * time.Second
)

// start runs a simulator with filler apps app-00001..app-00003, with the
// faults given, and a watcher against it, all inside the calling synctest
// bubble (the simulator served in memory).
func start(t *testing.T, faults ...argocdsim.Fault) *env { return startWith(t, nil, faults...) }

// startWith is start with a remediation engine (made with the watcher's
// client) observing the snapshot.
func startWith(t *testing.T, newEngine func(*argocd.Client) *remediate.Engine, faults ...argocdsim.Fault) *env {
	t.Helper()
	sim, err := argocdsim.New(argocdsim.Config{Token: testToken, Apps: 3, NoScenario: true})
	if err != nil {
		t.Fatal(err)
	}
	sim.SetFaults(faults...)
	pipe := sim.ServePipe()
	cl, err := argocd.NewClient(argocd.Config{APIURL: argocdsim.PipeURL, Token: secret.Static(testToken), DialContext: pipe.DialContext}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var engine *remediate.Engine
	if newEngine != nil {
		engine = newEngine(cl)
	}
	pc := poller.Config{Client: cl, Projected: true, Interval: pollInterval}
	wc := watch.Config{Client: cl, Projected: true, ResyncInterval: resync, PollInterval: pollInterval, StallTimeout: stall}
	if engine != nil {
		pc.Observer, wc.Due = engine, engine
	}
	p := poller.New(pc)
	logs := &logLines{}
	wc.Poller, wc.Logger = p, slog.New(logs)
	w := watch.New(wc)
	ctx, cancel := context.WithCancel(context.Background())
	e := &env{client: cl, logs: logs, sim: sim, poller: p, watcher: w, cancel: cancel, done: make(chan struct{})}
	go func() { w.Run(ctx); close(e.done) }()
	t.Cleanup(func() {
		cancel()
		<-e.done
		if engine != nil {
			engine.Close()
		}
		_ = pipe.Close()
	})
	synctest.Wait()
	return e
}

// logLines records the messages logged at info and above.
type logLines struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logLines) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= slog.LevelInfo }

func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}

func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }

func (l *logLines) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

func (e *env) app(name string) (argocd.App, bool) {
	for _, a := range e.poller.Snapshot().Apps {
		if a.Name == name {
			return a, true
		}
	}
	return argocd.App{}, false
}

func (e *env) watchUp() float64 { return e.metric("argocd_monitor_watch_up", "") }

// metric reads one of the watcher's series: the gauge, or the counter of
// one event type.
func (e *env) metric(name, typ string) float64 {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e.watcher)
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			if typ == "" {
				return m.GetGauge().GetValue()
			}
			if m.Label[0].GetValue() == typ {
				return m.GetCounter().GetValue()
			}
		}
	}
	panic("no series " + name + " " + typ)
}

func (e *env) health(t *testing.T, name string) argocd.HealthStatus {
	t.Helper()
	a, ok := e.app(name)
	if !ok {
		t.Fatalf("%s not in the snapshot", name)
	}
	return a.Health
}

func degrade(t *testing.T, sim *argocdsim.Sim, name string) {
	t.Helper()
	h := argocd.HealthDegraded
	if err := sim.SetState(name, argocdsim.ControlState{Health: &h}); err != nil {
		t.Fatal(err)
	}
}

func TestEventsUpdateTheSnapshotWithoutPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t)
		if e.watchUp() != 1 || len(e.poller.Snapshot().Apps) != 3 {
			t.Fatalf("watch_up %v, %d apps", e.watchUp(), len(e.poller.Snapshot().Apps))
		}
		lists := e.sim.Count("list")
		degrade(t, e.sim, "app-00002")
		synctest.Wait()
		// Applied as it arrives: no time passes, no List.
		if h := e.health(t, "app-00002"); h != argocd.HealthDegraded {
			t.Fatalf("health %s right after the event", h)
		}
		// The projected event carries every field a whole Application gives.
		a, _ := e.app("app-00002")
		full, err := e.client.Get(context.Background(), "app-00002", "", "")
		if err != nil {
			t.Fatal(err)
		}
		a.SyncSince = time.Time{}
		// status.history is not projected (the engine reads it at a rollback, issue 25).
		full.HasHistory, full.HistoryID, full.HistoryRevision = false, 0, ""
		if !reflect.DeepEqual(a, full) {
			t.Errorf("from the stream:\n%+v\nfrom Get:\n%+v", a, full)
		}
		if err := e.sim.Delete("app-00003"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if _, ok := e.app("app-00003"); ok {
			t.Fatal("DELETED app still in the snapshot")
		}
		mfs, err := collector.New(e.poller, collector.Config{}).Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.Metric {
				for _, l := range m.Label {
					if l.GetValue() == "app-00003" {
						t.Fatalf("%s still has a series of the deleted app", mf.GetName())
					}
				}
			}
		}
		if got := e.sim.Count("list"); got != lists {
			t.Errorf("%d Lists while the stream was up, want none", got-lists)
		}
		if n := e.metric("argocd_monitor_watch_events_total", "deleted"); n != 1 {
			t.Errorf("deleted events %v", n)
		}
	})
}

func TestReconnectAfterEOF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, argocdsim.Fault{Endpoint: "watch", CutAfter: 2}) // one ADDED, then the connection ends
		e.sim.SetFaults()
		// Down until the backoff (1s) is over, then back.
		if e.watchUp() != 0 {
			t.Fatal("watch_up 1 after the stream ended")
		}
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if e.watchUp() != 1 {
			t.Fatal("no reconnect after the backoff")
		}
		degrade(t, e.sim, "app-00001")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if h := e.health(t, "app-00001"); h != argocd.HealthDegraded {
			t.Fatalf("health %s after reconnect", h)
		}
	})
}

func TestReconnectAfterStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, argocdsim.Fault{Endpoint: "watch", Stall: true})
		if e.watchUp() != 1 {
			t.Fatal("a stream that answered should count as up until it stalls")
		}
		e.sim.SetFaults()
		time.Sleep(stall - time.Second)
		synctest.Wait()
		if e.watchUp() != 1 {
			t.Fatal("cut before the stall timeout")
		}
		time.Sleep(2*time.Second + time.Second) // stall timeout, then the 1s backoff
		synctest.Wait()
		if e.watchUp() != 1 {
			t.Fatal("no reconnect after the stall")
		}
		degrade(t, e.sim, "app-00003")
		synctest.Wait()
		if h := e.health(t, "app-00003"); h != argocd.HealthDegraded {
			t.Fatalf("health %s after reconnect", h)
		}
	})
}

func TestFallbackToPollingAndBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, argocdsim.Fault{Endpoint: "watch", Status: http.StatusServiceUnavailable, Message: "unavailable"})
		if e.watchUp() != 0 {
			t.Fatal("watch_up 1 with the stream refused")
		}
		lists := e.sim.Count("list")
		degrade(t, e.sim, "app-00001")
		time.Sleep(pollInterval + time.Second)
		synctest.Wait()
		if got := e.sim.Count("list") - lists; got != 1 {
			t.Fatalf("%d Lists in one poll interval with the stream down, want 1", got)
		}
		if h := e.health(t, "app-00001"); h != argocd.HealthDegraded {
			t.Fatalf("polling did not see the change: %s", h)
		}
		if !e.poller.Snapshot().Up {
			t.Error("api_up 0 while polls succeed")
		}
		// The stream comes back: the next reconnect (backoff at most 1m) finds it.
		e.sim.SetFaults()
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		if e.watchUp() != 1 {
			t.Fatal("stream not resumed")
		}
		// Several failed reconnects, two changes of mode: two lines.
		want := []string{"watch stream down, polling Argo CD instead", "watching Argo CD applications"}
		if got := e.logs.list(); !slices.Equal(got, want) {
			t.Errorf("log lines %q, want %q", got, want)
		}
		lists = e.sim.Count("list")
		time.Sleep(3 * pollInterval)
		synctest.Wait()
		if got := e.sim.Count("list") - lists; got != 0 {
			t.Errorf("%d Lists with the stream back, want 0 until the resync", got)
		}
	})
}

func TestResyncHealsAMissedEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, argocdsim.Fault{Endpoint: "watch", DropApp: "app-00002"})
		degrade(t, e.sim, "app-00002")
		time.Sleep(resync - time.Minute)
		synctest.Wait()
		if h := e.health(t, "app-00002"); h == argocd.HealthDegraded {
			t.Fatal("the dropped event arrived anyway: the test proves nothing")
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if h := e.health(t, "app-00002"); h != argocd.HealthDegraded {
			t.Fatalf("health %s after the resync", h)
		}
		if e.watchUp() != 1 {
			t.Error("the resync should not take the stream down")
		}
		e.onlyCheapResyncs(t, 1)
	})
}

// onlyCheapResyncs checks that after the seed every List asked for
// ResyncFields, and that there were want of them.
func (e *env) onlyCheapResyncs(t *testing.T, want int) {
	t.Helper()
	var lists []string
	for _, r := range e.sim.Requests() {
		if r.Path == "/api/v1/applications" {
			lists = append(lists, r.Query.Get("fields"))
		}
	}
	if len(lists) != 1+want {
		t.Fatalf("%d Lists, want the seed and %d resyncs", len(lists), want)
	}
	for _, f := range lists[1:] {
		if f != strings.Join(argocd.ResyncFields, ",") {
			t.Errorf("resync List asked for fields %q, want ResyncFields", f)
		}
	}
}

func TestResyncDropsAMissedDelete(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, argocdsim.Fault{Endpoint: "watch", DropApp: "app-00002"})
		if err := e.sim.Delete("app-00002"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(resync - time.Minute)
		synctest.Wait()
		if _, ok := e.app("app-00002"); !ok {
			t.Fatal("the dropped DELETED arrived anyway: the test proves nothing")
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if _, ok := e.app("app-00002"); ok {
			t.Fatal("app-00002 still in the snapshot after the resync")
		}
		if _, ok := e.app("app-00001"); !ok {
			t.Fatal("the resync dropped an app that is still there")
		}
		e.onlyCheapResyncs(t, 1)
	})
}

func TestResyncAddsAMissedAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, argocdsim.Fault{Endpoint: "watch", DropApp: "app-00004"})
		if _, err := e.sim.AddFiller(4); err != nil {
			t.Fatal(err)
		}
		time.Sleep(resync - time.Minute)
		synctest.Wait()
		if _, ok := e.app("app-00004"); ok {
			t.Fatal("the dropped ADDED arrived anyway: the test proves nothing")
		}
		gets := e.sim.Count("get")
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		a, ok := e.app("app-00004")
		if !ok {
			t.Fatal("app-00004 not in the snapshot after the resync")
		}
		if !a.Detailed || a.Project == "" {
			t.Errorf("the added app is not whole: %+v", a)
		}
		if got := e.sim.Count("get") - gets; got != 1 {
			t.Errorf("%d Gets in the resync, want 1 (the new app only)", got)
		}
		e.onlyCheapResyncs(t, 1)
	})
}

// Every sixth resync (hourly at the default interval) is a full List.
func TestEverySixthResyncIsFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t)
		time.Sleep(6*resync - time.Minute)
		synctest.Wait()
		e.onlyCheapResyncs(t, 5)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if got := e.sim.Count("list"); got != 7 {
			t.Fatalf("%d Lists, want 7", got)
		}
		last := e.sim.Requests()
		for i := len(last) - 1; i >= 0; i-- {
			if last[i].Path == "/api/v1/applications" {
				if f := last[i].Query.Get("fields"); f != strings.Join(argocd.ProjectedFields, ",") {
					t.Errorf("sixth resync asked for fields %q, want the full projection", f)
				}
				break
			}
		}
	})
}

// The remediation grace starts when the change arrives, and the engine is
// woken when it ends: no poll in between.
func TestRemediationStartsAtGraceAfterTheEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = 20 * time.Second
		cfg := watch.RemediationConfig(grace)
		// The engine syncs through its own client to the same simulator.
		e := startWith(t, func(cl *argocd.Client) *remediate.Engine {
			en, err := remediate.New(cfg, cl, remediate.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return en
		})
		var name string
		for _, a := range e.poller.Snapshot().Apps {
			if !a.AutoSync {
				name = a.Name
				break
			}
		}
		if name == "" {
			t.Fatal("no app without auto-sync among the fillers")
		}
		time.Sleep(5 * time.Second) // no poll or resync near the change
		degrade(t, e.sim, name)
		time.Sleep(grace - time.Second)
		synctest.Wait()
		if n := e.sim.SyncCounts()[name].Calls; n != 0 {
			t.Fatalf("%d syncs before the grace was over", n)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := e.sim.SyncCounts()[name].Calls; n != 1 {
			t.Fatalf("%d syncs within grace + 1s of the change, want 1", n)
		}
		if got := e.sim.Count("list"); got != 1 {
			t.Errorf("%d Lists, want only the seed", got)
		}
	})
}
