package remediate

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/kubestate"
	"github.com/argocd-monitor/argocd-monitor/exporter/kubetest"
)

// fakeLeader is a replica's belief that it leads, set by the test.
type fakeLeader struct {
	mu      sync.Mutex
	leading bool
}

func (l *fakeLeader) Leading() (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Now().Add(15 * time.Second), l.leading
}

func (l *fakeLeader) set(v bool) { l.mu.Lock(); l.leading = v; l.mu.Unlock() }

// replica is one exporter sharing the ConfigMap with the others.
type replica struct {
	eng    *Engine
	leader *fakeLeader
	client *kubetest.Client
	dead   bool
}

func newReplica(t *testing.T, s *scenario, api *kubetest.API, syncer Syncer) *replica {
	t.Helper()
	r := &replica{leader: &fakeLeader{}, client: api.NewClient()}
	store, err := kubestate.New(kubestate.Config{Client: r.client, Namespace: "argocd-monitor", Name: "argocd-exporter-remediation"})
	if err != nil {
		t.Fatal(err)
	}
	r.eng, err = New(s.cfg, syncer, Options{Logger: slog.New(slog.NewTextHandler(s.logs, nil)), Store: store, Leader: r.leader})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pollAll is one poll seen by every live replica in turn.
func pollAll(s *scenario, rs []*replica) {
	now := time.Now()
	s.fake.advance(now)
	for _, r := range rs {
		if !r.dead {
			r.eng.Observe(context.Background(), s.fake.snapshot(), now)
			r.eng.Wait()
		}
	}
	time.Sleep(pollInterval)
}

func TestSharedStateStreakAcrossLeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		// lead says who believes it leads at poll i (several may).
		lead func(i int) []bool
	}{
		{"leader changes every poll", func(i int) []bool { return []bool{i%2 == 0, i%2 == 1} }},
		{"leader changes every 4 polls", func(i int) []bool { return []bool{i/4%2 == 0, i/4%2 == 1} }},
		{"both believe they lead", func(int) []bool { return []bool{true, true} }},
		{"nobody leads for a while", func(i int) []bool { return []bool{i < 10, i > 30} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newScenario(t, testConfig())
				s.fake.add(&fakeApp{app: outOfSync("stuck")})
				api := kubetest.New()
				rs := []*replica{newReplica(t, s, api, s.fake), newReplica(t, s, api, s.fake)}
				for i := 0; time.Now().Before(t0.Add(90 * time.Minute)); i++ {
					for j, l := range tc.lead(i) {
						rs[j].leader.set(l)
					}
					pollAll(s, rs)
				}
				if n := len(s.fake.callsFor("argocd/stuck")); n != s.cfg.MaxAttempts {
					t.Fatalf("%d sync calls, want exactly %d (calls at %v)", n, s.cfg.MaxAttempts, s.fake.callsFor("argocd/stuck"))
				}
				assertStoredPaused(t, api, 3)
			})
		})
	}
}

// A leader that dies inside a sync call: its successor counts that call.
func TestSharedStateCrashMidCall(t *testing.T) {
	for _, sent := range []bool{false, true} {
		t.Run(fmt.Sprintf("sent=%v", sent), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newScenario(t, testConfig())
				s.fake.add(&fakeApp{app: outOfSync("stuck")})
				api := kubetest.New()
				var calls int
				var mu sync.Mutex
				release := make(chan struct{})
				crashing := crashingSyncer{fake: s.fake, crashOn: map[int]bool{2: true}, calls: &calls, mu: &mu, sent: sent,
					crashed: make(chan struct{}), release: release}
				a := newReplica(t, s, api, crashing)
				b := newReplica(t, s, api, s.fake)
				t.Cleanup(func() { close(release); a.eng.Wait() })
				a.leader.set(true)
				for time.Now().Before(t0.Add(90 * time.Minute)) {
					now := time.Now()
					s.fake.advance(now)
					if !a.dead {
						a.eng.Observe(context.Background(), s.fake.snapshot(), now)
						done := make(chan struct{})
						go func() { a.eng.Wait(); close(done) }()
						select {
						case <-done:
						case <-crashing.crashed:
							a.dead = true // SIGKILL: the Lease expires, b leads
							a.leader.set(false)
							b.leader.set(true)
						}
					}
					b.eng.Observe(context.Background(), s.fake.snapshot(), now)
					b.eng.Wait()
					time.Sleep(pollInterval)
				}
				// The call a died in counts as an attempt: if it never reached
				// Argo CD, the streak ends one sync short, never one over.
				want := s.cfg.MaxAttempts
				if !sent {
					want--
				}
				if n := len(s.fake.callsFor("argocd/stuck")); n != want {
					t.Errorf("Argo CD got %d syncs, want %d", n, want)
				}
				assertStoredPaused(t, api, 3)
			})
		})
	}
}

// A leader cut off from the API cannot record an attempt, so it makes no
// call, even while it still believes it leads.
func TestSharedStatePartitionedLeaderMakesNoCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScenario(t, testConfig())
		s.fake.add(&fakeApp{app: outOfSync("stuck")})
		api := kubetest.New()
		a, b := newReplica(t, s, api, s.fake), newReplica(t, s, api, s.fake)
		a.leader.set(true)
		rs := []*replica{a, b}
		for time.Now().Before(t0.Add(3 * time.Minute)) { // grace 2m, then attempt 1
			pollAll(s, rs)
		}
		if n := len(s.fake.callsFor("argocd/stuck")); n != 1 {
			t.Fatalf("%d calls before the partition, want 1", n)
		}
		a.client.Partition(true)
		b.leader.set(true) // the Lease passed to b; a has not noticed
		for time.Now().Before(t0.Add(90 * time.Minute)) {
			pollAll(s, rs)
		}
		if n := len(s.fake.callsFor("argocd/stuck")); n != 3 {
			t.Fatalf("%d sync calls, want exactly 3", n)
		}
		if got := s.logs.count("write remediation state", "partitioned"); got == 0 {
			t.Error("the partitioned replica never logged a failed write")
		}
		assertStoredPaused(t, api, 3)
	})
}

// A replica that does not lead exports the shared state read-only, so the
// remediation series stay through a handover.
func TestFollowerExportsSharedState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScenario(t, testConfig())
		s.fake.add(&fakeApp{app: outOfSync("stuck")})
		api := kubetest.New()
		a, b := newReplica(t, s, api, s.fake), newReplica(t, s, api, s.fake)
		a.leader.set(true)
		for time.Now().Before(t0.Add(5 * time.Minute)) {
			pollAll(s, []*replica{a, b})
		}
		view := func(r *replica) (int, bool) {
			r.eng.mu.Lock()
			defer r.eng.mu.Unlock()
			st := r.eng.apps[keyOf("argocd/stuck")]
			if st == nil {
				return -1, false
			}
			return st.Attempts, true
		}
		la, _ := view(a)
		if lb, ok := view(b); !ok || lb != la || la < 1 {
			t.Fatalf("follower sees attempts %d (%v), leader %d", lb, ok, la)
		}
		a.leader.set(false) // nobody leads for a poll: both still export
		pollAll(s, []*replica{a, b})
		if n, ok := view(a); !ok || n != la {
			t.Errorf("former leader exports attempts %d (%v), want %d", n, ok, la)
		}
		if s.fake.callCount() == 0 {
			t.Fatal("no sync at all")
		}
	})
}

func assertStoredPaused(t *testing.T, api *kubetest.API, attempts int) {
	t.Helper()
	r := &replica{client: api.NewClient()}
	store, _ := kubestate.New(kubestate.Config{Client: r.client, Namespace: "argocd-monitor", Name: "argocd-exporter-remediation"})
	data, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	apps, err := decodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	st := apps[keyOf("argocd/stuck")]
	if st == nil || st.Phase != PhasePaused || st.Attempts != attempts {
		t.Fatalf("stored state = %+v, want %d attempts, paused", st, attempts)
	}
}
