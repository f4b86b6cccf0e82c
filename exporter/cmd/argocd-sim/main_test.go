package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBinaryExitsWhenPortIsTaken: the simulator, too, says which flag is
// wrong in one line and exits non-zero instead of serving nothing (the
// bound is generous; the exit is immediate).
func TestBinaryExitsWhenPortIsTaken(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "argocd-sim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--web.listen-address="+taken.Addr().String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if ctx.Err() != nil || !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("exit: %v (ctx %v); stderr:\n%s", err, ctx.Err(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "--web.listen-address") {
		t.Errorf("stderr should be one line naming --web.listen-address, got:\n%s", stderr.String())
	}
}
