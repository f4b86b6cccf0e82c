package secretfile

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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

// The Bearer client sends the file's token, keeps the last good one while the
// file is gone (a Secret's symlink swap) and sends the new one after rotation.
func TestBearerClientKeepsLastGoodToken(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := f.BearerClient("test")
	if err != nil {
		t.Fatal(err)
	}
	get := func() {
		t.Helper()
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	get()
	write(t, path, "second-and-longer\n")
	get()
	want := []string{"Bearer first", "Bearer first", "Bearer second-and-longer"}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("Authorization headers %q, want %q", got, want)
	}
}
