// Package toolbin keeps the pinned upstream programs the local stacks run (Prometheus,
// Alertmanager, kube-apiserver, Argo CD) built once in tools/.cache/bin: a binary is rebuilt only
// when the key it was built from (its pins) changes, since building some of them takes minutes.
package toolbin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
)

// Dir is where the binaries live, relative to the repository root (gitignored).
const Dir = "tools/.cache/bin"

// Ensure runs build unless bin exists and was built with key; build must write bin. It records
// key in bin+".key" afterwards and reports the build time to log.
func Ensure(bin, key string, log io.Writer, build func() error) error {
	if cached, err := os.ReadFile(bin + ".key"); err == nil && string(cached) == key {
		if _, err := os.Stat(bin); err == nil {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	fmt.Fprintf(log, "building %s (pinned; the first build takes minutes, then it is cached)\n", filepath.Base(bin))
	start := time.Now()
	if err := build(); err != nil {
		return fmt.Errorf("build %s: %w", filepath.Base(bin), err)
	}
	fmt.Fprintf(log, "built %s in %s\n", filepath.Base(bin), time.Since(start).Round(time.Second))
	return os.WriteFile(bin+".key", []byte(key), 0o644)
}

// ModuleKey identifies a tool module's pins: its go.mod and go.sum, plus any extra strings
// (build flags) that change the binary.
func ModuleKey(dir string, extra ...string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	for _, e := range extra {
		h.Write([]byte{0})
		h.Write([]byte(e))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// BuildModule builds pkg of the wrapper module root/module (outside go.work, -trimpath so that
// the build cache entries do not depend on the checkout's path, with ldflags) into Dir/name,
// unless the cached binary was built from the same go.mod, go.sum and ldflags. It returns the
// binary's path.
func BuildModule(ctx context.Context, root, module, pkg, name, ldflags string, log io.Writer) (string, error) {
	mod := filepath.Join(root, module)
	key, err := ModuleKey(mod, ldflags)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(root, Dir, name)
	err = Ensure(bin, key, log, func() error {
		cmd := exec.CommandContext(ctx, "go", "-C", mod, "build", "-trimpath", "-ldflags", ldflags, "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		return proc.Run(cmd)
	})
	return bin, err
}
