package remediate

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// TestTransitions has one row per transition of the state machine.
func TestTransitions(t *testing.T) {
	cfg := defaultConfig() // grace 2m, backoff 1m doubling, 3 attempts
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	at := func(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }
	broken := observation{revision: "aaa", problem: "OutOfSync"}
	fixed := observation{revision: "aaa", healthy: true}
	neutral := observation{revision: "aaa"} // Synced and Progressing
	busy := observation{revision: "aaa", problem: "OutOfSync", busy: true}
	opAt := func(phase argocd.OperationPhase, m float64) *argocd.OperationState {
		return &argocd.OperationState{Phase: phase, StartedAt: at(m), Message: "boom"}
	}
	withOp := func(o observation, op *argocd.OperationState) observation { o.op = op; return o }
	obs := func(o observation) event { return event{kind: evObserve, obs: o} }
	ans := func(a answer) event { return event{kind: evAnswer, ans: a} }

	grace := appState{Revision: "aaa", Phase: PhaseGrace, StreakStart: t0}
	inFlight := appState{Revision: "aaa", Phase: PhaseInFlight, StreakStart: t0, Attempts: 1, RequestedAt: at(2), NotBefore: at(3)}
	awaiting := inFlight
	awaiting.Phase = PhaseAwaiting
	awaitingLast := awaiting
	awaitingLast.Attempts = 3
	due := appState{Revision: "aaa", Phase: PhaseDue, StreakStart: t0, Attempts: 1, NotBefore: at(3)}
	paused := appState{Revision: "aaa", Phase: PhasePaused, StreakStart: t0, Attempts: 3}

	for _, tc := range []struct {
		name     string
		mode     string
		from     appState
		ev       event
		now      time.Time
		phase    Phase
		attempts int
		sync     bool
		forget   bool
		counts   []string
	}{
		{name: "idle, problem: grace starts", from: appState{Revision: "aaa", Phase: PhaseIdle}, ev: obs(broken), now: t0, phase: PhaseGrace},
		{name: "idle, healthy: idle", from: appState{Revision: "aaa", Phase: PhaseIdle}, ev: obs(fixed), now: t0, phase: PhaseIdle},
		{name: "grace, problem within grace: grace", from: grace, ev: obs(broken), now: at(1), phase: PhaseGrace},
		{name: "grace, problem after grace: attempt in flight", from: grace, ev: obs(broken), now: at(2), phase: PhaseInFlight, attempts: 1, sync: true},
		{name: "grace, dry run after grace: awaiting", mode: ModeDryRun, from: grace, ev: obs(broken), now: at(2), phase: PhaseAwaiting, attempts: 1, counts: []string{resultDryRun}},
		{name: "grace, no problem: idle", from: grace, ev: obs(neutral), now: at(1), phase: PhaseIdle},
		{name: "grace, healthy: idle", from: grace, ev: obs(fixed), now: at(1), phase: PhaseIdle},
		{name: "grace, busy: grace", from: grace, ev: obs(busy), now: at(5), phase: PhaseGrace},
		{name: "in flight, any snapshot: in flight", from: inFlight, ev: obs(fixed), now: at(2.5), phase: PhaseInFlight, attempts: 1},
		{name: "in flight, accepted: awaiting", from: inFlight, ev: ans(answerAccepted), now: at(2), phase: PhaseAwaiting, attempts: 1, counts: []string{resultTriggered}},
		{name: "in flight, busy: no attempt", from: inFlight, ev: ans(answerBusy), now: at(2), phase: PhaseGrace, counts: []string{resultBusy}},
		{name: "in flight, forbidden: no attempt, backoff", from: inFlight, ev: ans(answerForbidden), now: at(2), phase: PhaseDue, counts: []string{resultForbidden}},
		{name: "in flight, error: no attempt, backoff", from: inFlight, ev: ans(answerError), now: at(2), phase: PhaseDue, counts: []string{resultError}},
		{name: "in flight, deleting: leaves scope", from: inFlight, ev: ans(answerDeleting), now: at(2), phase: PhaseInFlight, attempts: 1, forget: true},
		{name: "in flight, canceled: no attempt", from: inFlight, ev: ans(answerCanceled), now: at(2), phase: PhaseGrace},
		{name: "in flight, restart: awaiting, attempt kept", from: inFlight, ev: event{kind: evRestart}, now: at(2), phase: PhaseAwaiting, attempts: 1},
		{name: "awaiting, busy: awaiting", from: awaiting, ev: obs(busy), now: at(2.5), phase: PhaseAwaiting, attempts: 1},
		{name: "awaiting, our operation failed: due", from: awaiting, ev: obs(withOp(broken, opAt(argocd.PhaseFailed, 2))), now: at(2.5), phase: PhaseDue, attempts: 1, counts: []string{resultFailed}},
		{name: "awaiting, older operation: awaiting", from: awaiting, ev: obs(withOp(broken, opAt(argocd.PhaseFailed, 1))), now: at(2.5), phase: PhaseAwaiting, attempts: 1},
		{name: "awaiting, last attempt failed: paused", from: awaitingLast, ev: obs(withOp(broken, opAt(argocd.PhaseFailed, 2))), now: at(2.5), phase: PhasePaused, attempts: 3, counts: []string{resultFailed}},
		{name: "awaiting, succeeded and healthy: idle", from: awaiting, ev: obs(withOp(fixed, opAt(argocd.PhaseSucceeded, 2))), now: at(2.5), phase: PhaseIdle, counts: []string{resultSucceeded}},
		{name: "awaiting, healthy without operation: idle", from: awaiting, ev: obs(fixed), now: at(2.5), phase: PhaseIdle, counts: []string{resultSucceeded}},
		{name: "awaiting, succeeded but progressing: awaiting", from: awaiting, ev: obs(withOp(neutral, opAt(argocd.PhaseSucceeded, 2))), now: at(2.5), phase: PhaseAwaiting, attempts: 1},
		{name: "awaiting, backoff over and still broken: next attempt", from: awaiting, ev: obs(broken), now: at(3), phase: PhaseInFlight, attempts: 2, sync: true, counts: []string{resultFailed}},
		{name: "due, before backoff: due", from: due, ev: obs(broken), now: at(2.5), phase: PhaseDue, attempts: 1},
		{name: "due, backoff over: attempt", from: due, ev: obs(broken), now: at(3), phase: PhaseInFlight, attempts: 2, sync: true},
		{name: "due, max attempts used: paused", from: appState{Revision: "aaa", Phase: PhaseDue, StreakStart: t0, Attempts: 3, NotBefore: at(3)}, ev: obs(broken), now: at(3), phase: PhasePaused, attempts: 3},
		{name: "paused, problem: paused", from: paused, ev: obs(broken), now: at(60), phase: PhasePaused, attempts: 3},
		{name: "paused, healthy: idle", from: paused, ev: obs(fixed), now: at(60), phase: PhaseIdle},
		{name: "paused, new revision: a fresh grace", from: paused, ev: obs(observation{revision: "bbb", problem: "OutOfSync"}), now: at(60), phase: PhaseGrace},
		{name: "paused, resume: one attempt left, grace served", from: paused, ev: event{kind: evResume}, now: at(60), phase: PhaseGrace, attempts: 2},
		{name: "due, resume: backoff skipped, count kept", from: due, ev: event{kind: evResume}, now: at(2.5), phase: PhaseGrace, attempts: 1},
		{name: "awaiting, resume: still awaiting its outcome", from: awaiting, ev: event{kind: evResume}, now: at(2.5), phase: PhaseAwaiting, attempts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			if tc.mode != "" {
				c.Mode = tc.mode
			}
			st := tc.from
			ev := tc.ev
			if ev.kind == evAnswer {
				ev.prevNotBefore = time.Time{}
			}
			fx := c.transition(&st, ev, tc.now)
			if st.Phase != tc.phase || st.Attempts != tc.attempts || fx.sync != tc.sync || fx.forget != tc.forget || !slices.Equal(fx.counts, tc.counts) {
				t.Errorf("got phase %s, attempts %d, sync %v, forget %v, counts %v; want %s, %d, %v, %v, %v",
					st.Phase, st.Attempts, fx.sync, fx.forget, fx.counts, tc.phase, tc.attempts, tc.sync, tc.forget, tc.counts)
			}
		})
	}
}

// TestNeverMoreThanMaxAttemptsPerStreak is the engine's safety property:
// whatever Argo CD answers, whatever the app does and however often the
// process restarts or crashes mid-call, no streak (between two Synced and
// Healthy snapshots) sees more than max-attempts accepted syncs.
func TestNeverMoreThanMaxAttemptsPerStreak(t *testing.T) {
	for seed := range uint64(60) {
		synctest.Test(t, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 16))
			cfg := defaultConfig()
			cfg.RateLimit = 0
			cfg.MaxAttempts = 1 + rng.IntN(4)
			doc := &memStore{}
			s := newScenario(t, cfg)
			s.fake.add(&fakeApp{app: outOfSync("prop"), hollow: true}) // a sync that "succeeds" leaves it broken
			start := func() (*Engine, *crashSyncer, *atomic.Bool) {
				dead := &atomic.Bool{}
				cs := &crashSyncer{fake: s.fake, crashed: make(chan struct{}), release: make(chan struct{})}
				e, err := New(cfg, cs, Options{Store: mortalStore{doc, dead}})
				if err != nil {
					t.Fatal(err)
				}
				return e, cs, dead
			}
			eng, cs, dead := start()
			streak := 0
			for step := range 150 {
				switch rng.IntN(12) {
				case 0: // the app recovers
					s.fake.set("argocd/prop", func(a *fakeApp) { a.app.Sync, a.app.Health = argocd.SyncSynced, argocd.HealthHealthy })
				case 1, 2: // it breaks (again)
					s.fake.set("argocd/prop", func(a *fakeApp) { a.app.Sync = argocd.SyncOutOfSync })
				case 3: // a clean restart
					eng.Close()
					eng, cs, dead = start()
				}
				answer := rng.IntN(6)
				s.fake.set("argocd/prop", func(a *fakeApp) {
					a.busyOnce, a.forbidden, a.broken = answer == 1, answer == 2, answer == 3
				})
				cs.crash.Store(answer == 4)

				now := time.Now()
				s.fake.advance(now)
				snap := s.fake.snapshot()
				before := s.fake.callCount()
				eng.Observe(context.Background(), snap, now)
				done := make(chan struct{})
				go func(e *Engine) { e.Wait(); close(done) }(eng)
				select {
				case <-done:
				case <-cs.crashed: // the process dies with the call in flight
					dead.Store(true)
					close(cs.release)
					<-done
					eng, cs, dead = start()
				}
				streak += s.fake.callCount() - before
				if streak > cfg.MaxAttempts {
					t.Fatalf("seed %d step %d: %d accepted syncs in one streak, max-attempts %d", seed, step, streak, cfg.MaxAttempts)
				}
				if healthy(&snap[0]) && !busy(&snap[0]) {
					streak = 0 // the engine saw the recovery: a new streak
				}
				time.Sleep(time.Duration(rng.IntN(150)) * time.Second)
			}
			eng.Close()
		})
	}
}

// crashSyncer passes calls to the fake; with crash set, Argo CD accepts the
// call but the answer never comes back (the process died).
type crashSyncer struct {
	fake             *fakeArgo
	crash            atomic.Bool
	once             sync.Once
	crashed, release chan struct{}
}

func (c *crashSyncer) Sync(ctx context.Context, req argocd.SyncRequest) error {
	if !c.crash.Load() {
		return c.fake.Sync(ctx, req)
	}
	_ = c.fake.Sync(ctx, req)
	c.once.Do(func() { close(c.crashed) })
	<-c.release
	return context.Canceled
}

// memStore is a Store in memory: what a restart reads is what was saved.
type memStore struct {
	mu  sync.Mutex
	doc []byte
}

func (m *memStore) Load() ([]byte, error) { m.mu.Lock(); defer m.mu.Unlock(); return m.doc, nil }
func (m *memStore) Save(doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.doc = doc
	return nil
}

// mortalStore stops saving once its process is dead: a crashed process
// writes nothing more.
type mortalStore struct {
	*memStore
	dead *atomic.Bool
}

func (m mortalStore) Save(doc []byte) error {
	if m.dead.Load() {
		return errors.New("process is gone")
	}
	return m.memStore.Save(doc)
}
