// Until this package's main (the CLI struct) is merged, the build tag keeps this file out of
// builds; remove the constraint on merge.
//go:build deploymanifest

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"go.yaml.in/yaml/v3"
)

// binary is this command's name, the base name of the container command that runs it.
const binary = "slack-bridge"

// runtimeEnv are variables the Go runtime reads, not a flag.
var runtimeEnv = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true, "GODEBUG": true}

// manifestObject is the part of a rendered Kubernetes object this test reads.
type manifestObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Template struct {
			Spec struct {
				Containers []manifestContainer `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type manifestContainer struct {
	Name    string   `yaml:"name"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string  `yaml:"name"`
		Value     *string `yaml:"value"`
		ValueFrom *struct {
			ConfigMapKeyRef *struct{ Name, Key string } `yaml:"configMapKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
}

// TestDeployManifestsParse parses the args and env that every rendered overlay
// (deploy/rendered, kept fresh by the tools module's deploy check) gives this
// binary with the real CLI, so a renamed or removed flag fails here, not in a
// rollout.
func TestDeployManifestsParse(t *testing.T) {
	files, err := filepath.Glob("../../../deploy/rendered/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no rendered manifests (%v)", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			containers, configMaps := readManifest(t, file)
			var found int
			for _, c := range containers {
				if len(c.Command) == 0 || path.Base(c.Command[0]) != binary {
					continue
				}
				found++
				env := map[string]string{}
				for _, e := range c.Env {
					switch {
					case e.Value != nil:
						env[e.Name] = *e.Value
					case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
						ref := e.ValueFrom.ConfigMapKeyRef
						v, ok := configMaps[ref.Name][ref.Key]
						if !ok {
							t.Fatalf("env %s: ConfigMap %s has no key %s", e.Name, ref.Name, ref.Key)
						}
						env[e.Name] = v
					default:
						t.Fatalf("env %s: only literal values and ConfigMap keys are expected", e.Name)
					}
				}
				if err := parseDeployed(t, c.Args, env); err != nil {
					t.Errorf("container %s: %v", c.Name, err)
				}
			}
			if found == 0 {
				t.Fatalf("no container runs %s", binary)
			}
		})
	}
}

// parseDeployed parses args with env set through main's CLI struct and kong
// options, and reports unknown flags, bad values and env vars no flag reads.
func parseDeployed(t *testing.T, args []string, env map[string]string) error {
	t.Helper()
	var cli CLI
	parser, err := kong.New(&cli, kong.Name(binary), kong.Vars{"version": "test"},
		kong.Exit(func(int) { t.Fatal("the CLI tried to exit") }), kong.Writers(io.Discard, io.Discard))
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

func readManifest(t *testing.T, file string) ([]manifestContainer, map[string]map[string]string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var containers []manifestContainer
	configMaps := map[string]map[string]string{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var o manifestObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		switch {
		case o.Kind == "ConfigMap":
			configMaps[o.Metadata.Name] = o.Data
		case o.Kind == "Deployment":
			containers = append(containers, o.Spec.Template.Spec.Containers...)
		}
	}
	return containers, configMaps
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
