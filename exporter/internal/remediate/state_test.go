package remediate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestCorruptStateFileIsReplaced(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"not json", "{\"version\":1,\"apps\":{\"argocd/x\":"},
		{"truncated", `{"version":1,"apps":{"argocd/stuck":{"project":"default","attempts":2`},
		{"wrong version", `{"version":7,"apps":{}}`},
		{"unknown phase", `{"version":2,"apps":{"argocd/x":{"phase":"dancing","attempts":1}}}`},
		{"bad key", `{"version":1,"apps":{"no-namespace":{"attempts":1}}}`},
		{"negative attempts", `{"version":1,"apps":{"argocd/x":{"attempts":-1}}}`},
		{"null entry", `{"version":1,"apps":{"argocd/x":null}}`},
		{"empty file", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := testConfig()
				cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
				if err := os.WriteFile(cfg.StateFile, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
				s := newScenario(t, cfg)
				if n := s.logs.count("level=ERROR", "remediation state unusable"); n != 1 {
					t.Errorf("error logs = %d, want 1:\n%s", n, s.logs)
				}
				data, err := os.ReadFile(cfg.StateFile)
				if err != nil {
					t.Fatal(err)
				}
				if apps, err := decodeState(data); err != nil || len(apps) != 0 {
					t.Fatalf("state file after start = %q (%v), want a valid empty state", data, err)
				}
				// And the engine works.
				s.fake.add(&fakeApp{app: outOfSync("stuck")})
				s.run(3 * time.Minute)
				if n := s.fake.callCount(); n == 0 {
					t.Fatal("no sync after starting from a corrupt state file")
				}
			})
		})
	}
}

func TestStateFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	at := time.Date(2026, 11, 26, 3, 4, 5, 0, time.UTC)
	in := map[appKey]*appState{
		keyOf("argocd/a"):  {Project: "p", Revision: "abc", StreakStart: at, Attempts: 2, NotBefore: at.Add(time.Minute), RequestedAt: at, Phase: PhaseInFlight},
		keyOf("team-b/b"):  {Project: "q", Phase: PhasePaused, Attempts: 3, StreakStart: at},
		keyOf("argocd/ok"): {Project: "p", Revision: "def"}, // nothing worth keeping
	}
	data, err := encodeState(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := (FileStore{path}).Save(data); err != nil {
		t.Fatal(err)
	}
	out, corrupt, err := loadState(FileStore{path})
	if err != nil || corrupt {
		t.Fatalf("load: corrupt=%v err=%v", corrupt, err)
	}
	if len(out) != 2 || out[keyOf("argocd/ok")] != nil {
		t.Fatalf("loaded %d apps, want the 2 worth keeping", len(out))
	}
	a := out[keyOf("argocd/a")]
	if a.namespace != "argocd" || a.name != "a" || a.Attempts != 2 || a.Phase != PhaseInFlight || !a.NotBefore.Equal(at.Add(time.Minute)) || a.Revision != "abc" {
		t.Errorf("argocd/a = %+v", a)
	}
	if b := out[keyOf("team-b/b")]; b.Phase != PhasePaused || b.Project != "q" {
		t.Errorf("team-b/b = %+v", b)
	}
	// No temp files left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the state file", len(entries))
	}
}

// TestVersion1StateFileIsRead: a file written before the phase existed
// (five booleans, forbiddenLogged among them) loads with the same meaning,
// and is written back as version 2 without log throttling in it.
func TestVersion1StateFileIsRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v1 := `{"version":1,"apps":{
		"argocd/flying":{"project":"p","streakStart":"2026-11-26T03:00:00Z","attempts":2,"pending":true,"inFlight":true,"requestedAt":"2026-11-26T03:02:00Z","notBefore":"2026-11-26T03:04:00Z"},
		"argocd/waiting":{"project":"p","streakStart":"2026-11-26T03:00:00Z","attempts":1,"pending":true,"dryRun":true},
		"argocd/stopped":{"project":"p","streakStart":"2026-11-26T03:00:00Z","attempts":3,"paused":true},
		"argocd/refused":{"project":"p","streakStart":"2026-11-26T03:00:00Z","errors":2,"notBefore":"2026-11-26T03:05:00Z","forbiddenLogged":true},
		"argocd/new":{"project":"p","streakStart":"2026-11-26T03:00:00Z"}}}`
		apps, err := decodeState([]byte(v1))
		if err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]Phase{
			"argocd/flying": PhaseInFlight, "argocd/waiting": PhaseAwaiting, "argocd/stopped": PhasePaused,
			"argocd/refused": PhaseDue, "argocd/new": PhaseGrace,
		} {
			if got := apps[keyOf(key)].Phase; got != want {
				t.Errorf("%s: phase %q, want %q", key, got, want)
			}
		}
		if st := apps[keyOf("argocd/waiting")]; !st.DryRun || st.Attempts != 1 {
			t.Errorf("argocd/waiting = %+v", st)
		}
		enc, err := encodeState(apps)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(enc); !strings.Contains(s, `"version":2`) || strings.Contains(s, "forbiddenLogged") || strings.Contains(s, "inFlight\":true") {
			t.Errorf("re-encoded: %s", s)
		}
		// A restart reads the crashed call's outcome like any other.
		cfg := testConfig()
		cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(cfg.StateFile, []byte(v1), 0o600); err != nil {
			t.Fatal(err)
		}
		s := newScenario(t, cfg)
		if st := s.state("argocd/flying"); st.Phase != PhaseAwaiting || st.Attempts != 2 {
			t.Errorf("argocd/flying after restart = %+v, want awaiting with 2 attempts", st)
		}
	})
}

func TestMissingStateFileStartsEmpty(t *testing.T) {
	apps, corrupt, err := loadState(FileStore{filepath.Join(t.TempDir(), "absent.json")})
	if err != nil || corrupt || len(apps) != 0 {
		t.Fatalf("apps=%d corrupt=%v err=%v, want empty, no error", len(apps), corrupt, err)
	}
}

func TestUnwritableStateFileSkipsSyncs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		dir := t.TempDir()
		cfg.StateFile = filepath.Join(dir, "missing-dir", "state.json")
		s := newScenario(t, cfg)
		s.fake.add(&fakeApp{app: outOfSync("stuck")})
		s.run(10 * time.Minute)
		if n := s.fake.callCount(); n != 0 {
			t.Fatalf("%d sync calls although attempts could not be recorded", n)
		}
		if st := s.state("argocd/stuck"); st.Attempts != 0 {
			t.Errorf("state = %+v, want the unrecorded attempts taken back", st)
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"version":1,"apps":{"argocd/a":{"project":"p","attempts":2,"paused":true,"notBefore":"2026-11-26T03:00:00Z"}}}`))
	f.Add([]byte(`{"version":1,"apps":{}}`))
	f.Add([]byte(`{"version":1,"apps":{"a/b":null}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		apps, err := decodeState(data)
		if err != nil {
			return
		}
		// Whatever decodes must survive a write and a read.
		enc, err := encodeState(apps)
		if err != nil {
			t.Fatalf("encode decoded state: %v", err)
		}
		again, err := decodeState(enc)
		if err != nil {
			t.Fatalf("decode re-encoded state: %v\n%s", err, enc)
		}
		kept := 0
		for _, st := range apps {
			if st.worthKeeping() {
				kept++
			}
		}
		if len(again) != kept {
			t.Fatalf("round trip kept %d apps, want %d", len(again), kept)
		}
	})
}
