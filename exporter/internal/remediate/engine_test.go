package remediate

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

const pollInterval = 30 * time.Second

// scenario drives an engine against fakeArgo inside a synctest bubble: each
// poll advances the fake's operations, observes the snapshot and waits until
// the engine's background calls are done; time between polls is the
// bubble's, so tests run in milliseconds.
type scenario struct {
	t    *testing.T
	fake *fakeArgo
	eng  *Engine
	cfg  Config
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// count returns how many log lines contain all of the parts.
func (b *syncBuffer) count(parts ...string) int {
	n := 0
	for line := range strings.Lines(b.String()) {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			n++
		}
	}
	return n
}

func testConfig() Config {
	cfg := defaultConfig()
	cfg.RateLimit = 0 // its own test covers the limiter
	return cfg
}

func newScenario(t *testing.T, cfg Config) *scenario {
	t.Helper()
	if !time.Now().Equal(t0) {
		t.Fatal("a scenario starts a synctest bubble: call newScenario first thing inside synctest.Test")
	}
	s := &scenario{t: t, cfg: cfg, logs: &syncBuffer{}}
	s.fake = newFakeArgo()
	s.eng = s.newEngine(s.fake)
	return s
}

// newEngine builds an engine on the scenario's clock, as a (re)start would.
func (s *scenario) newEngine(syncer Syncer) *Engine {
	s.t.Helper()
	log := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := New(s.cfg, syncer, Options{Logger: log})
	if err != nil {
		s.t.Fatal(err)
	}
	return e
}

// poll is one successful poll: operations advance, the engine observes.
func (s *scenario) poll() {
	now := time.Now()
	s.fake.advance(now)
	s.eng.Observe(context.Background(), s.fake.snapshot(), now)
	s.eng.jobs.Wait()
}

// run polls every 30s until d has passed.
func (s *scenario) run(d time.Duration) {
	end := time.Now().Add(d)
	for !time.Now().After(end) {
		s.poll()
		time.Sleep(pollInterval)
	}
}

func (s *scenario) state(key string) appState {
	s.eng.mu.Lock()
	defer s.eng.mu.Unlock()
	st := s.eng.apps[keyOf(key)]
	if st == nil {
		return appState{}
	}
	return *st
}

func (s *scenario) counter(key, result string) float64 {
	ns, name, _ := strings.Cut(key, "/")
	st := s.state(key)
	return testutil.ToFloat64(s.eng.metrics.syncs.WithLabelValues(ns, name, st.Project, result))
}

// runStuck runs a scenario with one app that no sync fixes, for d.
func runStuck(t *testing.T, cfg Config, d time.Duration) *scenario {
	t.Helper()
	s := newScenario(t, cfg)
	s.fake.add(&fakeApp{app: outOfSync("stuck")})
	s.run(d)
	return s
}

func mins(m ...float64) []time.Duration {
	var d []time.Duration
	for _, x := range m {
		d = append(d, time.Duration(x*float64(time.Minute)))
	}
	return d
}

func TestFixableAppGetsOneSyncAndResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScenario(t, testConfig())
		s.fake.add(&fakeApp{app: outOfSync("guestbook"), fixable: true})
		s.run(15 * time.Minute)

		if got, want := s.fake.callsFor("argocd/guestbook"), mins(2); !slices.Equal(got, want) {
			t.Fatalf("sync calls at %v, want %v (after the 2m grace)", got, want)
		}
		st := s.state("argocd/guestbook")
		if st.Attempts != 0 || st.Phase == PhasePaused || st.worthKeeping() {
			t.Errorf("state after recovery = %+v, want reset", st)
		}
		for result, want := range map[string]float64{"triggered": 1, "succeeded": 1, "failed": 0, "busy": 0} {
			if got := s.counter("argocd/guestbook", result); got != want {
				t.Errorf("syncs_total{result=%q} = %v, want %v", result, got, want)
			}
		}
		if n := s.logs.count("level=INFO", "remediation sync triggered", "app=argocd/guestbook", "attempt=1", "max_attempts=3", "reason=OutOfSync"); n != 1 {
			t.Errorf("attempt info logs = %d, want 1:\n%s", n, s.logs)
		}
	})
}

func TestOutcomes(t *testing.T) {
	degraded := outOfSync("app")
	degraded.Sync, degraded.Health = argocd.SyncSynced, argocd.HealthDegraded
	automated := outOfSync("app")
	automated.AutoSync = true
	for _, tc := range []struct {
		name                       string
		cfg                        func(*Config)
		app                        fakeApp
		calls                      []time.Duration
		succeeded, failed, attempt float64
		paused                     bool
	}{
		{name: "progressing after the sync, then healthy", app: fakeApp{app: outOfSync("app"), fixable: true, slow: true},
			calls: mins(2), succeeded: 1},
		{name: "operation succeeds but the app stays degraded", app: fakeApp{app: degraded, hollow: true},
			calls: mins(2, 3, 5), failed: 3, attempt: 3, paused: true},
		{name: "automated app opted in", cfg: func(c *Config) { c.IncludeAutomated = true }, app: fakeApp{app: automated, fixable: true},
			calls: mins(2), succeeded: 1},
		{name: "longer grace", cfg: func(c *Config) { c.Grace = 5 * time.Minute }, app: fakeApp{app: outOfSync("app"), fixable: true},
			calls: mins(5), succeeded: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				if tc.cfg != nil {
					tc.cfg(&cfg)
				}
				s := newScenario(t, cfg)
				s.fake.add(&tc.app)
				s.run(20 * time.Minute)
				if got := s.fake.callsFor("argocd/app"); !slices.Equal(got, tc.calls) {
					t.Fatalf("sync calls at %v, want %v", got, tc.calls)
				}
				if got := s.counter("argocd/app", "succeeded"); got != tc.succeeded {
					t.Errorf("succeeded = %v, want %v", got, tc.succeeded)
				}
				if got := s.counter("argocd/app", "failed"); got != tc.failed {
					t.Errorf("failed = %v, want %v", got, tc.failed)
				}
				if st := s.state("argocd/app"); float64(st.Attempts) != tc.attempt || (st.Phase == PhasePaused) != tc.paused {
					t.Errorf("state = %+v, want attempts %v paused %v", st, tc.attempt, tc.paused)
				}
			})
		})
	}
}

func TestStuckAppGetsMaxAttemptsSpacedByBackoffThenPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		cfg := testConfig()
		cfg.StateFile = filepath.Join(dir, "state.json")
		s := newScenario(t, cfg)
		s.fake.add(&fakeApp{app: outOfSync("stuck"), failMsg: "ComparisonError: rpc error: helm template failed"})
		s.run(30 * time.Minute)

		// Grace 2m, then backoff 1m, 2m between attempts.
		if got, want := s.fake.callsFor("argocd/stuck"), mins(2, 3, 5); !slices.Equal(got, want) {
			t.Fatalf("sync calls at %v, want %v", got, want)
		}
		st := s.state("argocd/stuck")
		if st.Attempts != 3 || st.Phase != PhasePaused {
			t.Fatalf("state = %+v, want 3 attempts, paused", st)
		}
		if got := s.counter("argocd/stuck", "failed"); got != 3 {
			t.Errorf("failed = %v, want 3", got)
		}
		if n := s.logs.count("level=WARN", "remediation paused", "app=argocd/stuck", "helm template failed"); n != 1 {
			t.Errorf("pause warn logs with Argo CD's message = %d, want 1:\n%s", n, s.logs)
		}

		// Restart from the state file: still paused, no 4th sync.
		s.eng = s.newEngine(s.fake)
		if st := s.state("argocd/stuck"); st.Attempts != 3 || st.Phase != PhasePaused {
			t.Fatalf("state after restart = %+v, want 3 attempts, paused", st)
		}
		s.run(30 * time.Minute)
		if n := len(s.fake.callsFor("argocd/stuck")); n != 3 {
			t.Fatalf("%d sync calls after restart, want still 3", n)
		}
	})
}

// crashingSyncer stands for an exporter that dies during its n-th sync call
// (counted across restarts): the call never returns.
type crashingSyncer struct {
	fake    *fakeArgo
	crashOn map[int]bool
	calls   *int
	mu      *sync.Mutex
	sent    bool // whether Argo CD received the request before the crash
	crashed chan struct{}
	release chan struct{} // closed when the test ends: the dead process's calls return
}

func (c crashingSyncer) Sync(ctx context.Context, req argocd.SyncRequest) error {
	c.mu.Lock()
	*c.calls++
	crash := c.crashOn[*c.calls]
	c.mu.Unlock()
	if !crash {
		return c.fake.Sync(ctx, req)
	}
	if c.sent {
		_ = c.fake.Sync(ctx, req)
	}
	close(c.crashed)
	<-c.release // the process is gone: this call answers nobody
	return context.Canceled
}

func TestCrashLoopNeverExceedsMaxAttempts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sent    bool
		crashOn []int
	}{
		{"crash before Argo CD got the 3rd call", false, []int{3}},
		{"crash after Argo CD accepted the 3rd call", true, []int{3}},
		{"crash during every call", false, []int{1, 2, 3, 4, 5, 6}},
		{"crash after every accepted call", true, []int{1, 2, 3, 4, 5, 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
				s := newScenario(t, cfg)
				s.fake.add(&fakeApp{app: outOfSync("stuck")})
				var mu sync.Mutex
				calls := 0
				crashOn := map[int]bool{}
				for _, n := range tc.crashOn {
					crashOn[n] = true
				}
				restarts := 0
				release := make(chan struct{})
				var dead []*Engine
				t.Cleanup(func() {
					close(release)
					for _, e := range dead {
						e.Wait() // its last writes land before the temp dir goes
					}
				})
				for time.Now().Before(t0.Add(60 * time.Minute)) {
					cs := crashingSyncer{fake: s.fake, crashOn: crashOn, calls: &calls, mu: &mu, sent: tc.sent, crashed: make(chan struct{}), release: release}
					s.eng = s.newEngine(cs)
					dead = append(dead, s.eng)
					for time.Now().Before(t0.Add(60 * time.Minute)) {
						now := time.Now()
						s.fake.advance(now)
						s.eng.Observe(context.Background(), s.fake.snapshot(), now)
						done := make(chan struct{})
						eng := s.eng
						go func() { eng.jobs.Wait(); close(done) }()
						time.Sleep(pollInterval)
						select {
						case <-done:
							continue
						case <-cs.crashed:
						}
						break // crashed: restart from the state file
					}
					restarts++
				}
				mu.Lock()
				defer mu.Unlock()
				if calls > cfg.MaxAttempts {
					t.Fatalf("%d sync calls over %d restarts, want at most %d", calls, restarts, cfg.MaxAttempts)
				}
				if calls < cfg.MaxAttempts {
					t.Fatalf("%d sync calls, want %d: the engine gave up too early", calls, cfg.MaxAttempts)
				}
				if st := s.state("argocd/stuck"); st.Phase != PhasePaused {
					t.Fatalf("state = %+v, want paused", st)
				}
			})
		})
	}
}

func TestExcludedAppsGetNoSyncAndNoSeries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Selector = "team=payments"
		cfg.Project = []string{"default", "payments"}
		s := newScenario(t, cfg)
		in := map[string]string{"team": "payments"}
		mk := func(name string, mutate func(a *argocd.App)) *fakeApp {
			a := outOfSync(name)
			a.Labels = in
			mutate(&a)
			return s.fake.add(&fakeApp{app: a})
		}
		mk("automated", func(a *argocd.App) { a.AutoSync = true })
		mk("opted-out", func(a *argocd.App) { a.Annotations = map[string]string{AnnotationAutoSync: "false"} })
		mk("deleting", func(a *argocd.App) { a.Deleting = true })
		mk("other-team", func(a *argocd.App) { a.Labels = map[string]string{"team": "search"} })
		mk("other-project", func(a *argocd.App) { a.Project = "sandbox" })
		mk("busy", func(a *argocd.App) {
			a.OperationInProgress = true
			a.Operation = &argocd.OperationState{Phase: argocd.PhaseRunning, StartedAt: t0}
		})
		s.run(30 * time.Minute)

		if n := s.fake.callCount(); n != 0 {
			t.Fatalf("%d sync calls, want none: %+v", n, s.fake.calls)
		}
		if m := s.eng.AppMetrics(); len(m) != 1 || m[0].Name != "busy" {
			t.Errorf("metric rows %+v, want the in-scope busy app's only", m)
		}
		if st := s.state("argocd/busy"); st.Attempts != 0 {
			t.Errorf("busy app state = %+v, want no attempts", st)
		}
	})
}

func TestBusyAnswerIsNotAnAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScenario(t, testConfig())
		s.fake.add(&fakeApp{app: outOfSync("racy"), busyOnce: true, fixable: true})
		s.run(10 * time.Minute)
		// 2m: busy (not an attempt, retried at the next poll), 2m30: accepted.
		if got, want := s.fake.callsFor("argocd/racy"), mins(2.5); !slices.Equal(got, want) {
			t.Fatalf("accepted syncs at %v, want %v", got, want)
		}
		if got := s.counter("argocd/racy", "busy"); got != 1 {
			t.Errorf("busy = %v, want 1", got)
		}
		if got := s.counter("argocd/racy", "succeeded"); got != 1 {
			t.Errorf("succeeded = %v, want 1", got)
		}
	})
}

// An app deleted between the poll and the sync call is neither an attempt
// nor an error: it leaves scope, with no backoff, no error series, no warning.
func TestDeletingAppLeavesScope(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScenario(t, testConfig())
		s.fake.add(&fakeApp{app: outOfSync("going"), deleting: true})
		s.run(2 * time.Minute)
		if st := s.state("argocd/going"); st.Attempts != 0 || st.Errors != 0 || st.worthKeeping() {
			t.Errorf("state = %+v, want none", st)
		}
		if n := testutil.CollectAndCount(s.eng); n != 0 {
			t.Errorf("%d series for a deleting app, want 0", n)
		}
		if n := s.logs.count("level=WARN"); n != 0 {
			t.Errorf("warnings for a deleting app:\n%s", s.logs)
		}
	})
}

func TestRefusedCallsAreNotAttemptsAndBackOff(t *testing.T) {
	for _, tc := range []struct {
		name, result, warning string
		app                   fakeApp
		warnings              int
	}{
		{"403", "forbidden", "remediation sync forbidden", fakeApp{forbidden: true}, 1}, // once per streak
		{"500", "error", "remediation sync failed", fakeApp{broken: true}, 5},           // each time
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newScenario(t, testConfig())
				tc.app.app = outOfSync("refused")
				s.fake.add(&tc.app)
				var refused []time.Duration
				s.fake.hook = func(argocd.SyncRequest) { refused = append(refused, time.Since(t0)) }
				s.run(20 * time.Minute)

				// Refused calls back off like attempts: 1m, 2m, 4m, 8m after each.
				if want := mins(2, 3, 5, 9, 17); !slices.Equal(refused, want) {
					t.Fatalf("refused calls at %v, want %v", refused, want)
				}
				st := s.state("argocd/refused")
				if st.Attempts != 0 || st.Phase == PhasePaused {
					t.Errorf("state = %+v, want no attempts, not paused", st)
				}
				if got := s.counter("argocd/refused", tc.result); got != 5 {
					t.Errorf("%s = %v, want 5", tc.result, got)
				}
				if got := s.counter("argocd/refused", "triggered"); got != 0 {
					t.Errorf("triggered = %v, want 0", got)
				}
				if n := s.logs.count("level=WARN", tc.warning, "app=argocd/refused"); n != tc.warnings {
					t.Errorf("warnings = %d, want %d:\n%s", n, tc.warnings, s.logs)
				}
			})
		})
	}
}

func TestDryRunDecidesCountsAndPausesButNeverSyncs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Mode = ModeDryRun
		s := runStuck(t, cfg, 30*time.Minute)
		if n := s.fake.callCount(); n != 0 {
			t.Fatalf("%d sync calls in dry-run", n)
		}
		st := s.state("argocd/stuck")
		if st.Attempts != 3 || st.Phase != PhasePaused {
			t.Errorf("state = %+v, want 3 attempts, paused", st)
		}
		if got := s.counter("argocd/stuck", "dry_run"); got != 3 {
			t.Errorf("dry_run = %v, want 3", got)
		}
		if got := s.counter("argocd/stuck", "triggered") + s.counter("argocd/stuck", "failed"); got != 0 {
			t.Errorf("triggered+failed = %v in dry-run, want 0", got)
		}
	})
}

func TestModeOffDoesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Mode = ModeOff
		s := runStuck(t, cfg, 30*time.Minute)
		if n := s.fake.callCount(); n != 0 {
			t.Fatalf("%d sync calls with mode off", n)
		}
		if n := testutil.CollectAndCount(s.eng); n != 0 {
			t.Errorf("%d series with mode off, want 0", n)
		}
	})
}

func TestNewRevisionUnpauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := runStuck(t, testConfig(), 10*time.Minute)
		if st := s.state("argocd/stuck"); st.Phase != PhasePaused {
			t.Fatalf("state = %+v, want paused", st)
		}
		// A new commit that changes the app's manifests: a fresh chance, after a fresh grace
		// that starts at the poll after the comparison.
		s.fake.set("argocd/stuck", func(a *fakeApp) { a.app.Revision = "bbbb"; a.fixable = true })
		start := time.Since(t0)
		s.run(10 * time.Minute)
		calls := s.fake.callsFor("argocd/stuck")
		if want := start + pollInterval + 2*time.Minute; len(calls) != 4 || calls[3] != want {
			t.Fatalf("sync calls at %v, want a 4th at %v", calls, want)
		}
		if st := s.state("argocd/stuck"); st.Attempts != 0 || st.Phase == PhasePaused {
			t.Errorf("state = %+v, want reset after the fixing sync", st)
		}
	})
}

func TestNewRevisionKeepsPauseWhenDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.ResetOnNewRevision = false
		s := runStuck(t, cfg, 10*time.Minute)
		s.fake.set("argocd/stuck", func(a *fakeApp) { a.app.Revision = "bbbb" })
		s.run(10 * time.Minute)
		if n := len(s.fake.callsFor("argocd/stuck")); n != 3 {
			t.Fatalf("%d sync calls, want 3", n)
		}
		if st := s.state("argocd/stuck"); st.Phase != PhasePaused {
			t.Errorf("state = %+v, want still paused", st)
		}
	})
}

func TestVanishedAppIsForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := runStuck(t, testConfig(), 10*time.Minute)
		s.fake.mu.Lock()
		s.fake.order = nil
		s.fake.mu.Unlock()
		s.poll()
		if n := testutil.CollectAndCount(s.eng); n != 0 {
			t.Errorf("%d series after the app vanished, want 0", n)
		}
	})
}

func TestDegradedAppIsRemediatedWithPrune(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Prune = true
		s := newScenario(t, cfg)
		a := outOfSync("broken")
		a.Sync, a.Health = argocd.SyncSynced, argocd.HealthDegraded
		s.fake.add(&fakeApp{app: a, fixable: true})
		s.run(5 * time.Minute)
		if len(s.fake.calls) != 1 || !s.fake.calls[0].Prune {
			t.Fatalf("calls = %+v, want one with prune", s.fake.calls)
		}
	})
}

func TestProblemShorterThanGraceIsLeftAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScenario(t, testConfig())
		s.fake.add(&fakeApp{app: outOfSync("flappy")})
		s.run(90 * time.Second)
		s.fake.set("argocd/flappy", func(a *fakeApp) { a.app.Sync = argocd.SyncSynced })
		s.run(time.Minute)
		s.fake.set("argocd/flappy", func(a *fakeApp) { a.app.Sync = argocd.SyncOutOfSync })
		s.run(90 * time.Second)
		if n := s.fake.callCount(); n != 0 {
			t.Fatalf("%d sync calls for problems shorter than grace", n)
		}
	})
}

func TestManyAppsNeverExceedMaxConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		s := newScenario(t, cfg)
		for i := range 500 {
			s.fake.add(&fakeApp{app: outOfSync("app-" + strconv.Itoa(i)), fixable: true})
		}
		// The first calls wait until max-concurrent are in flight together, so
		// the test also proves the engine uses its slots; a lower limit would
		// hang here and time out.
		var barrier sync.WaitGroup
		barrier.Add(cfg.MaxConcurrent)
		all := make(chan struct{})
		go func() { barrier.Wait(); close(all) }()
		var mu sync.Mutex
		entered := 0
		s.fake.hook = func(argocd.SyncRequest) {
			mu.Lock()
			entered++
			first := entered <= cfg.MaxConcurrent
			mu.Unlock()
			if first {
				barrier.Done()
				select {
				case <-all:
				case <-time.After(10 * time.Second): // deadlock guard, not a timing assertion
					t.Error("max-concurrent calls never were in flight together")
				}
			}
		}
		s.run(2 * time.Minute)
		if n := s.fake.callCount(); n != 500 {
			t.Fatalf("%d sync calls, want 500", n)
		}
		if s.fake.maxInFlight != cfg.MaxConcurrent {
			t.Fatalf("max in flight = %d, want %d", s.fake.maxInFlight, cfg.MaxConcurrent)
		}
	})
}

func TestRateLimitSpacesCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.RateLimit, cfg.RateBurst = 200, 1 // 5ms apart
		s := newScenario(t, cfg)
		for i := range 6 {
			s.fake.add(&fakeApp{app: outOfSync("app-" + strconv.Itoa(i)), fixable: true})
		}
		var (
			mu sync.Mutex
			at []time.Time
		)
		s.fake.hook = func(argocd.SyncRequest) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
		}
		s.poll()
		time.Sleep(cfg.Grace)
		s.poll()
		if len(at) != 6 {
			t.Fatalf("%d calls, want 6", len(at))
		}
		slices.SortFunc(at, time.Time.Compare)
		// On synctest's clock the limiter's spacing is exact.
		if span := at[5].Sub(at[0]); span != 25*time.Millisecond {
			t.Fatalf("6 calls at 200/s burst 1 took %v, want 25ms", span)
		}
	})
}

func TestCloseStopsWaitingCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxConcurrent = 1
		cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
		s := newScenario(t, cfg)
		for i := range 3 {
			s.fake.add(&fakeApp{app: outOfSync("app-" + strconv.Itoa(i))})
		}
		release, entered := make(chan struct{}), make(chan struct{}, 3)
		s.fake.hook = func(argocd.SyncRequest) { entered <- struct{}{}; <-release }
		s.eng.Observe(context.Background(), s.fake.snapshot(), t0)
		s.eng.Observe(context.Background(), s.fake.snapshot(), t0.Add(cfg.Grace))
		<-entered // one call in flight, two waiting for the slot
		go func() {
			// Let the call in flight answer once Close has cancelled the waiters.
			<-s.eng.closeCtx.Done()
			close(release)
		}()
		s.eng.Close()
		if n := s.fake.callCount(); n != 1 {
			t.Fatalf("%d calls made, want only the one in flight at Close", n)
		}
		data, err := os.ReadFile(cfg.StateFile)
		if err != nil {
			t.Fatal(err)
		}
		apps, err := decodeState(data)
		if err != nil {
			t.Fatal(err)
		}
		attempts := 0
		for _, st := range apps {
			attempts += st.Attempts
			if st.Phase == PhaseInFlight {
				t.Errorf("%s still in flight in the state file", st.key())
			}
		}
		if attempts != 1 {
			t.Errorf("%d attempts recorded, want 1 (the cancelled ones are taken back)", attempts)
		}
	})
}

func keyOf(s string) appKey {
	ns, name, _ := strings.Cut(s, "/")
	return appKey{ns, name}
}
