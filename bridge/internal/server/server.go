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
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/actions"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/dedupe"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/interact"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/route"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/webhook"
	"github.com/argocd-monitor/argocd-monitor/exporter/lifecycle"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
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
	Mode Mode
	// Secrets are read at each use, so a value read from a file follows the file; nil = unset.
	WebhookURL  secret.Source // default incoming-webhook URL
	BotToken    secret.Source
	APIURL      string // Web API base, e.g. https://slack.com/api/
	Channel     string // default channel (bot, console)
	ConsoleOut  io.Writer
	ConsoleFile string

	WebhookToken secret.Source // Bearer token Alertmanager must send; nil = no auth
	MaxInFlight  int

	Router     *route.Router
	ArgoCDURL  string
	GrafanaURL string

	Deadline           time.Duration
	AttemptTimeout     time.Duration
	PerChannelInterval time.Duration
	DedupeWindow       time.Duration
	// ReminderInterval: a still-firing group's thread gets a reminder after each interval (0: off).
	ReminderInterval time.Duration
	StateFile        string
	StateTTL         time.Duration
	// Groups, when set, is the group state shared by replicas
	// (kubegroups); StateFile is then unused.
	Groups state.Groups

	// Slack actions (bot mode; console mode for the demo): SigningSecret verifies the Request
	// URL /slack/interactions, AppToken opens Socket Mode; either turns the buttons on.
	// Silencer and Remediator may be nil: their buttons then say they are not configured.
	SigningSecret secret.Source
	AppToken      secret.Source
	Silencer      actions.Silencer
	Remediator    actions.Remediator
	// Enrich turns on the "Why" part: the exporter's read API is asked about each app.
	Enrich       *enrich.Config
	EnrichBudget time.Duration // time for all of one notification's questions

	// HTTPClient talks to Slack (nil: slack.NewHTTPClient over the default transport).
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

// Configuration errors, in the server's words; the binary maps them to its flags.
var (
	ErrNoWebhookURL = errors.New("no webhook URL: the route has no webhook_url_file and there is no default webhook URL")
	ErrNoChannel    = errors.New("no channel: the route names none and there is no default channel")
	ErrNoBotToken   = errors.New("bot mode needs a bot token")
	ErrDeadline     = errors.New("the delivery deadline must be positive")
	ErrEnrichBudget = errors.New("the enrichment budget must be positive and at most half of the delivery deadline, so Slack keeps the rest")
	ErrEnrich       = errors.New("enrichment")
)

// Validate checks that every route can reach Slack in the chosen mode.
func (c *Config) Validate() error {
	if c.Router == nil {
		return errors.New("no routes")
	}
	for _, r := range c.Router.Routes() {
		switch c.Mode {
		case ModeWebhook:
			if r.WebhookURL() == "" && c.WebhookURL == nil {
				return fmt.Errorf("route %s: %w", r.Name, ErrNoWebhookURL)
			}
		case ModeBot:
			if r.WebhookURLFile != "" {
				return fmt.Errorf("route %s: webhook_url_file is for webhook mode; bot mode posts to channels", r.Name)
			}
			if r.Channel == "" && c.Channel == "" {
				return fmt.Errorf("route %s: %w", r.Name, ErrNoChannel)
			}
		case ModeConsole:
		default:
			return fmt.Errorf("unknown mode %q", c.Mode)
		}
	}
	if c.Mode == ModeBot && c.BotToken == nil {
		return ErrNoBotToken
	}
	if c.Deadline <= 0 {
		return ErrDeadline
	}
	if (c.SigningSecret != nil || c.AppToken != nil) && c.Mode == ModeWebhook {
		return errors.New("the Slack actions (signing secret, app token) need bot mode: incoming webhooks cannot receive clicks")
	}
	if c.AppToken != nil && c.Mode != ModeBot {
		return errors.New("socket mode (app token) needs bot mode")
	}
	if c.Enrich != nil && (c.EnrichBudget <= 0 || c.EnrichBudget > c.Deadline/2) {
		return fmt.Errorf("%w (budget %s, deadline %s)", ErrEnrichBudget, c.EnrichBudget, c.Deadline)
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
		cfg.HTTPClient = slack.NewHTTPClient(nil)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 64
	}
	s := &Server{cfg: cfg, metrics: NewMetrics()}

	var transport slack.Transport
	store := cfg.Groups // a webhook-mode replica uses it to post each notification once
	switch cfg.Mode {
	case ModeWebhook:
		transport = &slack.Webhook{Client: cfg.HTTPClient}
	case ModeBot, ModeConsole:
		if store == nil {
			file, err := state.Open(cfg.StateFile, cfg.StateTTL)
			if err != nil {
				return nil, err
			}
			store = file
		}
		if cfg.Mode == ModeBot {
			transport = slack.NewBot(cfg.BotToken, cfg.APIURL, cfg.HTTPClient)
		} else {
			out := cfg.ConsoleOut
			if out == nil {
				out = io.Discard
			}
			c, err := slack.NewConsole(out, cfg.ConsoleFile)
			if err != nil {
				return nil, err
			}
			s.closers = append(s.closers, c)
			transport = c
		}
	}
	deliverer := slack.NewDeliverer(transport, store, slack.NewPacer(cfg.PerChannelInterval), slack.Options{
		Deadline: cfg.Deadline, AttemptTimeout: cfg.AttemptTimeout, Logger: cfg.Logger, ReminderInterval: cfg.ReminderInterval,
	}, s.metrics.SlackRequests, s.metrics.SlackDuration)
	var enricher *enrich.Enricher
	if cfg.Enrich != nil {
		var err error
		if enricher, err = enrich.New(*cfg.Enrich, s.metrics.Enrich); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrEnrich, err)
		}
	}
	p := &pipeline{
		enricher:     enricher,
		enrichBudget: cfg.EnrichBudget,
		changes:      newChanges(cfg.StateTTL, time.Now),
		router:       cfg.Router,
		dedupe:       dedupe.New(cfg.DedupeWindow),
		deliverer:    deliverer,
		render:       render.Options{ArgoCDURL: cfg.ArgoCDURL, GrafanaURL: cfg.GrafanaURL, Threads: transport.Threads()},
		channel:      cfg.Channel,
		webhook:      cfg.WebhookURL,
		metrics:      s.metrics,
		logger:       cfg.Logger,
		deadline:     cfg.Deadline,
	}
	for _, r := range cfg.Router.Routes() {
		for _, st := range []string{"firing", "resolved"} {
			s.metrics.Notifications.WithLabelValues(r.Name, st)
		}
	}

	s.mux = http.NewServeMux()
	if cfg.Interactive() {
		if err := s.setupActions(p, deliverer, transport.(slack.Interactive), store); err != nil {
			return nil, err
		}
	}
	s.mux.Handle("/webhook", webhook.NewHandler(p, cfg.WebhookToken, cfg.MaxInFlight, s.metrics.Webhooks, cfg.Logger))
	// As the exporter: scrape counts in promhttp_metric_handler_*, OpenMetrics when asked for.
	s.mux.Handle("/metrics", promhttp.InstrumentMetricHandler(s.metrics.Registry,
		promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelError), Registry: s.metrics.Registry,
			MaxRequestsInFlight: 4, EnableOpenMetrics: true,
		})))
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

// sweeper is a shared group state that deletes expired records (kubegroups).
type sweeper interface {
	Run(ctx context.Context, every time.Duration) error
}

// sweepEvery is how often each replica deletes expired shared group records.
const sweepEvery = 10 * time.Minute

// Process is the bridge as lifecycle.Run runs it: the HTTP server; the drain, bounded by the
// delivery deadline so in-flight deliveries finish, with /-/ready answering 503 meanwhile; the
// Socket Mode connection and the shared group state's sweeper as actors; and the stop hooks
// (clicks being handled finish, the console file is closed). The caller sets Listen (or
// Listeners) and may set Bound.
func (s *Server) Process() lifecycle.Options {
	o := lifecycle.Options{
		Server:   s.HTTPServer(),
		Drain:    s.cfg.Deadline + 5*time.Second,
		Draining: func() { s.draining.Store(true) },
		Logger:   s.cfg.Logger,
		Actors: []func(context.Context) error{func(ctx context.Context) error {
			if err := s.runSocketMode(ctx); err != nil {
				return fmt.Errorf("slack socket mode: %w", err)
			}
			return nil
		}},
		Stop: []func(){func() {
			if s.receiver != nil {
				s.receiver.Wait() // clicks being handled finish (bounded by their own timeout)
			}
			for _, c := range s.closers {
				_ = c.Close()
			}
		}},
	}
	if sw, ok := s.cfg.Groups.(sweeper); ok {
		o.Actors = append(o.Actors, func(ctx context.Context) error { return sw.Run(ctx, sweepEvery) })
	}
	return o
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
