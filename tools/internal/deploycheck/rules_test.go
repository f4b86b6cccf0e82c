package deploycheck

import (
	"slices"
	"strings"
	"testing"

	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestCheckCatchesBrokenManifests breaks one promise at a time in the production render and
// expects Check to name it.
func TestCheckCatchesBrokenManifests(t *testing.T) {
	type objs = []Object
	deployment := func(o objs, name string) *appsv1.Deployment {
		for _, x := range o {
			if d, ok := x.(*appsv1.Deployment); ok && d.Name == name {
				return d
			}
		}
		t.Fatalf("no Deployment %s", name)
		return nil
	}
	container := func(o objs, name string) *corev1.Container {
		return &deployment(o, name).Spec.Template.Spec.Containers[0]
	}
	tests := []struct {
		name    string
		mutate  func(objs) objs
		wantErr string
	}{
		{"writable root filesystem", func(o objs) objs {
			f := false
			container(o, BridgeName).SecurityContext.ReadOnlyRootFilesystem = &f
			return o
		}, "slack-bridge container slack-bridge: readOnlyRootFilesystem must be true"},
		{"root user", func(o objs) objs {
			u := int64(0)
			container(o, ExporterName).SecurityContext.RunAsUser = &u
			return o
		}, "runAsUser must be 65532"},
		{"capability added", func(o objs) objs {
			container(o, ExporterName).SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
			return o
		}, "capabilities must drop ALL"},
		{"one exporter", func(o objs) objs { one := int32(1); deployment(o, ExporterName).Spec.Replicas = &one; return o }, "replicas must be 2"},
		{"recreated exporter", func(o objs) objs {
			deployment(o, ExporterName).Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
			return o
		}, "strategy must be RollingUpdate"},
		{"no leader election", func(o objs) objs {
			c := container(o, ExporterName)
			c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return a == "--leader-elect" })
			return o
		}, "no --leader-elect argument"},
		{"exporter state in a file", func(o objs) objs {
			c := container(o, ExporterName)
			c.Args = append(c.Args, "--remediation.state-file=/tmp/s.json")
			return o
		}, "--remediation.state-file is one replica's"},
		{"bridge state in a file", func(o objs) objs {
			c := container(o, BridgeName)
			c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return a == "--state.kubernetes" })
			return o
		}, "no --state.kubernetes argument"},
		{"bridge affinity", func(o objs) objs {
			for _, x := range o {
				if s, ok := x.(*corev1.Service); ok && s.Name == BridgeName {
					s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
				}
			}
			return o
		}, "no ClientIP affinity"},
		{"extra verb", func(o objs) objs {
			for _, x := range o {
				if r, ok := x.(*rbacv1.Role); ok && r.Name == ExporterName {
					r.Rules[1].Verbs = append(r.Rules[1].Verbs, "delete")
				}
			}
			return o
		}, "Role argocd-exporter: rules"},
		{"lease renamed in the flags only", func(o objs) objs {
			c := container(o, ExporterName)
			for i, a := range c.Args {
				if strings.HasPrefix(a, "--leader-elect-resource-name=") {
					c.Args[i] = "--leader-elect-resource-name=other"
				}
			}
			return o
		}, "coordination.k8s.io/leases[other]: get"},
		{"unbound exporter", func(o objs) objs {
			return slices.DeleteFunc(o, func(x Object) bool { b, ok := x.(*rbacv1.RoleBinding); return ok && b.Name == ExporterName })
		}, "automountServiceAccountToken must be false"},
		{"token without a Role", func(o objs) objs {
			return slices.DeleteFunc(o, func(x Object) bool { b, ok := x.(*rbacv1.RoleBinding); return ok && b.Name == BridgeName })
		}, "no Role bound to ServiceAccount slack-bridge"},
		{"no PDB", func(o objs) objs {
			var out objs
			for _, x := range o {
				if x.GetObjectKind().GroupVersionKind().Kind != "PodDisruptionBudget" {
					out = append(out, x)
				}
			}
			return out
		}, "no PodDisruptionBudget"},
		{"inlined Secret", func(o objs) objs {
			s := &corev1.Secret{StringData: map[string]string{"token": "x"}}
			s.Name, s.Namespace = "argocd-monitor-argocd-token", "argocd-monitor"
			return append(o, s)
		}, "never inlined"},
		{"wrong liveness path", func(o objs) objs {
			container(o, ExporterName).LivenessProbe.HTTPGet.Path = "/healthz"
			return o
		}, `path "/healthz", want "/-/healthy"`},
		{"no memory limit", func(o objs) objs {
			delete(container(o, BridgeName).Resources.Limits, corev1.ResourceMemory)
			return o
		}, "memory request and limit must both be set"},
		{"missing ConfigMap key", func(o objs) objs {
			container(o, ExporterName).Env[0].ValueFrom.ConfigMapKeyRef.Key = "ARGOCD_SERVER"
			return o
		}, `reads key "ARGOCD_SERVER" missing`},
		{"token through subPath", func(o objs) objs {
			container(o, ExporterName).VolumeMounts[0].SubPath = "token"
			return o
		}, "subPath"},
		{"file flag reads a key the Secret lacks", func(o objs) objs {
			c := container(o, BridgeName)
			for i, a := range c.Args {
				if strings.HasPrefix(a, "--slack.webhook-url-file=") {
					c.Args[i] = "--slack.webhook-url-file=/etc/argocd-monitor/slack/url"
				}
			}
			return o
		}, `reads key "url", not a key of Secret argocd-monitor-slack`},
		{"file flag outside mounts", func(o objs) objs {
			c := container(o, ExporterName)
			c.Args = append(c.Args, "--argocd.ca-file=/etc/ssl/argocd/ca.crt")
			return o
		}, "--argocd.ca-file points outside every volumeMount"},
		{"volume with two sources", func(o objs) objs {
			v := &deployment(o, BridgeName).Spec.Template.Spec.Volumes[1]
			v.HostPath = &corev1.HostPathVolumeSource{Path: "/var/lib"}
			return o
		}, "volume webhook-token has 2 sources"},
		{"unknown Secret", func(o objs) objs {
			deployment(o, ExporterName).Spec.Template.Spec.Volumes[0].Secret.SecretName = "argocd-monitor-secret"
			return o
		}, `unknown Secret "argocd-monitor-secret"`},
		{"service targets a missing port", func(o objs) objs {
			for _, x := range o {
				if s, ok := x.(*corev1.Service); ok && s.Name == BridgeName {
					s.Spec.Ports[0].TargetPort = intstr.FromString("web")
				}
			}
			return o
		}, "targetPort web is not a port"},
		{"alertmanager posts to another namespace", func(o objs) objs {
			for _, x := range o {
				if ac, ok := x.(*monitoringv1alpha1.AlertmanagerConfig); ok {
					u := "http://slack-bridge.monitoring.svc:9798/webhook"
					ac.Spec.Receivers[0].WebhookConfigs[0].URL = &u
				}
			}
			return o
		}, "want http://slack-bridge.argocd-monitor.svc:9798/webhook"},
		{"alertmanager without token", func(o objs) objs {
			for _, x := range o {
				if ac, ok := x.(*monitoringv1alpha1.AlertmanagerConfig); ok {
					ac.Spec.Receivers[0].WebhookConfigs[0].HTTPConfig = nil
				}
			}
			return o
		}, "must authenticate with Bearer"},
		{"object in another namespace", func(o objs) objs {
			deployment(o, BridgeName).Namespace = "default"
			return o
		}, `namespace "default", want "argocd-monitor"`},
		{"dashboard ConfigMap too large", func(o objs) objs {
			for _, x := range o {
				if cm, ok := x.(*corev1.ConfigMap); ok && cm.Labels["grafana_dashboard"] == "1" {
					cm.Data["huge.json"] = strings.Repeat("x", 1<<20)
				}
			}
			return o
		}, "the API server accepts at most 1048576"},
		{"alert selects a job nobody scrapes", func(o objs) objs {
			for _, x := range o {
				if s, ok := x.(*corev1.Service); ok && s.Name == ExporterName {
					s.Labels["argocd-monitor.io/job"] = "exporter"
				}
			}
			return o
		}, `selects job "argocd-monitor-exporter", but the ServiceMonitors produce [argocd-monitor-bridge exporter]`},
		{"dashboard selects a job nobody scrapes", func(o objs) objs {
			for _, x := range o {
				if cm, ok := x.(*corev1.ConfigMap); ok && cm.Labels["grafana_dashboard"] == "1" {
					cm.Data["x.json"] = `{"targets": [{"expr": "up{job=\"argocd-exporter\"}"}]}`
				}
			}
			return o
		}, `dashboard x.json: selects job "argocd-exporter"`},
		{"jobLabel names a missing Service label", func(o objs) objs {
			for _, x := range o {
				if s, ok := x.(*corev1.Service); ok && s.Name == BridgeName {
					delete(s.Labels, "argocd-monitor.io/job")
				}
			}
			return o
		}, "jobLabel argocd-monitor.io/job is not a label of Service slack-bridge"},
		{"unlabelled object", func(o objs) objs {
			delete(deployment(o, BridgeName).Labels, PartOfLabel)
			return o
		}, "Deployment slack-bridge: label app.kubernetes.io/part-of=argocd-monitor missing"},
		{"grouped by alert, not by app", func(o objs) objs {
			for _, x := range o {
				if ac, ok := x.(*monitoringv1alpha1.AlertmanagerConfig); ok {
					ac.Spec.Route.GroupBy = []string{"alertname", "namespace", "name"}
				}
			}
			return o
		}, "groupBy [alertname namespace name], want [namespace name]"},
		{"no inhibit rule", func(o objs) objs {
			for _, x := range o {
				if ac, ok := x.(*monitoringv1alpha1.AlertmanagerConfig); ok {
					ac.Spec.InhibitRules = nil
				}
			}
			return o
		}, "no inhibit rule by which ArgoCDAppRemediationPaused explains"},
		{"lost cluster pages twice", func(o objs) objs {
			for _, x := range o {
				if ac, ok := x.(*monitoringv1alpha1.AlertmanagerConfig); ok {
					for i, ir := range ac.Spec.InhibitRules {
						if matchesAlertname(ir.SourceMatch, "ArgoCDDestinationDown") {
							ac.Spec.InhibitRules[i].TargetMatch[0].Value = "ArgoCDAppDegraded|ArgoCDAppUnhealthy|ArgoCDAppSyncFailed|ArgoCDAppOutOfSync"
						}
					}
				}
			}
			return o
		}, "ArgoCDDestinationDown inhibits no [ArgoCDClusterConnectionLost] with equal [dest_server]"},
		{"parent does not inhibit its children", func(o objs) objs {
			for _, x := range o {
				if ac, ok := x.(*monitoringv1alpha1.AlertmanagerConfig); ok {
					ac.Spec.InhibitRules = slices.DeleteFunc(ac.Spec.InhibitRules, func(ir monitoringv1alpha1.InhibitRule) bool {
						return matchesAlertname(ir.SourceMatch, "ArgoCDParentDegraded")
					})
				}
			}
			return o
		}, "ArgoCDParentDegraded inhibits no [ArgoCDAppDegraded ArgoCDAppUnhealthy ArgoCDAppSyncFailed ArgoCDAppOutOfSync] with equal [parent_kind parent]"},
		{"read API open to every pod", func(o objs) objs {
			for _, x := range o {
				if np, ok := x.(*networkingv1.NetworkPolicy); ok && np.Name == ExporterName {
					np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{})
				}
			}
			return o
		}, "ingress to the exporter's port 9797 from anywhere"},
		{"bridge cannot reach the read API", func(o objs) objs {
			for _, x := range o {
				if np, ok := x.(*networkingv1.NetworkPolicy); ok && np.Name == BridgeName {
					np.Spec.Egress = np.Spec.Egress[1:]
				}
			}
			return o
		}, "no egress rule lets the bridge reach the exporter's pods on 9797"},
		{"bridge without enrichment", func(o objs) objs {
			c := container(o, BridgeName)
			c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--enrich.exporter-url=") })
			return o
		}, "no --enrich.exporter-url=http://argocd-exporter:9797 argument"},
		{"exporter without exporter read API", func(o objs) objs {
			c := container(o, ExporterName)
			c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--api.token-file=") })
			return o
		}, "no --api.token-file= argument"},
		{"exporter without egress policy", func(o objs) objs {
			deployment(o, ExporterName).Spec.Template.Labels = map[string]string{"app.kubernetes.io/name": "other"}
			return o
		}, "Deployment argocd-exporter: NetworkPolicies must restrict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.mutate(decodeRendered(t, "production")), "argocd-monitor")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Check() = %v\nwant an error containing %q", err, tt.wantErr)
			}
		})
	}
}
