package interact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/exporter/logthrottle"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// Results of receiving an interaction: the result label of interactions_total.
const (
	ResultAccepted     = "accepted"     // acknowledged and handed to the handler
	ResultIgnored      = "ignored"      // valid, but not a button click (acknowledged)
	ResultUnauthorized = "unauthorized" // bad, missing or stale signature or timestamp (401)
	ResultInvalid      = "invalid"      // undecodable payload (400)
	ResultTooLarge     = "too_large"    // body over MaxBody (413), not read beyond it
	ResultOverloaded   = "overloaded"   // MaxUnverified bodies already being read (503), not read
)

// results are every result value, pre-initialised in interactions_total.
var results = []string{ResultAccepted, ResultIgnored, ResultUnauthorized, ResultInvalid, ResultTooLarge, ResultOverloaded}

// Receivers: the via label of interactions_total.
const (
	ViaHTTP   = "http"
	ViaSocket = "socket_mode"
)

// MaxBody bounds an interaction request's body. Slack sends the clicked message inside the
// payload (its blocks, attachments and button values), so the bound follows from the bridge's
// own messages, which render keeps within Slack's limits (10,000 characters of block text,
// 3,000 of fallback text, 50 blocks). TestMaxBodyFitsTheLargestMessage renders a message at
// those limits and encodes a click on it as Slack does (JSON, form-encoded): 57 KiB in ASCII,
// 70 KiB in 4-byte characters escaped as \uXXXX pairs. 256 KiB leaves room for what Slack may
// add to its payloads; with at most MaxUnverified bodies read before their signature is checked,
// an unauthenticated flood makes the bridge hold at most 16 x 256 KiB = 4 MiB of bodies (twice
// that with io.ReadAll's growth), far below its 128 MiB memory limit.
const MaxBody = 256 << 10

// MaxUnverified is the default bound on requests whose body is being read before its signature
// can be checked. Clicks come at human speed: 16 at once is a burst no team makes; the 17th
// is answered 503 at once, without reading its body.
const MaxUnverified = 16

// maxSkew is Slack's window for X-Slack-Request-Timestamp: older (or newer) requests are replays.
const maxSkew = 5 * time.Minute

// readBodyTimeout bounds the reading of one body: Slack sends it at once, a client that
// trickles it only holds its slot this long (the server's own ReadTimeout is longer).
const readBodyTimeout = 5 * time.Second

// Config configures the receiver.
type Config struct {
	// SigningSecret verifies Request URL calls (read at every request, so a rotated file
	// applies at once). Nil: the Request URL answers 404.
	SigningSecret secret.Source
	// MaxUnverified bounds the bodies being read before their signature is checked (0:
	// MaxUnverified); further requests get an immediate 503.
	MaxUnverified int
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
	cfg        Config
	wg         sync.WaitGroup
	unverified chan struct{} // a slot per body being read before its signature is checked
	refused    *logthrottle.Logger
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
	if cfg.MaxUnverified <= 0 {
		cfg.MaxUnverified = MaxUnverified
	}
	for _, via := range []string{ViaHTTP, ViaSocket} {
		for _, r := range results {
			cfg.Received.WithLabelValues(via, r)
		}
	}
	return &Receiver{cfg: cfg, unverified: make(chan struct{}, cfg.MaxUnverified), refused: logthrottle.New(cfg.Logger, 0, nil)}
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

// ServeHTTP is the Request URL, POST /slack/interactions. Everything that costs memory comes
// after what costs nothing: the timestamp and signature headers are checked first (present,
// well-formed, timestamp within 5 minutes), the body is read only within MaxUnverified slots and
// up to MaxBody bytes, then Slack's v0 signature (HMAC-SHA256 of "v0:timestamp:body",
// constant-time compare) is verified. A failed check is answered 401 (413, 503) without doing
// anything; a valid click 200 at once.
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
	if err := checkHeaders(req.Header, time.Now()); err != nil {
		r.refuse(w, req, ResultUnauthorized, http.StatusUnauthorized, "invalid signature", err)
		return
	}
	if req.ContentLength > MaxBody {
		r.refuse(w, req, ResultTooLarge, http.StatusRequestEntityTooLarge, "body too large", nil)
		return
	}
	select {
	case r.unverified <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "1")
		r.refuse(w, req, ResultOverloaded, http.StatusServiceUnavailable, "too many requests being verified", nil)
		return
	}
	body, err := r.readVerified(w, req)
	<-r.unverified
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		r.refuse(w, req, ResultTooLarge, http.StatusRequestEntityTooLarge, "body too large", nil)
		return
	case errors.Is(err, errUnreadable):
		r.refuse(w, req, ResultInvalid, http.StatusBadRequest, "body unreadable", nil)
		return
	case err != nil:
		r.refuse(w, req, ResultUnauthorized, http.StatusUnauthorized, "invalid signature", err)
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

// refuse counts and answers a refused request; the log line is throttled (a flood of them
// must not flood the log).
func (r *Receiver) refuse(w http.ResponseWriter, req *http.Request, result string, code int, text string, err error) {
	r.cfg.Received.WithLabelValues(ViaHTTP, result).Inc()
	args := []any{"result", result, "remote", req.RemoteAddr}
	if err != nil {
		args = append(args, "err", err)
	}
	r.refused.Warn("interaction refused", args...)
	http.Error(w, text, code)
}

var (
	errNoSecret   = errors.New("signing secret unavailable")
	errUnreadable = errors.New("body unreadable")
)

// checkHeaders checks what Slack's signature needs besides the body, before the body is read:
// a numeric X-Slack-Request-Timestamp within maxSkew of now, and an X-Slack-Signature of the
// v0 form (a hex HMAC-SHA256). Its errors never quote the headers.
func checkHeaders(h http.Header, now time.Time) error {
	v := h.Get("X-Slack-Request-Timestamp")
	if v == "" {
		return errors.New("no X-Slack-Request-Timestamp")
	}
	ts, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return errors.New("X-Slack-Request-Timestamp is not a number")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxSkew || d < -maxSkew {
		return fmt.Errorf("X-Slack-Request-Timestamp is %s away from now (at most %s)", d.Round(time.Second), maxSkew)
	}
	sig, ok := strings.CutPrefix(h.Get("X-Slack-Signature"), "v0=")
	if !ok || len(sig) != 64 || strings.Trim(sig, "0123456789abcdef") != "" {
		return errors.New("no v0 X-Slack-Signature")
	}
	return nil
}

// readVerified reads the body (at most MaxBody bytes, within readBodyTimeout) and verifies its
// signature. A *http.MaxBytesError or errUnreadable is the body's fault, any other error the
// signature's.
func (r *Receiver) readVerified(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	// Not every ResponseWriter can (httptest's cannot): then the server's ReadTimeout bounds it.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(readBodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, errUnreadable
	}
	return body, r.verify(req.Header, body)
}

func (r *Receiver) verify(h http.Header, body []byte) error {
	key := r.cfg.SigningSecret.Value()
	if key == "" {
		return errNoSecret
	}
	v, err := slack.NewSecretsVerifier(h, key)
	if err != nil {
		return err
	}
	if _, err := v.Write(body); err != nil {
		return err
	}
	return v.Ensure()
}
