//go:build e2ereal

package chart

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/helmchart"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/kubeapi"
)

// TestHelmChartDryRun renders the chart with its defaults and each documented values example and
// applies every object with server-side dry run, with the Prometheus Operator's CRDs installed.
func TestHelmChartDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	a, h := env.applier, helmCLI(t)
	examples, err := helmchart.Examples(env.root)
	if err != nil {
		t.Fatal(err)
	}
	const ns = "helm-dry-run"
	if err := a.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	for _, values := range append([]string{""}, examples...) {
		name := "defaults"
		var files []string
		if values != "" {
			name, files = filepath.Base(values), []string{values}
		}
		t.Run(name, func(t *testing.T) {
			out, err := h.Template(ctx, env.root, ns, files...)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := kubeapi.Decode(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, err := range a.DryRun(ctx, objs) {
				t.Error(err)
			}
			if len(objs) == 0 {
				t.Error("no objects")
			}
		})
	}
}

// TestHelmInstallUpgradeUninstall installs the chart for real (no --wait: no kubelet runs the
// pods), upgrades it to other values, uninstalls it, and finds nothing left behind.
func TestHelmInstallUpgradeUninstall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	a, h := env.applier, helmCLI(t)
	const ns = "helm-e2e"
	if err := a.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(env.kube.REST)
	if err != nil {
		t.Fatal(err)
	}
	before := clusterObjects(t, ctx, a, disc)
	chart := filepath.Join(env.root, helmchart.ChartDir)
	dyn := a.Dynamic()
	get := func(gvr schema.GroupVersionResource, name string) (*unstructured.Unstructured, error) {
		return dyn.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	}
	var (
		deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
		configmaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
		roles       = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}
		monitors    = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"}
	)

	// Two of the Secrets the pods need, one without its key: NOTES.txt says which are missing.
	secrets := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	for name, key := range map[string]string{"argocd-monitor-argocd-token": "token", "argocd-monitor-slack": "bot-token"} {
		secret := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": name, "namespace": ns}, "stringData": map[string]any{key: "x"}}}
		if err := a.ApplyObject(ctx, secret, false); err != nil {
			t.Fatal(err)
		}
	}
	notes, err := h.Run(ctx, "install", helmchart.Release, chart, "--namespace", ns)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"argocd-monitor-argocd-token, key token\n",
		"argocd-monitor-slack, key webhook-url  <- the Secret lacks this key",
		"argocd-monitor-api-token, key token  <- not found",
	} {
		if !strings.Contains(string(notes), want) {
			t.Errorf("install notes lack %q:\n%s", want, notes)
		}
	}
	exporter, err := get(deployments, "argocd-exporter")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(exporter.Object, "spec", "replicas"); r != 2 {
		t.Errorf("installed exporter: %d replicas, want 2", r)
	}
	for _, name := range []string{"argocd-monitor-dashboard-overview", "argocd-monitor"} {
		if _, err := get(configmaps, name); err != nil {
			t.Errorf("after install: ConfigMap %s: %v", name, err)
		}
	}
	if _, err := get(monitors, "argocd-exporter"); err != nil {
		t.Errorf("after install: ServiceMonitor: %v", err)
	}

	changed := filepath.Join(t.TempDir(), "changed.yaml")
	if err := os.WriteFile(changed, []byte(`ha: {enabled: false}
dashboards: {enabled: false}
bridge: {slack: {mode: bot, channel: "#upgraded"}, actions: {enabled: true}}
exporter: {extraArgs: [--remediation.mode=dry-run]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Run(ctx, "upgrade", helmchart.Release, chart, "--namespace", ns, "--values", changed); err != nil {
		t.Fatal(err)
	}
	exporter, err = get(deployments, "argocd-exporter")
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := unstructured.NestedInt64(exporter.Object, "spec", "replicas"); r != 1 {
		t.Errorf("upgraded exporter: %d replicas, want 1", r)
	}
	containers, _, _ := unstructured.NestedSlice(exporter.Object, "spec", "template", "spec", "containers")
	if args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args"); !slices.Contains(args, "--remediation.mode=dry-run") || slices.Contains(args, "--leader-elect") {
		t.Errorf("upgraded exporter args %q", args)
	}
	settings, err := get(configmaps, "argocd-monitor")
	if err != nil {
		t.Fatal(err)
	}
	if ch, _, _ := unstructured.NestedString(settings.Object, "data", "SLACK_CHANNEL"); ch != "#upgraded" {
		t.Errorf("upgraded SLACK_CHANNEL %q", ch)
	}
	for _, gone := range []struct {
		gvr  schema.GroupVersionResource
		name string
	}{{configmaps, "argocd-monitor-dashboard-overview"}, {roles, "argocd-exporter"}} {
		if _, err := get(gone.gvr, gone.name); !apierrors.IsNotFound(err) {
			t.Errorf("after upgrade: %s %s still there (%v)", gone.gvr.Resource, gone.name, err)
		}
	}

	if _, err := h.Run(ctx, "uninstall", helmchart.Release, "--namespace", ns); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"argocd-monitor-argocd-token", "argocd-monitor-slack"} {
		if err := dyn.Resource(secrets).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if left := namespacedObjects(t, ctx, a, disc, ns); len(left) > 0 {
		t.Errorf("left in namespace %s after uninstall: %s", ns, strings.Join(left, ", "))
	}
	after := clusterObjects(t, ctx, a, disc)
	for _, o := range after {
		if !slices.Contains(before, o) {
			t.Errorf("cluster-scoped object left after uninstall: %s", o)
		}
	}
}

// clusterObjects lists every cluster-scoped object the API server lists ("resource/name").
func clusterObjects(t *testing.T, ctx context.Context, a *kubeapi.Applier, disc discovery.DiscoveryInterface) []string {
	t.Helper()
	return listAll(t, ctx, a, disc, false, "")
}

// namespacedObjects lists every object in ns, of every namespaced resource the server lists.
func namespacedObjects(t *testing.T, ctx context.Context, a *kubeapi.Applier, disc discovery.DiscoveryInterface, ns string) []string {
	t.Helper()
	return listAll(t, ctx, a, disc, true, ns)
}

func listAll(t *testing.T, ctx context.Context, a *kubeapi.Applier, disc discovery.DiscoveryInterface, namespaced bool, ns string) []string {
	t.Helper()
	lists, err := disc.ServerPreferredResources()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.APIResources {
			if r.Namespaced != namespaced || !slices.Contains(r.Verbs, "list") || strings.Contains(r.Name, "/") {
				continue
			}
			ri := a.Dynamic().Resource(gv.WithResource(r.Name))
			var items *unstructured.UnstructuredList
			if namespaced {
				items, err = ri.Namespace(ns).List(ctx, metav1.ListOptions{})
			} else {
				items, err = ri.List(ctx, metav1.ListOptions{})
			}
			if err != nil {
				t.Fatalf("list %s: %v", r.Name, err)
			}
			for _, it := range items.Items {
				out = append(out, r.Name+"."+gv.Group+"/"+it.GetName())
			}
		}
	}
	return out
}
