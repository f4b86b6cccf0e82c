package interact

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
)

// Results of receiving an interaction: the result label of interactions_total.
const (
	ResultAccepted     = "accepted"     // acknowledged and handed to the handler
	ResultIgnored      = "ignored"      // valid, but not a button click (acknowledged)
	ResultUnauthorized = "unauthorized" // bad, missing or stale signature (401)
	ResultInvalid      = "invalid"      // undecodable payload (400)
)

// Receivers: the via label of interactions_total.
const (
	ViaHTTP   = "http"
	ViaSocket = "socket_mode"
)

// maxBody bounds an interaction request; Slack's payloads are a few KB.
const maxBody = 1 << 20

// Config configures the receiver.
type Config struct {
	// SigningSecret verifies Request URL calls (asked at every request, so a rotated file
	// applies at once). Nil: the Request URL answers 404.
	SigningSecret func() string
	Handler       Handler
	// Timeout bounds the work on one click after Slack was acknowledged.
	Timeout time.Duration
	Logger  *slog.Logger
	// Received is interactions_total{via,result}.
	Received *prometheus.CounterVec
}

// Receiver acknowledges Slack first and then runs the handler in a goroutine it tracks, so a
// shutdown waits for clicks being handled (Wait).
type Receiver struct {
	cfg Config
	wg  sync.WaitGroup
}

// New returns a receiver.
func New(cfg Config) *Receiver {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Received == nil {
		cfg.Received = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "unused"}, []string{"via", "result"})
	}
	for _, via := range []string{ViaHTTP, ViaSocket} {
		for _, r := range []string{ResultAccepted, ResultIgnored, ResultUnauthorized, ResultInvalid} {
			cfg.Received.WithLabelValues(via, r)
		}
	}
	return &Receiver{cfg: cfg}
}

// Wait blocks until every click handed to the handler is handled.
func (r *Receiver) Wait() { r.wg.Wait() }

// dispatch hands the clicks to the handler in a tracked goroutine, detached from the request
// (Slack wants its answer within 3 s; the work may take longer).
func (r *Receiver) dispatch(ctx context.Context, ins []Interaction) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.Timeout)
		defer cancel()
		for _, in := range ins {
			r.cfg.Handler.Handle(ctx, in)
		}
	}()
}

// accept decodes a payload and dispatches its clicks; it returns the receive result.
func (r *Receiver) accept(ctx context.Context, via string, payload []byte) string {
	var cb slack.InteractionCallback
	if err := json.Unmarshal(payload, &cb); err != nil {
		r.cfg.Logger.Warn("undecodable interaction payload", "via", via, "err", err)
		return ResultInvalid
	}
	ins, err := FromCallback(&cb)
	switch {
	case errors.Is(err, ErrNotAction):
		r.cfg.Logger.Debug("interaction ignored", "via", via, "type", cb.Type)
		return ResultIgnored
	case err != nil:
		r.cfg.Logger.Warn("invalid interaction payload", "via", via, "err", err)
		return ResultInvalid
	}
	r.dispatch(ctx, ins)
	return ResultAccepted
}

// ServeHTTP is the Request URL, POST /slack/interactions: it verifies Slack's v0 signature
// (HMAC-SHA256 of "v0:timestamp:body", constant-time compare, timestamp within 5 minutes),
// answers 401 without doing anything when it fails, and otherwise answers 200 at once.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.cfg.SigningSecret == nil {
		http.NotFound(w, req)
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if err := r.verify(req.Header, body); err != nil {
		r.cfg.Received.WithLabelValues(ViaHTTP, ResultUnauthorized).Inc()
		r.cfg.Logger.Warn("interaction refused: signature", "err", err, "remote", req.RemoteAddr)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	result := ResultInvalid
	if err == nil && form.Get("payload") != "" {
		result = r.accept(req.Context(), ViaHTTP, []byte(form.Get("payload")))
	}
	r.cfg.Received.WithLabelValues(ViaHTTP, result).Inc()
	if result == ResultInvalid {
		http.Error(w, "invalid interaction payload", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

var errNoSecret = errors.New("signing secret unavailable")

func (r *Receiver) verify(h http.Header, body []byte) error {
	secret := r.cfg.SigningSecret()
	if secret == "" {
		return errNoSecret
	}
	v, err := slack.NewSecretsVerifier(h, strings.TrimSpace(secret))
	if err != nil {
		return err
	}
	if _, err := v.Write(body); err != nil {
		return err
	}
	return v.Ensure()
}
