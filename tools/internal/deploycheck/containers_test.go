package deploycheck

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestContainersResolveEnv(t *testing.T) {
	objs := decodeRendered(t, "poc")
	cs, err := Containers("poc", objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Binary != ExporterName || cs[1].Binary != BridgeName {
		t.Fatalf("containers %+v, want the exporter then the bridge", cs)
	}
	if got := cs[0].Env["ARGOCD_API"]; !strings.HasPrefix(got, "https://") {
		t.Errorf("ARGOCD_API = %q, want the ConfigMap's URL", got)
	}

	for _, tt := range []struct {
		name    string
		env     corev1.EnvVar
		wantErr string
	}{
		{"secret as env", corev1.EnvVar{Name: "ARGOCD_TOKEN", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "token"}}},
			"secrets are mounted files"},
		{"missing ConfigMap", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{
			ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "nope"}, Key: "X"}}},
			"ConfigMap nope key X not in the render"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			objs := decodeRendered(t, "poc")
			for _, o := range objs {
				if d, ok := o.(*appsv1.Deployment); ok && d.Name == ExporterName {
					c := &d.Spec.Template.Spec.Containers[0]
					c.Env = append(c.Env, tt.env)
				}
			}
			if _, err := Containers("poc", objs); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Containers() error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
