// Package webhook owns the bridge's HTTP input: the /webhook handler that authenticates, bounds
// and decodes each request and answers it according to what happened to the Slack delivery
// behind it.
package webhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	"github.com/argocd-monitor/argocd-monitor/exporter/bearer"
	"github.com/argocd-monitor/argocd-monitor/exporter/logthrottle"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// MaxBodyBytes is the largest body accepted (Alertmanager's max_alerts keeps real bodies far
// smaller; 1 MiB bounds memory per request).
const MaxBodyBytes = 1 << 20

// Notifier delivers one decoded notification. An error whose Permanent method reports true can
// never succeed (answered 422); any other error is transient (answered 503 so Alertmanager's
// backoff retries).
type Notifier interface {
	Notify(ctx context.Context, m *notification.Message) error
}

// Codes are the HTTP answers the handler gives, pre-initialised in the webhooks metric.
var Codes = []int{
	http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusMethodNotAllowed,
	http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusServiceUnavailable,
}

// Handler serves POST /webhook.
type Handler struct {
	notifier Notifier
	token    secret.Source
	slots    chan struct{}
	requests *prometheus.CounterVec
	logger   *slog.Logger
	refused  *logthrottle.Logger
}

// NewHandler returns the webhook handler. token nil disables authentication (it is read per
// request, so a rotated token file takes effect at once); maxInFlight
// bounds concurrent deliveries (excess requests get an immediate 503). requests is the
// webhooks_total{code} counter.
func NewHandler(n Notifier, token secret.Source, maxInFlight int, requests *prometheus.CounterVec, logger *slog.Logger) *Handler {
	if maxInFlight < 1 {
		maxInFlight = 1
	}
	for _, c := range Codes {
		requests.WithLabelValues(strconv.Itoa(c))
	}
	return &Handler{notifier: n, token: token, slots: make(chan struct{}, maxInFlight), requests: requests, logger: logger,
		refused: logthrottle.New(logger, 0, nil)}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.answer(w, http.StatusMethodNotAllowed, "only POST is accepted")
		return
	}
	if h.token != nil && bearer.Check(r, h.token) != bearer.Valid {
		h.refused.Warn("webhook request refused: missing or wrong bearer token", "remote", r.RemoteAddr)
		bearer.Challenge(w, "slack-bridge")
		h.answer(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	// Take a slot before reading the body, so a flood costs neither memory nor Slack quota.
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		h.answer(w, http.StatusServiceUnavailable, "too many deliveries in flight")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.answer(w, http.StatusRequestEntityTooLarge, "body larger than 1 MiB")
			return
		}
		h.answer(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	msg, err := notification.Decode(body)
	if err != nil {
		h.answer(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := h.notifier.Notify(r.Context(), msg); err != nil {
		var p interface{ Permanent() bool }
		if errors.As(err, &p) && p.Permanent() {
			h.logger.Error("slack rejected notification", "group_key", msg.GroupKey, "err", err)
			h.answer(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		h.logger.Warn("notification not delivered, alertmanager will retry", "group_key", msg.GroupKey, "err", err)
		h.answer(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	h.answer(w, http.StatusOK, "ok")
}

func (h *Handler) answer(w http.ResponseWriter, code int, text string) {
	h.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, text+"\n")
}
