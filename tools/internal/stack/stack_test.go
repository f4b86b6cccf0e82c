package stack

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

	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
)

// The committed local configs must keep every address the runner replaces, and nothing of the
// container network may survive rendering.
func TestRenderLocalConfigs(t *testing.T) {
	root, err := repofile.FindRootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		src  string
		reps []replacement
		gone []string
	}{
		{PrometheusConfig, prometheusReplacements("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3", "/tmp/rules"),
			[]string{"exporter:", "bridge:", "alertmanager:", "/etc/"}},
		{AlertmanagerConfig, alertmanagerReplacements("http://127.0.0.1:2", "/tmp/token"),
			[]string{"bridge:", "/etc/"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.src), func(t *testing.T) {
			out := filepath.Join(dir, filepath.Base(tt.src))
			if err := render(filepath.Join(root, tt.src), out, tt.reps); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var config []string // without comments, which may name the container addresses
			for line := range strings.SplitSeq(string(b), "\n") {
				if !strings.HasPrefix(strings.TrimSpace(line), "#") {
					config = append(config, line)
				}
			}
			for _, g := range tt.gone {
				if strings.Contains(strings.Join(config, "\n"), g) {
					t.Errorf("rendered %s still mentions %q:\n%s", tt.src, g, b)
				}
			}
			for _, r := range tt.reps {
				if !strings.Contains(string(b), r.new) {
					t.Errorf("rendered %s lacks %q", tt.src, r.new)
				}
			}
		})
	}
}

func TestRenderMissingPlaceholder(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in.yml")
	if err := os.WriteFile(src, []byte("targets: ['exporter:9797']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := render(src, filepath.Join(dir, "out.yml"), []replacement{{"'bridge:9798'", "x"}})
	if err == nil || !strings.Contains(err.Error(), `"'bridge:9798'"`) {
		t.Fatalf("err %v, want one naming the missing placeholder", err)
	}
}

// Stopping a process stops its whole group: a grandchild that ignores SIGTERM is killed too.
func TestProcStopKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "grandchild.pid")
	p, err := startProc("sh", "/bin/sh", []string{"-c", `sh -c 'trap "" TERM; sleep 60' & echo $! > ` + pidFile + `; wait`}, filepath.Join(dir, "sh.log"), "")
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
	p.stop(200 * time.Millisecond)
	if !p.exited() {
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
	p, err := startProc("sleep", "/bin/sleep", []string{"30"}, filepath.Join(dir, "sleep.log"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(time.Second)
	if err := p.waitReady(context.Background(), srv.URL, 5*time.Second); err != nil {
		t.Fatalf("ready after one 503: %v", err)
	}

	// A process that exits before it is ready is reported with its log.
	q, err := startProc("false", "/bin/sh", []string{"-c", "echo boom >&2; exit 3"}, filepath.Join(dir, "false.log"), "")
	if err != nil {
		t.Fatal(err)
	}
	err = q.waitReady(context.Background(), "http://127.0.0.1:1/", 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err %v", err)
	}
}

func TestFreePort(t *testing.T) {
	p, err := freePort()
	if err != nil || p <= 0 || p > 65535 {
		t.Fatalf("port %d, err %v", p, err)
	}
	if !portFree(p) {
		t.Fatalf("port %d from freePort is not free", p)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if portFree(p) {
		t.Fatalf("port %d reported free while listened on", p)
	}
}
