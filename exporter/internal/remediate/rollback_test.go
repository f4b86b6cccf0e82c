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

// badCommit adds an app that was Synced and Healthy at "good" (history id 0, so the body must
// carry id 0), then is pointed at "bad", which no sync fixes.
func badCommit(s *scenario, name string, autoSync bool) {
	a := argocd.App{Name: name, Sync: argocd.SyncSynced, Health: argocd.HealthHealthy, Revision: "good000000", AutoSync: autoSync}
	s.fake.add(&fakeApp{app: a, history: []argocd.HistoryEntry{{ID: 0, Revisions: []string{"good000000"}, DeployedAt: t0}}})
	s.poll()
	time.Sleep(time.Minute)
	s.fake.set("argocd/"+name, func(f *fakeApp) {
		f.app.Revision, f.app.Sync, f.app.Health = "bad1111111", argocd.SyncOutOfSync, argocd.HealthDegraded
	})
}

// When remediation pauses on a revision that never became healthy: off does nothing, offer
// names the last healthy revision in the story, auto rolls back (history id 0) and holds the
// app: no more syncs of the bad revision. Never for an app with Argo CD auto-sync.
func TestRollbackOnPause(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		autoSync  bool
		rollbacks int
		offer     bool
		held      bool
		noRB      bool
	}{
		{name: "off", mode: RollbackOff},
		{name: "offer", mode: RollbackOffer, offer: true},
		{name: "default is offer", mode: "", offer: true},
		{name: "auto", mode: RollbackAuto, rollbacks: 1, held: true},
		{name: "auto with auto-sync", mode: RollbackAuto, autoSync: true, noRB: true},
		{name: "offer with auto-sync", mode: RollbackOffer, autoSync: true, noRB: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.Rollback = tc.mode
				cfg.IncludeAutomated = true
				s := newScenario(t, cfg)
				badCommit(s, "web", tc.autoSync)
				s.run(3 * time.Hour)

				if n := len(s.fake.callsFor("argocd/web")); n != cfg.MaxAttempts {
					t.Fatalf("%d syncs, want max-attempts %d", n, cfg.MaxAttempts)
				}
				if len(s.fake.rollbacks) != tc.rollbacks {
					t.Fatalf("rollbacks %v, want %d", s.fake.rollbacks, tc.rollbacks)
				}
				if tc.rollbacks > 0 && s.fake.rollbacks[0] != "argocd/web@0" {
					t.Fatalf("rollback %s, want history id 0", s.fake.rollbacks[0])
				}
				story, ok := s.eng.Story("argocd", "web")
				if !ok || !story.Paused {
					t.Fatalf("story %+v, want paused", story)
				}
				if got := story.RollbackOffer != nil; got != tc.offer {
					t.Fatalf("offer %+v, want %v", story.RollbackOffer, tc.offer)
				}
				if tc.offer && (story.RollbackOffer.Revision != "good000000" || !story.RollbackOffer.HealthyUntil.Equal(t0)) {
					t.Errorf("offer %+v, want good000000 healthy until %s", story.RollbackOffer, t0)
				}
				if got := story.Hold != nil; got != tc.held {
					t.Fatalf("hold %+v, want %v", story.Hold, tc.held)
				}
				if tc.held {
					if story.Hold.Bad != "bad1111111" || story.Hold.To != "good000000" || story.Hold.By != "" {
						t.Errorf("hold %+v", story.Hold)
					}
					if a := story.Actions; len(a) != 1 || a[0].Kind != ActionRollback || a[0].Result != actionOK {
						t.Errorf("actions %+v, want one rollback ok", a)
					}
					if got := testutil.ToFloat64(s.eng.metrics.actions.WithLabelValues(ActionRollback, actionOK)); got != 1 {
						t.Errorf("actions_total rollback ok = %v, want 1", got)
					}
				}
				if got := story.NoRollback != ""; got != tc.noRB || tc.noRB && !strings.Contains(story.NoRollback, "auto-sync") {
					t.Errorf("noRollback %q, want set: %v", story.NoRollback, tc.noRB)
				}
			})
		})
	}
}

// A held app is not synced again after a new commit with --remediation.reset-on-new-revision
// (the commit alone says nothing about its manifests); a person's resume ends the hold.
func TestHoldSurvivesNewRevisionUntilResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Rollback = RollbackAuto
		cfg.ResetOnNewRevision = true
		s := newScenario(t, cfg)
		badCommit(s, "web", false)
		s.run(3 * time.Hour)
		if len(s.fake.rollbacks) != 1 {
			t.Fatalf("rollbacks %v", s.fake.rollbacks)
		}
		// A commit elsewhere in the repository: the same manifests as the bad revision.
		s.fake.set("argocd/web", func(f *fakeApp) {
			f.app.Revision = "other22222"
			same := []string{`{"kind":"Deployment","metadata":{"name":"web","broken":true}}`}
			f.manifests = map[string][]string{"bad1111111": same, "other22222": same}
		})
		s.run(time.Hour)
		if n := len(s.fake.callsFor("argocd/web")); n != cfg.MaxAttempts {
			t.Fatalf("%d syncs after a new commit, want still %d (held)", n, cfg.MaxAttempts)
		}
		if st := s.state("argocd/web"); st.Hold == nil || st.Phase != PhasePaused {
			t.Fatalf("state %+v, want held and paused", st)
		}
		if _, err := s.eng.Resume("argocd", "web", "alice"); err != nil {
			t.Fatal(err)
		}
		if st := s.state("argocd/web"); st.Hold != nil {
			t.Fatalf("hold %+v after resume, want none", st.Hold)
		}
		// The one attempt a resume gives fails too: paused again, and rolled back again, now from
		// the new revision.
		s.run(time.Hour)
		if n := len(s.fake.callsFor("argocd/web")); n != cfg.MaxAttempts+1 {
			t.Fatalf("%d syncs after resume, want %d", n, cfg.MaxAttempts+1)
		}
		if st := s.state("argocd/web"); len(s.fake.rollbacks) != 2 || st.Hold == nil || st.Hold.Bad != "other22222" {
			t.Fatalf("rollbacks %v, hold %+v; want a second rollback from other22222", s.fake.rollbacks, st.Hold)
		}
	})
}

// The state file keeps the last healthy revision and the hold; a state file written before
// them still loads.
func TestRollbackStateRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 8, 10, 12, 0, 0, time.UTC)
	apps := map[appKey]*appState{{"argocd", "web"}: {
		Project: "p", Revision: "bad", Phase: PhasePaused, Attempts: 3,
		LastHealthy: &HealthyRevision{Revision: "good", Until: at, HistoryID: 0, HasID: true},
		Hold:        &Hold{Bad: "bad", To: "good", At: at}, RollbackFor: "bad",
	}}
	doc, err := encodeState(apps)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), `"historyId":0`) {
		t.Errorf("history id 0 not kept: %s", doc)
	}
	got, err := decodeState(doc)
	if err != nil {
		t.Fatal(err)
	}
	st := got[appKey{"argocd", "web"}]
	if st.LastHealthy == nil || *st.LastHealthy != *apps[appKey{"argocd", "web"}].LastHealthy || st.Hold == nil || st.Hold.To != "good" || st.RollbackFor != "bad" {
		t.Fatalf("decoded %+v", st)
	}
	old := `{"version":2,"apps":{"argocd/web":{"project":"p","revision":"r","phase":"paused","attempts":3}}}`
	got, err = decodeState([]byte(old))
	if err != nil || got[appKey{"argocd", "web"}].LastHealthy != nil {
		t.Fatalf("old state file: %v %+v", err, got)
	}
}

// A person's rollback: refused without a healthy revision or with auto-sync, else done and held.
func TestRollbackOnRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.IncludeAutomated = true
		s := newScenario(t, cfg)
		if _, err := s.eng.Rollback(context.Background(), "argocd", "web", "alice"); !errors.Is(err, ErrNotRemediated) {
			t.Fatalf("unknown app: %v", err)
		}
		s.fake.add(&fakeApp{app: outOfSync("fresh")})
		s.poll()
		if _, err := s.eng.Rollback(context.Background(), "argocd", "fresh", "alice"); !errors.Is(err, ErrNoHealthyRevision) {
			t.Fatalf("no healthy revision: %v", err)
		}
		badCommit(s, "web", false)
		badCommit(s, "auto", true)
		s.run(3 * time.Hour)
		if _, err := s.eng.Rollback(context.Background(), "argocd", "auto", "alice"); !errors.Is(err, ErrAutoSync) {
			t.Fatalf("auto-sync app: %v, want ErrAutoSync", err)
		}
		msg, err := s.eng.Rollback(context.Background(), "argocd", "web", "alice")
		if err != nil || !strings.Contains(msg, "rolled back to good000") {
			t.Fatalf("rollback: %q %v", msg, err)
		}
		st := s.state("argocd/web")
		if st.Hold == nil || st.Hold.By != "alice" || len(st.Actions) != 1 || !strings.Contains(st.Actions[0].Message, "on request of alice") {
			t.Fatalf("state %+v", st)
		}
	})
}

// The hold after a rollback ends only when the app's own manifests change: a new commit that
// renders the same manifests (another app's path in a shared repository) keeps it, even with
// reset-on-new-revision; a commit that changes them gives fresh attempts, and the new revision
// is synced.
func TestHoldEndsWhenManifestsChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Rollback = RollbackAuto
		cfg.ResetOnNewRevision = true
		s := newScenario(t, cfg)
		badCommit(s, "web", false)
		s.run(3 * time.Hour)
		if len(s.fake.rollbacks) != 1 {
			t.Fatalf("rollbacks %v", s.fake.rollbacks)
		}
		// A commit elsewhere in the repository: the same manifests as the bad revision.
		s.fake.set("argocd/web", func(f *fakeApp) {
			f.app.Revision = "other22222"
			same := []string{`{"kind":"Deployment","metadata":{"name":"web","broken":true}}`}
			f.manifests = map[string][]string{"bad1111111": same, "other22222": same}
		})
		s.run(time.Hour)
		st := s.state("argocd/web")
		if n := len(s.fake.callsFor("argocd/web")); n != cfg.MaxAttempts || st.Hold == nil || st.Hold.Checked != "other22222" {
			t.Fatalf("%d syncs, hold %+v; want %d and the hold kept (checked other22222)", n, st.Hold, cfg.MaxAttempts)
		}
		s.fake.set("argocd/web", func(f *fakeApp) {
			f.app.Revision, f.fixable = "fix3333333", true
			f.manifests["fix3333333"] = []string{`{"kind":"Deployment","metadata":{"name":"web"},"spec":{"fixed":true}}`}
		})
		s.run(time.Hour)
		st = s.state("argocd/web")
		if n := len(s.fake.callsFor("argocd/web")); n != cfg.MaxAttempts+1 {
			t.Fatalf("%d syncs, want one more at the new revision", n)
		}
		if st.Hold != nil || st.LastHealthy == nil || st.LastHealthy.Revision != "fix3333333" {
			t.Fatalf("state %+v, want no hold and fix3333333 healthy", st)
		}
		if n := s.logs.count("remediation hold kept"); n != 1 {
			t.Errorf("%d 'hold kept' lines, want 1 (one comparison per revision)", n)
		}
		if n := s.logs.count("remediation hold ended", "revision=fix3333333"); n != 1 {
			t.Errorf("%d 'hold ended' lines, want 1:\n%s", n, s.logs.String())
		}
	})
}

// --remediation.reset-on-new-revision resets only when the app's own manifests changed: a
// commit to another app's path in a shared repository keeps the pause (so max-attempts still
// trips in a busy monorepo); a commit that changes the app's manifests gives fresh attempts.
func TestResetOnNewRevisionNeedsChangedManifests(t *testing.T) {
	tests := []struct {
		name       string
		same       bool
		wantSyncs  int
		wantPaused bool
	}{
		{name: "commit elsewhere in the repository", same: true, wantSyncs: 3, wantPaused: true},
		{name: "commit to the app's path", same: false, wantSyncs: 6, wantPaused: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.Rollback = RollbackOff
				s := runStuck(t, cfg, time.Hour)
				if st := s.state("argocd/stuck"); st.Phase != PhasePaused {
					t.Fatalf("state %+v, want paused", st)
				}
				s.fake.set("argocd/stuck", func(f *fakeApp) {
					f.app.Revision = "bbbb"
					if tc.same {
						same := []string{`{"kind":"Deployment","metadata":{"name":"stuck"}}`}
						f.manifests = map[string][]string{"aaaa": same, "bbbb": same}
					}
				})
				s.run(2 * time.Hour)
				st := s.state("argocd/stuck")
				if n := len(s.fake.callsFor("argocd/stuck")); n != tc.wantSyncs || (st.Phase == PhasePaused) != tc.wantPaused {
					t.Fatalf("%d syncs, state %+v; want %d syncs, paused %v", n, st, tc.wantSyncs, tc.wantPaused)
				}
				if tc.same && (st.ResetFrom != "aaaa" || st.ResetChecked != "bbbb") {
					t.Errorf("resetFrom %q checked %q, want aaaa and bbbb", st.ResetFrom, st.ResetChecked)
				}
				// A reset decided on the comparison's answer, which no event announces, kicks the
				// watcher so the new streak starts now, not at the next review of the snapshot.
				if kicked := len(s.eng.Kicks()) == 1; kicked == tc.same {
					t.Errorf("kicked %v after a reset that changed manifests %v", kicked, !tc.same)
				}
			})
		})
	}
}
