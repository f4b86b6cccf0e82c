package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
)

// TestWriteAPI: with --api.write-token-file the resume endpoint is served behind its token;
// without it there is no such endpoint.
func TestWriteAPI(t *testing.T) {
	srv := argocdsim.NewServer(token, fixtures()...)
	defer srv.Close()
	t.Setenv("API_WRITE_TOKEN_FILE", "")
	os.Unsetenv("API_WRITE_TOKEN_FILE")
	post := func(h http.Handler, path, auth string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{"requestedBy":"alice (slack:U1)"}`))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	write := tokenFile(t, "write-secret")
	cli, reg, ex, _ := newTestExporter(t, srv, "--argocd.token-file="+tokenFile(t, token), "--api.write-token-file="+write, "--remediation.grace=0s")
	h := newHandler(cli.Web, reg, ex, slog.New(slog.DiscardHandler))
	if err := ex.poller.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	ex.remediation.Wait()
	const path = "/api/v1/apps/argocd/my-app-4/remediation/resume"
	if code, _ := post(h, path, ""); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code, _ := post(h, path, token); code != http.StatusForbidden {
		t.Errorf("the Argo CD token: %d", code)
	}
	if code, body := post(h, "/api/v1/apps/argocd/nope/remediation/resume", "write-secret"); code != http.StatusNotFound {
		t.Errorf("unknown app: %d %s", code, body)
	}
	if code, body := post(h, path, "write-secret"); code != http.StatusOK || !strings.Contains(body, "attempt is due") {
		t.Errorf("resume: %d %s", code, body)
	}

	cli, reg, ex, _ = newTestExporter(t, srv, "--argocd.token-file="+tokenFile(t, token))
	if code, _ := post(newHandler(cli.Web, reg, ex, slog.New(slog.DiscardHandler)), path, "write-secret"); code == http.StatusOK {
		t.Errorf("write endpoint served without --api.write-token-file")
	}
	cli, err := parse([]string{"--argocd.api=" + srv.URL, "--argocd.token-file=" + tokenFile(t, token), "--api.write-token-file=" + filepath.Join(t.TempDir(), "none")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := build(cli, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "--api.write-token-file") {
		t.Errorf("missing write token file: %v", err)
	}
	// A token that no Bearer header can carry (RFC 6750 token68) is refused at start.
	cli, err = parse([]string{"--argocd.api=" + srv.URL, "--argocd.token-file=" + tokenFile(t, token), "--api.write-token-file=" + tokenFile(t, "two words")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := build(cli, prometheus.NewRegistry(), slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "--api.write-token-file") ||
		strings.Contains(err.Error(), "two words") {
		t.Errorf("write token that is no token68: %v", err)
	}
}
