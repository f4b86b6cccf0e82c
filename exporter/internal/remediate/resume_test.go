package remediate

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestResumePausedAppGetsExactlyOneMoreAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := runStuck(t, testConfig(), 30*time.Minute)
		if st := s.state("argocd/stuck"); st.Phase != PhasePaused || len(s.fake.callsFor("argocd/stuck")) != 3 {
			t.Fatalf("setup: want paused after 3 calls: %+v", st)
		}
		got, err := s.eng.Resume("argocd", "stuck", "alice (slack:U0ALICE)")
		if err != nil || !strings.Contains(got, "pause cleared after 3 attempts, one more attempt") {
			t.Fatalf("Resume = %q, %v", got, err)
		}
		if st := s.state("argocd/stuck"); st.Phase == PhasePaused || !st.Resumed || st.Attempts != 2 {
			t.Fatalf("state after resume %+v, want resumed, 2 attempts (one left)", st)
		}
		if n := s.logs.count("remediation resumed by request", "app=argocd/stuck", "slack:U0ALICE"); n != 1 {
			t.Errorf("resume log lines = %d:\n%s", n, s.logs)
		}
		s.poll()
		if n := len(s.fake.callsFor("argocd/stuck")); n != 4 {
			t.Fatalf("%d sync calls after resume and one poll, want 4", n)
		}
		// The paused series stays 1 while the resumed attempt runs: the alert does not flap.
		if m := s.eng.AppMetrics(); len(m) != 1 || !m[0].Paused {
			t.Errorf("paused gauge %+v during the resumed attempt, want 1", m)
		}
		// The one attempt fails: paused again, no further syncs.
		s.run(30 * time.Minute)
		if n := len(s.fake.callsFor("argocd/stuck")); n != 4 {
			t.Fatalf("%d sync calls 30m after resume, want exactly 4", n)
		}
		if st := s.state("argocd/stuck"); st.Phase != PhasePaused || st.Resumed || st.Attempts != 3 {
			t.Errorf("state %+v, want paused again after 3 attempts", st)
		}
	})
}

func TestResumeThatFixesTheAppResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScenario(t, testConfig())
		app := s.fake.add(&fakeApp{app: outOfSync("stuck")})
		s.run(30 * time.Minute)
		if st := s.state("argocd/stuck"); st.Phase != PhasePaused {
			t.Fatalf("setup: not paused: %+v", st)
		}
		s.fake.mu.Lock()
		app.fixable = true // someone fixed the cause; the next sync works
		s.fake.mu.Unlock()
		if _, err := s.eng.Resume("argocd", "stuck", "alice"); err != nil {
			t.Fatal(err)
		}
		s.run(5 * time.Minute)
		if n := len(s.fake.callsFor("argocd/stuck")); n != 4 {
			t.Fatalf("%d sync calls, want 4", n)
		}
		if st := s.state("argocd/stuck"); st.Phase != PhaseIdle || st.Attempts != 0 || st.Resumed {
			t.Errorf("state %+v, want reset after the fix", st)
		}
	})
}

func TestRetrySkipsTheBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScenario(t, testConfig())
		s.fake.add(&fakeApp{app: outOfSync("stuck")})
		s.run(2*time.Minute + 30*time.Second) // grace 2m, first attempt, its backoff (1m) running
		if n := len(s.fake.callsFor("argocd/stuck")); n != 1 {
			t.Fatalf("setup: %d calls, want 1", n)
		}
		if st := s.state("argocd/stuck"); st.Phase != PhaseAwaiting {
			t.Fatalf("setup: phase %s, want awaiting", st.Phase)
		}
		if _, err := s.eng.Resume("argocd", "stuck", "bob"); err != nil {
			t.Fatal(err)
		}
		// No clock advance: the operation finishes Failed over two polls, then the next
		// attempt follows at once instead of at 3m.
		s.poll()
		s.poll()
		if n := len(s.fake.callsFor("argocd/stuck")); n != 2 {
			t.Fatalf("%d calls after retry and two polls at 2m30s, want 2", n)
		}
		if st := s.state("argocd/stuck"); st.Attempts != 2 || st.Resumed {
			t.Errorf("state %+v, want 2 attempts (a retry counts), not resumed", st)
		}
	})
}

func TestResumeRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := runStuck(t, testConfig(), 30*time.Minute)
		if _, err := s.eng.Resume("argocd", "unknown", "x"); !errors.Is(err, ErrNotRemediated) {
			t.Errorf("unknown app: %v", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Mode = ModeOff
		off := newScenario(t, cfg)
		if _, err := off.eng.Resume("argocd", "stuck", "x"); !errors.Is(err, ErrRemediationOff) {
			t.Errorf("mode off: %v", err)
		}
	})
}

// gauge is the value of the engine's one series of family name (one app in scope).
