package realargocd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/debpkg"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/toolbin"
)

// Version is the pinned Argo CD. v3.2.11 builds from the Go module proxy alone: from v3.3 on,
// argo-cd's go.mod replaces gitops-engine with a nested directory the module zip lacks, and
// v3.2.12 as served does not compile (docs/testing.md).
const Version = "v3.2.11"

const module = "github.com/argoproj/argo-cd/v3"

// Install is a built Argo CD: the multi-call binary and the module source it was built from
// (its manifests/ hold the CRDs and base config).
type Install struct {
	Bin, Src string
}

// Build installs redis and git from Debian when missing, copies Argo CD's module source out of
// the module cache into tools/.cache/argocd (writable, so Argo CD's own replace lines apply
// unchanged) and builds the binary unless the cached one matches Version.
func Build(ctx context.Context, root string, log io.Writer) (Install, error) {
	if err := debpkg.Ensure(ctx, log,
		debpkg.Need{Program: "redis-server", Package: "redis-server"},
		debpkg.Need{Program: "git", Package: "git"},
	); err != nil {
		return Install{}, err
	}
	in := Install{
		Bin: filepath.Join(root, toolbin.Dir, "argocd"),
		Src: filepath.Join(root, "tools/.cache/argocd", "src-"+Version),
	}
	if err := copySource(ctx, in.Src, log); err != nil {
		return Install{}, err
	}
	c := module + "/common"
	ldflags := fmt.Sprintf("-X %s.version=%s -X %s.gitTag=%s", c, strings.TrimPrefix(Version, "v"), c, Version)
	err := toolbin.Ensure(in.Bin, Version+" "+ldflags, log, func() error {
		// -mod=mod: the module zip's go.sum may lack entries its build needs. -trimpath keeps
		// the build cache independent of the checkout's path.
		cmd := exec.CommandContext(ctx, "go", "build", "-mod=mod", "-trimpath", "-ldflags", ldflags, "-o", in.Bin, "./cmd")
		cmd.Dir = in.Src
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		return proc.Run(cmd)
	})
	return in, err
}

// copySource copies the pinned module from the module cache (downloading it through the proxy
// when missing) to dst, once.
func copySource(ctx context.Context, dst string, log io.Writer) error {
	done := filepath.Join(dst, ".copied")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	fmt.Fprintf(log, "copying the source of %s@%s from the module cache\n", module, Version)
	dl := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+Version)
	dl.Dir = os.TempDir() // outside any module
	dl.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := dl.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("go mod download %s@%s: %w\n%s%s", module, Version, err, out, ee.Stderr)
		}
		return err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return fmt.Errorf("go mod download: %w", err)
	}
	if info.Error != "" || info.Dir == "" {
		return fmt.Errorf("go mod download %s@%s: %s", module, Version, info.Error)
	}
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.CopyFS(dst, os.DirFS(info.Dir)); err != nil {
		return fmt.Errorf("copy %s: %w", info.Dir, err)
	}
	// The module cache is read-only; the build writes go.sum.
	if err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	}); err != nil {
		return err
	}
	// The UI is embedded with go:embed over ui/dist/app; the zip holds a placeholder, and an
	// empty directory would not compile. The server then serves the API only.
	ui := filepath.Join(dst, "ui/dist/app")
	if entries, _ := os.ReadDir(ui); len(entries) == 0 {
		if err := os.MkdirAll(ui, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(ui, "gitkeep"), nil, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(done, []byte(Version+"\n"), 0o644)
}
