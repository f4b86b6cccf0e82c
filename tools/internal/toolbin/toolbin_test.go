package toolbin

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// A binary is built once per key: the same key skips the build, a new key rebuilds.
func TestEnsure(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bin", "tool")
	builds := 0
	build := func() error {
		builds++
		return os.WriteFile(bin, []byte("x"), 0o755)
	}
	for _, key := range []string{"a", "a", "b"} {
		if err := Ensure(bin, key, io.Discard, build); err != nil {
			t.Fatal(err)
		}
	}
	if builds != 2 {
		t.Fatalf("%d builds, want 2", builds)
	}
	// A missing binary is rebuilt even with a matching key.
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	if err := Ensure(bin, "b", io.Discard, build); err != nil || builds != 3 {
		t.Fatalf("builds %d, err %v", builds, err)
	}
}

func TestModuleKey(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, err := ModuleKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ModuleKey(dir, "-ldflags x")
	if a == b {
		t.Fatal("build flags do not change the key")
	}
	if _, err := ModuleKey(t.TempDir()); err == nil {
		t.Fatal("no error without go.mod")
	}
}
