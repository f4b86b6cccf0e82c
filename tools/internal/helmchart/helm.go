// Package helmchart keeps the Helm chart deploy/helm/argocd-monitor honest: the pinned Helm v4
// CLI (built from helm.sh/helm/v4 through the wrapper module tools/helm and cached in
// tools/.cache/bin) lints and renders it, every rendered object decodes strictly into its Go type
// (deploycheck.Decode), and for every setting the kustomize tree can express (an overlay plus
// optional components, Cases) the chart renders the same objects as kustomize but for Helm's own
// labels and the config checksum, so neither tree can drift from the other: a flag added to
// deploy/base or a component is a difference here until the chart has it too.
package helmchart

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/toolbin"
)

// Version is the pinned Helm, the helm.sh/helm/v4 version tools/helm/go.mod requires (a test
// keeps the two equal).
const Version = "v4.3.2"

// Paths relative to the repository root.
const (
	ModuleDir   = "tools/helm"
	ChartDir    = "deploy/helm/argocd-monitor"
	ExamplesDir = "deploy/helm/examples"
)

// Release is the release name the tests and the docs use.
const Release = "argocd-monitor"

// Build builds the helm binary unless the cached one matches tools/helm's pins, and returns
// its path.
func Build(ctx context.Context, root string, log io.Writer) (string, error) {
	// Without the stamp `helm version` says v4.3, as a source build does.
	ldflags := "-X helm.sh/helm/v4/internal/version.version=" + Version
	return toolbin.BuildModule(ctx, root, ModuleDir, "helm.sh/helm/v4/cmd/helm", "helm", ldflags, log)
}

// Helm runs the helm binary with its configuration, cache and data under one directory of its
// own (never the user's ~/.config/helm), against Kubeconfig when set.
type Helm struct {
	Bin        string
	Home       string
	Kubeconfig string
}

// Run runs helm with args and returns its standard output; a failure's error carries the
// command line and standard error.
func (h Helm) Run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(h.Home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(h.Home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(h.Home, "data"),
		"HELM_NO_PLUGINS=1",
	)
	if h.Kubeconfig != "" {
		cmd.Env = append(cmd.Env, "KUBECONFIG="+h.Kubeconfig)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

// Template renders the chart at root for namespace with the values files (in order) and extra
// --set style arguments.
func (h Helm) Template(ctx context.Context, root, namespace string, valuesFiles ...string) ([]byte, error) {
	args := []string{"template", Release, filepath.Join(root, ChartDir), "--namespace", namespace}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	return h.Run(ctx, args...)
}

// Examples lists the documented values files under ExamplesDir (absolute paths).
func Examples(root string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(root, ExamplesDir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no values examples in %s", ExamplesDir)
	}
	return files, nil
}
