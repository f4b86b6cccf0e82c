// Package server wires the bridge together: the metrics registry, the notification pipeline
// (route, dedupe, render, deliver) behind POST /webhook, the health endpoints, and the HTTP
// server with timeouts and a graceful drain. The binary and the tests build it the same way.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/actions"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/dedupe"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/interact"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/route"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/webhook"
)

// Mode is how the bridge reaches Slack.
type Mode string

// Delivery modes.
const (
	ModeWebhook Mode = "webhook"
	ModeBot     Mode = "bot"
	ModeConsole Mode = "console"
)

// Config is everything the bridge needs; main fills it from flags, env and files.
type Config struct {
	Mode        Mode
	WebhookURL  string // default incoming-webhook URL (secret)
	BotToken    string // secret
	APIURL      string // Web API base, e.g. https://slack.com/api/
	Channel     string // default channel (bot, console)
	ConsoleOut  io.Writer
	ConsoleFile string

	WebhookToken string // Bearer token Alertmanager must send (secret); "" = no auth
	MaxInFlight  int

	Router     *route.Router
	ArgoCDURL  string
	GrafanaURL string

	Deadline           time.Duration
	AttemptTimeout     time.Duration
	PerChannelInterval time.Duration
	DedupeWindow       time.Duration
	StateFile          string
	StateTTL           time.Duration

	// Slack actions (bot mode; console mode for the demo): SigningSecret verifies the Request
	// URL /slack/interactions, AppToken opens Socket Mode; either turns the buttons on.
	// Silencer and Remediator may be nil: their buttons then say they are not configured.
	SigningSecret config.SecretReader
	AppToken      string // secret
	Silencer      actions.Silencer
	Remediator    actions.Remediator

	// Clock drives pacing and retry waits (nil = wall clock); HTTPClient talks to Slack.
	Clock      slack.Clock
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Server is the bridge.
type Server struct {
	cfg      Config
	receiver *interact.Receiver // nil when the Slack actions are off
	metrics  *Metrics
	mux      *http.ServeMux
	draining atomic.Bool
	closers  []io.Closer
}

// Validate checks that every route can reach Slack in the chosen mode.
func (c *Config) Validate() error {
	if c.Router == nil {
		return errors.New("no routes")
	}
	for _, r := range c.Router.Routes() {
		switch c.Mode {
		case ModeWebhook:
			if r.WebhookURL() == "" && c.WebhookURL == "" {
				return fmt.Errorf("route %s: no webhook_url_file and no --slack.webhook-url", r.Name)
			}
		case ModeBot:
			if r.WebhookURLFile != "" {
				return fmt.Errorf("route %s: webhook_url_file is for webhook mode; bot mode posts to channels", r.Name)
			}
			if r.Channel == "" && c.Channel == "" {
				return fmt.Errorf("route %s: no channel and no --slack.channel", r.Name)
			}
		case ModeConsole:
		default:
			return fmt.Errorf("unknown mode %q", c.Mode)
		}
	}
	if c.Mode == ModeBot && c.BotToken == "" {
		return errors.New("bot mode needs a bot token")
	}
	if c.Deadline <= 0 {
		return errors.New("--slack.deadline must be positive")
	}
	if (c.SigningSecret != nil || c.AppToken != "") && c.Mode == ModeWebhook {
		return errors.New("Slack actions (signing secret, app token) need bot mode: incoming webhooks cannot receive clicks")
	}
	if c.AppToken != "" && c.Mode != ModeBot {
		return errors.New("socket mode (app token) needs bot mode")
	}
	return nil
}

// New builds the server with a fresh registry.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = slack.NewHTTPClient()
	}
	if cfg.Clock == nil {
		cfg.Clock = slack.RealClock{}
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 64
	}
	s := &Server{cfg: cfg, metrics: NewMetrics()}

	var transport slack.Transport
	var store *state.Store
	switch cfg.Mode {
	case ModeWebhook:
		transport = &slack.Webhook{Client: cfg.HTTPClient}
	case ModeBot, ModeConsole:
		var err error
		if store, err = state.Open(cfg.StateFile, cfg.StateTTL, cfg.Clock.Now); err != nil {
			return nil, err
		}
		if cfg.Mode == ModeBot {
			transport = slack.NewBot(cfg.BotToken, cfg.APIURL, cfg.HTTPClient)
		} else {
			out := cfg.ConsoleOut
			if out == nil {
				out = io.Discard
			}
			c, err := slack.NewConsole(out, cfg.ConsoleFile, cfg.Clock.Now)
			if err != nil {
				return nil, err
			}
			s.closers = append(s.closers, c)
			transport = c
		}
	}
	deliverer := slack.NewDeliverer(transport, store, slack.NewPacer(cfg.PerChannelInterval), slack.Options{
		Deadline: cfg.Deadline, AttemptTimeout: cfg.AttemptTimeout, Clock: cfg.Clock, Logger: cfg.Logger,
	}, s.metrics.SlackRequests, s.metrics.SlackDuration)
	p := &pipeline{
		router:    cfg.Router,
		dedupe:    dedupe.New(cfg.DedupeWindow, cfg.Clock.Now),
		deliverer: deliverer,
		render:    render.Options{ArgoCDURL: cfg.ArgoCDURL, GrafanaURL: cfg.GrafanaURL, Now: cfg.Clock.Now},
		channel:   cfg.Channel,
		webhook:   cfg.WebhookURL,
		metrics:   s.metrics,
		logger:    cfg.Logger,
		deadline:  cfg.Deadline,
	}
	for _, r := range cfg.Router.Routes() {
		for _, st := range []string{"firing", "resolved"} {
			s.metrics.Notifications.WithLabelValues(r.Name, st)
		}
	}

	s.mux = http.NewServeMux()
	if cfg.Interactive() {
		if err := s.setupActions(p, deliverer, transport.(slack.Interactive)); err != nil {
			return nil, err
		}
	}
	s.mux.Handle("/webhook", webhook.NewHandler(p, cfg.WebhookToken, cfg.MaxInFlight, s.metrics.Webhooks, cfg.Logger))
	s.mux.Handle("/metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{Registry: s.metrics.Registry}))
	s.mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "Healthy\n") })
	s.mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if s.draining.Load() {
			http.Error(w, "Draining", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "Ready\n")
	})
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "Slack bridge",
		Description: "Alertmanager webhooks to Slack Block Kit messages (argocd-monitor)",
		Version:     version.Info(),
		Links: []web.LandingLinks{
			{Address: "/metrics", Text: "Metrics"},
			{Address: "/-/healthy", Text: "Health"},
			{Address: "/-/ready", Text: "Readiness"},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("landing page: %w", err)
	}
	s.mux.Handle("/", landing)
	return s, nil
}

// Handler serves every endpoint.
func (s *Server) Handler() http.Handler { return s.mux }

// Metrics returns the server's metrics and registry.
func (s *Server) Metrics() *Metrics { return s.metrics }

// HTTPServer returns the HTTP server with timeouts that fit the delivery deadline.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      s.cfg.Deadline + 15*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
}

// Run serves with serve (web.ListenAndServe in the binary, web.Serve on a test listener) until
// ctx ends, then drains: /-/ready turns 503, no new connections are accepted, and in-flight
// deliveries finish (bounded by the delivery deadline) before Run returns.
func (s *Server) Run(ctx context.Context, srv *http.Server, serve func(*http.Server) error) error {
	defer func() {
		for _, c := range s.closers {
			_ = c.Close()
		}
	}()
	errc := make(chan error, 2)
	go func() { errc <- serve(srv) }()
	sctx, stopSocket := context.WithCancel(ctx)
	defer stopSocket()
	go func() {
		if err := s.runSocketMode(sctx); err != nil {
			errc <- fmt.Errorf("slack socket mode: %w", err)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.cfg.Logger.Info("draining in-flight deliveries")
	dctx, cancel := context.WithTimeout(context.Background(), s.cfg.Deadline+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if s.receiver != nil {
		s.receiver.Wait() // clicks being handled finish (bounded by their own timeout)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// RedactURL hides everything after the host of a URL (webhook URLs carry their secret in the
// path), for the one log line that says where messages go.
func RedactURL(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return "<redacted>"
	}
	rest := u[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	return u[:i+3] + rest + "/<redacted>"
}
