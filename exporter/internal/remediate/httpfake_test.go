package remediate

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// handler serves fakeArgo over HTTP the way Argo CD's API does: Get returns
// whole Applications, List too unless asked for `fields` (then it drops what
// Argo CD's whitelist cannot project, operationState.message included), Sync takes Argo CD's body and answers with its
// error bodies ({"error","code","message"}) and status codes.
func (f *fakeArgo) handler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/applications", func(w http.ResponseWriter, r *http.Request) {
		items := make([]map[string]any, 0)
		projected := r.URL.Query().Get("fields") != ""
		for _, a := range f.snapshot() {
			items = append(items, applicationJSON(a, projected))
		}
		writeJSON(w, http.StatusOK, map[string]any{"metadata": map[string]any{"resourceVersion": "1"}, "items": items})
	})
	mux.HandleFunc("GET /api/v1/applications/{name}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.gets++
		f.mu.Unlock()
		for _, a := range f.snapshot() {
			if a.Name == r.PathValue("name") && (r.URL.Query().Get("appNamespace") == "" || r.URL.Query().Get("appNamespace") == a.Namespace) {
				writeJSON(w, http.StatusOK, applicationJSON(a, false))
				return
			}
		}
		writeArgoError(w, http.StatusNotFound, 5, "applications.argoproj.io \""+r.PathValue("name")+"\" not found")
	})
	mux.HandleFunc("POST /api/v1/applications/{name}/sync", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			writeArgoError(w, http.StatusUnsupportedMediaType, 3, "Invalid content type")
			return
		}
		var body struct {
			Project       string          `json:"project"`
			Prune         bool            `json:"prune"`
			AppNamespace  string          `json:"appNamespace"`
			RetryStrategy json.RawMessage `json:"retryStrategy"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeArgoError(w, http.StatusBadRequest, 3, "invalid body")
			return
		}
		if body.RetryStrategy != nil {
			writeArgoError(w, http.StatusBadRequest, 3, "test fake: the monitor must not send retryStrategy")
			return
		}
		ns := body.AppNamespace
		if ns == "" {
			ns = "argocd"
		}
		err := f.Sync(r.Context(), argocd.SyncRequest{Name: r.PathValue("name"), AppNamespace: ns, Project: body.Project, Prune: body.Prune})
		var apiErr *argocd.APIError
		switch {
		case err == nil:
			writeJSON(w, http.StatusOK, map[string]any{"metadata": map[string]any{"name": r.PathValue("name"), "namespace": ns}})
		case errors.Is(err, argocd.ErrOperationInProgress), errors.Is(err, argocd.ErrAppDeleting):
			writeArgoError(w, http.StatusBadRequest, 9, err.Error())
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden:
			writeArgoError(w, http.StatusForbidden, 7, apiErr.Message)
		case errors.As(err, &apiErr):
			writeArgoError(w, apiErr.StatusCode, 5, apiErr.Message)
		default:
			writeArgoError(w, http.StatusInternalServerError, 13, err.Error())
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			writeArgoError(w, http.StatusUnauthorized, 16, "no session information")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeArgoError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg, "code": code, "message": msg})
}

// applicationJSON renders an App as an Argo CD Application, whole or as a
// `fields`-projected List item.
func applicationJSON(a argocd.App, projected bool) map[string]any {
	meta := map[string]any{"name": a.Name, "namespace": a.Namespace, "uid": "uid-" + a.Name, "resourceVersion": "1"}
	if a.Labels != nil {
		meta["labels"] = a.Labels
	}
	if a.Annotations != nil {
		meta["annotations"] = a.Annotations
	}
	if a.Deleting {
		meta["deletionTimestamp"] = "2026-11-26T03:00:00Z"
	}
	spec := map[string]any{
		"project":     a.Project,
		"source":      map[string]any{"repoURL": "https://git.example.com/apps.git", "path": a.Name},
		"destination": map[string]any{"server": "https://kubernetes.default.svc", "namespace": a.Name},
	}
	if a.AutoSync {
		spec["syncPolicy"] = map[string]any{"automated": map[string]any{"prune": true}}
	}
	status := map[string]any{
		"health":       map[string]any{"status": string(a.Health)},
		"sync":         map[string]any{"status": string(a.Sync), "revision": a.Revision},
		"reconciledAt": "2026-11-26T03:00:00Z",
	}
	if op := a.Operation; op != nil {
		state := map[string]any{"phase": string(op.Phase), "message": op.Message, "startedAt": op.StartedAt.Format(time.RFC3339)}
		if !op.FinishedAt.IsZero() {
			state["finishedAt"] = op.FinishedAt.Format(time.RFC3339)
		}
		status["operationState"] = state
	}
	app := map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta, "spec": spec, "status": status}
	if projected {
		delete(app, "apiVersion")
		delete(app, "kind")
		delete(meta, "uid")
		delete(meta, "resourceVersion")
		delete(status, "reconciledAt")
		if state, ok := status["operationState"].(map[string]any); ok {
			delete(state, "message")
		}
	}
	if a.OperationInProgress {
		app["operation"] = map[string]any{"sync": map[string]any{"prune": false}, "initiatedBy": map[string]any{"username": "argocd-monitor"}}
	}
	return app
}
