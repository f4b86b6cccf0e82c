package remediate

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCorruptStateFileIsReplaced(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"not json", "{\"version\":1,\"apps\":{\"argocd/x\":"},
		{"truncated", `{"version":1,"apps":{"argocd/stuck":{"project":"default","attempts":2`},
		{"wrong version", `{"version":7,"apps":{}}`},
		{"bad key", `{"version":1,"apps":{"no-namespace":{"attempts":1}}}`},
		{"negative attempts", `{"version":1,"apps":{"argocd/x":{"attempts":-1}}}`},
		{"null entry", `{"version":1,"apps":{"argocd/x":null}}`},
		{"empty file", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(cfg.StateFile, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s := newScenario(t, cfg)
			if n := s.logs.count("level=ERROR", "remediation state file unusable"); n != 1 {
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
	}
}

func TestStateFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	at := time.Date(2026, 11, 26, 3, 4, 5, 0, time.UTC)
	in := map[appKey]*appState{
		keyOf("argocd/a"):  {Project: "p", Revision: "abc", StreakStart: at, Attempts: 2, NotBefore: at.Add(time.Minute), Pending: true, RequestedAt: at, InFlight: true},
		keyOf("team-b/b"):  {Project: "q", Paused: true, Attempts: 3, StreakStart: at},
		keyOf("argocd/ok"): {Project: "p", Revision: "def"}, // nothing worth keeping
	}
	data, err := encodeState(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(path, data); err != nil {
		t.Fatal(err)
	}
	out, corrupt, err := loadState(path)
	if err != nil || corrupt {
		t.Fatalf("load: corrupt=%v err=%v", corrupt, err)
	}
	if len(out) != 2 || out[keyOf("argocd/ok")] != nil {
		t.Fatalf("loaded %d apps, want the 2 worth keeping", len(out))
	}
	a := out[keyOf("argocd/a")]
	if a.namespace != "argocd" || a.name != "a" || a.Attempts != 2 || !a.InFlight || !a.NotBefore.Equal(at.Add(time.Minute)) || a.Revision != "abc" {
		t.Errorf("argocd/a = %+v", a)
	}
	if b := out[keyOf("team-b/b")]; !b.Paused || b.Project != "q" {
		t.Errorf("team-b/b = %+v", b)
	}
	// No temp files left behind.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the state file", len(entries))
	}
}

func TestMissingStateFileStartsEmpty(t *testing.T) {
	apps, corrupt, err := loadState(filepath.Join(t.TempDir(), "absent.json"))
	if err != nil || corrupt || len(apps) != 0 {
		t.Fatalf("apps=%d corrupt=%v err=%v, want empty, no error", len(apps), corrupt, err)
	}
}

func TestUnwritableStateFileSkipsSyncs(t *testing.T) {
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
