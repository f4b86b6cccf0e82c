package helmchart

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/deploycheck"
)

// Case is one setting both trees can render: kustomize builds Overlay with Components added (as
// deploycheck.BuildWithComponents does), the chart renders into Namespace with Values.
type Case struct {
	Name       string
	Overlay    string
	Components []string
	Namespace  string
	// Values is a values file (YAML) on top of the chart's defaults.
	Values string
}

// renderedLike is what every case sets: the kustomize tree renders its Namespace object, and the
// image tag of the overlays is the chart's appVersion (they are released together).
const renderedLike = "namespace: {create: true}\n"

// Cases cover every overlay and every optional component of the kustomize tree.
var Cases = []Case{
	{Name: "production", Overlay: "production", Namespace: "argocd-monitor", Values: renderedLike},
	{Name: "poc", Overlay: "poc", Namespace: "poc", Values: renderedLike},
	{Name: "slack-bot", Overlay: "production", Components: []string{"slack-bot"}, Namespace: "argocd-monitor",
		Values: renderedLike + "bridge: {slack: {mode: bot}}\n"},
	{Name: "slack-actions", Overlay: "production", Components: []string{"slack-bot", "slack-actions"}, Namespace: "argocd-monitor",
		Values: renderedLike + "bridge: {slack: {mode: bot}, actions: {enabled: true}}\n"},
}

// HelmLabels are the labels the chart adds to every object's metadata (never to selectors or
// pod templates), the only ones the comparison ignores.
var HelmLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/version"}

// ChecksumAnnotation is the chart's pod template annotation that rolls the pods when the
// ConfigMap their environment reads changes (kustomize has no such thing).
const ChecksumAnnotation = "checksum/config"

// Compare returns one message per difference between the kustomize objects and the chart's:
// objects only one side renders, and for objects both render a diff of their normalized form.
func Compare(kustomize, chart []deploycheck.Object) ([]string, error) {
	k, err := index(kustomize)
	if err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	c, err := index(chart)
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	var diffs []string
	for _, id := range slices.Sorted(maps.Keys(k)) {
		co, ok := c[id]
		if !ok {
			diffs = append(diffs, id+": rendered by kustomize only")
			continue
		}
		if d := cmp.Diff(k[id], co); d != "" {
			diffs = append(diffs, fmt.Sprintf("%s differs (-kustomize +chart):\n%s", id, clip(d, 4000)))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(c)) {
		if _, ok := k[id]; !ok {
			diffs = append(diffs, id+": rendered by the chart only")
		}
	}
	return diffs, nil
}

// index normalizes each object and keys it by kind, namespace and name.
func index(objs []deploycheck.Object) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for _, o := range objs {
		u, err := Normalize(o)
		if err != nil {
			return nil, err
		}
		id := fmt.Sprintf("%s %s/%s", o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName())
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("%s rendered twice", id)
		}
		out[id] = u
	}
	return out, nil
}

// Normalize returns the object as the API server would hold it after decoding (quantities and
// numbers in one form, defaults not applied), without the chart's own labels and annotation.
func Normalize(o deploycheck.Object) (map[string]any, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	removeKeys(u, HelmLabels, "metadata", "labels")
	removeKeys(u, []string{ChecksumAnnotation}, "spec", "template", "metadata", "annotations")
	return u, nil
}

// removeKeys deletes keys from the map at path, and the map itself once empty.
func removeKeys(u map[string]any, keys []string, path ...string) {
	m, ok, _ := unstructured.NestedMap(u, path...)
	if !ok {
		return
	}
	for _, k := range keys {
		delete(m, k)
	}
	if len(m) == 0 {
		unstructured.RemoveNestedField(u, path...)
		return
	}
	_ = unstructured.SetNestedMap(u, m, path...)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("\n... (%d more bytes)", len(s)-n)
}

// Lines joins diffs for an error message.
func Lines(diffs []string) string { return strings.Join(diffs, "\n") }
