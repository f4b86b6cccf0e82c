package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// buildahTmp is the TMPDIR podman runs with: buildah keeps the Dockerfile's cache mounts under
// buildahTmp/buildah-cache/<target> (buildah 1.28, Debian bookworm's podman 4.3).
const buildahTmp = "/var/tmp"

// Stamp is what scripts/build.sh stamps into the binaries and the Dockerfile into the OCI
// labels: the Dockerfile's build arguments VERSION, REVISION, BRANCH and CREATED.
type Stamp struct{ Version, Revision, Branch, Created string }

// StampOf reads the stamp of the checkout at root as scripts/build.sh does without overrides
// (git describe --tags --always --dirty, the commit, the branch; SOURCE_DATE_EPOCH or now).
func StampOf(ctx context.Context, root string) Stamp {
	git := func(fallback string, args ...string) string {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) == "" {
			return fallback
		}
		return strings.TrimSpace(string(out))
	}
	created := time.Now().UTC()
	if e, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		created = time.Unix(e, 0).UTC()
	}
	return Stamp{
		Version:  git("dev", "describe", "--tags", "--always", "--dirty"),
		Revision: git("unknown", "rev-parse", "HEAD"),
		Branch:   git("unknown", "rev-parse", "--abbrev-ref", "HEAD"),
		Created:  created.Format(time.RFC3339),
	}
}

// Build builds the Dockerfile at root into Tag with the stand-ins as base images. The
// Dockerfile's cache mounts (/go/pkg/mod, /root/.cache/go-build) are this machine's Go module
// and build caches (SeedCaches), so a build after `make build` downloads and compiles nothing
// that make build did not. The build stage is not kept as an image (--layers=false): with vfs each
// kept layer is a full copy of the Go stand-in.
func (p Podman) Build(ctx context.Context, root string, s StandIns, stamp Stamp, log io.Writer) error {
	if err := SeedCaches(ctx, log); err != nil {
		return err
	}
	goos, err := goEnv(ctx, "GOOS")
	if err != nil {
		return err
	}
	goarch, err := goEnv(ctx, "GOARCH")
	if err != nil {
		return err
	}
	// buildah 1.28 does not set TARGETOS and TARGETARCH by itself, as BuildKit does.
	args := []string{"build", "--network", "host", "--layers=false",
		"--build-arg", "TARGETOS=" + goos, "--build-arg", "TARGETARCH=" + goarch,
		"-f", filepath.Join(root, "Dockerfile"), "-t", Tag,
		"--build-arg", "GOLANG_IMAGE=" + s.Golang, "--build-arg", "RUNTIME_IMAGE=" + s.Runtime,
		"--build-arg", "VERSION=" + stamp.Version, "--build-arg", "REVISION=" + stamp.Revision,
		"--build-arg", "BRANCH=" + stamp.Branch, "--build-arg", "CREATED=" + stamp.Created,
		root}
	start := time.Now()
	if err := p.Stream(ctx, log, args...); err != nil {
		return err
	}
	fmt.Fprintf(log, "built %s in %s\n", Tag, time.Since(start).Round(time.Second))
	// The previous build's image, untagged now; nothing else is removed.
	_, err = p.Run(ctx, "image", "prune", "--force")
	return err
}

// SeedCaches points buildah's cache-mount directories for the Dockerfile's two targets at this
// machine's Go caches (go env GOMODCACHE, GOCACHE), unless they already exist. Go's caches are
// content-addressed and safe to share between processes; the build compiles with the same
// flags, toolchain and GOROOT as make build, so its entries are hits.
func SeedCaches(ctx context.Context, log io.Writer) error {
	for target, env := range map[string]string{"go/pkg/mod": "GOMODCACHE", "root/.cache/go-build": "GOCACHE"} {
		host, err := goEnv(ctx, env)
		if err != nil {
			return err
		}
		link := filepath.Join(buildahTmp, "buildah-cache", target)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.MkdirAll(host, 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(host, link); err != nil {
			return err
		}
		fmt.Fprintf(log, "cache mount /%s of the Dockerfile: %s\n", target, host)
	}
	return nil
}
