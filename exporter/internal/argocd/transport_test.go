package argocd_test

import (
	"compress/gzip"
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// TestTransportTLSTokenUserAgentGzip: the client built through
// prometheus/common/config verifies the server with the CA file, sends the
// bearer token from the token file (the last good one while the file is
// missing) and the user agent, and reads a gzipped List.
func TestTransportTLSTokenUserAgentGzip(t *testing.T) {
	var mu sync.Mutex
	var auths, agents []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths, agents = append(auths, r.Header.Get("Authorization")), append(agents, r.Header.Get("User-Agent"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write(listOf(allFixtures()...))
		_ = zw.Close()
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(dir, "token")
	if err := os.WriteFile(tokPath, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := secret.ReadFile(tokPath, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: tokens, CAFile: ca, Timeout: time.Minute, UserAgent: "argocd-monitor/test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	apps, err := listPatiently(cl)
	if err != nil || len(apps) != 4 {
		t.Fatalf("List = %d apps, %v", len(apps), err)
	}
	// The Secret's symlink swap: the file is briefly gone.
	if err := os.Remove(tokPath); err != nil {
		t.Fatal(err)
	}
	if _, err := listPatiently(cl); err != nil {
		t.Fatalf("List with the token file gone: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range auths {
		if auths[i] != "Bearer "+testToken || agents[i] != "argocd-monitor/test" {
			t.Errorf("request %d: Authorization %q, User-Agent %q", i, auths[i], agents[i])
		}
	}

	// Without the CA the server is not trusted, and the error says so
	// without the token. (A machine loaded enough may hit the transport's
	// 10 s TLS handshake timeout first: that fails the request too.)
	plain, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: secret.Static(testToken), Timeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = plain.List(context.Background(), argocd.ListOptions{})
	if err == nil || strings.Contains(err.Error(), testToken) ||
		!strings.Contains(err.Error(), "certificate") && !strings.Contains(err.Error(), "TLS handshake timeout") {
		t.Fatalf("List without the CA: %v", err)
	}
}

// listPatiently retries a List that hit the transport's fixed 10 s TLS
// handshake timeout (prometheus/common sets it; a starved machine can take
// that long): this test is about headers and trust, not time.
func listPatiently(cl *argocd.Client) ([]argocd.App, error) {
	for range 4 {
		apps, err := cl.List(context.Background(), argocd.ListOptions{})
		if err == nil || !strings.Contains(err.Error(), "TLS handshake timeout") {
			return apps, err
		}
	}
	return cl.List(context.Background(), argocd.ListOptions{})
}
