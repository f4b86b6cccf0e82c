package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// buildBinary compiles this command into a temp dir, for tests of the
// process as a user starts it.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "argocd-exporter")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinaryExitsWhenItCannotServe: a process that cannot serve says why in
// one line naming the flag and exits non-zero, instead of polling on. The
// requirement is an exit within 1 s; the test allows a minute so a loaded
// machine passes too.
func TestBinaryExitsWhenItCannotServe(t *testing.T) {
	bin := buildBinary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	for _, tc := range []struct {
		name string
		args []string
		flag string
	}{
		{"port in use", []string{"--web.listen-address=" + taken.Addr().String()}, "--web.listen-address"},
		{"web config missing", []string{"--web.listen-address=" + freePort(t), "--web.config.file=" + filepath.Join(t.TempDir(), "nonexistent.yml")}, "--web.config.file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append([]string{"--argocd.api=http://127.0.0.1:1"}, tc.args...)...)
			cmd.Env = append(os.Environ(), "ARGOCD_TOKEN="+token)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("still running after a minute; stderr:\n%s", stderr.String())
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit: %v, want non-zero; stderr:\n%s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tc.flag) {
				t.Errorf("stderr should be one line naming %s, got:\n%s", tc.flag, stderr.String())
			}
		})
	}
}
