package secret

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	f, err := ReadFile(path, URL, slog.New(slog.NewTextHandler(&logs, nil)))
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

// An in-place write (same inode) is seen too, by its modification time and size.
func TestInPlaceRewrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rewrite := func(tok string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Move the mtime on, so the test does not depend on the file system's timestamp resolution.
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	rewrite("first-token", t0)
	f, err := ReadFile(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rewrite("second-token", t0.Add(time.Minute))
	if got := f.Value(); got != "second-token" {
		t.Errorf("after an in-place rewrite: %q", got)
	}
}

func TestFirstReadMustSucceed(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	write(t, empty, "\n")
	bad := filepath.Join(dir, "bad")
	write(t, bad, "SECRET")
	for name, path := range map[string]string{"missing": filepath.Join(dir, "missing"), "empty": empty, "not a URL": bad, "directory": dir} {
		_, err := ReadFile(path, URL, nil)
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	write(t, path, " from-file \n")
	tests := []struct {
		name, file, value string
		check             func(string) error
		want              string // "" with no error: nil Source
		err               error
	}{
		{name: "file wins over the value", file: path, value: "from-env", want: "from-file"},
		{name: "value trimmed", value: "  from-env\n", want: "from-env"},
		{name: "nothing set", value: "  "},
		{name: "value checked", value: "ftp://x", check: URL, err: ErrNotHTTPURL},
		{name: "file checked", file: path, check: URL, err: ErrNotHTTPURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.file, tc.value, tc.check, nil)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			switch {
			case err != nil:
			case tc.want == "" && s != nil:
				t.Errorf("Source %v, want nil", s)
			case tc.want != "" && (s == nil || s.Value() != tc.want):
				t.Errorf("Source %v, want %q", s, tc.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"https://hooks.slack.com/services/T/B/x", nil},
		{"http://127.0.0.1:9093/prefix", nil},
		{"ftp://host/x", ErrNotHTTPURL},
		{"hooks.slack.com/services/x", ErrNotHTTPURL},
		{"https://", ErrNotHTTPURL},
		{"https://user:SECRET@host", ErrURLCredentials},
		{"http://user@host", ErrURLCredentials},
		{"http://[::1", ErrNotHTTPURL},
	}
	for _, tc := range tests {
		err := URL(tc.in)
		if !errors.Is(err, tc.want) || (err != nil && strings.Contains(err.Error(), "SECRET")) {
			t.Errorf("URL(%q) = %v, want %v", tc.in, err, tc.want)
		}
	}
}
