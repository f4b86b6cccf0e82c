package deploycheck

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// TestCheckCatchesBrokenActions breaks one promise of the slack-actions component at a time in
// production with the optional components, and expects Check to name it.
func TestCheckCatchesBrokenActions(t *testing.T) {
	out, err := BuildWithComponents(root, "production", OptionalComponents)
	if err != nil {
		t.Fatal(err)
	}
	deployment := func(o []Object, name string) *appsv1.Deployment {
		for _, x := range o {
			if d, ok := x.(*appsv1.Deployment); ok && d.Name == name {
				return d
			}
		}
		t.Fatalf("no Deployment %s", name)
		return nil
	}
	dropArg := func(name, prefix string) func([]Object) {
		return func(o []Object) {
			c := &deployment(o, name).Spec.Template.Spec.Containers[0]
			c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, prefix) })
		}
	}
	tests := []struct {
		name    string
		mutate  func([]Object)
		wantErr string
	}{
		{"no way to receive clicks", dropArg(BridgeName, "--slack.app-token-file="), "receive no clicks"},
		{"no Alertmanager", dropArg(BridgeName, "--alertmanager.url="), "without --alertmanager.url"},
		{"no exporter URL", dropArg(BridgeName, "--actions.exporter-url="), "no --actions.exporter-url=http://argocd-exporter:9797"},
		{"no write token on the bridge", dropArg(BridgeName, "--actions.exporter-token-file="), "--actions.exporter-token-file must read a mounted Secret"},
		{"no write token on the exporter", dropArg(ExporterName, "--api.write-token-file="), "need --api.write-token-file"},
		{"write token is the read token", func(o []Object) {
			for _, name := range []string{ExporterName, BridgeName} {
				for i, v := range deployment(o, name).Spec.Template.Spec.Volumes {
					if v.Secret != nil && v.Secret.SecretName == WriteTokenSecret {
						deployment(o, name).Spec.Template.Spec.Volumes[i].Secret.SecretName = readTokenSecret
					}
				}
			}
		}, "must come from its own Secret"},
		{"webhook mode", func(o []Object) {
			c := &deployment(o, BridgeName).Spec.Template.Spec.Containers[0]
			for i, a := range c.Args {
				if strings.HasPrefix(a, "--slack.bot-token-file=") {
					c.Args[i] = "--slack.webhook-url-file=/etc/argocd-monitor/slack/webhook-url"
				}
			}
		}, "need bot mode"},
		{"no egress to Alertmanager", func(o []Object) {
			for _, x := range o {
				if np, ok := x.(*networkingv1.NetworkPolicy); ok && np.Name == BridgeName {
					np.Spec.Egress = slices.DeleteFunc(np.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
						return allowsPort(r.Ports, AlertmanagerAPIPort) && len(r.Ports) == 1
					})
				}
			}
		}, "reach Alertmanager's pods on 9093"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode(out)
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(objs)
			err = Check(objs, "argocd-monitor")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Check() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	// Without the component the production render has no action flags, and passes.
	if err := Check(decodeRendered(t, "production"), "argocd-monitor"); err != nil {
		t.Errorf("production without actions: %v", err)
	}
}
