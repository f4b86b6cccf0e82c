// Package debpkg installs the Debian packages the real-Argo-CD stack runs (etcd, redis, git)
// when their programs are missing: `apt-get update` once, then `apt-get install -y`. CI has only
// Go and Debian's apt, so these come from apt rather than from a download.
package debpkg

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
)

// Need is a program looked up on PATH and the Debian package that provides it.
type Need struct{ Program, Package string }

// Ensure installs the packages of the programs not on PATH. Without root it says which
// packages to install instead of trying.
func Ensure(ctx context.Context, log io.Writer, needs ...Need) error {
	var missing []string
	for _, n := range needs {
		if _, err := exec.LookPath(n.Program); err != nil && !slices.Contains(missing, n.Package) {
			missing = append(missing, n.Package)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing Debian packages %v: install them (apt-get install -y %v) and run again", missing, missing)
	}
	fmt.Fprintf(log, "installing Debian packages %v\n", missing)
	// Another apt run (a test installing its own package) holds the locks for a while: wait for
	// it rather than fail.
	lock := []string{"-o", "DPkg::Lock::Timeout=600"}
	update := exec.CommandContext(ctx, "apt-get", append(lock, "update")...)
	if err := proc.Run(update); err != nil {
		return err
	}
	install := exec.CommandContext(ctx, "apt-get", append(append(lock, "install", "-y", "--no-install-recommends"), missing...)...)
	install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	return proc.Run(install)
}
