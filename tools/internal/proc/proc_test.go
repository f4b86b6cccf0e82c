package proc

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Stopping a process stops its whole group: a grandchild that ignores SIGTERM is killed too.
func TestStopKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "grandchild.pid")
	p, err := Start(Config{Name: "sh", Bin: "/bin/sh", Args: []string{"-c", `sh -c 'trap "" TERM; sleep 60' & echo $! > ` + pidFile + `; wait`}, LogPath: filepath.Join(dir, "sh.log")})
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(5 * time.Second); pid == 0; {
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) != "" {
			pid = atoi(t, strings.TrimSpace(string(b)))
		} else if time.Now().After(deadline) {
			t.Fatal("grandchild did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Stop(200 * time.Millisecond)
	if !p.Exited() {
		t.Fatal("leader still running")
	}
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(pid, 0) == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d survived stop", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a pid: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func TestWaitReady(t *testing.T) {
	dir := t.TempDir()
	ready := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ready {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			ready = true
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	p, err := Start(Config{Name: "sleep", Bin: "/bin/sleep", Args: []string{"30"}, LogPath: filepath.Join(dir, "sleep.log")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(time.Second)
	if err := p.WaitReady(context.Background(), srv.URL, 5*time.Second); err != nil {
		t.Fatalf("ready after one 503: %v", err)
	}

	// A process that exits before it is ready is reported with its log.
	q, err := Start(Config{Name: "false", Bin: "/bin/sh", Args: []string{"-c", "echo boom >&2; exit 3"}, LogPath: filepath.Join(dir, "false.log")})
	if err != nil {
		t.Fatal(err)
	}
	closed, err := FreePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	err = q.WaitReady(context.Background(), "http://127.0.0.1:"+strconv.Itoa(closed)+"/", 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err %v", err)
	}
}

func TestFreePort(t *testing.T) {
	p, err := FreePort()
	if err != nil || p <= 0 || p > 65535 {
		t.Fatalf("port %d, err %v", p, err)
	}
	if !PortFree(p) {
		t.Fatalf("port %d from freePort is not free", p)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if PortFree(p) {
		t.Fatalf("port %d reported free while listened on", p)
	}
}

// TestFreePortsAvoidTheEphemeralRange: the ports are below the kernel's ephemeral range (no
// outgoing connection can take one before its process binds it) and never handed out twice.
func TestFreePortsAvoidTheEphemeralRange(t *testing.T) {
	_, high := portsBelowEphemeral()
	ports, err := FreePorts(50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p >= high {
			t.Errorf("port %d is in the ephemeral range (from %d)", p, high)
		}
		if seen[p] {
			t.Errorf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	more, err := FreePorts(50)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range more {
		if seen[p] {
			t.Errorf("port %d handed out again by a later call", p)
		}
	}
}
