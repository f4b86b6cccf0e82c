package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesDashboardsAndConfigMaps(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "p.yaml"), []byte("argocdURL: https://cd.internal.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-root", root, "-params", "p.yaml", "-out-dir", "dash", "-out-configmaps", "deploy/cm.yaml"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"argocd-monitor-overview.json", "argocd-monitor-app.json"} {
		b, err := os.ReadFile(filepath.Join(root, "dash", name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(string(b), "https://cd.internal.example") {
			t.Errorf("%s does not carry the Argo CD URL from the params file", name)
		}
	}
	cm, err := os.ReadFile(filepath.Join(root, "deploy", "cm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(cm), "kind: ConfigMap") != 2 || !strings.Contains(string(cm), `grafana_dashboard: "1"`) {
		t.Errorf("ConfigMaps:\n%.400s", cm)
	}
}

func TestRunErrors(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no output", []string{"-root", root}, "-out-dir is required"},
		{"missing params", []string{"-root", root, "-params", "missing.yaml", "-out-dir", "d"}, "missing.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := run(tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(root, "d")); err == nil {
				t.Error("wrote output despite the error")
			}
		})
	}
}
