// Package writeapi is the exporter's write endpoints for people acting from Slack (through the
// bridge): POST /api/v1/apps/{namespace}/{name}/remediation/resume clears an app's remediation
// pause and attempt count and makes one attempt due now; .../remediation/terminate ends the
// app's running operation; .../remediation/rollback rolls the app back to its last healthy
// revision and holds it. They take a write token of their own, separate from any read token,
// re-read on every request.
package writeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
	"github.com/argocd-monitor/argocd-monitor/exporter/bearer"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
	"github.com/argocd-monitor/argocd-monitor/exporter/logthrottle"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// Pattern is the route of the resume endpoint, TerminatePattern that of the terminate endpoint.
const (
	Pattern          = apiv1.ResumePattern
	TerminatePattern = apiv1.TerminatePattern
	RollbackPattern  = apiv1.RollbackPattern
)

// Results: the result label of remediation_resume_requests_total.
const (
	ResultOK           = "ok"
	ResultUnauthorized = "unauthorized" // no or malformed bearer token (401)
	ResultForbidden    = "forbidden"    // a token, but not the write token (403)
	ResultNotFound     = "not_found"    // the app is not under remediation (404)
	ResultConflict     = "conflict"     // remediation off, or a sync in flight (409)
	ResultInvalid      = "invalid"      // bad body (400)
	ResultNotLeader    = "not_leader"   // another replica leads remediation (503)
	ResultTooLarge     = "too_large"    // body over MaxBody (413)
)

// MaxBody bounds the request body: {"requestedBy": "<at most 200 characters>"} is far smaller.
const MaxBody = 4 << 10

// refusedEvery is the interval of the throttled "request refused" log line.
const refusedEvery = logthrottle.DefaultInterval

// Resumer is the remediation engine's Resume.
type Resumer interface {
	Resume(namespace, name, by string) (string, error)
}

// Terminator is the remediation engine's Terminate.
type Terminator interface {
	Terminate(ctx context.Context, namespace, name, by string) (string, error)
}

// Rollbacker is the remediation engine's Rollback.
type Rollbacker interface {
	Rollback(ctx context.Context, namespace, name, by string) (string, error)
}

// Config configures the handler.
type Config struct {
	// Token is the write token (re-read when its file changes); nil refuses everything.
	Token   secret.Source
	Resumer Resumer
	// Terminator serves TerminatePattern (NewTerminate).
	Terminator Terminator
	// Rollbacker serves RollbackPattern (NewRollback).
	Rollbacker Rollbacker
	Logger     *slog.Logger
}

// Handler serves one write action (Pattern or TerminatePattern).
type Handler struct {
	cfg      Config
	act      func(r *http.Request, ns, name, by string) (string, error)
	requests *prometheus.CounterVec
	refused  *logthrottle.Logger
}

// New returns the resume handler and registers its counter on reg.
func New(cfg Config, reg prometheus.Registerer) *Handler {
	return newHandler(cfg, reg, "argocd_monitor_remediation_resume_requests_total",
		"Requests to resume an app's remediation (from Slack through the bridge), by result (ok, unauthorized, forbidden, not_found, conflict, invalid, too_large, not_leader).",
		func(_ *http.Request, ns, name, by string) (string, error) { return cfg.Resumer.Resume(ns, name, by) })
}

// NewTerminate returns the terminate handler and registers its counter on reg.
func NewTerminate(cfg Config, reg prometheus.Registerer) *Handler {
	return newHandler(cfg, reg, "argocd_monitor_remediation_terminate_requests_total",
		"Requests to terminate an app's running operation (from Slack through the bridge), by result (ok, unauthorized, forbidden, not_found, conflict, invalid, too_large, not_leader).",
		func(r *http.Request, ns, name, by string) (string, error) {
			return cfg.Terminator.Terminate(r.Context(), ns, name, by)
		})
}

// NewRollback returns the rollback handler and registers its counter on reg.
func NewRollback(cfg Config, reg prometheus.Registerer) *Handler {
	return newHandler(cfg, reg, "argocd_monitor_remediation_rollback_requests_total",
		"Requests to roll an app back to its last healthy revision (from Slack through the bridge), by result (ok, unauthorized, forbidden, not_found, conflict, invalid, too_large, not_leader).",
		func(r *http.Request, ns, name, by string) (string, error) {
			return cfg.Rollbacker.Rollback(r.Context(), ns, name, by)
		})
}

func newHandler(cfg Config, reg prometheus.Registerer, metric, help string, act func(r *http.Request, ns, name, by string) (string, error)) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, act: act, requests: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metric, Help: help,
	}, []string{"result"}), refused: logthrottle.New(cfg.Logger, refusedEvery, nil)}
	for _, r := range []string{ResultOK, ResultUnauthorized, ResultForbidden, ResultNotFound, ResultConflict, ResultInvalid, ResultTooLarge, ResultNotLeader} {
		h.requests.WithLabelValues(r)
	}
	reg.MustRegister(h.requests)
	return h
}

func (h *Handler) answer(w http.ResponseWriter, code int, result string, r apiv1.ActionResponse) {
	h.requests.WithLabelValues(result).Inc()
	w.Header().Set("Content-Type", "application/json")
	if code == http.StatusUnauthorized {
		bearer.Challenge(w, "argocd-exporter write API")
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(r)
}

// authorize applies the one Bearer rule: no well-formed Bearer token is 401, a token that is not
// the write token (or no write token) 403.
func (h *Handler) authorize(r *http.Request) (int, string) {
	switch bearer.Check(r, h.cfg.Token) {
	case bearer.Valid:
		return 0, ""
	case bearer.Missing:
		return http.StatusUnauthorized, ResultUnauthorized
	default:
		return http.StatusForbidden, ResultForbidden
	}
}

// errTrailing: something follows the JSON object.
var errTrailing = errors.New("data after the JSON object")

// decode reads the optional body: nothing, or one JSON object (whitespace around it is fine).
func decode(w http.ResponseWriter, r *http.Request) (apiv1.ActionRequest, error) {
	var req apiv1.ActionRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		return req, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return req, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return req, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, errTrailing
	}
	return req, nil
}

// ServeHTTP acts on the app named in the path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if code, result := h.authorize(r); code != 0 {
		h.refused.Warn("write API request refused", "result", result, "remote", r.RemoteAddr)
		h.answer(w, code, result, apiv1.ActionResponse{Error: "a valid write token (Authorization: Bearer) is required"})
		return
	}
	req, err := decode(w, r)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		h.answer(w, http.StatusRequestEntityTooLarge, ResultTooLarge, apiv1.ActionResponse{Error: "the body is larger than 4 KiB"})
		return
	}
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	if err != nil || ns == "" || name == "" || len(req.RequestedBy) > apiv1.MaxRequestedBy {
		h.answer(w, http.StatusBadRequest, ResultInvalid, apiv1.ActionResponse{Error: `want an optional body of one JSON object {"requestedBy": "<who, at most 200 characters>"}`})
		return
	}
	by := req.RequestedBy
	if by == "" {
		by = "unnamed API client"
	}
	msg, err := h.act(r, ns, name, by)
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
