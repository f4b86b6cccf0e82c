// Command slack-fake serves the fake Slack of internal/slackfake (the one the bridge's unit
// tests use in process) for the end-to-end test and the demo: the Web API under /api/,
// incoming webhooks under /services/, its control API under /fake/, and at / a page drawing
// the channels as Slack does, whose buttons send signed interactions to --interactions.url.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

type cli struct {
	ListenAddress string `name:"web.listen-address" env:"SLACK_FAKE_LISTEN_ADDRESS" default:"127.0.0.1:8081" help:"Address to serve the fake Slack and its /fake/ control API on."`
	TokenFile     string `name:"auth.token-file" env:"SLACK_FAKE_TOKEN_FILE" help:"File holding the bot token to accept; unset: any token."`

	InteractionsURL   string `name:"interactions.url" env:"SLACK_FAKE_INTERACTIONS_URL" help:"The app's Request URL the page's buttons send interactions to (the bridge's http://HOST:PORT/slack/interactions); unset: buttons off."`
	SigningSecretFile string `name:"interactions.signing-secret-file" env:"SLACK_FAKE_SIGNING_SECRET_FILE" help:"File holding the app's signing secret that signs the interactions (required with --interactions.url)."`
	User              string `name:"interactions.user" env:"SLACK_FAKE_INTERACTIONS_USER" default:"U0DEMOUSER" help:"Slack user ID the page clicks as unless the person picks another."`
}

func main() {
	var c cli
	kong.Parse(&c, kong.Name("slack-fake"), kong.Description("Fake Slack (Web API, incoming webhooks, and a page drawing the channels) for tests and the demo."))
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
	if c.InteractionsURL != "" {
		if u, err := url.Parse(c.InteractionsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--interactions.url=%s: not an http(s) URL", c.InteractionsURL)
		}
		if c.SigningSecretFile == "" {
			return errors.New("--interactions.signing-secret-file is required with --interactions.url")
		}
		signing, err := secret.ReadFile(c.SigningSecretFile, nil, nil)
		if err != nil {
			return fmt.Errorf("--interactions.signing-secret-file: %w", err)
		}
		fake.SetInteractions(slackfake.Interactions{URL: c.InteractionsURL, SigningSecret: signing, User: c.User})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Ready") })
	mux.Handle("/", fake) // the Web API, webhooks, /fake/ and the page
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
