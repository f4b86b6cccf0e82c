package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/actions"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/secretfile"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/server"
)

// configureActions maps the Slack actions flags (buttons, receivers, Alertmanager, exporter)
// into cfg.
func configureActions(cli *CLI, env func(string) (string, bool), logger *slog.Logger, cfg *server.Config) error {
	signing, err := secret(cli.Slack.SigningSecretFile, "SLACK_SIGNING_SECRET", "", nil, env, logger)
	if err != nil {
		return fmt.Errorf("slack signing secret: %w", err)
	}
	cfg.SigningSecret = signing
	appToken, err := secret(cli.Slack.AppTokenFile, "SLACK_APP_TOKEN", "", appTokenCheck, env, logger)
	if err != nil {
		return fmt.Errorf("slack app token: %w", err)
	}
	if appToken != nil {
		if err := appTokenCheck(appToken()); err != nil {
			return fmt.Errorf("slack app token: %w", err)
		}
	}
	cfg.AppToken = appToken
	if !cfg.Interactive() {
		if cli.Alertmanager.URL != "" || cli.Actions.ExporterURL != "" {
			return errors.New("--alertmanager.url and --actions.exporter-url are for the Slack buttons: also set --slack.signing-secret-file or --slack.app-token-file (bot mode)")
		}
		return nil
	}
	ua := config.WithUserAgent("slack-bridge/" + version.Version)
	if u := cli.Alertmanager.URL; u != "" {
		hc := config.DefaultHTTPClientConfig
		if f := cli.Alertmanager.HTTPConfigFile; f != "" {
			c, _, err := config.LoadHTTPConfigFile(f)
			if err != nil {
				return fmt.Errorf("alertmanager http config: %w", err)
			}
			hc = *c
		}
		client, err := config.NewClientFromConfig(hc, "alertmanager", ua)
		if err != nil {
			return fmt.Errorf("alertmanager http config: %w", err)
		}
		client.Timeout = cli.Actions.Timeout
		if cfg.Silencer, err = actions.NewAlertmanager(u, client, nil); err != nil {
			return err
		}
	}
	if u := cli.Actions.ExporterURL; u != "" {
		if cli.Actions.ExporterTokenFile == "" {
			return errors.New("--actions.exporter-url needs --actions.exporter-token-file (the exporter's write token)")
		}
		tok, err := secretfile.Read(cli.Actions.ExporterTokenFile, nil, logger)
		if err != nil {
			return fmt.Errorf("exporter token: %w", err)
		}
		client, err := tok.BearerClient("exporter", ua)
		if err != nil {
			return fmt.Errorf("exporter client: %w", err)
		}
		client.Timeout = cli.Actions.Timeout
		if cfg.Remediator, err = actions.NewExporter(u, client); err != nil {
			return err
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
