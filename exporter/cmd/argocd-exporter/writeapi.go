package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argocd-monitor/argocd-monitor/exporter/bearer"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/writeapi"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// WriteAPIFlags turn on the write endpoint the Slack bridge's Resume/Retry buttons call.
type WriteAPIFlags struct {
	WriteTokenFile string `name:"write-token-file" env:"API_WRITE_TOKEN_FILE" placeholder:"PATH" help:"File holding the write token of POST /api/v1/apps/{namespace}/{name}/remediation/resume and .../terminate (separate from any read token; re-read when it changes). Unset: no write endpoint."`
}

// newWriteAPI returns the write endpoints by route pattern, or nil when no write token file is
// set.
func newWriteAPI(f WriteAPIFlags, engine *remediate.Engine, reg prometheus.Registerer, logger *slog.Logger) (map[string]http.Handler, error) {
	if f.WriteTokenFile == "" {
		return nil, nil
	}
	tok, err := secret.ReadFile(f.WriteTokenFile, bearer.CheckToken, logger)
	if err != nil {
		return nil, fmt.Errorf("--api.write-token-file: %w", err)
	}
	cfg := writeapi.Config{Token: tok, Resumer: engine, Terminator: engine, Rollbacker: engine, Logger: logger}
	return map[string]http.Handler{
		writeapi.Pattern:          writeapi.New(cfg, reg),
		writeapi.TerminatePattern: writeapi.NewTerminate(cfg, reg),
		writeapi.RollbackPattern:  writeapi.NewRollback(cfg, reg),
	}, nil
}
