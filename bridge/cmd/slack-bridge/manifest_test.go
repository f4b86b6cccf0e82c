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

// TestDeployManifestsParse parses the args and env every deployed container of slack-bridge gets with
// the real CLI, so a renamed or removed flag fails here, not in a rollout.
func TestDeployManifestsParse(t *testing.T) {
	clitest.CheckDeployed(t, "../../../deploy/rendered/containers.json", "slack-bridge", newParser)
}

func TestParseDeployedRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"--slack.webhook-file=/etc/slack"}, nil, "unknown flag --slack.webhook-file"},
		{"env no flag reads", nil, map[string]string{"ARGOCD_URL": "https://argocd", "SLACK_TOKEN": "x"}, "env SLACK_TOKEN: no flag reads it"},
		{"bad value", []string{"--slack.deadline=soon"}, nil, "--slack.deadline"},
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
