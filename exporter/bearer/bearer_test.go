package bearer

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/prometheus/common/config"

	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// TestRule is the one rule every endpoint applies (RFC 9110 §11, RFC 6750 §2.1).
func TestRule(t *testing.T) {
	const want = "s3cr3t-Tok.en_~+/=="
	tests := []struct {
		header  string
		verdict Verdict
	}{
		{"Bearer " + want, Valid},
		{"bearer " + want, Valid},
		{"BEARER " + want, Valid},
		{"bEaReR " + want, Valid},
		{"Bearer  " + want, Valid},       // one or more spaces
		{"bearer   " + want, Valid},      // idem
		{" Bearer " + want + " ", Valid}, // field-value whitespace is not part of the value
		{"", Missing},
		{"Bearer", Missing},
		{"Bearer ", Missing},
		{"Bearer    ", Missing},
		{"Bearer" + want, Missing},         // no space
		{"Bearer\t" + want, Missing},       // RFC 9110: SP, not tab
		{"Basic dXNlcjpwYXNz", Missing},    // another scheme
		{"Token " + want, Missing},         // another scheme
		{"Bearer " + want + " x", Missing}, // no spaces inside a token68
		{"Bearer a=b", Missing},            // "=" only at the end
		{"Bearer ===", Missing},            // nothing before the padding
		{"Bearer tök", Missing},            // not ASCII
		{"Bearer wrong-token", Wrong},
		{"Bearer x" + want, Wrong},
		{"Bearer " + want[:len(want)-1], Wrong},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if got := Check(r, secret.Static(want)); got != tc.verdict {
				t.Errorf("Check(%q) = %v, want %v", tc.header, got, tc.verdict)
			}
		})
	}
}

func TestNoExpectedTokenRefusesAll(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer x")
	for name, src := range map[string]secret.Source{"nil": nil, "empty": secret.Static("")} {
		if got := Check(r, src); got != Unset {
			t.Errorf("%s: %v, want Unset", name, got)
		}
	}
}

func TestCheckToken(t *testing.T) {
	for _, ok := range []string{"abc", "eyJhbGciOi.eyJzdWIi.bmV3", "0123456789abcdef", "a+b/c=="} {
		if err := CheckToken(ok); err != nil {
			t.Errorf("CheckToken(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "two words", "a=b", "tök", `"quoted"`} {
		if CheckToken(bad) == nil {
			t.Errorf("CheckToken(%q) = nil", bad)
		}
	}
}

func TestChallenge(t *testing.T) {
	w := httptest.NewRecorder()
	Challenge(w, "argocd-exporter")
	if got := w.Header().Get("WWW-Authenticate"); got != `Bearer realm="argocd-exporter"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
}

// The client sends the file's token, keeps the last good one while the file is gone (a
// Secret's symlink swap), sends the new one after rotation, and never follows a redirect
// (which would carry the token elsewhere).
func TestClient(t *testing.T) {
	var mu sync.Mutex
	var got []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, "elsewhere: "+r.Header.Get("Authorization"))
	}))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusFound)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := secret.ReadFile(path, CheckToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := NewClient("test", f, config.DefaultHTTPClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	get := func(p string) int {
		t.Helper()
		resp, err := client.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	get("/")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	get("/")
	if err := os.WriteFile(path+".new", []byte("second-and-longer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	get("/")
	if code := get("/redirect"); code != http.StatusFound {
		t.Errorf("redirect answered %d, want the 302 itself", code)
	}
	want := []string{"Bearer first", "Bearer first", "Bearer second-and-longer"}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("requests %q, want %q", got, want)
	}
}
