//go:build e2ereal

package chart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/helmchart"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/kubeapi"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
)

// env is what every test shares: the API server with the Prometheus Operator's CRDs, and helm.
var env struct {
	root    string
	kube    *kubeapi.Server
	applier *kubeapi.Applier
	helm    string
}

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2ereal/chart:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := repofile.FindRootFromWD()
	if err != nil {
		return 0, err
	}
	env.root = root
	// Listing every kind after uninstall touches deprecated ones (ComponentStatus, Endpoints).
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	// Cached in tools/.cache/bin; `make e2e-real` builds both first (real-bins, helm).
	kubeBin, err := kubeapi.Build(ctx, root, os.Stderr)
	if err != nil {
		return 0, err
	}
	if env.helm, err = helmchart.Build(ctx, root, os.Stderr); err != nil {
		return 0, err
	}
	work, err := os.MkdirTemp("", "argocd-monitor-chart-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	env.kube, err = kubeapi.Start(ctx, kubeapi.Config{Bin: kubeBin, Work: filepath.Join(work, "kube")})
	if err != nil {
		return 0, err
	}
	defer env.kube.Stop()
	if env.applier, err = env.kube.NewApplier("argocd-monitor-chart"); err != nil {
		return 0, err
	}
	if err := env.applier.InstallPromOperatorCRDs(ctx, root); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// helmCLI runs the pinned Helm against the API server, with a home of the test's own.
func helmCLI(t *testing.T) helmchart.Helm {
	return helmchart.Helm{Bin: env.helm, Home: t.TempDir(), Kubeconfig: env.kube.Kubeconfig}
}
