package remediate

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestResumePausedAppSyncsAtTheNextPoll(t *testing.T) {
	s := runStuck(t, testConfig(), 30*time.Minute)
	if st := s.state("argocd/stuck"); !st.Paused || len(s.fake.callsFor("argocd/stuck")) != 3 {
		t.Fatalf("setup: want paused after 3 calls: %+v", st)
	}
	got, err := s.eng.Resume("argocd", "stuck", "alice (slack:U0ALICE)")
	if err != nil || !strings.Contains(got, "pause cleared after 3 attempts, one more attempt") {
		t.Fatalf("Resume = %q, %v", got, err)
	}
	if st := s.state("argocd/stuck"); !st.Paused || !st.Resumed || st.Attempts != 2 {
		t.Fatalf("state after resume %+v, want still paused (until the outcome), resumed, 2 attempts (one left)", st)
	}
	if n := s.logs.count("remediation resumed by request", "app=argocd/stuck", "slack:U0ALICE"); n != 1 {
		t.Errorf("resume log lines = %d:\n%s", n, s.logs)
	}
	s.poll()
	if n := len(s.fake.callsFor("argocd/stuck")); n != 4 {
		t.Fatalf("%d sync calls after resume and one poll, want 4", n)
	}
	if st := s.state("argocd/stuck"); !st.Paused || st.Resumed {
		t.Fatalf("state during the attempt %+v, want paused, the one attempt used", st)
	}
	// The one attempt fails: paused again, no further syncs.
	s.run(30 * time.Minute)
	if n := len(s.fake.callsFor("argocd/stuck")); n != 4 {
		t.Fatalf("%d sync calls 30m after resume, want exactly 4", n)
	}
	if st := s.state("argocd/stuck"); !st.Paused || st.Attempts != 3 {
		t.Errorf("state %+v, want paused again after 3 attempts", st)
	}
}

func TestRetrySkipsTheBackoff(t *testing.T) {
	s := newScenario(t, testConfig())
	s.fake.add(&fakeApp{app: outOfSync("stuck")})
	s.run(2*time.Minute + 30*time.Second) // grace 2m, first attempt, backoff 1m running
	if n := len(s.fake.callsFor("argocd/stuck")); n != 1 {
		t.Fatalf("setup: %d calls, want 1", n)
	}
	if _, err := s.eng.Resume("argocd", "stuck", "bob"); err != nil {
		t.Fatal(err)
	}
	s.poll()
	if n := len(s.fake.callsFor("argocd/stuck")); n != 2 {
		t.Fatalf("%d calls after retry and one poll, want 2", n)
	}
	if st := s.state("argocd/stuck"); st.Attempts != 2 {
		t.Errorf("attempts %d, want 2 (a retry counts)", st.Attempts)
	}
}

func TestResumeThatFixesTheAppResets(t *testing.T) {
	s := newScenario(t, testConfig())
	app := s.fake.add(&fakeApp{app: outOfSync("stuck")})
	s.run(30 * time.Minute)
	if st := s.state("argocd/stuck"); !st.Paused {
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
	if st := s.state("argocd/stuck"); st.Paused || st.Attempts != 0 {
		t.Errorf("state %+v, want reset after the fix", st)
	}
}

func TestResumeRefusals(t *testing.T) {
	s := runStuck(t, testConfig(), 30*time.Minute)
	if _, err := s.eng.Resume("argocd", "unknown", "x"); !errors.Is(err, ErrNotRemediated) {
		t.Errorf("unknown app: %v", err)
	}
	cfg := testConfig()
	cfg.Mode = ModeOff
	off := newScenario(t, cfg)
	if _, err := off.eng.Resume("argocd", "stuck", "x"); !errors.Is(err, ErrRemediationOff) {
		t.Errorf("mode off: %v", err)
	}
}
