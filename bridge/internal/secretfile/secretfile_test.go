package secretfile

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// write replaces path the way the kubelet rotates a Secret: a new file renamed over the old.
func write(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "url")
	write(t, path, "https://hooks.example/OLD\n")
	var logs bytes.Buffer
	f, err := Read(path, URL, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name, content string
		remove        bool
		want          string
	}{
		{name: "unchanged", want: "https://hooks.example/OLD"},
		{name: "rotated", content: "https://hooks.example/NEW", want: "https://hooks.example/NEW"},
		{name: "emptied keeps the last good", content: "  \n", want: "https://hooks.example/NEW"},
		{name: "not a URL keeps the last good", content: "SECRETgarbage", want: "https://hooks.example/NEW"},
		{name: "removed keeps the last good", remove: true, want: "https://hooks.example/NEW"},
		{name: "back", content: "https://hooks.example/THIRD", want: "https://hooks.example/THIRD"},
	}
	for _, st := range steps {
		switch {
		case st.remove:
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		case st.content != "":
			write(t, path, st.content)
		}
		if got := f.Value(); got != st.want {
			t.Errorf("%s: Value() = %q, want %q", st.name, got, st.want)
		}
	}
	if strings.Contains(logs.String(), "SECRET") || strings.Contains(logs.String(), "hooks.example") {
		t.Errorf("a value reached the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "keeping the last good value") {
		t.Errorf("failed re-reads not logged:\n%s", logs.String())
	}
}

func TestFirstReadMustSucceed(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	write(t, empty, "\n")
	bad := filepath.Join(dir, "bad")
	write(t, bad, "SECRET")
	for name, path := range map[string]string{"missing": filepath.Join(dir, "missing"), "empty": empty, "not a URL": bad} {
		_, err := Read(path, URL, nil)
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
