package main

import (
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/argocd-monitor/argocd-monitor/exporter/clitest"
)

func newParser(opts ...kong.Option) (*kong.Kong, error) {
	var cli CLI
	return kong.New(&cli, append(kongOptions(), opts...)...)
}

// TestDeployManifestsParse parses the args and env every deployed container of argocd-exporter gets with
// the real CLI, so a renamed or removed flag fails here, not in a rollout.
func TestDeployManifestsParse(t *testing.T) {
	clitest.CheckDeployed(t, "../../../deploy/rendered/containers.json", "argocd-exporter", newParser)
}

func TestParseDeployedRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"--argocd.url=https://argocd"}, map[string]string{"ARGOCD_API": "https://argocd"}, "unknown flag --argocd.url"},
		{"env no flag reads", nil, map[string]string{"ARGOCD_API": "https://argocd", "ARGOCD_SERVER": "argocd"}, "env ARGOCD_SERVER: no flag reads it"},
		{"bad value", []string{"--argocd.poll-interval=often"}, map[string]string{"ARGOCD_API": "https://argocd"}, "--argocd.poll-interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := clitest.Parse(t, newParser, tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
