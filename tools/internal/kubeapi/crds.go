package kubeapi

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
)

// InstallPromOperatorCRDs generates the Prometheus Operator's CRDs with controller-gen (the
// module tools/controller-gen) from the Go types of the monitoring API module the manifests are
// rendered with, applies them, and waits until they are served. The operator's own YAML files are
// in no module the Go proxy serves.
func (a *Applier) InstallPromOperatorCRDs(ctx context.Context, root string) error {
	dir, err := os.MkdirTemp("", "argocd-monitor-crds-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gen := exec.CommandContext(ctx, "go", "-C", filepath.Join(root, "tools/controller-gen"), "tool", "controller-gen",
		"crd:crdVersions=v1,maxDescLen=0", "paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/...",
		"output:crd:dir="+dir)
	gen.Env = append(os.Environ(), "GOWORK=off")
	if err := proc.Run(gen); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs generated in %s (%v)", dir, err)
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		objs, err := Decode(b)
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

// DryRun applies objs with server-side dry run and returns one error per refused object. A
// dry-run Namespace is not created, and objects in it would be refused as in a missing namespace:
// the Namespaces among objs are created for real first.
func (a *Applier) DryRun(ctx context.Context, objs []*unstructured.Unstructured) []error {
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			if err := a.ApplyObject(ctx, o, false); err != nil {
				return []error{err}
			}
		}
	}
	var errs []error
	for _, o := range objs {
		if err := a.ApplyObject(ctx, o, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// EnsureNamespace creates the namespace name unless it exists (server-side apply).
func (a *Applier) EnsureNamespace(ctx context.Context, name string) error {
	return a.ApplyObject(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}}, false)
}
