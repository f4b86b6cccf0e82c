package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
)

// The stand-ins for the Dockerfile's base images (its build arguments GOLANG_IMAGE and
// RUNTIME_IMAGE), built locally because the registries of golang:1.26 and
// gcr.io/distroless/static-debian12:nonroot cannot be reached here.
const (
	// GolangStandIn: this machine's Go toolchain (go env GOROOT, without its tests and the
	// toolchain's own sources) and CA bundle, with bash and coreutils from Debian, for scripts/build.sh;
	// GOPATH=/go and root's HOME as in golang:1.26, so the Dockerfile's cache mounts land where
	// they do there.
	GolangStandIn = "localhost/argocd-monitor-standin-golang"
	// RuntimeStandIn: what distroless static-debian12:nonroot holds: the CA bundle and tzdata
	// from Debian, /etc/passwd and /etc/group with root, nobody and nonroot (65532), /tmp,
	// /home/nonroot; user 65532:65532; no shell, no libc, no package manager.
	RuntimeStandIn = "localhost/argocd-monitor-standin-static:nonroot"
)

// keyLabel carries what a stand-in was built from; a stand-in is rebuilt when it changes.
const keyLabel = "io.argocd-monitor.standin-key"

// standInFormat changes whenever the recipes below change, so existing stand-ins are rebuilt.
const standInFormat = "3"

// golangDebs run scripts/build.sh: bash (also /bin/sh), coreutils (env, dirname, mkdir, date) and
// their libraries.
var golangDebs = []string{"bash", "libtinfo6", "libc6", "libgcc-s1", "coreutils", "libacl1", "libattr1", "libgmp10", "libselinux1", "libpcre2-8-0"}

// runtimeDebs are unpacked for their data only: the Mozilla CA certificates and the zone files.
var runtimeDebs = []string{"ca-certificates", "tzdata"}

// StandIns names the two images BuildStandIns made, for the Dockerfile's build arguments.
type StandIns struct{ Golang, Runtime string }

// BuildStandIns builds the stand-in images unless images built from the same inputs exist.
func (p Podman) BuildStandIns(ctx context.Context, root string, log io.Writer) (StandIns, error) {
	goVersion, err := goEnv(ctx, "GOVERSION")
	if err != nil {
		return StandIns{}, err
	}
	goroot, err := goEnv(ctx, "GOROOT")
	if err != nil {
		return StandIns{}, err
	}
	debian, _ := os.ReadFile("/etc/debian_version")
	s := StandIns{Golang: GolangStandIn + ":" + strings.TrimPrefix(goVersion, "go"), Runtime: RuntimeStandIn}
	work := filepath.Join(root, CacheDir, "standins")
	for _, img := range []struct {
		name, key string
		make      func(ctx context.Context, ctxDir, debs string) (string, error)
	}{
		{s.Golang, strings.Join([]string{standInFormat, goVersion, goroot, strings.TrimSpace(string(debian))}, " "),
			func(ctx context.Context, ctxDir, debs string) (string, error) {
				return golangRootfs(ctx, ctxDir, debs, goroot)
			}},
		{s.Runtime, strings.Join([]string{standInFormat, strings.TrimSpace(string(debian))}, " "), runtimeRootfs},
	} {
		if p.Label(ctx, img.name, keyLabel) == img.key {
			continue
		}
		fmt.Fprintf(log, "building the stand-in %s\n", img.name)
		// Every package both stand-ins need, in one download.
		if err := fetchDebs(ctx, filepath.Join(work, "debs"), append(slices.Clone(golangDebs), runtimeDebs...)); err != nil {
			return StandIns{}, err
		}
		ctxDir := filepath.Join(work, "context")
		if err := os.RemoveAll(ctxDir); err != nil {
			return StandIns{}, err
		}
		if err := os.MkdirAll(filepath.Join(ctxDir, "rootfs"), 0o755); err != nil {
			return StandIns{}, err
		}
		containerfile, err := img.make(ctx, ctxDir, filepath.Join(work, "debs"))
		if err != nil {
			return StandIns{}, fmt.Errorf("stand-in %s: %w", img.name, err)
		}
		containerfile += fmt.Sprintf("LABEL %s=%q\n", keyLabel, img.key)
		if err := os.WriteFile(filepath.Join(ctxDir, "Containerfile"), []byte(containerfile), 0o644); err != nil {
			return StandIns{}, err
		}
		if _, err := p.Run(ctx, "build", "--network", "none", "--layers=false", "-f", filepath.Join(ctxDir, "Containerfile"), "-t", img.name, ctxDir); err != nil {
			return StandIns{}, err
		}
		if err := os.RemoveAll(ctxDir); err != nil {
			return StandIns{}, err
		}
	}
	return s, nil
}

// golangRootfs lays out the Go stand-in's root file system under ctxDir/rootfs.
func golangRootfs(ctx context.Context, ctxDir, debs, goroot string) (string, error) {
	rootfs := filepath.Join(ctxDir, "rootfs")
	if err := unpackDebs(ctx, debs, rootfs, golangDebs); err != nil {
		return "", err
	}
	// The build machine's trust store, not Debian's alone: `go mod download` goes through this
	// network's proxies, whose CA (a TLS-inspecting egress proxy here) the machine trusts.
	bundle, err := hostCABundle()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(rootfs, "usr/local"), 0o755); err != nil {
		return "", err
	}
	// cp -a keeps the toolchain's modes and links; the tests and the toolchain's own sources
	// (src/cmd: the go command and the compilers are prebuilt in pkg/tool) are not needed to build.
	if err := proc.Run(exec.CommandContext(ctx, "cp", "-a", goroot, filepath.Join(rootfs, "usr/local/go"))); err != nil {
		return "", err
	}
	for _, rm := range []string{"test", "src/cmd", "api", "doc", "misc"} {
		if err := os.RemoveAll(filepath.Join(rootfs, "usr/local/go", rm)); err != nil {
			return "", err
		}
	}
	files := map[string]string{
		"etc/passwd":                        "root:x:0:0:root:/root:/bin/bash\n",
		"etc/group":                         "root:x:0:\n",
		"etc/nsswitch.conf":                 "hosts: files dns\n",
		"etc/ssl/certs/ca-certificates.crt": bundle,
	}
	if err := writeFiles(rootfs, files); err != nil {
		return "", err
	}
	if err := os.Symlink("bash", filepath.Join(rootfs, "bin/sh")); err != nil {
		return "", err
	}
	if err := makeDirs(rootfs, "tmp", "root", "go"); err != nil {
		return "", err
	}
	return "FROM scratch\nCOPY rootfs/ /\n" +
		"ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GOPATH=/go GOTOOLCHAIN=local\n" +
		"WORKDIR /go\n", nil
}

// runtimeRootfs lays out the distroless stand-in's root file system under ctxDir.
func runtimeRootfs(ctx context.Context, ctxDir, debs string) (string, error) {
	rootfs := filepath.Join(ctxDir, "rootfs")
	bundle, err := caBundle(ctx, debs)
	if err != nil {
		return "", err
	}
	zone := filepath.Join(ctxDir, "tzdata")
	if err := unpackDebs(ctx, debs, zone, []string{"tzdata"}); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(rootfs, "usr/share"), 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(zone, "usr/share/zoneinfo"), filepath.Join(rootfs, "usr/share/zoneinfo")); err != nil {
		return "", err
	}
	files := map[string]string{
		"etc/passwd":                        "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
		"etc/group":                         "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n",
		"etc/nsswitch.conf":                 "hosts: files dns\n",
		"etc/ssl/certs/ca-certificates.crt": bundle,
	}
	if err := writeFiles(rootfs, files); err != nil {
		return "", err
	}
	if err := makeDirs(rootfs, "tmp"); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(ctxDir, "home", "nonroot"), 0o700); err != nil {
		return "", err
	}
	return "FROM scratch\nCOPY rootfs/ /\nCOPY --chown=65532:65532 home/ /home/\n" +
		"USER 65532:65532\nWORKDIR /home/nonroot\n", nil
}

// makeDirs creates directories under rootfs; tmp gets mode 1777 as on every Linux system.
func makeDirs(rootfs string, dirs ...string) error {
	for _, d := range dirs {
		path := filepath.Join(rootfs, d)
		if err := os.MkdirAll(path, 0o755); err != nil {
			return err
		}
		if d == "tmp" {
			if err := os.Chmod(path, 0o1777); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeFiles(rootfs string, files map[string]string) error {
	for name, content := range files {
		path := filepath.Join(rootfs, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostCABundle reads this machine's CA bundle (SSL_CERT_FILE, default Debian's
// /etc/ssl/certs/ca-certificates.crt).
func hostCABundle() (string, error) {
	path := os.Getenv("SSL_CERT_FILE")
	if path == "" {
		path = "/etc/ssl/certs/ca-certificates.crt"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("the machine's CA bundle (install Debian's ca-certificates): %w", err)
	}
	return string(b), nil
}

// caBundle concatenates the Mozilla certificates of Debian's ca-certificates package, as its
// update-ca-certificates does for /etc/ssl/certs/ca-certificates.crt.
func caBundle(ctx context.Context, debs string) (string, error) {
	dir, err := os.MkdirTemp("", "ca-certificates-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := unpackDebs(ctx, debs, dir, []string{"ca-certificates"}); err != nil {
		return "", err
	}
	certs, err := filepath.Glob(filepath.Join(dir, "usr/share/ca-certificates/mozilla/*.crt"))
	if err != nil || len(certs) == 0 {
		return "", fmt.Errorf("no certificates in Debian's ca-certificates package (%v)", err)
	}
	slices.Sort(certs)
	var b strings.Builder
	for _, c := range certs {
		data, err := os.ReadFile(c)
		if err != nil {
			return "", err
		}
		b.Write(data)
		if !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String(), nil
}

// fetchDebs downloads the Debian packages not yet in debs, with one apt-get download.
func fetchDebs(ctx context.Context, debs string, pkgs []string) error {
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return err
	}
	var missing []string
	for _, pkg := range pkgs {
		if debFile(debs, pkg) == "" {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return aptDownload(ctx, debs, missing)
}

func debFile(debs, pkg string) string {
	files, _ := filepath.Glob(filepath.Join(debs, pkg+"_*.deb"))
	if len(files) == 0 {
		return ""
	}
	return files[len(files)-1]
}

// unpackDebs unpacks the packages' files into dir (dpkg-deb -x: no maintainer scripts run),
// downloading those not in debs yet.
func unpackDebs(ctx context.Context, debs, dir string, pkgs []string) error {
	if err := fetchDebs(ctx, debs, pkgs); err != nil {
		return err
	}
	for _, pkg := range pkgs {
		deb := debFile(debs, pkg)
		if deb == "" {
			return fmt.Errorf("apt-get download %s left no .deb in %s", pkg, debs)
		}
		if err := proc.Run(exec.CommandContext(ctx, "dpkg-deb", "-x", deb, dir)); err != nil {
			return err
		}
	}
	return nil
}

// aptDownload fetches packages; with no package lists yet (a fresh machine), it runs apt-get
// update once and tries again.
func aptDownload(ctx context.Context, dir string, pkgs []string) error {
	download := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", append([]string{"download", "-o", "APT::Sandbox::User=root"}, pkgs...)...)
		cmd.Dir = dir
		return proc.Run(cmd)
	}
	if err := download(); err == nil {
		return nil
	}
	if err := proc.Run(exec.CommandContext(ctx, "apt-get", "update")); err != nil {
		return err
	}
	return download()
}

func goEnv(ctx context.Context, name string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", name).Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}
