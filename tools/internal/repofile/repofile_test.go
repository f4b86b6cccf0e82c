package repofile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindRootAndResolve(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.work"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "tools", "cmd")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := FindRoot(deep)
	if err != nil || got != root {
		t.Fatalf("FindRoot = %q, %v; want %q", got, err, root)
	}
	if _, err := FindRoot(t.TempDir()); err == nil {
		t.Error("want an error without go.work")
	}
	r := Resolver{Root: root}
	for in, want := range map[string]string{
		"":              "",
		"alerts/x.yaml": filepath.Join(root, "alerts/x.yaml"),
		"/abs/x.yaml":   "/abs/x.yaml",
	} {
		if got := r.Abs(in); got != want {
			t.Errorf("Abs(%q) = %q, want %q", in, got, want)
		}
	}
	if got := r.Rel(filepath.Join(root, "alerts", "params.yaml")); got != "alerts/params.yaml" {
		t.Errorf("Rel inside = %q", got)
	}
	if got := r.Rel("/elsewhere/p.yaml"); got != "p.yaml" {
		t.Errorf("Rel outside = %q", got)
	}
}

func TestWriteReplacesAtomically(t *testing.T) {
	r := Resolver{Root: t.TempDir()}
	for _, content := range []string{"first\n", "second\n"} {
		if err := r.Write("a/b/file.txt", []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(r.Root, "a/b/file.txt"))
		if err != nil || string(got) != content {
			t.Fatalf("got %q, %v; want %q", got, err, content)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(r.Root, "a/b"))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := os.WriteFile(filepath.Join(r.Root, "blocker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Write("blocker/file.txt", []byte("x")); err == nil {
		t.Error("want an error when the directory cannot be created")
	}
}
