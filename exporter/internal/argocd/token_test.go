package argocd_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

const rotatedToken = "eyJhbGciOi.eyJzdWIiOiJyb3RhdGVkIn0.bmV3c2ln"

// writeToken writes the file and moves its mtime forward, so the test does
// not depend on the file system's timestamp resolution.
func writeToken(t *testing.T, path, token string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// TestTokenFileRotation: the client sends the token file's current token (secret.File), so a
// rotated Secret works without a restart, and keeps the last good one while the file is gone.
func TestTokenFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	writeToken(t, path, testToken, t0)

	ft, err := secret.ReadFile(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := argocdsim.NewServer(testToken, allFixtures()...)
	defer srv.Close()
	cl, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: ft, Timeout: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cl.List(ctx, argocd.ListOptions{}); err != nil {
		t.Fatalf("first token: %v", err)
	}

	// The Secret is rotated: the server only accepts the new token, and the
	// client must pick it up from the file without a restart.
	srv.SetToken(rotatedToken)
	writeToken(t, path, rotatedToken, t0.Add(time.Minute))
	if _, err := cl.List(ctx, argocd.ListOptions{}); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	reqs := srv.Requests()
	if got := reqs[len(reqs)-1].Authorization; got != "Bearer "+rotatedToken {
		t.Errorf("Authorization after rotation = %q", got)
	}

	// Kubernetes swaps the symlink: for a moment the file is gone. The last
	// good token is kept rather than failing the poll.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if tok := ft.Value(); tok != rotatedToken {
		t.Errorf("missing file: Value = %q; want the last good token", tok)
	}
}
