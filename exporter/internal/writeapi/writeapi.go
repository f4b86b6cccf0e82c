// Package writeapi is the exporter's write endpoint for people acting from Slack (through the
// bridge): POST /api/v1/apps/{namespace}/{name}/remediation/resume clears an app's remediation
// pause and attempt count and makes one attempt due now. It takes a write token of its own,
// separate from any read token, re-read on every request.
package writeapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
)

// Pattern is the route of the resume endpoint.
const Pattern = apiv1.ResumePattern

// Results: the result label of remediation_resume_requests_total.
const (
	ResultOK           = "ok"
	ResultUnauthorized = "unauthorized" // no or malformed bearer token (401)
	ResultForbidden    = "forbidden"    // a token, but not the write token (403)
	ResultNotFound     = "not_found"    // the app is not under remediation (404)
	ResultConflict     = "conflict"     // remediation off, or a sync in flight (409)
	ResultInvalid      = "invalid"      // bad body (400)
	ResultNotLeader    = "not_leader"   // another replica leads remediation (503)
)

// Resumer is the remediation engine's Resume.
type Resumer interface {
	Resume(namespace, name, by string) (string, error)
}

// TokenSource yields the write token (re-read when its file changes), as
// appapi's read token does.
type TokenSource interface {
	Token() (string, error)
}

// Config configures the handler.
type Config struct {
	// Token is the write token; a nil source or an empty token refuses everything.
	Token   TokenSource
	Resumer Resumer
	Logger  *slog.Logger
}

// Handler serves Pattern.
type Handler struct {
	cfg      Config
	requests *prometheus.CounterVec
}

// New returns the handler and registers its counter on reg.
func New(cfg Config, reg prometheus.Registerer) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argocd_monitor_remediation_resume_requests_total",
		Help: "Requests to resume an app's remediation (from Slack through the bridge), by result (ok, unauthorized, forbidden, not_found, conflict, invalid, not_leader).",
	}, []string{"result"})}
	for _, r := range []string{ResultOK, ResultUnauthorized, ResultForbidden, ResultNotFound, ResultConflict, ResultInvalid, ResultNotLeader} {
		h.requests.WithLabelValues(r)
	}
	reg.MustRegister(h.requests)
	return h
}

func (h *Handler) answer(w http.ResponseWriter, code int, result string, r apiv1.ActionResponse) {
	h.requests.WithLabelValues(result).Inc()
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="argocd-exporter write API"`)
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(r)
}

// authorize checks the bearer token in constant time.
func (h *Handler) authorize(header string) (int, string) {
	got, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || strings.TrimSpace(got) == "" {
		return http.StatusUnauthorized, ResultUnauthorized
	}
	var want string
	if h.cfg.Token != nil {
		s, err := h.cfg.Token.Token()
		if err != nil {
			h.cfg.Logger.Error("write token unreadable: refusing write requests", "err", err)
		}
		want = strings.TrimSpace(s)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) != 1 {
		return http.StatusForbidden, ResultForbidden
	}
	return 0, ""
}

// ServeHTTP resumes the app named in the path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if code, result := h.authorize(r.Header.Get("Authorization")); code != 0 {
		h.cfg.Logger.Warn("write API request refused", "result", result, "remote", r.RemoteAddr)
		h.answer(w, code, result, apiv1.ActionResponse{Error: "a valid write token (Authorization: Bearer) is required"})
		return
	}
	var req apiv1.ActionRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<10))
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = json.Unmarshal(body, &req)
	}
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	if err != nil || ns == "" || name == "" || len(req.RequestedBy) > apiv1.MaxRequestedBy {
		h.answer(w, http.StatusBadRequest, ResultInvalid, apiv1.ActionResponse{Error: `want an optional JSON body {"requestedBy": "<who, at most 200 characters>"}`})
		return
	}
	by := req.RequestedBy
	if by == "" {
		by = "unnamed API client"
	}
	msg, err := h.cfg.Resumer.Resume(ns, name, by)
	switch {
	case errors.Is(err, remediate.ErrNotLeader):
		w.Header().Set("Retry-After", "1")
		h.answer(w, http.StatusServiceUnavailable, ResultNotLeader, apiv1.ActionResponse{Error: err.Error()})
	case errors.Is(err, remediate.ErrNotRemediated):
		h.answer(w, http.StatusNotFound, ResultNotFound, apiv1.ActionResponse{Error: "app " + ns + "/" + name + ": " + err.Error()})
	case err != nil:
		h.answer(w, http.StatusConflict, ResultConflict, apiv1.ActionResponse{Error: err.Error()})
	default:
		h.answer(w, http.StatusOK, ResultOK, apiv1.ActionResponse{Message: msg})
	}
}
