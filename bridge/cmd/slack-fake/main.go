// Command slack-fake serves the fake Slack of internal/slackfake (the one the bridge's unit
// tests use in process) for the end-to-end test: the Web API under /api/, incoming webhooks
// under /services/, and its control API under /fake/.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
)

type cli struct {
	ListenAddress string `name:"web.listen-address" env:"SLACK_FAKE_LISTEN_ADDRESS" default:"127.0.0.1:8081" help:"Address to serve the fake Slack and its /fake/ control API on."`
	TokenFile     string `name:"auth.token-file" env:"SLACK_FAKE_TOKEN_FILE" help:"File holding the bot token to accept; unset: any token."`
}

func main() {
	var c cli
	kong.Parse(&c, kong.Name("slack-fake"), kong.Description("Fake Slack Web API and incoming webhooks for tests."))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "slack-fake:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c cli) error {
	token := ""
	if c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("--auth.token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	l, err := net.Listen("tcp", c.ListenAddress)
	if err != nil {
		return fmt.Errorf("--web.listen-address=%s: %w", c.ListenAddress, err)
	}
	fake := slackfake.New(token)
	mux := http.NewServeMux()
	mux.Handle("/fake/", fake.Control())
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Ready") })
	mux.Handle("/", fake)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
