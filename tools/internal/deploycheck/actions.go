package deploycheck

import (
	"fmt"
	"path"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// AlertmanagerAPIPort is where the bridge creates silences (Alertmanager's API v2).
const AlertmanagerAPIPort = 9093

// Secrets of the Slack actions (component slack-actions).
const (
	WriteTokenSecret = "argocd-monitor-api-write-token"
	readTokenSecret  = "argocd-monitor-api-token"
)

// checkActions: once the bridge has any Slack action flag, it has all it needs in bot mode: a
// way to receive clicks, Alertmanager's API, the exporter's write API with a token that the
// exporter checks and that lives in its own Secret (not the read token's), and the NetworkPolicy
// egress to Alertmanager.
func (r *render) checkActions() {
	exp, br := r.deployment(ExporterName), r.deployment(BridgeName)
	if exp == nil || br == nil {
		return
	}
	on := false
	for _, p := range []string{"--slack.signing-secret-file=", "--slack.app-token-file=", "--alertmanager.url=", "--actions.exporter-url=", "--actions.exporter-token-file="} {
		on = on || argValue(br, p) != ""
	}
	if !on {
		return
	}
	if argValue(br, "--slack.bot-token-file=") == "" {
		r.errorf("Deployment %s: Slack actions need bot mode (--slack.bot-token-file; the slack-bot component)", br.Name)
	}
	if argValue(br, "--slack.signing-secret-file=") == "" && argValue(br, "--slack.app-token-file=") == "" {
		r.errorf("Deployment %s: Slack actions without --slack.signing-secret-file or --slack.app-token-file receive no clicks", br.Name)
	}
	if argValue(br, "--alertmanager.url=") == "" {
		r.errorf("Deployment %s: Slack actions without --alertmanager.url cannot silence", br.Name)
	}
	if want := fmt.Sprintf("--actions.exporter-url=http://%s:%d", ExporterName, APIPort); !hasArg(br, want) {
		r.errorf("Deployment %s: no %s argument (the exporter's Service and port)", br.Name, want)
	}
	bridgeToken := secretOf(br, argValue(br, "--actions.exporter-token-file="))
	if bridgeToken == "" {
		r.errorf("Deployment %s: --actions.exporter-token-file must read a mounted Secret", br.Name)
	}
	expToken := secretOf(exp, argValue(exp, "--api.write-token-file="))
	switch {
	case expToken == "":
		r.errorf("Deployment %s: the bridge's actions need --api.write-token-file from a mounted Secret", exp.Name)
	case expToken == readTokenSecret || expToken == secretOf(exp, argValue(exp, "--api.token-file=")):
		r.errorf("Deployment %s: --api.write-token-file must come from its own Secret (%s), not the read token's", exp.Name, WriteTokenSecret)
	case bridgeToken != "" && bridgeToken != expToken:
		r.errorf("Deployment %s: --actions.exporter-token-file reads Secret %s, the exporter checks %s", br.Name, bridgeToken, expToken)
	}
	toAM := r.egressAllows(br, AlertmanagerAPIPort, func(peer networkingv1.NetworkPolicyPeer) bool {
		return peer.PodSelector != nil && peer.PodSelector.MatchLabels["app.kubernetes.io/name"] == "alertmanager"
	})
	if !toAM {
		r.errorf("NetworkPolicies: no egress rule lets the bridge reach Alertmanager's pods on %d (silences)", AlertmanagerAPIPort)
	}
}

// argValue is the value of d's first argument starting with prefix ("" without one).
func argValue(d *appsv1.Deployment, prefix string) string {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, a := range c.Args {
			if strings.HasPrefix(a, prefix) {
				return strings.TrimPrefix(a, prefix)
			}
		}
	}
	return ""
}

// secretOf is the Secret mounted where file lies in d ("" when none).
func secretOf(d *appsv1.Deployment, file string) string {
	if file == "" {
		return ""
	}
	spec := d.Spec.Template.Spec
	for _, c := range spec.Containers {
		for _, m := range c.VolumeMounts {
			if m.MountPath != path.Dir(file) {
				continue
			}
			for _, v := range spec.Volumes {
				if v.Name == m.Name && v.Secret != nil {
					return v.Secret.SecretName
				}
			}
		}
	}
	return ""
}
