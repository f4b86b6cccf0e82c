package realargocd

import (
	"slices"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/kubeapi"
)

// The manifests decode, declare every scenario app once, and the drift object is the fixable
// app's ConfigMap with other data than git's.
func TestManifests(t *testing.T) {
	objs, err := kubeapi.Decode([]byte(Manifests("file:///repo.git")))
	if err != nil {
		t.Fatal(err)
	}
	var apps []string
	drift := false
	for _, o := range objs {
		switch o.GetKind() {
		case "Application":
			apps = append(apps, o.GetName())
			if o.GetNamespace() != Namespace {
				t.Errorf("%s in namespace %q", o.GetName(), o.GetNamespace())
			}
		case "ConfigMap":
			drift = o.GetName() == AppFixable && o.GetNamespace() == AppsNamespace
		}
	}
	slices.Sort(apps)
	want := slices.Clone(Apps)
	slices.Sort(want)
	if !slices.Equal(apps, want) {
		t.Errorf("applications %v, want %v", apps, want)
	}
	if !drift {
		t.Error("no drift ConfigMap for the fixable app")
	}
}
