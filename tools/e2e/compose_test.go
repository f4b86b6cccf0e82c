//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

type composeFile struct {
	Services map[string]struct {
		Entrypoint []string `yaml:"entrypoint"`
		Command    []string `yaml:"command"`
		Volumes    []string `yaml:"volumes"`
	} `yaml:"services"`
}

// TestComposeMatchesStack checks what docker compose would use without a Docker engine: every
// mounted file exists, Prometheus and Alertmanager mount the very configs the stack runner
// renders, and every flag given to our binaries exists in their --help.
func TestComposeMatchesStack(t *testing.T) {
	root, err := repofile.FindRootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "deploy", "local")
	b, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	mounts := map[string]bool{}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			if !strings.HasPrefix(src, ".") {
				continue // a named volume
			}
			if _, err := os.Stat(filepath.Join(dir, src)); err != nil {
				t.Errorf("%s mounts %s: %v", name, src, err)
			}
			mounts[name+" "+filepath.Clean(filepath.Join("deploy/local", src))] = true
		}
	}
	for _, want := range []string{"prometheus " + stack.PrometheusConfig, "alertmanager " + stack.AlertmanagerConfig, "grafana dashboards", "grafana deploy/local/grafana/provisioning"} {
		if !mounts[want] {
			t.Errorf("compose does not mount %s", want)
		}
	}

	bins, err := stack.Build(context.Background(), root, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	flag := regexp.MustCompile(`^--([a-z0-9.-]+)`)
	for svc, bin := range map[string]string{"exporter": bins.Exporter, "bridge": bins.Bridge} {
		help, err := exec.Command(bin, "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --help: %v\n%s", bin, err, help)
		}
		for _, arg := range c.Services[svc].Command {
			m := flag.FindStringSubmatch(arg)
			if m == nil {
				t.Errorf("%s: %q is not a flag", svc, arg)
				continue
			}
			if !strings.Contains(string(help), "--"+m[1]) {
				t.Errorf("%s: flag --%s is not in %s --help", svc, m[1], filepath.Base(bin))
			}
		}
	}
}
