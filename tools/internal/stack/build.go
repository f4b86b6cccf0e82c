package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the paths of every program the stack runs.
type Binaries struct {
	Sim, Exporter, Bridge, SlackFake, Prometheus, Alertmanager string
}

// BinDir is where Build puts the binaries, relative to the repository root (gitignored).
const BinDir = "tools/.cache/bin"

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
	if err := runCmd(ws); err != nil {
		return Binaries{}, err
	}
	tools := []struct {
		bin, module, pkg string
	}{
		{b.Prometheus, "tools", "github.com/prometheus/prometheus/cmd/prometheus"},
		{b.Alertmanager, "tools/alertmanager", "github.com/prometheus/alertmanager/cmd/alertmanager"},
	}
	for _, t := range tools {
		key, err := moduleKey(filepath.Join(root, t.module))
		if err != nil {
			return Binaries{}, err
		}
		if cached, err := os.ReadFile(t.bin + ".key"); err == nil && string(cached) == key {
			if _, err := os.Stat(t.bin); err == nil {
				continue
			}
		}
		fmt.Fprintf(log, "building %s (pinned in %s/go.mod; first build takes minutes, then cached)\n", filepath.Base(t.bin), t.module)
		cmd := exec.CommandContext(ctx, "go", "-C", filepath.Join(root, t.module), "build", "-o", t.bin, t.pkg)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if err := runCmd(cmd); err != nil {
			return Binaries{}, err
		}
		if err := os.WriteFile(t.bin+".key", []byte(key), 0o644); err != nil {
			return Binaries{}, err
		}
	}
	return b, nil
}

// moduleKey identifies a tool module's pinned versions: its go.mod and go.sum.
func moduleKey(dir string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func runCmd(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}
