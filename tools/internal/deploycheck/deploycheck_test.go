package deploycheck

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

var update = flag.Bool("update", false, "rewrite deploy/rendered/*.yaml")

// root is the repository root seen from this package's directory.
const root = "../../.."

// overlayNamespace is where each overlay deploys: the poc overlay is the original design's.
var overlayNamespace = map[string]string{"production": "argocd-monitor", "poc": "poc"}

func TestRenderedFilesAreFresh(t *testing.T) {
	if *update {
		if err := WriteRendered(root); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range Overlays {
		t.Run(o, func(t *testing.T) {
			want, err := Render(root, o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(root, RenderedPath(o)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale: run %s (or go test -update) and review the diff", RenderedPath(o), RegenerateCommand)
			}
		})
	}
	t.Run("containers", func(t *testing.T) {
		want, err := RenderContainers(root)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(root, ContainersPath))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run %s (or go test -update) and review the diff", ContainersPath, RegenerateCommand)
		}
	})
}

func decodeRendered(t *testing.T, overlay string) []Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, RenderedPath(overlay)))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(data)
	if err != nil {
		t.Fatalf("%s: %v", RenderedPath(overlay), err)
	}
	return objs
}

func kindsOf(objs []Object) map[string]int {
	n := map[string]int{}
	for _, o := range objs {
		n[o.GetObjectKind().GroupVersionKind().Kind]++
	}
	return n
}

func TestOverlaysDecodeStrictlyAndKeepTheRules(t *testing.T) {
	want := map[string]int{
		"Namespace": 1, "ServiceAccount": 2, "ConfigMap": 2, "Deployment": 2, "Service": 2,
		"PodDisruptionBudget": 2, "Role": 2, "RoleBinding": 2, "NetworkPolicy": 2, "ServiceMonitor": 2, "PrometheusRule": 1,
		"AlertmanagerConfig": 1,
	}
	for _, o := range Overlays {
		t.Run(o, func(t *testing.T) {
			objs := decodeRendered(t, o)
			if err := Check(objs, overlayNamespace[o]); err != nil {
				t.Fatal(err)
			}
			got := kindsOf(objs)
			for k, n := range want {
				// Generated dashboards may bring more ConfigMaps than the placeholder.
				if got[k] < n || k != "ConfigMap" && got[k] != n {
					t.Errorf("%d %s objects, want %d", got[k], k, n)
				}
			}
		})
	}
}

func TestPocOverlayDiffersByItsNamespaceLineOnly(t *testing.T) {
	read := func(o string) []string {
		data, err := os.ReadFile(filepath.Join(root, OverlayDir(o), "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(data), "\n")
	}
	prod, poc := read("production"), read("poc")
	if len(prod) != len(poc) {
		t.Fatalf("line counts differ: %d and %d", len(prod), len(poc))
	}
	var diff []string
	for i := range prod {
		if prod[i] != poc[i] {
			diff = append(diff, prod[i]+" -> "+poc[i])
		}
	}
	if !slices.Equal(diff, []string{"namespace: argocd-monitor -> namespace: poc"}) {
		t.Errorf("overlays differ by %q, want the namespace line only", diff)
	}
}

// TestOptionalComponents builds production with the opt-in components, as a user would add
// them, and checks the result keeps every rule and does what the components promise.
func TestOptionalComponents(t *testing.T) {
	out, err := BuildWithComponents(root, "production", OptionalComponents)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(objs, "argocd-monitor"); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			spec := o.Spec.Template.Spec
			switch o.Name {
			case BridgeName:
				args := spec.Containers[0].Args
				if !slices.Contains(args, "--slack.bot-token-file=/etc/argocd-monitor/slack/bot-token") ||
					slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--slack.webhook-url") }) {
					t.Errorf("bridge args %q: want bot mode only", args)
				}
				if !slices.ContainsFunc(spec.Containers[0].Env, func(e corev1.EnvVar) bool { return e.Name == "SLACK_CHANNEL" }) {
					t.Error("bridge has no SLACK_CHANNEL in bot mode")
				}
				for _, want := range []string{"--slack.app-token-file=/etc/argocd-monitor/slack/app-token", "--actions.exporter-token-file=/etc/argocd-monitor/api-write-token/token"} {
					if !slices.Contains(args, want) {
						t.Errorf("bridge args %q: want the Slack actions' %s", args, want)
					}
				}
			case ExporterName:
				if !slices.Contains(spec.Containers[0].Args, "--api.write-token-file=/etc/argocd-monitor/api-write-token/token") {
					t.Errorf("exporter args %q: want the write token", spec.Containers[0].Args)
				}
			}
		}
	}
}

func TestArgoCDSide(t *testing.T) {
	if err := CheckApplication(root); err != nil {
		t.Error(err)
	}
	if err := CheckArgoCDConfig(root); err != nil {
		t.Error(err)
	}
}

func TestCheckPolicy(t *testing.T) {
	key := "policy." + Account + ".csv"
	tests := []struct {
		name    string
		data    map[string]string
		wantErr string
	}{
		{"get and sync", map[string]string{key: "p, argocd-monitor, applications, get, */*, allow\np, argocd-monitor, applications, sync, */*, allow\n"}, ""},
		{"per project lines and comments", map[string]string{key: "# ours\np, argocd-monitor, applications, get, team-a/*, allow\np, argocd-monitor, applications, sync, team-a/*, allow\np, argocd-monitor, applications, get, team-b/*, allow\np, argocd-monitor, applications, sync, team-b/*, allow\n"}, ""},
		{"sync missing", map[string]string{key: "p, argocd-monitor, applications, get, */*, allow\n"}, "want exactly [get sync]"},
		{"more than needed", map[string]string{key: "p, argocd-monitor, applications, get, */*, allow\np, argocd-monitor, applications, sync, */*, allow\np, argocd-monitor, applications, delete, */*, allow\n"}, "want exactly [get sync]"},
		{"wrong subject", map[string]string{key: "p, monitor, applications, get, */*, allow\np, monitor, applications, sync, */*, allow\n"}, "want p, argocd-monitor"},
		{"replaces policy.csv", map[string]string{"policy.csv": "p, argocd-monitor, applications, get, */*, allow\n"}, "never replaces your policy.csv"},
		{"object without project", map[string]string{key: "p, argocd-monitor, applications, get, *, allow\np, argocd-monitor, applications, sync, *, allow\n"}, "<project>/<app>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPolicy(&corev1.ConfigMap{Data: tt.data})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("checkPolicy() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestImageMatchesManifests ties the Dockerfile, scripts/build.sh and the containers together:
// the Dockerfile builds with the script make test runs, and every container command is a binary
// the script builds, installed where the Dockerfile copies it.
func TestImageMatchesManifests(t *testing.T) {
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(root, "scripts", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	// The base images are build arguments (make image passes local stand-ins); the defaults ship.
	for _, want := range []string{"scripts/build.sh /out", "ARG GOLANG_IMAGE=golang:1.26\n", "FROM --platform=$BUILDPLATFORM ${GOLANG_IMAGE} AS build\n",
		"ARG RUNTIME_IMAGE=gcr.io/distroless/static-debian12:nonroot\n", "FROM ${RUNTIME_IMAGE}\n", "USER 65532:65532"} {
		if !strings.Contains(string(dockerfile), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	built := regexp.MustCompile(`-o "\$out/([a-z-]+)"`).FindAllStringSubmatch(string(script), -1)
	var bins []string
	for _, m := range built {
		bins = append(bins, m[1])
		if !strings.Contains(string(dockerfile), "/out/"+m[1]) {
			t.Errorf("Dockerfile does not copy %s from the build stage", m[1])
		}
	}
	for _, o := range Overlays {
		for _, obj := range decodeRendered(t, o) {
			d, ok := obj.(*appsv1.Deployment)
			if !ok {
				continue
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				bin := strings.TrimPrefix(c.Command[0], "/usr/local/bin/")
				if !slices.Contains(bins, bin) {
					t.Errorf("%s: Deployment %s runs %q, scripts/build.sh builds %q", o, d.Name, c.Command[0], bins)
				}
			}
		}
	}
}
