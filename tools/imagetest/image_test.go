//go:build image

package imagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/image"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
)

// maxImageBytes bounds the image: two static binaries on a few MB of base. A build stage that
// leaks into the final image (a toolchain, a module cache) is hundreds of MB.
const maxImageBytes = 150 << 20

var env struct {
	root   string
	podman image.Podman
	// inspect is `podman image inspect` of image.Tag.
	inspect imageInfo
}

// imageInfo is the part of `podman image inspect` the tests read.
type imageInfo struct {
	Size   int64 `json:"Size"`
	Config struct {
		User         string              `json:"User"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Labels       map[string]string   `json:"Labels"`
	} `json:"Config"`
}

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "imagetest:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, err := repofile.FindRootFromWD()
	if err != nil {
		return err
	}
	env.root = root
	if env.podman, err = image.Setup(ctx, root, os.Stderr); err != nil {
		return err
	}
	out, err := env.podman.Run(ctx, "image", "inspect", image.Tag)
	if err != nil {
		return fmt.Errorf("%w\nno image %s: run `make image` first", err, image.Tag)
	}
	var infos []imageInfo
	if err := json.Unmarshal(out, &infos); err != nil || len(infos) != 1 {
		return fmt.Errorf("podman image inspect %s: %v (%d images)", image.Tag, err, len(infos))
	}
	env.inspect = infos[0]
	return nil
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestImageConfig: the user the manifests require, the exporter as entrypoint, the ports, the
// OCI labels of this checkout, the size (stated in docs/image.md).
func TestImageConfig(t *testing.T) {
	c := env.inspect.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (runAsUser in the manifests)", c.User)
	}
	if len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/usr/local/bin/argocd-exporter" {
		t.Errorf("entrypoint %q, want [/usr/local/bin/argocd-exporter]", c.Entrypoint)
	}
	for _, p := range []string{"9797/tcp", "9798/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("port %s not exposed (%v)", p, c.ExposedPorts)
		}
	}
	stamp := image.StampOf(ctxFor(t, time.Minute), env.root)
	want := map[string]string{
		"org.opencontainers.image.title":    "argocd-monitor",
		"org.opencontainers.image.source":   "https://github.com/argocd-monitor/argocd-monitor",
		"org.opencontainers.image.licenses": "MIT",
		"org.opencontainers.image.revision": stamp.Revision,
	}
	for k, v := range want {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	for _, k := range []string{"org.opencontainers.image.description", "org.opencontainers.image.version", "org.opencontainers.image.created"} {
		if c.Labels[k] == "" || c.Labels[k] == "unknown" {
			t.Errorf("label %s = %q, want a value", k, c.Labels[k])
		}
	}
	if _, err := time.Parse(time.RFC3339, c.Labels["org.opencontainers.image.created"]); err != nil {
		t.Errorf("label created: %v", err)
	}
	t.Logf("image %s: %.1f MiB", image.Tag, float64(env.inspect.Size)/(1<<20))
	if env.inspect.Size <= 0 || env.inspect.Size > maxImageBytes {
		t.Errorf("image size %d bytes, want at most %d", env.inspect.Size, maxImageBytes)
	}
}

// TestVersion: both binaries print the version stamped into the image's labels.
func TestVersion(t *testing.T) {
	version := env.inspect.Config.Labels["org.opencontainers.image.version"]
	revision := env.inspect.Config.Labels["org.opencontainers.image.revision"]
	for _, entrypoint := range []string{"", "/usr/local/bin/slack-bridge"} {
		args := []string{"run", "--rm", "--network", "none"}
		if entrypoint != "" {
			args = append(args, "--entrypoint", entrypoint)
		}
		out, err := env.podman.Run(ctxFor(t, 2*time.Minute), append(args, image.Tag, "--version")...)
		if err != nil {
			t.Fatal(err)
		}
		// prometheus/common/version: "<program>, version <v> (branch: <b>, revision: <r>)".
		text := string(out)
		if !strings.Contains(text, "version "+version+" ") || !strings.Contains(text, "revision: "+revision) {
			t.Errorf("%s --version: %q, want version %s revision %s", orDefault(entrypoint), text, version, revision)
		}
	}
}

// TestNoShell: the runtime image has no shell, as distroless (the manifests never need one).
func TestNoShell(t *testing.T) {
	for _, sh := range []string{"/bin/sh", "/bin/bash", "/busybox/sh"} {
		if _, err := env.podman.Run(ctxFor(t, time.Minute), "run", "--rm", "--network", "none", "--entrypoint", sh, image.Tag, "-c", "true"); err == nil {
			t.Errorf("%s runs in the image", sh)
		}
	}
}

// TestCACertificates: the exporter verifies Argo CD over TLS with the system roots by default.
func TestCACertificates(t *testing.T) {
	ctx := ctxFor(t, time.Minute)
	name := containerName(t, "files")
	if _, err := env.podman.Run(ctx, "create", "--name", name, image.Tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = env.podman.Run(context.Background(), "rm", "--force", name) })
	dir := t.TempDir()
	for _, f := range []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/passwd"} {
		dst := filepath.Join(dir, filepath.Base(f))
		if _, err := env.podman.Run(ctx, "cp", name+":"+f, dst); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		switch filepath.Base(f) {
		case "ca-certificates.crt":
			if n := strings.Count(string(b), "BEGIN CERTIFICATE"); n < 100 {
				t.Errorf("%s holds %d certificates", f, n)
			}
		case "passwd":
			if !regexp.MustCompile(`(?m)^nonroot:x:65532:65532:`).Match(b) {
				t.Errorf("%s has no nonroot 65532: %q", f, b)
			}
		}
	}
}

// TestExporterServesApps runs the image's entrypoint as the image's user with a read-only root
// file system and no capabilities, as the Deployment does, against the Argo CD simulator.
func TestExporterServesApps(t *testing.T) {
	ctx := ctxFor(t, 5*time.Minute)
	sim, tokenFile := startSim(t, ctx)
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	name := containerName(t, "exporter")
	args := append(hardened(name),
		"--volume", filepath.Dir(tokenFile)+":/etc/argocd-monitor/argocd-token:ro",
		image.Tag,
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
		"--argocd.api="+sim+"/api/v1",
		"--argocd.token-file=/etc/argocd-monitor/argocd-token/token",
		"--log.format=json")
	if _, err := env.podman.Run(ctx, args...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, name) })
	checkUser(t, ctx, name)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	metrics := waitFor(t, ctx, name, url+"/metrics", func(body string) bool {
		return strings.Contains(body, "argocd_monitor_api_up 1") && strings.Contains(body, "argocd_monitor_app_info{")
	})
	if n := strings.Count(metrics, "argocd_monitor_app_info{"); n < 3 {
		t.Errorf("%d apps in /metrics, want the simulator's", n)
	}
	waitFor(t, ctx, name, url+"/-/ready", func(string) bool { return true })
}

// TestBridgeReady runs slack-bridge by overriding the command, as the bridge Deployment does.
func TestBridgeReady(t *testing.T) {
	ctx := ctxFor(t, 3*time.Minute)
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	name := containerName(t, "bridge")
	args := append(hardened(name), "--entrypoint", "/usr/local/bin/slack-bridge", image.Tag,
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--slack.console", "--log.format=json")
	if _, err := env.podman.Run(ctx, args...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, name) })
	checkUser(t, ctx, name)
	waitFor(t, ctx, name, fmt.Sprintf("http://127.0.0.1:%d/-/ready", port), func(string) bool { return true })
}

// hardened are the `podman run` arguments of the Deployments' security context: no --user (the
// image's own user must be 65532), a read-only root file system without podman's tmpfs mounts,
// no capabilities, no privilege escalation; host network to reach 127.0.0.1.
func hardened(name string) []string {
	return []string{"run", "--detach", "--name", name, "--network", "host",
		"--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"}
}

// checkUser reads the container's first process's uid and gid from /proc (no shell in the image).
func checkUser(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	out, err := env.podman.Run(ctx, "inspect", "--format", "{{.State.Pid}}", name)
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/" + strings.TrimSpace(string(out)) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"Uid", "Gid"} {
		m := regexp.MustCompile(`(?m)^` + field + `:\s+(\d+)\s+(\d+)`).FindSubmatch(status)
		if m == nil || string(m[1]) != "65532" || string(m[2]) != "65532" {
			t.Errorf("%s: %s %q, want 65532", name, field, m)
		}
	}
}

// startSim starts the Argo CD simulator on the host and returns its URL and a copy of its token
// readable by the container's group, as the Secret volume's defaultMode 0440 and fsGroup make it.
func startSim(t *testing.T, ctx context.Context) (string, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "argocd-sim")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./exporter/cmd/argocd-sim")
	build.Dir = env.root
	build.Env = append(os.Environ(), "GOWORK="+filepath.Join(env.root, "go.work"), "CGO_ENABLED=0")
	if err := proc.Run(build); err != nil {
		t.Fatal(err)
	}
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	simToken := filepath.Join(dir, "sim-token")
	p, err := proc.Start(proc.Config{Name: "argocd-sim", Bin: bin, LogPath: filepath.Join(dir, "sim.log"), Args: []string{
		"--web.listen-address=127.0.0.1:" + strconv.Itoa(port), "--auth.token-file=" + simToken}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(10 * time.Second) })
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := p.WaitReady(ctx, url+"/api/version", time.Minute); err != nil {
		t.Fatal(err)
	}
	token, err := os.ReadFile(simToken)
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret")
	if err := os.Mkdir(secret, 0o755); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(secret, "token")
	if err := os.WriteFile(tokenFile, token, 0o440); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tokenFile, 0, 65532); err != nil {
		t.Fatal(err)
	}
	return url, tokenFile
}

// waitFor polls url until it answers 200 with a body ok accepts; on failure it shows the
// container's log.
func waitFor(t *testing.T, ctx context.Context, name, url string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for {
		body, err := get(ctx, url)
		if err == nil && ok(body) {
			return body
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "body: " + clip(body)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			logs, _ := env.podman.Run(context.Background(), "logs", name)
			t.Fatalf("%s: not ready within 2m (%s)\ncontainer log:\n%s", url, last, logs)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

func get(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %d %s", url, resp.StatusCode, clip(string(b)))
	}
	return string(b), err
}

func stop(t *testing.T, name string) {
	if t.Failed() {
		logs, _ := env.podman.Run(context.Background(), "logs", name)
		t.Logf("container %s log:\n%s", name, logs)
	}
	if _, err := env.podman.Run(context.Background(), "rm", "--force", "--time", "10", name); err != nil {
		t.Error(err)
	}
}

func containerName(t *testing.T, what string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "argocd-monitor-test-" + what + "-" + hex.EncodeToString(b)
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

func orDefault(entrypoint string) string {
	if entrypoint == "" {
		return "entrypoint"
	}
	return entrypoint
}
