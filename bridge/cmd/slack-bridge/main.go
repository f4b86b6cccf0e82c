// Command slack-bridge receives Alertmanager webhooks and posts them to Slack as Block Kit
// messages (see docs/bridge.md).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/route"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/server"
	"github.com/argocd-monitor/argocd-monitor/exporter/bearer"
	"github.com/argocd-monitor/argocd-monitor/exporter/lifecycle"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// CLI holds every flag; each has an env variable. Secrets are read from files or env only.
type CLI struct {
	Web struct {
		ListenAddress []string `name:"listen-address" default:":9798" env:"WEB_LISTEN_ADDRESS" help:"Addresses to listen on."`
		ConfigFile    string   `name:"config.file" env:"WEB_CONFIG_FILE" help:"exporter-toolkit web config (TLS, basic auth)."`
		SystemdSocket bool     `name:"systemd-socket" env:"WEB_SYSTEMD_SOCKET" help:"Use systemd socket activation listeners instead of port listeners (Linux only)."`
	} `embed:"" prefix:"web."`
	Log struct {
		Level  string `default:"info" enum:"debug,info,warn,error" env:"LOG_LEVEL" help:"Log level."`
		Format string `default:"logfmt" enum:"logfmt,json" env:"LOG_FORMAT" help:"Log format."`
	} `embed:"" prefix:"log."`
	Slack struct {
		WebhookURL         string        `name:"webhook-url" env:"SLACK_WEBHOOK_URL" help:"Incoming-webhook URL (webhook mode). Prefer the env variable or the file: argv is visible to every user."`
		WebhookURLFile     string        `name:"webhook-url-file" env:"SLACK_WEBHOOK_URL_FILE" help:"File holding the incoming-webhook URL."`
		BotTokenFile       string        `name:"bot-token-file" env:"SLACK_BOT_TOKEN_FILE" help:"File holding the bot token (bot mode); or set SLACK_BOT_TOKEN."`
		APIURL             string        `name:"api-url" default:"https://slack.com/api/" env:"SLACK_API_URL" help:"Slack Web API base URL; the method name is appended (tests use http://127.0.0.1:PORT/api/)."`
		Channel            string        `name:"channel" env:"SLACK_CHANNEL" help:"Default channel in bot and console modes."`
		Console            bool          `name:"console" env:"SLACK_CONSOLE" help:"Console mode: print messages to stdout instead of sending them (make demo)."`
		ConsoleFile        string        `name:"console-file" env:"SLACK_CONSOLE_FILE" help:"Console mode: append each message's Block Kit JSON to this file, one object per line."`
		Deadline           time.Duration `name:"deadline" default:"8s" env:"SLACK_DEADLINE" help:"Time to get one notification into Slack, retries and pacing included (keep under Alertmanager's webhook timeout)."`
		RequestTimeout     time.Duration `name:"request-timeout" default:"5s" env:"SLACK_REQUEST_TIMEOUT" help:"Timeout of one request to Slack."`
		PerChannelInterval time.Duration `name:"per-channel-interval" default:"1s" env:"SLACK_PER_CHANNEL_INTERVAL" help:"At most one message per channel per interval; 0 turns pacing off."`
		SigningSecretFile  string        `name:"signing-secret-file" env:"SLACK_SIGNING_SECRET_FILE" help:"File holding the Slack app's signing secret (re-read when it changes): turns on the buttons and POST /slack/interactions (bot mode); or set SLACK_SIGNING_SECRET."`
		AppTokenFile       string        `name:"app-token-file" env:"SLACK_APP_TOKEN_FILE" help:"File holding the Slack app-level token (xapp-…): turns on the buttons and receives clicks over Socket Mode (bot mode); or set SLACK_APP_TOKEN."`
	} `embed:"" prefix:"slack."`
	Alertmanager struct {
		URL            string `name:"url" env:"ALERTMANAGER_URL" help:"Alertmanager base URL the Silence buttons create silences in (its API v2), e.g. http://alertmanager:9093."`
		HTTPConfigFile string `name:"http-config-file" env:"ALERTMANAGER_HTTP_CONFIG_FILE" help:"Prometheus HTTP client config (basic_auth, authorization with credentials_file, tls_config) for --alertmanager.url."`
	} `embed:"" prefix:"alertmanager."`
	Actions struct {
		ExporterURL       string        `name:"exporter-url" env:"ACTIONS_EXPORTER_URL" help:"Exporter base URL the Retry/Resume buttons call (POST /api/v1/apps/{namespace}/{name}/remediation/resume)."`
		ExporterTokenFile string        `name:"exporter-token-file" env:"ACTIONS_EXPORTER_TOKEN_FILE" help:"File holding the exporter's write token (its --api.write-token-file), sent as a Bearer token; re-read when it changes."`
		Timeout           time.Duration `name:"timeout" default:"10s" env:"ACTIONS_TIMEOUT" help:"Time for one call to Alertmanager or the exporter."`
	} `embed:"" prefix:"actions."`
	Webhook struct {
		TokenFile   string `name:"token-file" env:"BRIDGE_WEBHOOK_TOKEN_FILE" help:"File holding the Bearer token Alertmanager must send; or set BRIDGE_WEBHOOK_TOKEN. Unset: no authentication."`
		MaxInFlight int    `name:"max-in-flight" default:"64" env:"BRIDGE_WEBHOOK_MAX_IN_FLIGHT" help:"Concurrent deliveries; further webhooks get an immediate 503."`
	} `embed:"" prefix:"webhook."`
	Links struct {
		ArgoCDURL  string `name:"argocd-url" env:"ARGOCD_URL" help:"Argo CD UI base URL, for app links and buttons."`
		GrafanaURL string `name:"grafana-url" env:"GRAFANA_URL" help:"Grafana base URL; dashboard_url annotations starting with / are joined to it."`
	} `embed:"" prefix:"links."`
	Config struct {
		File  string `name:"file" env:"BRIDGE_CONFIG_FILE" help:"YAML routes and templates (docs/bridge.md); unset: one default route."`
		Check bool   `name:"check" help:"Validate the configuration and exit."`
	} `embed:"" prefix:"config."`
	Reminder struct {
		Interval time.Duration `name:"interval" default:"4h" env:"BRIDGE_REMINDER_INTERVAL" help:"A group still firing after each such interval gets a thread reply (\"Still firing for 4h: ...\") with the next notification Alertmanager sends (keep its repeat_interval at most this); never a new top-level message. 0 turns reminders off (bot mode only)."`
	} `embed:"" prefix:"reminder."`
	State struct {
		File string        `name:"file" env:"BRIDGE_STATE_FILE" help:"File keeping groupKey -> Slack message across restarts (bot mode); unset: memory only."`
		TTL  time.Duration `name:"ttl" default:"168h" env:"BRIDGE_STATE_TTL" help:"Forget a group's message after this long without a notification."`

		Kubernetes     bool          `name:"kubernetes" env:"BRIDGE_STATE_KUBERNETES" help:"Share the group state among replicas through the Kubernetes API (a ConfigMap per active group), instead of --state.file."`
		Identity       string        `name:"identity" env:"POD_NAME" help:"With --state.kubernetes: this replica's name in group claims (default: the host name)."`
		Namespace      string        `name:"namespace" env:"BRIDGE_STATE_NAMESPACE" help:"Namespace of the group ConfigMaps (default: the pod's namespace)."`
		ResolvedWindow time.Duration `name:"resolved-window" default:"1h" env:"BRIDGE_STATE_RESOLVED_WINDOW" help:"With --state.kubernetes: keep a resolved group's record this long, so late copies of its notification are duplicates."`
	} `embed:"" prefix:"state."`
	Kubeconfig string `name:"kubeconfig" env:"KUBECONFIG" help:"kubeconfig for --state.kubernetes outside a cluster (default: the pod's service account)."`
	Dedupe     struct {
		Window time.Duration `name:"window" default:"2m" env:"BRIDGE_DEDUPE_WINDOW" help:"Acknowledge an identical notification within this window without posting; 0 turns it off."`
	} `embed:"" prefix:"dedupe."`
	Enrich struct {
		ExporterURL string        `name:"exporter-url" env:"BRIDGE_ENRICH_EXPORTER_URL" help:"The exporter's base URL (e.g. http://argocd-exporter:9797); set: messages about Argo CD apps get a \"Why\" part from its /api/v1/apps API."`
		TokenFile   string        `name:"token-file" env:"BRIDGE_ENRICH_TOKEN_FILE" help:"File holding the exporter's --api.token-file token; re-read on every request."`
		Budget      time.Duration `name:"budget" default:"2500ms" env:"BRIDGE_ENRICH_BUDGET" help:"Time for all of one notification's questions to the exporter (at most half of --slack.deadline); a late answer is left out and the message says so."`
		MaxApps     int           `name:"max-apps" default:"10" env:"BRIDGE_ENRICH_MAX_APPS" help:"Apps of one notification that get detail; the rest are counted."`
	} `embed:"" prefix:"enrich."`
	Version kong.VersionFlag `help:"Print version and exit."`
}

func main() {
	var cli CLI
	kong.Parse(&cli, kongOptions()...)
	if err := runUntilSignal(&cli, os.Stdout, os.LookupEnv); err != nil {
		fmt.Fprintln(os.Stderr, "slack-bridge:", err)
		os.Exit(1)
	}
}

// kongOptions are the parser options of main; tests parse with the same ones.
func kongOptions() []kong.Option {
	return []kong.Option{
		kong.Name("slack-bridge"),
		kong.Description("Alertmanager webhooks to Slack Block Kit messages."),
		kong.Vars{"version": version.Print("slack-bridge")},
	}
}

// runUntilSignal runs the bridge until SIGTERM or SIGINT, which start the drain.
func runUntilSignal(cli *CLI, stdout io.Writer, env func(string) (string, bool)) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return run(ctx, cli, stdout, env)
}

// run configures the bridge and hands it to lifecycle.Run: every listener bound before anything
// starts, the HTTP server and the actors (Socket Mode, the group-state sweeper) under one
// errgroup (the first error ends them all), then the drain.
func run(ctx context.Context, cli *CLI, stdout io.Writer, env func(string) (string, bool)) error {
	logger := newLogger(cli.Log.Level, cli.Log.Format)
	cfg, err := configure(cli, env, logger)
	if err != nil {
		return err
	}
	cfg.ConsoleOut, cfg.Logger = stdout, logger
	if cli.State.Kubernetes && cli.State.File != "" {
		return errors.New("--state.kubernetes and --state.file: give one, not both")
	}
	if cli.State.Kubernetes && !cli.Config.Check {
		groups, err := kubeGroups(cli, logger)
		if err != nil {
			return err
		}
		cfg.Groups = groups
	}
	if cli.Config.Check {
		if err := cfg.Validate(); err != nil {
			return flagError(err)
		}
		actions := ""
		if cfg.Interactive() {
			actions = ", Slack actions on"
		}
		fmt.Fprintf(stdout, "config OK: %d routes, %s mode%s\n", len(cfg.Router.Routes()), cfg.Mode, actions)
		return nil
	}
	s, err := server.New(cfg)
	if err != nil {
		return flagError(err)
	}
	dest := cfg.Channel
	if cfg.Mode == server.ModeWebhook && cfg.WebhookURL != nil {
		dest = server.RedactURL(cfg.WebhookURL.Value())
	}
	process := s.Process()
	process.Listen = lifecycle.Listen{Addresses: cli.Web.ListenAddress, SystemdSocket: cli.Web.SystemdSocket, WebConfigFile: cli.Web.ConfigFile}
	process.Bound = func() {
		logger.Info("starting slack-bridge", "version", version.Info(), "mode", cfg.Mode, "default_destination", dest,
			"routes", len(cfg.Router.Routes()), "auth", cfg.WebhookToken != nil, "enrich", cfg.Enrich != nil,
			"slack_actions", cfg.Interactive(), "socket_mode", cfg.AppToken != nil, "alertmanager", cfg.Silencer != nil, "exporter", cfg.Remediator != nil)
	}
	return webFlags.Explain(lifecycle.Run(ctx, process))
}

// webFlags are the --web.* flags lifecycle errors name.
var webFlags = lifecycle.Flags{ListenAddress: "--web.listen-address", SystemdSocket: "--web.systemd-socket", WebConfigFile: "--web.config.file"}

// flagError names the flags that fix a configuration error of the server package.
func flagError(err error) error {
	for sentinel, hint := range map[error]string{
		server.ErrNoWebhookURL: "set --slack.webhook-url-file (or SLACK_WEBHOOK_URL) or the route's webhook_url_file",
		server.ErrNoChannel:    "set --slack.channel or the route's channel",
		server.ErrNoBotToken:   "set --slack.bot-token-file or SLACK_BOT_TOKEN",
		server.ErrDeadline:     "check --slack.deadline",
		server.ErrEnrichBudget: "check --enrich.budget against --slack.deadline",
		server.ErrEnrich:       "check --enrich.exporter-url",
	} {
		if errors.Is(err, sentinel) {
			return fmt.Errorf("%w (%s)", err, hint)
		}
	}
	return err
}

// configure turns flags, env and secret files into the server's configuration.
func configure(cli *CLI, env func(string) (string, bool), logger *slog.Logger) (server.Config, error) {
	if err := checkURLs(cli); err != nil {
		return server.Config{}, err
	}
	router, err := route.Load(cli.Config.File)
	if err != nil {
		return server.Config{}, err
	}
	webhookURL, err := openSecret("--slack.webhook-url-file", cli.Slack.WebhookURLFile, "--slack.webhook-url (SLACK_WEBHOOK_URL)", cli.Slack.WebhookURL, secret.URL, logger)
	if err != nil {
		return server.Config{}, err
	}
	botToken, err := openSecret("--slack.bot-token-file", cli.Slack.BotTokenFile, "SLACK_BOT_TOKEN", envValue(env, "SLACK_BOT_TOKEN"), nil, logger)
	if err != nil {
		return server.Config{}, err
	}
	token, err := openSecret("--webhook.token-file", cli.Webhook.TokenFile, "BRIDGE_WEBHOOK_TOKEN", envValue(env, "BRIDGE_WEBHOOK_TOKEN"), bearer.CheckToken, logger)
	if err != nil {
		return server.Config{}, err
	}
	cfg := server.Config{
		WebhookURL: webhookURL, BotToken: botToken, APIURL: cli.Slack.APIURL, Channel: cli.Slack.Channel,
		ConsoleFile: cli.Slack.ConsoleFile, WebhookToken: token, MaxInFlight: cli.Webhook.MaxInFlight,
		Router: router, ArgoCDURL: cli.Links.ArgoCDURL, GrafanaURL: cli.Links.GrafanaURL,
		Deadline: cli.Slack.Deadline, AttemptTimeout: cli.Slack.RequestTimeout,
		PerChannelInterval: cli.Slack.PerChannelInterval, DedupeWindow: cli.Dedupe.Window,
		StateFile: cli.State.File, StateTTL: cli.State.TTL, ReminderInterval: cli.Reminder.Interval,
	}
	if cli.Enrich.ExporterURL != "" {
		if cli.Enrich.TokenFile == "" {
			return cfg, errors.New("--enrich.exporter-url needs --enrich.token-file (the exporter's --api.token-file token)")
		}
		tok, err := secret.ReadFile(cli.Enrich.TokenFile, bearer.CheckToken, logger)
		if err != nil {
			return cfg, fmt.Errorf("--enrich.token-file: %w", err)
		}
		cfg.Enrich = &enrich.Config{URL: cli.Enrich.ExporterURL, Token: tok, MaxApps: cli.Enrich.MaxApps}
		cfg.EnrichBudget = cli.Enrich.Budget
	}
	routeURLs := false
	for _, r := range router.Routes() {
		routeURLs = routeURLs || r.WebhookURL() != ""
	}
	switch {
	case cli.Slack.Console:
		cfg.Mode = server.ModeConsole
	case botToken != nil && (webhookURL != nil || routeURLs):
		return cfg, errors.New("both a bot token and webhook URLs are set: choose bot mode or webhook mode")
	case botToken != nil:
		cfg.Mode = server.ModeBot
	case webhookURL != nil || routeURLs:
		cfg.Mode = server.ModeWebhook
	default:
		return cfg, errors.New("no Slack destination: set SLACK_WEBHOOK_URL (or --slack.webhook-url-file), SLACK_BOT_TOKEN (or --slack.bot-token-file), or --slack.console")
	}
	return cfg, configureActions(cli, env, logger, &cfg)
}

// openSecret is a secret given as a file (fileFlag; read again when it changes) or else as a
// value (an env variable, or a flag that has one); nil when neither is set. Its error names
// the one given, never the value.
func openSecret(fileFlag, file, valueName, value string, check func(string) error, logger *slog.Logger) (secret.Source, error) {
	s, err := secret.Open(file, value, check, logger)
	switch {
	case err != nil && file != "":
		return nil, fmt.Errorf("%s: %w", fileFlag, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", valueName, err)
	}
	return s, nil
}

// envValue is the env variable's value ("" when unset).
func envValue(env func(string) (string, bool), name string) string {
	v, _ := env(name)
	return v
}

// checkURLs refuses at start what the bridge would fail on (or leak) later: a URL flag that is
// no http(s) URL, or that carries credentials (they go in a token file or the HTTP config file).
func checkURLs(cli *CLI) error {
	for _, u := range []struct{ flag, value string }{
		{"--slack.api-url", cli.Slack.APIURL},
		{"--alertmanager.url", cli.Alertmanager.URL},
		{"--actions.exporter-url", cli.Actions.ExporterURL},
		{"--enrich.exporter-url", cli.Enrich.ExporterURL},
	} {
		if u.value == "" {
			continue
		}
		if err := secret.URL(u.value); err != nil {
			return fmt.Errorf("%s: %w", u.flag, err)
		}
	}
	return nil
}

func newLogger(level, format string) *slog.Logger {
	cfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat()}
	_ = cfg.Level.Set(level)
	_ = cfg.Format.Set(format)
	return promslog.New(cfg)
}
