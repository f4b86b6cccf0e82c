package remediate

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestStoryTellsAttemptsPauseAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
		s := newScenario(t, cfg)
		s.fake.add(&fakeApp{app: outOfSync("stuck"), failMsg: "one or more objects failed to apply"})

		s.run(90 * time.Second)
		st, ok := s.eng.Story("argocd", "stuck")
		if !ok || len(st.Attempts) != 0 || !st.NextAttempt.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("in grace: %+v %v, want no attempts, next at the end of the grace", st, ok)
		}

		s.run(30 * time.Minute)
		st, _ = s.eng.Story("argocd", "stuck")
		if len(st.Attempts) != 3 || !st.Paused || st.PausedAt.IsZero() || !st.NextAttempt.IsZero() || st.MaxAttempts != 3 {
			t.Fatalf("story = %+v, want 3 attempts, paused, no next attempt", st)
		}
		for i, a := range st.Attempts {
			if a.N != i+1 || a.Result != resultFailed || !strings.Contains(a.Message, "failed to apply") || !a.At.Equal(t0.Add(mins(2, 3, 5)[i])) {
				t.Errorf("attempt %d = %+v", i, a)
			}
		}
		if len(st.ResetsOn) != 2 {
			t.Errorf("resets on %v", st.ResetsOn)
		}

		// The story survives a restart (it is in the state file).
		s.eng = s.newEngine(s.fake)
		if st, _ := s.eng.Story("argocd", "stuck"); len(st.Attempts) != 3 || !st.Paused {
			t.Fatalf("after restart: %+v", st)
		}

		// A new revision that fixes it: the old streak becomes LastReset, and
		// the attempt that fixed the app is told as succeeded.
		s.fake.set("argocd/stuck", func(a *fakeApp) { a.app.Revision = "bbbb"; a.fixable = true })
		s.run(10 * time.Minute)
		st, _ = s.eng.Story("argocd", "stuck")
		if st.Paused || len(st.Attempts) != 0 || st.LastReset == nil {
			t.Fatalf("after the fix: %+v", st)
		}
		if r := st.LastReset; r.Reason != "app Synced and Healthy" || len(r.Attempts) != 1 || r.Attempts[0].Result != resultSucceeded {
			t.Errorf("last reset %+v", r)
		}

		if _, ok := s.eng.Story("argocd", "unknown"); ok {
			t.Error("story for an app the engine never saw")
		}
	})
}
