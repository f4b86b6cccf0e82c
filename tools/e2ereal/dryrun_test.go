//go:build e2ereal

package e2ereal

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/kubeapi"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
)

// TestDeployManifestsDryRun applies deploy/rendered/*.yaml and deploy/argocd-application.yaml
// with server-side dry-run to the real API server, with the Prometheus Operator's CRDs
// (generated from the Go types of the version the manifests are rendered with) and Argo CD's
// CRDs installed: schema errors that strict decoding cannot see fail here.
func TestDeployManifestsDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	crdDir := t.TempDir()
	gen := exec.CommandContext(ctx, "go", "-C", filepath.Join(env.root, "tools/controller-gen"), "tool", "controller-gen",
		"crd:crdVersions=v1,maxDescLen=0", "paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/...",
		"output:crd:dir="+crdDir)
	gen.Env = append(os.Environ(), "GOWORK=off")
	if err := proc.Run(gen); err != nil {
		t.Fatal(err)
	}
	a, err := env.kube.NewApplier("argocd-monitor-dry-run")
	if err != nil {
		t.Fatal(err)
	}
	crds, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs generated in %s (%v)", crdDir, err)
	}
	var names []string
	for _, f := range crds {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := kubeapi.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if err := a.ApplyObject(ctx, o, false); err != nil {
				t.Fatal(err)
			}
			names = append(names, o.GetName())
		}
	}
	if err := a.WaitCRDsEstablished(ctx, names, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(env.root, "deploy/rendered/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rendered manifests (%v)", err)
	}
	files = append(files, filepath.Join(env.root, "deploy/argocd-application.yaml"))
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
			// A dry-run Namespace is not created, and objects in it would be refused as in a
			// missing namespace: the namespaces are created for real first.
			for _, o := range objs {
				if o.GetKind() == "Namespace" {
					if err := a.ApplyObject(ctx, o, false); err != nil {
						t.Fatal(err)
					}
				}
			}
			n := 0
			for _, o := range objs {
				if err := a.ApplyObject(ctx, o, true); err != nil {
					t.Errorf("%v", err)
					continue
				}
				n++
			}
			t.Logf("%d objects accepted by the API server (dry run)", n)
			if len(objs) == 0 {
				t.Error("no objects in the file")
			}
		})
	}
}
