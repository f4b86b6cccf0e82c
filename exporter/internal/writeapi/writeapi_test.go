package writeapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

type fakeResumer struct{ calls []string }

func (f *fakeResumer) Resume(ns, name, by string) (string, error) {
	switch name {
	case "unknown":
		return "", remediate.ErrNotRemediated
	case "busy":
		return "", remediate.ErrSyncInFlight
	}
	f.calls = append(f.calls, ns+"/"+name+" by "+by)
	return "pause cleared after 3 attempts, one attempt due at the next poll", nil
}

func TestResumeEndpoint(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "write-token")
	if err := os.WriteFile(tokenFile, []byte("write-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, auth, body string
		code                   int
		result, want           string
		calls                  int
	}{
		{"ok", "/api/v1/apps/argocd/stuck/remediation/resume", "Bearer write-secret", `{"requestedBy":"alice (slack:U1)"}`, 200, ResultOK, "pause cleared", 1},
		{"no body is fine", "/api/v1/apps/argocd/stuck/remediation/resume", "Bearer write-secret", "", 200, ResultOK, "pause cleared", 1},
		{"no token", "/api/v1/apps/argocd/stuck/remediation/resume", "", "", 401, ResultUnauthorized, "write token", 0},
		{"basic auth is not a token", "/api/v1/apps/argocd/stuck/remediation/resume", "Basic YTpi", "", 401, ResultUnauthorized, "write token", 0},
		{"read token", "/api/v1/apps/argocd/stuck/remediation/resume", "Bearer read-secret", "", 403, ResultForbidden, "write token", 0},
		{"unknown app", "/api/v1/apps/argocd/unknown/remediation/resume", "Bearer write-secret", "", 404, ResultNotFound, "not under remediation", 0},
		{"sync in flight", "/api/v1/apps/argocd/busy/remediation/resume", "Bearer write-secret", "", 409, ResultConflict, "unanswered", 0},
		{"bad body", "/api/v1/apps/argocd/stuck/remediation/resume", "Bearer write-secret", "{", 400, ResultInvalid, "requestedBy", 0},
		// Issue 20, defect 8: the one Bearer rule (scheme case-insensitive, one or more spaces).
		{"lower-case scheme", "/api/v1/apps/argocd/stuck/remediation/resume", "bearer write-secret", "", 200, ResultOK, "pause cleared", 1},
		{"upper-case scheme", "/api/v1/apps/argocd/stuck/remediation/resume", "BEARER write-secret", "", 200, ResultOK, "pause cleared", 1},
		{"two spaces", "/api/v1/apps/argocd/stuck/remediation/resume", "Bearer  write-secret", "", 200, ResultOK, "pause cleared", 1},
		{"no token68", "/api/v1/apps/argocd/stuck/remediation/resume", "Bearer write secret", "", 401, ResultUnauthorized, "write token", 0},
		// Issue 20, defect 4: the body is bounded (413), and nothing after the JSON object (400).
		{"body over the limit", "/api/v1/apps/argocd/stuck/remediation/resume", "Bearer write-secret", strings.Repeat(" ", 5<<10), 413, ResultTooLarge, "4 KiB", 0},
		{"JSON then padding over the limit", "/api/v1/apps/argocd/stuck/remediation/resume", "Bearer write-secret", `{"requestedBy":"a"}` + strings.Repeat(" ", 5<<10), 413, ResultTooLarge, "4 KiB", 0},
		{"trailing garbage", "/api/v1/apps/argocd/stuck/remediation/resume", "Bearer write-secret", `{"requestedBy":"a"} {"requestedBy":"b"}`, 400, ResultInvalid, "one JSON object", 0},
		{"trailing whitespace is fine", "/api/v1/apps/argocd/stuck/remediation/resume", "Bearer write-secret", "{\"requestedBy\":\"a\"}\n  ", 200, ResultOK, "pause cleared", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := &fakeResumer{}
			reg := prometheus.NewRegistry()
			h := New(Config{Token: fileToken(t, tokenFile), Resumer: res}, reg)
			mux := http.NewServeMux()
			mux.Handle(Pattern, h)
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("answer %d %s, want %d with %q", w.Code, w.Body, tc.code, tc.want)
			}
			if len(res.calls) != tc.calls {
				t.Errorf("resume calls %v, want %d", res.calls, tc.calls)
			}
			if got := testutil.ToFloat64(h.requests.WithLabelValues(tc.result)); got != 1 {
				t.Errorf("requests{result=%s} = %v", tc.result, got)
			}
			if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
				t.Errorf("lint: %v %v", problems, err)
			}
		})
	}
	t.Run("GET is not served", func(t *testing.T) {
		mux := http.NewServeMux()
		mux.Handle(Pattern, New(Config{Token: secret.Static("write-secret"), Resumer: &fakeResumer{}}, prometheus.NewRegistry()))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/apps/argocd/stuck/remediation/resume", nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET answered %d", w.Code)
		}
	})
	t.Run("no write token configured refuses", func(t *testing.T) {
		h := New(Config{Token: secret.Static(""), Resumer: &fakeResumer{}}, prometheus.NewRegistry())
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/x", nil)
		req.Header.Set("Authorization", "Bearer ")
		h.ServeHTTP(w, req)
		if w.Code != 401 {
			t.Errorf("empty bearer answered %d", w.Code)
		}
	})
}

func FuzzResumeBody(f *testing.F) {
	f.Add(`{"requestedBy":"alice (slack:U1)"}`)
	f.Add(`{`)
	f.Add(``)
	h := New(Config{Token: secret.Static("t"), Resumer: &fakeResumer{}}, prometheus.NewRegistry())
	mux := http.NewServeMux()
	mux.Handle(Pattern, h)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/apps/argocd/stuck/remediation/resume", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusBadRequest && w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("code %d for %q", w.Code, body)
		}
	})
}

func fileToken(t *testing.T, path string) secret.Source {
	t.Helper()
	tok, err := secret.ReadFile(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type fakeTerminator struct{ calls []string }

func (f *fakeTerminator) Terminate(_ context.Context, ns, name, by string) (string, error) {
	switch name {
	case "unknown":
		return "", remediate.ErrNotRemediated
	case "idle":
		return "", remediate.ErrNoOperation
	case "follower":
		return "", remediate.ErrNotLeader
	}
	f.calls = append(f.calls, ns+"/"+name+" by "+by)
	return "terminated the operation", nil
}

func TestTerminateEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name, path, auth string
		code             int
		result           string
		calls            int
	}{
		{"ok", "/api/v1/apps/argocd/hooked/remediation/terminate", "Bearer w", 200, ResultOK, 1},
		{"read token", "/api/v1/apps/argocd/hooked/remediation/terminate", "Bearer r", 403, ResultForbidden, 0},
		{"no token", "/api/v1/apps/argocd/hooked/remediation/terminate", "", 401, ResultUnauthorized, 0},
		{"unknown app", "/api/v1/apps/argocd/unknown/remediation/terminate", "Bearer w", 404, ResultNotFound, 0},
		{"nothing running", "/api/v1/apps/argocd/idle/remediation/terminate", "Bearer w", 409, ResultConflict, 0},
		{"not the leader", "/api/v1/apps/argocd/follower/remediation/terminate", "Bearer w", 503, ResultNotLeader, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			term := &fakeTerminator{}
			reg := prometheus.NewRegistry()
			cfg := Config{Token: secret.Static("w"), Resumer: &fakeResumer{}, Terminator: term}
			h := NewTerminate(cfg, reg)
			mux := http.NewServeMux()
			mux.Handle(Pattern, New(cfg, reg))
			mux.Handle(TerminatePattern, h)
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(`{"requestedBy":"alice"}`))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != tc.code {
				t.Errorf("answer %d %s, want %d", w.Code, w.Body, tc.code)
			}
			if len(term.calls) != tc.calls {
				t.Errorf("terminate calls %v, want %d", term.calls, tc.calls)
			}
			if got := testutil.ToFloat64(h.requests.WithLabelValues(tc.result)); got != 1 {
				t.Errorf("terminate requests{result=%s} = %v", tc.result, got)
			}
			if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
				t.Errorf("lint: %v %v", problems, err)
			}
		})
	}
}

type fakeRollbacker struct{ calls []string }

func (f *fakeRollbacker) Rollback(_ context.Context, ns, name, by string) (string, error) {
	switch name {
	case "unknown":
		return "", remediate.ErrNotRemediated
	case "fresh":
		return "", remediate.ErrNoHealthyRevision
	case "automated":
		return "", remediate.ErrAutoSync
	case "follower":
		return "", remediate.ErrNotLeader
	}
	f.calls = append(f.calls, ns+"/"+name+" by "+by)
	return "rolled back to abc1234", nil
}

func TestRollbackEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name, path, auth string
		code             int
		result           string
		calls            int
	}{
		{"ok", "/api/v1/apps/argocd/web/remediation/rollback", "Bearer w", 200, ResultOK, 1},
		{"read token", "/api/v1/apps/argocd/web/remediation/rollback", "Bearer r", 403, ResultForbidden, 0},
		{"no token", "/api/v1/apps/argocd/web/remediation/rollback", "", 401, ResultUnauthorized, 0},
		{"unknown app", "/api/v1/apps/argocd/unknown/remediation/rollback", "Bearer w", 404, ResultNotFound, 0},
		{"no healthy revision", "/api/v1/apps/argocd/fresh/remediation/rollback", "Bearer w", 409, ResultConflict, 0},
		{"auto-sync", "/api/v1/apps/argocd/automated/remediation/rollback", "Bearer w", 409, ResultConflict, 0},
		{"not the leader", "/api/v1/apps/argocd/follower/remediation/rollback", "Bearer w", 503, ResultNotLeader, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rb := &fakeRollbacker{}
			reg := prometheus.NewRegistry()
			cfg := Config{Token: secret.Static("w"), Resumer: &fakeResumer{}, Terminator: &fakeTerminator{}, Rollbacker: rb}
			h := NewRollback(cfg, reg)
			mux := http.NewServeMux()
			mux.Handle(Pattern, New(cfg, reg))
			mux.Handle(TerminatePattern, NewTerminate(cfg, reg))
			mux.Handle(RollbackPattern, h)
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(`{"requestedBy":"alice"}`))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != tc.code {
				t.Errorf("answer %d %s, want %d", w.Code, w.Body, tc.code)
			}
			if len(rb.calls) != tc.calls || tc.calls > 0 && rb.calls[0] != "argocd/web by alice" {
				t.Errorf("rollback calls %v, want %d", rb.calls, tc.calls)
			}
			if got := testutil.ToFloat64(h.requests.WithLabelValues(tc.result)); got != 1 {
				t.Errorf("rollback requests{result=%s} = %v", tc.result, got)
			}
			if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
				t.Errorf("lint: %v %v", problems, err)
			}
		})
	}
}
