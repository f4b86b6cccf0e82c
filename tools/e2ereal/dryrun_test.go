//go:build e2ereal

package e2ereal

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/kubeapi"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
)

// TestDeployManifestsDryRun applies deploy/rendered/*.yaml and the two Argo CD Applications
// with server-side dry-run to the real API server, with the Prometheus Operator's CRDs
// (generated from the Go types of the version the manifests are rendered with) and Argo CD's
// CRDs installed: schema errors that strict decoding cannot see fail here.
func TestDeployManifestsDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	a := dryRunApplier(t, ctx)
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
			dryRun(t, ctx, a, objs)
		})
	}
}

var crds struct {
	once sync.Once
	err  error
}

// dryRunApplier installs the Prometheus Operator's CRDs (once per test binary, generated from the
// Go types of the version the manifests are rendered with) and returns an applier.
func dryRunApplier(t *testing.T, ctx context.Context) *kubeapi.Applier {
	t.Helper()
	a, err := env.kube.NewApplier("argocd-monitor-dry-run")
	if err != nil {
		t.Fatal(err)
	}
	crds.once.Do(func() { crds.err = installPromOperatorCRDs(ctx, a) })
	if crds.err != nil {
		t.Fatal(crds.err)
	}
	return a
}

func installPromOperatorCRDs(ctx context.Context, a *kubeapi.Applier) error {
	crdDir, err := os.MkdirTemp("", "argocd-monitor-crds-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(crdDir)
	gen := exec.CommandContext(ctx, "go", "-C", filepath.Join(env.root, "tools/controller-gen"), "tool", "controller-gen",
		"crd:crdVersions=v1,maxDescLen=0", "paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/...",
		"output:crd:dir="+crdDir)
	gen.Env = append(os.Environ(), "GOWORK=off")
	if err := proc.Run(gen); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs generated in %s (%v)", crdDir, err)
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		objs, err := kubeapi.Decode(b)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := a.ApplyObject(ctx, o, false); err != nil {
				return err
			}
			names = append(names, o.GetName())
		}
	}
	return a.WaitCRDsEstablished(ctx, names, 2*time.Minute)
}

// dryRun applies objs with server-side dry run. A dry-run Namespace is not created, and objects
// in it would be refused as in a missing namespace: the namespaces are created for real first.
func dryRun(t *testing.T, ctx context.Context, a *kubeapi.Applier, objs []*unstructured.Unstructured) {
	t.Helper()
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
}
