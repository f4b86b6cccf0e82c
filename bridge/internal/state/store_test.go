package state

import (
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"
)

func TestStoreSurvivesRestartAndExpires(t *testing.T) {
	synctest.Test(t, testStoreSurvivesRestartAndExpires)
}

func testStoreSurvivesRestartAndExpires(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")

	s, err := Open(path, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("g1", Entry{Channel: "C1", TS: "1.1"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Hour)
	if err := s.Put("g2", Entry{Channel: "C1", TS: "2.2"}); err != nil {
		t.Fatal(err)
	}

	// A restart reads what was written.
	s2, err := Open(path, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := s2.Get("g1"); !ok || e.TS != "1.1" || e.Channel != "C1" {
		t.Fatalf("g1 after restart = %+v, %v", e, ok)
	}
	// g1 expires 24h after it was written, g2 lives on.
	time.Sleep(5 * time.Hour)
	if _, ok := s2.Get("g1"); ok {
		t.Error("g1 should have expired")
	}
	if _, ok := s2.Get("g2"); !ok {
		t.Error("g2 expired too early")
	}
	if err := s2.Delete("g2"); err != nil {
		t.Fatal(err)
	}
	s3, err := Open(path, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s3.m); n != 0 {
		t.Errorf("%d entries after delete and expiry", n)
	}
	// No temp files are left behind.
	files, _ := os.ReadDir(filepath.Dir(path))
	if len(files) != 1 {
		t.Errorf("files in state dir: %v", files)
	}
}

func TestCorruptFileIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, time.Hour); err == nil {
		t.Fatal("corrupt state accepted")
	}
}

func TestMemoryOnly(t *testing.T) {
	s, err := Open("", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("g", Entry{Channel: "C", TS: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get("g"); !ok {
		t.Error("entry lost")
	}
}

func TestUnwritableDirReportsError(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "missing", "state.json"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("g", Entry{TS: "1"}); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}
