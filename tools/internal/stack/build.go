package stack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/toolbin"
)

// Binaries are the paths of every program the stack runs.
type Binaries struct {
	Sim, Exporter, Bridge, SlackFake, Prometheus, Alertmanager string
}

// BinDir is where Build puts the binaries, relative to the repository root (gitignored).
const BinDir = toolbin.Dir

// Build builds the workspace binaries (always: Go's build cache makes an unchanged rebuild a
// link step) and the pinned Prometheus and Alertmanager (only when their module files changed
// since the last build, since linking them takes a while). Progress goes to log.
func Build(ctx context.Context, root string, log io.Writer) (Binaries, error) {
	dir := filepath.Join(root, BinDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Binaries{}, err
	}
	b := Binaries{
		Sim:          filepath.Join(dir, "argocd-sim"),
		Exporter:     filepath.Join(dir, "argocd-exporter"),
		Bridge:       filepath.Join(dir, "slack-bridge"),
		SlackFake:    filepath.Join(dir, "slack-fake"),
		Prometheus:   filepath.Join(dir, "prometheus"),
		Alertmanager: filepath.Join(dir, "alertmanager"),
	}
	fmt.Fprintln(log, "building argocd-sim, argocd-exporter, slack-bridge, slack-fake")
	// The workspace build needs go.work even when the caller runs with GOWORK=off (make e2e).
	ws := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
		"./exporter/cmd/argocd-sim", "./exporter/cmd/argocd-exporter", "./bridge/cmd/slack-bridge", "./bridge/cmd/slack-fake")
	ws.Dir = root
	ws.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"), "CGO_ENABLED=0")
	if err := proc.Run(ws); err != nil {
		return Binaries{}, err
	}
	tools := []struct {
		bin, module, pkg string
	}{
		{b.Prometheus, "tools", "github.com/prometheus/prometheus/cmd/prometheus"},
		{b.Alertmanager, "tools/alertmanager", "github.com/prometheus/alertmanager/cmd/alertmanager"},
	}
	for _, t := range tools {
		key, err := toolbin.ModuleKey(filepath.Join(root, t.module))
		if err != nil {
			return Binaries{}, err
		}
		err = toolbin.Ensure(t.bin, key, log, func() error {
			cmd := exec.CommandContext(ctx, "go", "-C", filepath.Join(root, t.module), "build", "-o", t.bin, t.pkg)
			cmd.Env = append(os.Environ(), "GOWORK=off")
			return proc.Run(cmd)
		})
		if err != nil {
			return Binaries{}, err
		}
	}
	return b, nil
}
