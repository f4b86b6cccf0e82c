package deploycheck

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func TestDecodeOneIsStrict(t *testing.T) {
	const deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n"
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{"valid", deployment, ""},
		{"unknown nested field", deployment + "          readOnlyRootFS: true\n", `unknown field "spec.template.spec.containers[0].readOnlyRootFS"`},
		{"field in the wrong case", deployment + "          ImagePullPolicy: Always\n", "ImagePullPolicy"},
		{"duplicate key", deployment + "          name: again\n", `key "name" already set`},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n", `unsupported kind "Pod"`},
		{"wrong apiVersion", "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: d\n", "unsupported kind"},
		{"wrong type", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: two\n", "replicas"},
		{"unknown field in a CRD", "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: s\nspec:\n  endpoints:\n    - port: http\n      honourLabels: true\n", "honourLabels"},
		{"unknown field in AlertmanagerConfig", "apiVersion: monitoring.coreos.com/v1alpha1\nkind: AlertmanagerConfig\nmetadata:\n  name: a\nspec:\n  receivers:\n    - name: r\n      webhookConfigs:\n        - url: http://x\n          bearerToken: s\n", "bearerToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := DecodeOne([]byte(tt.doc))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if d, ok := obj.(*appsv1.Deployment); !ok || d.Spec.Template.Spec.Containers[0].Name != "c" {
					t.Errorf("decoded %#v", obj)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("DecodeOne() error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeNamesTheDocument(t *testing.T) {
	stream := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndatum: {}\n"
	_, err := Decode([]byte(stream))
	if err == nil || !strings.Contains(err.Error(), "document 3") || !strings.Contains(err.Error(), "datum") {
		t.Errorf("Decode() error = %v, want document 3 and the unknown field named", err)
	}
	objs, err := Decode([]byte(stream[:strings.Index(stream, "datum")]))
	if err != nil || len(objs) != 2 {
		t.Errorf("Decode() = %d objects, %v; want 2 and the comment-only document skipped", len(objs), err)
	}
}
