package helmchart

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/deploycheck"
)

// root is the repository root seen from this package's directory.
const root = "../../.."

var (
	helmOnce sync.Once
	helmBin  string
	helmErr  error
)

// helm returns the pinned Helm CLI (`make test-tools` builds it first; a cold build here takes
// minutes).
func helm(t *testing.T) Helm {
	t.Helper()
	helmOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		helmBin, helmErr = Build(ctx, root, os.Stderr)
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	return Helm{Bin: helmBin, Home: t.TempDir()}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// valuesFile writes values to a temporary file and returns its path.
func valuesFile(t *testing.T, values string) string {
	t.Helper()
	// Not under t.TempDir(): helm splits --values at commas, which subtest names may have.
	dir, err := os.MkdirTemp("", "helmchart-values-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(f, []byte(values), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// render renders the chart with values and decodes every object strictly.
func render(t *testing.T, h Helm, namespace string, values ...string) []deploycheck.Object {
	t.Helper()
	var files []string
	for _, v := range values {
		files = append(files, valuesFile(t, v))
	}
	out, err := h.Template(ctx(t), root, namespace, files...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := deploycheck.Decode(out)
	if err != nil {
		t.Fatalf("helm template output: %v", err)
	}
	return objs
}

func TestHelmPinMatchesModule(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, ModuleDir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s*helm\.sh/helm/v4 ` + regexp.QuoteMeta(Version) + `\b`).Match(data) {
		t.Errorf("%s/go.mod does not require helm.sh/helm/v4 %s (Version): change both together", ModuleDir, Version)
	}
}

func TestLintStrict(t *testing.T) {
	h := helm(t)
	examples, err := Examples(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, values := range append([]string{""}, examples...) {
		name := "defaults"
		args := []string{"lint", "--strict", filepath.Join(root, ChartDir)}
		if values != "" {
			name = filepath.Base(values)
			args = append(args, "--values", values)
		}
		t.Run(name, func(t *testing.T) {
			out, err := h.Run(ctx(t), args...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "0 chart(s) failed") {
				t.Errorf("helm lint: %s", out)
			}
		})
	}
}

// TestChartMatchesKustomize is the one-source-of-truth check: for every overlay and optional
// component, the chart renders exactly kustomize's objects (but for Helm's labels).
func TestChartMatchesKustomize(t *testing.T) {
	h := helm(t)
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			var built []byte
			var err error
			if len(c.Components) == 0 {
				built, err = deploycheck.Render(root, c.Overlay)
			} else {
				built, err = deploycheck.BuildWithComponents(root, c.Overlay, c.Components)
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := deploycheck.Decode(built)
			if err != nil {
				t.Fatal(err)
			}
			got := render(t, h, c.Namespace, c.Values)
			diffs, err := Compare(want, got)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range diffs {
				t.Error(d)
			}
			// The chart's own additions are what Compare ignores, and nothing else.
			for _, o := range got {
				for _, l := range HelmLabels {
					if _, ok := o.GetLabels()[l]; !ok {
						t.Errorf("%T %s: no label %s", o, o.GetName(), l)
					}
				}
				if o.GetLabels()["app.kubernetes.io/instance"] != Release {
					t.Errorf("%T %s: instance label %q, want the release name", o, o.GetName(), o.GetLabels()["app.kubernetes.io/instance"])
				}
			}
			if err := deploycheck.Check(got, c.Namespace); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCompareSeesADrift proves the comparison fails on the drift it exists for: a flag only one
// tree passes, a changed label, an object only one side has.
func TestCompareSeesADrift(t *testing.T) {
	h := helm(t)
	base := render(t, h, "argocd-monitor", renderedLike)
	drifted := render(t, h, "argocd-monitor", renderedLike+"exporter: {extraArgs: [--metrics.new-flag=1]}\ndashboards: {enabled: false}\n")
	diffs, err := Compare(base, drifted)
	if err != nil {
		t.Fatal(err)
	}
	text := Lines(diffs)
	for _, want := range []string{"Deployment argocd-monitor/argocd-exporter differs", "--metrics.new-flag=1", "ConfigMap argocd-monitor/argocd-monitor-dashboard-overview: rendered by kustomize only"} {
		if !strings.Contains(text, want) {
			t.Errorf("diff lacks %q:\n%s", want, text)
		}
	}
	if diffs, _ := Compare(base, base); len(diffs) != 0 {
		t.Errorf("an object differs from itself: %s", Lines(diffs))
	}
}

// TestValues renders the chart-only settings and checks each does what values.yaml says.
func TestValues(t *testing.T) {
	h := helm(t)
	tests := []struct {
		name   string
		values string
		check  func(t *testing.T, r rendered)
	}{
		{"defaults", "", func(t *testing.T, r rendered) {
			if r.has("Namespace", "argocd-monitor") {
				t.Error("Namespace rendered without namespace.create")
			}
			if got := r.deployment("argocd-exporter").Spec.Template.Spec.Containers[0].Image; got != "registry.example.com/argocd-monitor:0.1.0" {
				t.Errorf("image %q, want the appVersion tag", got)
			}
			if args := r.deployment("argocd-exporter").Spec.Template.Spec.Containers[0].Args; slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--metrics.state-sets") }) {
				t.Errorf("exporter args %q: the default (full) needs no flag, as in the kustomize tree", args)
			}
			if n := r.count("ConfigMap", "grafana_dashboard"); n != 3 {
				t.Errorf("%d dashboard ConfigMaps, want 3", n)
			}
		}},
		{"ha off", "ha: {enabled: false}", func(t *testing.T, r rendered) {
			for _, d := range []string{"argocd-exporter", "slack-bridge"} {
				dep := r.deployment(d)
				if *dep.Spec.Replicas != 1 || *dep.Spec.Template.Spec.AutomountServiceAccountToken {
					t.Errorf("%s: %d replicas, token %t: want 1 and no token", d, *dep.Spec.Replicas, *dep.Spec.Template.Spec.AutomountServiceAccountToken)
				}
				for _, a := range dep.Spec.Template.Spec.Containers[0].Args {
					if a == "--leader-elect" || a == "--state.kubernetes" || strings.HasPrefix(a, "--remediation.state-configmap") {
						t.Errorf("%s: %s without ha", d, a)
					}
				}
			}
			for _, kind := range []string{"Role", "RoleBinding", "PodDisruptionBudget"} {
				if n := r.count(kind, ""); n != 0 {
					t.Errorf("%d %s objects without ha", n, kind)
				}
			}
			if r.egressPort("argocd-exporter", 6443) || r.egressPort("slack-bridge", 6443) || !r.egressPort("slack-bridge", 443) {
				t.Error("without ha: no Kubernetes API egress, the bridge still reaches Slack on 443")
			}
		}},
		{"state sets current", "exporter: {stateSets: current}", func(t *testing.T, r rendered) {
			if args := r.deployment("argocd-exporter").Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--metrics.state-sets=current") {
				t.Errorf("exporter args %q: want --metrics.state-sets=current", args)
			}
		}},
		{"api off", "api: {enabled: false}", func(t *testing.T, r rendered) {
			for _, d := range []string{"argocd-exporter", "slack-bridge"} {
				for _, a := range r.deployment(d).Spec.Template.Spec.Containers[0].Args {
					if strings.HasPrefix(a, "--api.") || strings.HasPrefix(a, "--enrich.") {
						t.Errorf("%s: %s with the read API off", d, a)
					}
				}
			}
			if r.egressPort("slack-bridge", 9797) {
				t.Error("the bridge may still reach the exporter with nothing to ask")
			}
		}},
		{"bridge off", "bridge: {enabled: false}", func(t *testing.T, r rendered) {
			for _, o := range r.objs {
				if o.GetName() == "slack-bridge" || o.GetObjectKind().GroupVersionKind().Kind == "AlertmanagerConfig" {
					t.Errorf("%T %s rendered without the bridge", o, o.GetName())
				}
			}
			if n := len(r.netpol("argocd-exporter").Spec.Ingress); n != 1 {
				t.Errorf("exporter NetworkPolicy: %d ingress rules, want Prometheus only", n)
			}
		}},
		{"operator objects and dashboards off", "serviceMonitor: {enabled: false}\nprometheusRule: {enabled: false}\nalertmanagerConfig: {enabled: false}\ndashboards: {enabled: false}\nnetworkPolicy: {enabled: false}\npodDisruptionBudget: {enabled: false}",
			func(t *testing.T, r rendered) {
				for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "AlertmanagerConfig", "NetworkPolicy", "PodDisruptionBudget"} {
					if n := r.count(kind, ""); n != 0 {
						t.Errorf("%d %s objects", n, kind)
					}
				}
				if n := r.count("ConfigMap", ""); n != 1 {
					t.Errorf("%d ConfigMaps, want the settings only", n)
				}
			}},
		{"labels for kube-prometheus-stack", "serviceMonitor: {labels: {release: kps}}\nprometheusRule: {labels: {release: kps}}\nalertmanagerConfig: {labels: {release: kps}}\ndashboards: {labels: {team: platform}, folder: ''}",
			func(t *testing.T, r rendered) {
				for _, kind := range []string{"ServiceMonitor", "PrometheusRule", "AlertmanagerConfig"} {
					if r.count(kind, "release") != r.count(kind, "") || r.count(kind, "") == 0 {
						t.Errorf("%s without the release label", kind)
					}
				}
				for _, o := range r.objs {
					if o.GetLabels()["grafana_dashboard"] == "1" && (o.GetLabels()["team"] != "platform" || len(o.GetAnnotations()) != 0) {
						t.Errorf("dashboard %s: labels %v annotations %v", o.GetName(), o.GetLabels(), o.GetAnnotations())
					}
				}
			}},
		{"existing secrets by other names", "existingSecrets: {argocdToken: a, slack: b, bridgeWebhookToken: c, apiToken: d, apiWriteToken: e}\nbridge: {slack: {mode: bot}, actions: {enabled: true}}",
			func(t *testing.T, r rendered) {
				var got []string
				for _, d := range []string{"argocd-exporter", "slack-bridge"} {
					for _, v := range r.deployment(d).Spec.Template.Spec.Volumes {
						got = append(got, v.Secret.SecretName)
					}
				}
				slices.Sort(got)
				if want := []string{"a", "b", "c", "d", "d", "e", "e"}; !slices.Equal(got, want) {
					t.Errorf("Secret volumes %v, want %v", got, want)
				}
				for _, o := range r.objs {
					if ac, ok := o.(*monitoringv1alpha1.AlertmanagerConfig); ok {
						if n := ac.Spec.Receivers[0].WebhookConfigs[0].HTTPConfig.Authorization.Credentials.Name; n != "c" {
							t.Errorf("AlertmanagerConfig reads Secret %q, want c", n)
						}
					}
				}
			}},
		{"actions over a Request URL", "bridge: {slack: {mode: bot}, actions: {enabled: true, receive: requestURL}}", func(t *testing.T, r rendered) {
			args := r.deployment("slack-bridge").Spec.Template.Spec.Containers[0].Args
			if !slices.Contains(args, "--slack.signing-secret-file=/etc/argocd-monitor/slack/signing-secret") || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--slack.app-token-file") }) {
				t.Errorf("bridge args %q: want the signing secret instead of the app token", args)
			}
		}},
		{"extra args and env, image digest, scheduling", `image: {digest: "sha256:` + strings.Repeat("ab", 32) + `"}
exporter: {extraArgs: ["--remediation.mode=dry-run"], extraEnv: [{name: LOG_LEVEL, value: debug}], nodeSelector: {pool: ops}, priorityClassName: high}
bridge: {extraArgs: ["--slack.deadline=6s"], tolerations: [{key: ops, operator: Exists}]}
imagePullSecrets: [{name: reg}]`, func(t *testing.T, r rendered) {
			e := r.deployment("argocd-exporter").Spec.Template.Spec
			if args := e.Containers[0].Args; args[len(args)-1] != "--remediation.mode=dry-run" {
				t.Errorf("exporter args %q: extraArgs not last", args)
			}
			if !slices.ContainsFunc(e.Containers[0].Env, func(v corev1.EnvVar) bool { return v.Name == "LOG_LEVEL" && v.Value == "debug" }) {
				t.Error("exporter extraEnv missing")
			}
			if e.NodeSelector["pool"] != "ops" || e.PriorityClassName != "high" || len(e.ImagePullSecrets) != 1 {
				t.Errorf("exporter scheduling: %v %q %v", e.NodeSelector, e.PriorityClassName, e.ImagePullSecrets)
			}
			if !strings.HasSuffix(e.Containers[0].Image, "@sha256:"+strings.Repeat("ab", 32)) {
				t.Errorf("image %q, want the digest", e.Containers[0].Image)
			}
			b := r.deployment("slack-bridge").Spec.Template.Spec
			if args := b.Containers[0].Args; args[len(args)-1] != "--slack.deadline=6s" || len(b.Tolerations) != 1 {
				t.Errorf("bridge args %q tolerations %v", args, b.Tolerations)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, rendered{t: t, objs: render(t, h, "argocd-monitor", tt.values)})
		})
	}
}

// TestConfigChangeRollsPods: the pods read the ConfigMap as env, so a changed value must change
// the pod template (checksum annotation) or it would never reach them.
func TestConfigChangeRollsPods(t *testing.T) {
	h := helm(t)
	sum := func(values string) string {
		r := rendered{t: t, objs: render(t, h, "argocd-monitor", values)}
		return r.deployment("argocd-exporter").Spec.Template.Annotations[ChecksumAnnotation]
	}
	a, b := sum(""), sum("argocd: {pollInterval: 1m}")
	if a == "" || a == b {
		t.Errorf("checksum %q before and %q after a ConfigMap change", a, b)
	}
}

func TestBadValuesAreRefused(t *testing.T) {
	h := helm(t)
	tests := []struct{ name, values, wantErr string }{
		{"unknown key", "exporter: {replicas: 3}", "replicas"},
		{"typo at the top", "serviceMonitors: {enabled: true}", "serviceMonitors"},
		{"bad enum", "bridge: {slack: {mode: rtm}}", "mode"},
		{"actions without bot mode", "bridge: {actions: {enabled: true}}", "bridge.slack.mode: bot"},
		{"secret name", "existingSecrets: {slack: Not_A_Name}", "slack"},
		{"extra arg without --", "exporter: {extraArgs: [leader-elect]}", "extraArgs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Template(ctx(t), root, "argocd-monitor", valuesFile(t, tt.values))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("helm template = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

// TestExamples renders every documented values example; each is named in docs/deploy.md.
func TestExamples(t *testing.T) {
	h := helm(t)
	examples, err := Examples(root)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range examples {
		rel := ExamplesDir + "/" + filepath.Base(f)
		t.Run(filepath.Base(f), func(t *testing.T) {
			if !strings.Contains(string(doc), rel) {
				t.Errorf("%s is not documented in docs/deploy.md", rel)
			}
			out, err := h.Template(ctx(t), root, "argocd-monitor", f)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := deploycheck.Decode(out)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) == 0 {
				t.Fatal("no objects")
			}
		})
	}
}

// TestHelmApplication checks the Argo CD Application that installs the chart: it points at this
// chart, and its values render objects that keep every deploy rule in its destination namespace.
func TestHelmApplication(t *testing.T) {
	h := helm(t)
	app, values, err := ReadApplication(root)
	if err != nil {
		t.Fatal(err)
	}
	objs := render(t, h, app.Spec.Destination.Namespace, values)
	if err := deploycheck.Check(objs, app.Spec.Destination.Namespace); err != nil {
		t.Error(err)
	}
}

// rendered is one render's objects, with lookups that fail the test when an object is missing.
type rendered struct {
	t    *testing.T
	objs []deploycheck.Object
}

func (r rendered) has(kind, name string) bool {
	for _, o := range r.objs {
		if o.GetObjectKind().GroupVersionKind().Kind == kind && o.GetName() == name {
			return true
		}
	}
	return false
}

// count counts objects of kind, with label when it is not empty.
func (r rendered) count(kind, label string) int {
	n := 0
	for _, o := range r.objs {
		if _, ok := o.GetLabels()[label]; o.GetObjectKind().GroupVersionKind().Kind == kind && (label == "" || ok) {
			n++
		}
	}
	return n
}

func (r rendered) deployment(name string) *appsv1.Deployment {
	return find[*appsv1.Deployment](r, name)
}

func (r rendered) netpol(name string) *networkingv1.NetworkPolicy {
	return find[*networkingv1.NetworkPolicy](r, name)
}

// find returns the object of type T named name, failing the test when there is none.
func find[T deploycheck.Object](r rendered, name string) T {
	for _, o := range r.objs {
		if t, ok := o.(T); ok && t.GetName() == name {
			return t
		}
	}
	var zero T
	r.t.Fatalf("no %T %s", zero, name)
	return zero
}

func (r rendered) egressPort(name string, port int) bool {
	for _, rule := range r.netpol(name).Spec.Egress {
		for _, p := range rule.Ports {
			if p.Port != nil && p.Port.IntValue() == port {
				return true
			}
		}
	}
	return false
}
