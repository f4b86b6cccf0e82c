// Command argocd-sim serves a simulated Argo CD API (see internal/argocdsim and docs/demo.md):
// the scenario apps of the demo and the end-to-end test, plus filler apps for scale tests.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"golang.org/x/sync/errgroup"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
)

type cli struct {
	ListenAddress string   `name:"web.listen-address" env:"SIM_LISTEN_ADDRESS" default:"127.0.0.1:8080" help:"Address to serve the API and the /sim control API on."`
	Apps          int      `name:"apps" env:"SIM_APPS" default:"0" help:"Healthy filler apps served beside the scenario apps (10000 for scale tests)."`
	NoScenario    bool     `name:"no-scenario" env:"SIM_NO_SCENARIO" help:"Serve only the filler apps."`
	Fleets        []string `name:"fleet" env:"SIM_FLEETS" help:"Apps sharing a destination and a parent, DESTINATION=APPS[:Application|ApplicationSet] (repeatable; e.g. prod-eu=30): apps DESTINATION-NN owned by the ApplicationSet DESTINATION-apps (or tracked by the Application DESTINATION-root, served too). POST /sim/destinations/DESTINATION/state {\"reachable\":false} breaks the cluster."`

	DegradeAfter time.Duration `name:"scenario.degrade-after" env:"SIM_DEGRADE_AFTER" default:"20s" help:"When the 'degrades' app turns Degraded."`
	SyncPickup   time.Duration `name:"scenario.sync-pickup" env:"SIM_SYNC_PICKUP" default:"500ms" help:"Delay between an accepted sync and its operation Running."`
	SyncDuration time.Duration `name:"scenario.sync-duration" env:"SIM_SYNC_DURATION" default:"3s" help:"How long a sync runs before it ends."`
	KeepAlive    time.Duration `name:"watch.keepalive" env:"SIM_WATCH_KEEPALIVE" default:"15s" help:"SSE keepalive interval of the Watch stream."`

	Token     string `name:"auth.token" env:"ARGOCD_SIM_TOKEN" help:"Bearer token to accept (JWT-shaped); generated when empty. Prefer the env var."`
	TokenFile string `name:"auth.token-file" env:"SIM_TOKEN_FILE" help:"Write the accepted token to this file (mode 0600), for the exporter's --argocd.token-file."`

	LogLevel  string `name:"log.level" env:"SIM_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level."`
	LogFormat string `name:"log.format" env:"SIM_LOG_FORMAT" default:"logfmt" enum:"logfmt,json" help:"Log format."`
}

func main() {
	var c cli
	kong.Parse(&c, kong.Name("argocd-sim"), kong.Description("Simulated Argo CD API server for demos and tests."))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "argocd-sim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c cli) error {
	logger := newLogger(c.LogLevel, c.LogFormat)
	token := c.Token
	if token == "" {
		token = fakeJWT()
	}
	if c.TokenFile != "" {
		if err := os.WriteFile(c.TokenFile, []byte(token+"\n"), 0o600); err != nil {
			return fmt.Errorf("--auth.token-file: %w", err)
		}
	}
	var fleets []argocdsim.Fleet
	for _, f := range c.Fleets {
		fl, err := argocdsim.ParseFleet(f)
		if err != nil {
			return fmt.Errorf("--fleet: %w", err)
		}
		fleets = append(fleets, fl)
	}
	sim, err := argocdsim.New(argocdsim.Config{
		Token: token, Apps: c.Apps, NoScenario: c.NoScenario, Fleets: fleets,
		DegradeAfter: c.DegradeAfter, SyncPickup: c.SyncPickup, SyncDuration: c.SyncDuration, KeepAlive: c.KeepAlive,
		Logger: logger,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.ListenAddress)
	if err != nil {
		return fmt.Errorf("--web.listen-address: %w", err)
	}
	srv := &http.Server{
		Handler:           sim.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: Watch streams and 120 MB Lists are long writes.
	}
	logger.Info("serving simulated Argo CD", "address", ln.Addr().String(), "apps", c.Apps, "scenario", !c.NoScenario)

	// The simulation clock and the server are actors under one lifecycle:
	// either ending cancels the other.
	g, gctx := errgroup.WithContext(ctx)
	srv.BaseContext = func(net.Listener) context.Context { return gctx } // ends Watch streams on shutdown
	g.Go(func() error { sim.Run(gctx, 100*time.Millisecond); return nil })
	g.Go(func() error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-gctx.Done():
		}
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("shutdown: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// fakeJWT makes a JWT-shaped token (the server ignores bearer values of any other shape).
func fakeJWT() string {
	enc := base64.RawURLEncoding
	sig := make([]byte, 32)
	_, _ = rand.Read(sig)
	payload := fmt.Sprintf(`{"iss":"argocd","sub":"%s:apiKey","iat":%d,"jti":"%x"}`, argocdsim.Username, time.Now().Unix(), sig[:8])
	return enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(sig)
}

func newLogger(level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
