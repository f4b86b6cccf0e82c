// Package clitest checks the command lines the deploy manifests give a binary against that
// binary's real kong CLI, so a renamed or removed flag fails a unit test, not a rollout. Both
// binaries' tests use it (the bridge imports it); deploy/rendered/containers.json, written by the
// tools module from the rendered overlays, lists every deployed container's args and env.
package clitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/alecthomas/kong"
)

// Container is an entry of deploy/rendered/containers.json (ConfigMap references resolved).
type Container struct {
	Overlay, Deployment, Binary string
	Args                        []string
	Env                         map[string]string
}

// runtimeEnv are variables the Go runtime reads, not a flag.
var runtimeEnv = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true, "GODEBUG": true}

// NewParser builds a parser over a fresh CLI struct with the binary's own kong options plus opts.
type NewParser func(opts ...kong.Option) (*kong.Kong, error)

// CheckDeployed parses every container of binary listed in the containers file, one subtest per
// overlay, and fails when none runs binary.
func CheckDeployed(t *testing.T, containersFile, binary string, newParser NewParser) {
	t.Helper()
	data, err := os.ReadFile(containersFile)
	if err != nil {
		t.Fatal(err)
	}
	var all []Container
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, c := range all {
		if c.Binary != binary {
			continue
		}
		found++
		t.Run(c.Overlay, func(t *testing.T) {
			if err := Parse(t, newParser, c.Args, c.Env); err != nil {
				t.Error(err)
			}
		})
	}
	if found == 0 {
		t.Fatalf("no deployed container runs %s", binary)
	}
}

// Parse parses args with env set (t.Setenv) and reports unknown flags, bad values and env vars
// that no flag reads.
func Parse(t *testing.T, newParser NewParser, args []string, env map[string]string) error {
	t.Helper()
	parser, err := newParser(kong.Exit(func(int) { t.Fatal("the CLI tried to exit") }), kong.Writers(io.Discard, io.Discard))
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
