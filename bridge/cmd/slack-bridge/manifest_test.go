package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// deployedContainer is an entry of deploy/rendered/containers.json, which the tools module
// writes from the rendered overlays and keeps fresh (ConfigMap references already resolved).
type deployedContainer struct {
	Overlay, Deployment, Binary string
	Args                        []string
	Env                         map[string]string
}

// runtimeEnv are variables the Go runtime reads, not a flag.
var runtimeEnv = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true, "GODEBUG": true}

// TestDeployManifestsParse parses the args and env every deployed container of slack-bridge gets with
// the real CLI, so a renamed or removed flag fails here, not in a rollout.
func TestDeployManifestsParse(t *testing.T) {
	data, err := os.ReadFile("../../../deploy/rendered/containers.json")
	if err != nil {
		t.Fatal(err)
	}
	var all []deployedContainer
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, c := range all {
		if c.Binary != "slack-bridge" {
			continue
		}
		found++
		t.Run(c.Overlay, func(t *testing.T) {
			if err := parseDeployed(t, c.Args, c.Env); err != nil {
				t.Error(err)
			}
		})
	}
	if found == 0 {
		t.Fatal("no deployed container runs slack-bridge")
	}
}

// parseDeployed parses args with env set through main's CLI struct and kong options, and reports
// unknown flags, bad values and env vars that no flag reads.
func parseDeployed(t *testing.T, args []string, env map[string]string) error {
	t.Helper()
	var cli CLI
	parser, err := kong.New(&cli, append(kongOptions(),
		kong.Exit(func(int) { t.Fatal("the CLI tried to exit") }), kong.Writers(io.Discard, io.Discard))...)
	if err != nil {
		return err
	}
	read := map[string]bool{}
	for _, group := range parser.Model.AllFlags(false) {
		for _, f := range group {
			for _, e := range f.Envs {
				read[e] = true
			}
		}
	}
	var errs []error
	for name, value := range env {
		if !read[name] && !runtimeEnv[name] {
			errs = append(errs, fmt.Errorf("env %s: no flag reads it", name))
		}
		t.Setenv(name, value)
	}
	if _, err := parser.Parse(args); err != nil {
		errs = append(errs, fmt.Errorf("args %q: %w", args, err))
	}
	return errors.Join(errs...)
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
			err := parseDeployed(t, tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseDeployed() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
