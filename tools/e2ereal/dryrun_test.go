//go:build e2ereal

package e2ereal

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/kubeapi"
)

// TestDeployManifestsDryRun applies deploy/rendered/*.yaml and the two Argo CD Applications
// with server-side dry-run to the real API server, with the Prometheus Operator's CRDs
// (generated from the Go types of the version the manifests are rendered with) and Argo CD's
// CRDs installed: schema errors that strict decoding cannot see fail here.
func TestDeployManifestsDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	a, err := env.kube.NewApplier("argocd-monitor-dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.InstallPromOperatorCRDs(ctx, env.root); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(env.root, "deploy/rendered/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rendered manifests (%v)", err)
	}
	files = append(files, filepath.Join(env.root, "deploy/argocd-application.yaml"), filepath.Join(env.root, "deploy/argocd-application-helm.yaml"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := kubeapi.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, err := range a.DryRun(ctx, objs) {
				t.Error(err)
			}
			t.Logf("%d objects sent to the API server (dry run)", len(objs))
			if len(objs) == 0 {
				t.Error("no objects in the file")
			}
		})
	}
}
