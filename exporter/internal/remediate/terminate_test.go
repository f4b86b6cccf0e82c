package remediate

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A sync that hangs on its hook is terminated once it has run longer than TerminateAfter; the
// terminated attempt counts as failed, the story says why, and after max attempts (each one
// hanging and terminated) remediation pauses: never more syncs than max-attempts.
func TestStuckOperationIsTerminatedAndCountsAsFailedAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.TerminateAfter = 10 * time.Minute
		s := newScenario(t, cfg)
		s.fake.add(&fakeApp{app: outOfSync("hooked"), hang: true})
		s.run(12*time.Minute + 30*time.Second)

		// Grace 2m: sync at 2m, Running from 2m30s, terminated once it ran 10m (at 12m30s).
		if got := s.fake.terminations; len(got) != 1 || got[0] != "argocd/hooked" {
			t.Fatalf("terminations %v, want one of argocd/hooked", got)
		}
		st := s.state("argocd/hooked")
		if len(st.History) != 1 || st.History[0].Result != resultFailed ||
			!strings.Contains(st.History[0].Message, "terminated: the operation ran 10m0s, longer than 10m0s (waiting for completion of hook batch/Job/hooked-presync)") {
			t.Fatalf("history %+v, want attempt 1 failed by termination", st.History)
		}
		if len(st.Actions) != 1 || st.Actions[0].Kind != ActionTerminate || st.Actions[0].Result != actionOK || st.Actions[0].By != "" {
			t.Fatalf("actions %+v, want one terminate by the engine", st.Actions)
		}
		if got := s.counter("argocd/hooked", resultFailed); got != 1 {
			t.Errorf("syncs_total failed = %v, want 1", got)
		}
		if got := testutil.ToFloat64(s.eng.metrics.actions.WithLabelValues(ActionTerminate, actionOK)); got != 1 {
			t.Errorf("actions_total terminate ok = %v, want 1", got)
		}

		s.run(3 * time.Hour)
		if n := len(s.fake.callsFor("argocd/hooked")); n != cfg.MaxAttempts {
			t.Fatalf("%d syncs, want max-attempts %d", n, cfg.MaxAttempts)
		}
		if n := len(s.fake.terminations); n != cfg.MaxAttempts {
			t.Fatalf("%d terminations, want one per attempt (%d)", n, cfg.MaxAttempts)
		}
		if st := s.state("argocd/hooked"); st.Phase != PhasePaused || st.Attempts != cfg.MaxAttempts {
			t.Fatalf("state %+v, want paused after %d attempts", st, cfg.MaxAttempts)
		}
		story, _ := s.eng.Story("argocd", "hooked")
		if len(story.Actions) != cfg.MaxAttempts {
			t.Fatalf("story actions %+v", story.Actions)
		}
	})
}

// A terminate Argo CD accepted but lost (the operation still reads Running: its controller wrote
// Running over the server's Terminating) is sent again after a backoff, not never; the attempt
// counts as failed once.
func TestLostTerminateIsRepeated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.TerminateAfter = 10 * time.Minute
		s := newScenario(t, cfg)
		s.fake.add(&fakeApp{app: outOfSync("hooked"), hang: true, loseTerminates: 1})
		// Sync at 2m, Running from 2m30s, first terminate at 12m30s (lost), again a backoff (1m)
		// later, then the operation ends.
		s.run(12*time.Minute + 30*time.Second)
		if got := len(s.fake.terminations); got != 1 {
			t.Fatalf("%d terminations at 12m30s, want 1", got)
		}
		s.run(20 * time.Second) // the poll at 13m: within the backoff
		if got := len(s.fake.terminations); got != 1 {
			t.Fatalf("%d terminations within the backoff, want still 1", got)
		}
		s.run(time.Minute)
		if got := len(s.fake.terminations); got != 2 {
			t.Fatalf("%d terminations after the backoff, want 2 (the lost one repeated)", got)
		}
		st := s.state("argocd/hooked")
		// The operation ended after the repeated terminate; the next attempt may have started.
		if len(st.History) == 0 || st.History[0].Result != resultFailed || s.counter("argocd/hooked", resultFailed) != 1 {
			t.Fatalf("history %+v, failed %v: want attempt 1 failed, counted once", st.History, s.counter("argocd/hooked", resultFailed))
		}
		if len(st.Actions) != 2 {
			t.Fatalf("actions %+v, want two terminates", st.Actions)
		}
		s.run(3 * time.Hour)
		if n := len(s.fake.callsFor("argocd/hooked")); n != cfg.MaxAttempts {
			t.Fatalf("%d syncs, want max-attempts %d", n, cfg.MaxAttempts)
		}
	})
}

// With TerminateAfter 0 (the default) a hanging operation is left alone: no terminate call and
// no second sync while it runs.
func TestTerminateOffLeavesRunningOperation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScenario(t, testConfig())
		s.fake.add(&fakeApp{app: outOfSync("hooked"), hang: true})
		s.run(2 * time.Hour)
		if len(s.fake.terminations) != 0 || len(s.fake.callsFor("argocd/hooked")) != 1 {
			t.Fatalf("terminations %v, syncs %v; want none and 1", s.fake.terminations, s.fake.callsFor("argocd/hooked"))
		}
	})
}

// A foreign operation (a person's sync) that hangs is terminated too, but is no attempt of ours.
func TestForeignStuckOperationIsTerminatedWithoutAnAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.TerminateAfter = 10 * time.Minute
		s := newScenario(t, cfg)
		a := outOfSync("manual")
		s.fake.add(&fakeApp{app: a, hang: true})
		s.fake.set("argocd/manual", func(f *fakeApp) {
			f.app.OperationInProgress = true
			f.stage = 1
		})
		s.run(12 * time.Minute)
		if len(s.fake.terminations) != 1 {
			t.Fatalf("terminations %v, want 1", s.fake.terminations)
		}
		if st := s.state("argocd/manual"); len(st.History) != 0 || st.Attempts != 0 {
			t.Fatalf("state %+v: a foreign operation is no attempt", st)
		}
	})
}

// Terminate on request (the write API) ends the running operation now and tells who asked.
func TestTerminateOnRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScenario(t, testConfig())
		s.fake.add(&fakeApp{app: outOfSync("hooked"), hang: true})
		if _, err := s.eng.Terminate(context.Background(), "argocd", "hooked", "alice"); !errors.Is(err, ErrNotRemediated) {
			t.Fatalf("before any poll: %v, want ErrNotRemediated", err)
		}
		s.poll()
		if _, err := s.eng.Terminate(context.Background(), "argocd", "hooked", "alice"); !errors.Is(err, ErrNoOperation) {
			t.Fatalf("no operation: %v, want ErrNoOperation", err)
		}
		s.run(5 * time.Minute) // synced at 2m, hanging since
		msg, err := s.eng.Terminate(context.Background(), "argocd", "hooked", "alice")
		if err != nil || !strings.Contains(msg, "terminated the operation") {
			t.Fatalf("terminate: %q %v", msg, err)
		}
		st := s.state("argocd/hooked")
		if len(st.Actions) != 1 || st.Actions[0].By != "alice" || !strings.Contains(st.Actions[0].Message, "on request of alice") {
			t.Fatalf("actions %+v", st.Actions)
		}
		if len(st.History) != 1 || st.History[0].Result != resultFailed {
			t.Fatalf("history %+v, want our attempt failed", st.History)
		}
		s.poll()
		if op := s.fake.snapshot()[0].Operation; op == nil || op.Phase != argocd.PhaseFailed {
			t.Fatalf("operation %+v, want Failed", op)
		}
	})
}
