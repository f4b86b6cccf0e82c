// Command argocd-exporter watches Argo CD applications and exports their
// health, sync and operation state as Prometheus metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/argocd-monitor/argocd-monitor/exporter/bearer"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/appapi"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/collector"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/exposition"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/poller"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/watch"
	"github.com/argocd-monitor/argocd-monitor/exporter/lifecycle"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// CLI is the whole command line. Each flag group is its own struct, embedded
// with a prefix, so more groups (remediation) slot in beside these.
type CLI struct {
	ArgoCD  ArgoCDFlags  `embed:"" prefix:"argocd."`
	Web     WebFlags     `embed:"" prefix:"web."`
	Log     LogFlags     `embed:"" prefix:"log."`
	Metrics MetricsFlags `embed:"" prefix:"metrics."`

	Remediation RemediationFlags `embed:"" prefix:"remediation."`
	WriteAPI    WriteAPIFlags    `embed:"" prefix:"api."`
	Kube        KubeFlags        `embed:""`
	API         APIFlags         `embed:"" prefix:"api."`

	Version kong.VersionFlag `help:"Print the version and exit."`
}

// ArgoCDFlags say which Argo CD to watch and how.
type ArgoCDFlags struct {
	API                string        `name:"api" env:"ARGOCD_API" required:"" placeholder:"URL" help:"Argo CD API URL, with or without /api/v1 (e.g. https://argocd-server.argocd.svc.cluster.local/api/v1)."`
	Token              string        `name:"token" env:"ARGOCD_TOKEN" help:"API token (prefer the env var or --argocd.token-file: argv is visible to other processes)."`
	TokenFile          string        `name:"token-file" env:"ARGOCD_TOKEN_FILE" placeholder:"PATH" help:"File holding the API token; re-read when it changes (a rotated Secret works without a restart)."`
	CAFile             string        `name:"ca-file" env:"ARGOCD_CA_FILE" placeholder:"PATH" help:"PEM CA bundle to verify the Argo CD server with (default: system roots)."`
	InsecureSkipVerify bool          `name:"insecure-skip-verify" env:"ARGOCD_INSECURE_SKIP_VERIFY" help:"Do not verify the server's TLS certificate (logs a warning)."`
	Timeout            time.Duration `name:"timeout" env:"ARGOCD_TIMEOUT" default:"30s" help:"Timeout of one API request, body included."`
	PollInterval       time.Duration `name:"poll-interval" env:"ARGOCD_POLL_INTERVAL" default:"30s" help:"How often to list the applications (with --argocd.watch: only while the stream is down)."`
	Watch              bool          `name:"watch" env:"ARGOCD_WATCH" default:"true" negatable:"" help:"Follow Argo CD's application stream after one List instead of listing every poll interval (--no-argocd.watch: poll only)."`
	ResyncInterval     time.Duration `name:"resync-interval" env:"ARGOCD_RESYNC_INTERVAL" default:"10m" help:"With --argocd.watch, a resync this often heals anything the stream missed: a List of identity and state, then a Get of each app that differs; every sixth is a full List."`
	Selector           string        `name:"selector" env:"ARGOCD_SELECTOR" help:"Label selector of the applications to watch."`
	Project            []string      `name:"project" env:"ARGOCD_PROJECT" sep:"," placeholder:"PROJECT" help:"Project whose applications to watch (repeatable; default all)."`
	StaleAfter         time.Duration `name:"stale-after" env:"ARGOCD_STALE_AFTER" default:"5m" help:"Keep serving app series this long after the last good poll, then drop them."`
	ListMode           string        `name:"list-mode" env:"ARGOCD_LIST_MODE" enum:"projected,full" default:"projected" help:"projected: List only whitelisted fields and Get the apps that need detail; full: List whole Applications (${enum})."`
	DetailConcurrency  int           `name:"detail-concurrency" env:"ARGOCD_DETAIL_CONCURRENCY" default:"4" help:"Concurrent Gets for detail in projected mode."`
	MaxDetailGets      int           `name:"max-detail-gets" env:"ARGOCD_MAX_DETAIL_GETS" default:"100" help:"In projected mode, when more apps than this need detail, one whole List replaces the Gets."`
}

// WebFlags configure the HTTP server (exporter-toolkit conventions).
type WebFlags struct {
	ListenAddress []string `name:"listen-address" env:"WEB_LISTEN_ADDRESS" default:":9797" sep:"," help:"Addresses to listen on (repeatable)."`
	ConfigFile    string   `name:"config.file" env:"WEB_CONFIG_FILE" placeholder:"PATH" help:"exporter-toolkit web config file (TLS, basic auth)."`
	SystemdSocket bool     `name:"systemd-socket" env:"WEB_SYSTEMD_SOCKET" help:"Use systemd socket activation listeners instead of port listeners (Linux only)."`
	TelemetryPath string   `name:"telemetry-path" env:"WEB_TELEMETRY_PATH" default:"/metrics" help:"Path under which to expose metrics."`
}

// APIFlags configure the read API the bridge asks for an app's detail.
type APIFlags struct {
	TokenFile   string        `name:"token-file" env:"API_TOKEN_FILE" placeholder:"PATH" help:"File holding the Bearer token callers of /api/v1/apps/... must send; re-read when it changes. Unset: the API is off."`
	CacheTTL    time.Duration `name:"cache-ttl" env:"API_CACHE_TTL" default:"15s" help:"How long an app's answer is served from memory."`
	Budget      time.Duration `name:"budget" env:"API_BUDGET" default:"2s" help:"Time Argo CD gets to answer for one app; what is late is reported in the answer's errors."`
	Concurrency int           `name:"concurrency" env:"API_CONCURRENCY" default:"4" help:"Calls to Argo CD in flight for the API, across all requests."`
}

// MetricsFlags shape the app series /metrics writes.
type MetricsFlags struct {
	StateSets string `name:"state-sets" env:"METRICS_STATE_SETS" enum:"full,current" default:"full" help:"full: every state-set member (1 for the current value, 0 for the others) and per-app values at 0; current: only the member that is 1 and no per-app series at 0, at most 6 series per healthy app (${enum})."`
}

// LogFlags configure the slog logger.
type LogFlags struct {
	Level  string `name:"level" env:"LOG_LEVEL" enum:"debug,info,warn,error" default:"info" help:"Log level (${enum})."`
	Format string `name:"format" env:"LOG_FORMAT" enum:"logfmt,json" default:"logfmt" help:"Log format (${enum})."`
}

func main() {
	var cli CLI
	kctx := kong.Parse(&cli, kongOptions()...)
	logger := newLogger(cli.Log, os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx.FatalIfErrorf(run(ctx, &cli, logger))
}

func kongOptions() []kong.Option {
	return []kong.Option{
		kong.Name("argocd-exporter"),
		kong.Description("Exports the state of Argo CD applications as Prometheus metrics."),
		kong.Vars{"version": version.Print("argocd-exporter")},
	}
}

func newLogger(f LogFlags, w io.Writer) *slog.Logger {
	cfg := &promslog.Config{Level: promslog.NewLevel(), Format: promslog.NewFormat(), Writer: w}
	_ = cfg.Level.Set(f.Level)   // kong's enum already checked the value
	_ = cfg.Format.Set(f.Format) // idem
	return promslog.New(cfg)
}

// run wires the exporter and hands it to lifecycle.Run: listeners bound
// before anything starts (a process that cannot serve never polls), the
// poller or watcher and the HTTP server under one errgroup, then the drain.
// The leader election runs in the background until the engine recorded its
// last sync call, so the Lease is released only after it. Each error names
// the flag to fix.
func run(ctx context.Context, cli *CLI, logger *slog.Logger) error {
	reg := prometheus.NewRegistry()
	ex, err := build(cli, reg, logger)
	if err != nil {
		return err
	}
	started := func() {
		logger.Info("starting argocd-exporter", "version", version.Info(), "api", ex.client.BaseURL(), "list_mode", cli.ArgoCD.ListMode, "watch", cli.ArgoCD.Watch,
			"remediation", cli.Remediation.Mode, "state_sets", cli.Metrics.StateSets, "remediation_state_file", cli.Remediation.StateFile, "app_api", ex.appAPI != nil)
		if cli.ArgoCD.InsecureSkipVerify {
			logger.Warn("TLS verification of the Argo CD server is off (--argocd.insecure-skip-verify)")
		}
	}
	opts := lifecycle.Options{
		Bound:  started,
		Listen: lifecycle.Listen{Addresses: cli.Web.ListenAddress, SystemdSocket: cli.Web.SystemdSocket, WebConfigFile: cli.Web.ConfigFile},
		Server: &http.Server{
			Handler:           newHandler(cli.Web, reg, ex, logger),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second, // a 10k-app scrape is a few MB
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		},
		Drain:  15 * time.Second,               // in-flight scrapes and API answers finish
		Stop:   []func(){ex.remediation.Close}, // sync calls in flight finish and are recorded
		Logger: logger,
	}
	if ex.watcher != nil {
		opts.Actors = append(opts.Actors, func(ctx context.Context) error { ex.watcher.Run(ctx); return nil })
	} else {
		opts.Actors = append(opts.Actors, func(ctx context.Context) error { ex.poller.Run(ctx); return nil })
	}
	if ex.kube.elector != nil {
		opts.Background = append(opts.Background, func(ctx context.Context) { _ = ex.kube.elector.Run(ctx) })
	}
	return webFlags.Explain(lifecycle.Run(ctx, opts))
}

// webFlags are the --web.* flags lifecycle errors name.
var webFlags = lifecycle.Flags{ListenAddress: "--web.listen-address", SystemdSocket: "--web.systemd-socket", WebConfigFile: "--web.config.file"}

// exporter is what build wires together.
type exporter struct {
	client      *argocd.Client
	poller      *poller.Poller
	watcher     *watch.Watcher // nil with --no-argocd.watch
	remediation *remediate.Engine
	kube        kube
	appAPI      *appapi.API // nil: the read API is off
	// apps is the app collector /metrics serves beside the registry; it
	// stays out of the registry so a 10k-app scrape skips the registry's
	// per-series checks and writes the text formats directly (see
	// exposition.Handler).
	apps *collector.Collector
	// write are the remediation write endpoints by route (nil: --api.write-token-file unset).
	write map[string]http.Handler
}

// build creates the client, poller and collector, registers the exporter's
// own metrics on reg and returns what /metrics serves. The
// metric-contract test calls it too, so the golden list of families is the
// binary's own.
func build(cli *CLI, reg *prometheus.Registry, logger *slog.Logger) (*exporter, error) {
	f := cli.ArgoCD
	if f.PollInterval <= 0 {
		return nil, errors.New("--argocd.poll-interval: must be positive")
	}
	if f.Timeout <= 0 {
		return nil, errors.New("--argocd.timeout: must be positive")
	}
	if f.StaleAfter < f.PollInterval {
		return nil, fmt.Errorf("--argocd.stale-after: %s is shorter than --argocd.poll-interval %s", f.StaleAfter, f.PollInterval)
	}
	if f.Watch && f.ResyncInterval <= 0 {
		return nil, errors.New("--argocd.resync-interval: must be positive")
	}
	if f.DetailConcurrency < 1 {
		return nil, errors.New("--argocd.detail-concurrency: must be at least 1")
	}
	if f.MaxDetailGets < 1 {
		return nil, errors.New("--argocd.max-detail-gets: must be at least 1")
	}
	if f.Token != "" && f.TokenFile != "" {
		return nil, errors.New("--argocd.token and --argocd.token-file: give one, not both")
	}
	tokens, err := secret.Open(f.TokenFile, f.Token, nil, logger)
	switch {
	case err != nil:
		return nil, fmt.Errorf("--argocd.token-file: %w", err)
	case tokens == nil:
		return nil, errors.New("--argocd.token-file or --argocd.token (ARGOCD_TOKEN_FILE / ARGOCD_TOKEN): an API token is required")
	}
	if _, err := argocd.ParseAPIURL(f.API); err != nil {
		return nil, fmt.Errorf("--argocd.api: %w", err)
	}
	requests := argocd.NewRequestCounter(reg)
	client, err := argocd.NewClient(argocd.Config{
		APIURL:             f.API,
		Token:              tokens,
		CAFile:             f.CAFile,
		InsecureSkipVerify: f.InsecureSkipVerify,
		Timeout:            f.Timeout,
		UserAgent:          "argocd-monitor/" + version.Version,
	}, requests)
	if err != nil {
		return nil, fmt.Errorf("--argocd.ca-file: %w", err) // the only check left after the ones above
	}
	k, err := cli.Kube.build(cli, logger)
	if err != nil {
		return nil, err
	}
	engine, err := remediate.New(cli.Remediation.config(), client, k.options(logger))
	if err != nil {
		return nil, flagErrors(err) // already checked by kong for the binary
	}
	p := poller.New(poller.Config{
		Client:            client,
		Selector:          f.Selector,
		Projects:          f.Project,
		Projected:         f.ListMode == "projected",
		DetailConcurrency: f.DetailConcurrency,
		MaxDetailGets:     f.MaxDetailGets,
		Interval:          f.PollInterval,
		StaleAfter:        f.StaleAfter,
		Observer:          engine,
		Logger:            logger,
	})
	reg.MustRegister(
		versioncollector.NewCollector("argocd_monitor"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		p,
		engine,
		engine.ActionMetrics(),
		k.collector(),
	)
	ex := &exporter{client: client, poller: p, remediation: engine, kube: k, apps: collector.New(p, collector.Config{
		StateSets: collector.StateSets(cli.Metrics.StateSets), Remediation: engine,
	})}
	if ex.write, err = newWriteAPI(cli.WriteAPI, engine, reg, logger); err != nil {
		return nil, err
	}
	if f.Watch {
		ex.watcher = watch.New(watch.Config{
			Client:         client,
			Poller:         p,
			Selector:       f.Selector,
			Projects:       f.Project,
			Projected:      f.ListMode == "projected",
			ResyncInterval: f.ResyncInterval,
			PollInterval:   f.PollInterval,
			Due:            engine,
			Logger:         logger,
		})
		reg.MustRegister(ex.watcher)
	}
	if cli.API.TokenFile != "" {
		if ex.appAPI, err = newAppAPI(cli.API, client, p, engine, reg, logger); err != nil {
			return nil, err
		}
	}
	return ex, nil
}

// newAppAPI builds the read API. Apps the last poll did not see get a 404
// without a call to Argo CD; before the first poll every name is asked.
func newAppAPI(f APIFlags, client *argocd.Client, p *poller.Poller, engine *remediate.Engine, reg *prometheus.Registry, logger *slog.Logger) (*appapi.API, error) {
	if f.CacheTTL <= 0 || f.Budget <= 0 || f.Concurrency < 1 {
		return nil, errors.New("--api.cache-ttl and --api.budget must be positive, --api.concurrency at least 1")
	}
	tok, err := secret.ReadFile(f.TokenFile, bearer.CheckToken, logger)
	if err != nil {
		return nil, fmt.Errorf("--api.token-file: %w", err)
	}
	requests := appapi.NewRequestCounter(reg)
	return appapi.New(appapi.Config{
		Token: tok, CacheTTL: f.CacheTTL, Budget: f.Budget, Concurrency: f.Concurrency, Logger: logger,
		Project: func(ns, name string) (string, bool) {
			snap := p.Snapshot()
			if snap.Apps == nil {
				return "", true
			}
			for i := range snap.Apps {
				if a := &snap.Apps[i]; a.Name == name && a.Namespace == ns {
					return a.Project, true
				}
			}
			return "", false
		},
	}, client, engine, requests)
}

// newHandler routes /metrics, the health endpoints and the landing page.
func newHandler(f WebFlags, reg *prometheus.Registry, ex *exporter, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	// Registers promhttp_metric_handler_* on reg, as node_exporter does.
	// exposition.Handler is promhttp.HandlerFor that writes the 160k app
	// gauges of a 10k-app fleet directly.
	mux.Handle(f.TelemetryPath, promhttp.InstrumentMetricHandler(reg, exposition.Handler(reg, ex.apps, exposition.Opts{
		ErrorLog:            logger,
		Registry:            reg,
		MaxRequestsInFlight: 4,
	})))
	for pattern, h := range ex.write {
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !ex.poller.Ready() {
			http.Error(w, "Not ready: first poll of Argo CD not finished", http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprintln(w, "Ready")
	})
	if ex.appAPI != nil {
		mux.Handle(appapi.Pattern, ex.appAPI)
	}
	if f.TelemetryPath != "/" && f.TelemetryPath != "" {
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "Argo CD Monitor exporter",
			Description: "Health, sync and operation state of Argo CD applications",
			Version:     version.Info(),
			Links: []web.LandingLinks{
				{Address: f.TelemetryPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health"},
				{Address: "/-/ready", Text: "Readiness"},
			},
		})
		if err != nil {
			logger.Error("landing page", "err", err)
		} else {
			mux.Handle("/", landing)
		}
	}
	// Only the write endpoint takes a (tiny) body; bound every one.
	return http.MaxBytesHandler(mux, 64<<10)
}
