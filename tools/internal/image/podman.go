// Package image builds the project's container image from the Dockerfile as shipped (both
// stages) with podman, on a machine without Docker and without access to the base images'
// registries: Debian's podman and runc (installed when missing, as root), the vfs storage driver,
// runc with cgroupfs, a containers.conf without default ulimits (the sandbox refuses to raise
// them), host networking. The Dockerfile's two base images are build arguments; BuildStandIns
// makes local stand-ins for them from Go and Debian packages (docs/image.md).
package image

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/debpkg"
)

// Tag is what `make image` builds, in podman's default local storage (podman lists it as
// localhost/argocd-monitor:dev).
const Tag = "argocd-monitor:dev"

// CacheDir holds the containers.conf and the stand-ins' build contexts, relative to the
// repository root (gitignored with the rest of tools/.cache).
const CacheDir = "tools/.cache/image"

// GlobalFlags are passed to every podman command: what runs on these machines (measured in
// issue 24): overlay mounts and systemd cgroups are not available in the sandbox.
var GlobalFlags = []string{"--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager=cgroupfs"}

// containersConf drops the default ulimits podman would set in every container: raising
// RLIMIT_NPROC is refused here ("error setting rlimit type 7: operation not permitted").
const containersConf = `# Written by tools/internal/image for podman on the test machines (CONTAINERS_CONF).
[containers]
default_ulimits = []
`

// Podman runs podman with GlobalFlags and the project's containers.conf.
type Podman struct {
	conf string
}

// Setup installs podman and runc from Debian when missing and writes the containers.conf.
func Setup(ctx context.Context, root string, log io.Writer) (Podman, error) {
	if err := debpkg.Ensure(ctx, log,
		debpkg.Need{Program: "podman", Package: "podman"},
		debpkg.Need{Program: "runc", Package: "runc"},
	); err != nil {
		return Podman{}, err
	}
	dir := filepath.Join(root, CacheDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Podman{}, err
	}
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte(containersConf), 0o644); err != nil {
		return Podman{}, err
	}
	return Podman{conf: conf}, nil
}

// Command returns a podman command with the global flags and the environment it needs.
func (p Podman) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "podman", append(append([]string{}, GlobalFlags...), args...)...)
	// TMPDIR pins where buildah keeps the Dockerfile's cache mounts (BuildahCacheDir).
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf, "TMPDIR="+buildahTmp)
	return cmd
}

// Run runs podman and returns its standard output; the error carries the command and stderr.
func (p Podman) Run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := p.Command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("podman %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// Stream runs podman with its output going to log (long builds show their progress).
func (p Podman) Stream(ctx context.Context, log io.Writer, args ...string) error {
	cmd := p.Command(ctx, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("podman %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// Label returns one label of a local image ("" when the image or the label is missing).
func (p Podman) Label(ctx context.Context, image, label string) string {
	out, err := p.Run(ctx, "image", "inspect", "--format", fmt.Sprintf("{{index .Labels %q}}", label), image)
	if err != nil {
		return ""
	}
	v := strings.TrimSpace(string(out))
	if v == "<no value>" {
		return ""
	}
	return v
}
