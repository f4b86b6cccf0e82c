package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/actions"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/server"
	"github.com/argocd-monitor/argocd-monitor/exporter/bearer"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// configureActions maps the Slack actions flags (buttons, receivers, Alertmanager, exporter)
// into cfg.
func configureActions(cli *CLI, env func(string) (string, bool), logger *slog.Logger, cfg *server.Config) error {
	signing, err := openSecret("--slack.signing-secret-file", cli.Slack.SigningSecretFile, "SLACK_SIGNING_SECRET", envValue(env, "SLACK_SIGNING_SECRET"), nil, logger)
	if err != nil {
		return err
	}
	cfg.SigningSecret = signing
	appToken, err := openSecret("--slack.app-token-file", cli.Slack.AppTokenFile, "SLACK_APP_TOKEN", envValue(env, "SLACK_APP_TOKEN"), appTokenCheck, logger)
	if err != nil {
		return err
	}
	cfg.AppToken = appToken
	if !cfg.Interactive() {
		if cli.Alertmanager.URL != "" || cli.Actions.ExporterURL != "" {
			return errors.New("--alertmanager.url and --actions.exporter-url are for the Slack buttons: also set --slack.signing-secret-file or --slack.app-token-file (bot mode)")
		}
		return nil
	}
	ua := config.WithUserAgent("slack-bridge/" + version.Version)
	// No client that carries credentials follows a redirect: they would go along.
	if u := cli.Alertmanager.URL; u != "" {
		hc := config.DefaultHTTPClientConfig
		if f := cli.Alertmanager.HTTPConfigFile; f != "" {
			c, _, err := config.LoadHTTPConfigFile(f)
			if err != nil {
				return fmt.Errorf("alertmanager http config: %w", err)
			}
			hc = *c
		}
		hc.FollowRedirects = false
		client, err := config.NewClientFromConfig(hc, "alertmanager", ua)
		if err != nil {
			return fmt.Errorf("alertmanager http config: %w", err)
		}
		client.Timeout = cli.Actions.Timeout
		if cfg.Silencer, err = actions.NewAlertmanager(u, client, nil); err != nil {
			return fmt.Errorf("--alertmanager.url: %w", err)
		}
	}
	if u := cli.Actions.ExporterURL; u != "" {
		if cli.Actions.ExporterTokenFile == "" {
			return errors.New("--actions.exporter-url needs --actions.exporter-token-file (the exporter's write token)")
		}
		tok, err := secret.ReadFile(cli.Actions.ExporterTokenFile, bearer.CheckToken, logger)
		if err != nil {
			return fmt.Errorf("--actions.exporter-token-file: %w", err)
		}
		client, err := bearer.NewClient("exporter", tok, config.DefaultHTTPClientConfig, ua)
		if err != nil {
			return fmt.Errorf("exporter client: %w", err)
		}
		client.Timeout = cli.Actions.Timeout
		if cfg.Remediator, err = actions.NewExporter(u, client); err != nil {
			return fmt.Errorf("--actions.exporter-url: %w", err)
		}
	}
	return nil
}

var errNotAppToken = errors.New("not an app-level token (xapp-…); Socket Mode needs one with connections:write")

// appTokenCheck rejects a bot or user token given as the app-level token.
func appTokenCheck(v string) error {
	if !strings.HasPrefix(v, "xapp-") {
		return errNotAppToken
	}
	return nil
}
