// Package proc runs the local test stacks' processes: each in its own process group (stopped as
// a whole, never orphaned), its output in a log file, readiness polled with a deadline, and free
// loopback ports picked at run time.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config says how to start one process.
type Config struct {
	Name string   // for errors
	Bin  string   // program path
	Args []string // arguments
	// Env is added to this process's environment (later entries win).
	Env []string
	// Dir is the working directory; empty: this process's.
	Dir string
	// LogPath receives stdout and stderr; StdoutPath, when set, receives stdout instead (the
	// bridge's console output is the demo's Slack).
	LogPath, StdoutPath string
}

// Proc is one started process.
type Proc struct {
	Name    string
	LogPath string
	config  Config
	cmd     *exec.Cmd
	done    chan struct{}
	err     error // set before done closes
}

// Start starts the process. The child gets its own process group (stopped as a whole) and
// SIGTERM if this process dies first (no orphans after a kill -9 of the demo).
func Start(c Config) (*Proc, error) {
	return start(c, os.O_TRUNC)
}

// Restart starts a stopped process again with the same Config, appending to its log.
func (p *Proc) Restart() (*Proc, error) {
	if !p.Exited() {
		return nil, fmt.Errorf("restart %s: still running", p.Name)
	}
	return start(p.config, os.O_APPEND)
}

func start(c Config, logMode int) (*Proc, error) {
	logf, err := os.OpenFile(c.LogPath, os.O_CREATE|os.O_WRONLY|logMode, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log file: %w", c.Name, err)
	}
	cmd := exec.Command(c.Bin, c.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	if c.StdoutPath != "" {
		outf, err := os.OpenFile(c.StdoutPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			logf.Close()
			return nil, fmt.Errorf("%s: stdout file: %w", c.Name, err)
		}
		defer outf.Close() // the child has its own descriptor once started
		cmd.Stdout = outf
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	p := &Proc{Name: c.Name, config: c, cmd: cmd, LogPath: c.LogPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, waits up to grace, then SIGKILLs the group.
func (p *Proc) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Children that ignored SIGTERM and outlived the leader.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// LogTail returns the last lines of the process's log, for error messages.
func (p *Proc) LogTail(lines int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// WaitReady polls url until it answers 200, the process exits, or timeout passes.
func (p *Proc) WaitReady(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	return p.WaitFor(ctx, url, timeout, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		_, _ = body.ReadFrom(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%d %s", resp.StatusCode, strings.TrimSpace(body.String()))
		}
		return nil
	})
}

// WaitFor polls check every 100ms until it returns nil, the process exits, or timeout passes;
// what names the awaited state in errors.
func (p *Proc) WaitFor(ctx context.Context, what string, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v); its log %s ends:\n%s", p.Name, p.err, p.LogPath, p.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s after %s (last answer: %v); its log %s ends:\n%s", p.Name, what, timeout, last, p.LogPath, p.LogTail(20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FreePort returns a loopback port that is free now and that nothing else is likely to take
// before the process it is meant for binds it. A port the kernel hands out for 127.0.0.1:0 is
// from its ephemeral range, the same range it takes the local ports of outgoing connections from:
// a stack whose first processes already dial each other can have one of those connections take
// the port between this probe and the last process's bind ("address already in use", seen in
// make test). So the port is drawn at random below the ephemeral range, where the kernel never
// assigns one by itself, and never handed out twice by this process.
func FreePort() (int, error) {
	low, high := portsBelowEphemeral()
	for range 200 {
		p := low + rand.IntN(high-low)
		if !claimPort(p) {
			continue
		}
		if PortFree(p) {
			return p, nil
		}
	}
	// Nothing free below the ephemeral range (a crowded machine): let the kernel choose.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("not a TCP address")
	}
	claimPort(addr.Port)
	return addr.Port, nil
}

var (
	claimedMu sync.Mutex
	claimed   = map[int]bool{}
)

// claimPort records p as handed out; false if it was already.
func claimPort(p int) bool {
	claimedMu.Lock()
	defer claimedMu.Unlock()
	if claimed[p] {
		return false
	}
	claimed[p] = true
	return true
}

// portsBelowEphemeral is the range [low, high) FreePort draws from: from 10000 up to the start
// of the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768 by default on Linux).
func portsBelowEphemeral() (low, high int) {
	low, high = 10000, 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if start, err := strconv.Atoi(f[0]); err == nil {
				high = start
			}
		}
	}
	if high-low < 1000 { // an unusual range: the low ports below it, or the kernel's choice
		low = 1024
	}
	if high <= low {
		high = low + 1 // rand.IntN needs a positive span; the loop then falls back to the kernel
	}
	return low, high
}

// FreePorts returns n distinct free loopback ports.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for len(ports) < n {
		p, err := FreePort()
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

// PortFree reports whether a loopback port can be bound right now.
func PortFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// Run runs a command to completion; its error carries the command line and output.
func Run(cmd *exec.Cmd) error {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}

// Kill sends SIGKILL to the process group and waits for the end: a crash, no drain.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Pid is the process's ID (its process group's too), for /proc readings.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }
