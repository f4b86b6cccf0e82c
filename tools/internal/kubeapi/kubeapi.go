// Package kubeapi runs a real Kubernetes API server on 127.0.0.1 for tests: etcd from Debian and
// kube-apiserver built from k8s.io/kubernetes through the wrapper module tools/kube-apiserver,
// with a generated CA, an admin token and RBAC. There is no kubelet and no controller-manager:
// objects are validated and stored, never run (a Deployment stays Progressing).
package kubeapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/debpkg"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/toolbin"
)

// Version is the pinned kube-apiserver, the k8s.io/kubernetes version tools/kube-apiserver
// requires. Change both together (and regenerate that go.mod's replace lines).
const Version = "v1.36.1"

// ModuleDir is the wrapper module, relative to the repository root.
const ModuleDir = "tools/kube-apiserver"

// Build installs etcd from Debian when missing and builds kube-apiserver unless the cached one
// matches the wrapper module's pins. It returns the kube-apiserver path.
func Build(ctx context.Context, root string, log io.Writer) (string, error) {
	if err := debpkg.Ensure(ctx, log, debpkg.Need{Program: "etcd", Package: "etcd-server"}); err != nil {
		return "", err
	}
	const v = "k8s.io/component-base/version"
	// Without the stamp it reports v0.0.0-master, which clients may reject.
	ldflags := fmt.Sprintf("-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s", v, Version, v, v, minor(Version))
	return toolbin.BuildModule(ctx, root, ModuleDir, "k8s.io/kubernetes/cmd/kube-apiserver", "kube-apiserver", ldflags, log)
}

// minor returns "36" of "v1.36.1".
func minor(v string) string {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// Config says how to run the API server.
type Config struct {
	Bin  string // kube-apiserver, from Build
	Etcd string // etcd program; default "etcd" from PATH
	Work string // certificates, tokens, etcd data, logs; created
}

// Server is a running etcd and kube-apiserver.
type Server struct {
	// URL is the API server's https://127.0.0.1:PORT.
	URL string
	// Kubeconfig is a kubeconfig file for the admin (system:masters) user.
	Kubeconfig string
	// CAFile is the CA that signed the serving certificate.
	CAFile string
	// REST is the admin's client configuration.
	REST *rest.Config

	procs []*proc.Proc
}

// Names of the processes, also their log file names (<name>.log in Work).
const (
	ProcEtcd      = "etcd"
	ProcAPIServer = "kube-apiserver"
)

// Start starts etcd and kube-apiserver and waits until the API server serves requests
// (generous deadlines: a busy 2-core machine takes a while). On error it stops what it started.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Etcd == "" {
		cfg.Etcd = "etcd"
	}
	work, err := filepath.Abs(cfg.Work)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	s := &Server{}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	keys, err := writePKI(work)
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	token := randomHex(24)
	tokens := filepath.Join(work, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return nil, err
	}
	ports, err := proc.FreePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := "http://127.0.0.1:"+strconv.Itoa(ports[0]), "http://127.0.0.1:"+strconv.Itoa(ports[1]), ports[2]
	dataDir := filepath.Join(work, "etcd-data")
	if err := os.RemoveAll(dataDir); err != nil {
		return nil, err
	}
	etcd, err := s.start(proc.Config{Name: ProcEtcd, Bin: cfg.Etcd, Args: []string{
		"--name=default", "--data-dir=" + dataDir,
		"--listen-client-urls=" + etcdClient, "--advertise-client-urls=" + etcdClient,
		"--listen-peer-urls=" + etcdPeer, "--initial-advertise-peer-urls=" + etcdPeer,
		"--initial-cluster=default=" + etcdPeer,
		"--unsafe-no-fsync", // test data: nothing to keep across a crash
	}, LogPath: filepath.Join(work, ProcEtcd+".log")})
	if err != nil {
		return nil, err
	}
	if err := etcd.WaitReady(ctx, etcdClient+"/health", 60*time.Second); err != nil {
		return nil, err
	}

	s.URL = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	api, err := s.start(proc.Config{Name: ProcAPIServer, Bin: cfg.Bin, Args: []string{
		"--etcd-servers=" + etcdClient,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(apiPort),
		"--tls-cert-file=" + keys.serverCert, "--tls-private-key-file=" + keys.serverKey,
		"--client-ca-file=" + keys.caCert, "--token-auth-file=" + tokens,
		"--authorization-mode=RBAC", "--anonymous-auth=false",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + keys.saPub, "--service-account-signing-key-file=" + keys.saKey,
		"--service-cluster-ip-range=10.96.0.0/16", "--allow-privileged",
		// 127.0.0.1 is no valid endpoint address: without this it logs an error every 10s.
		"--endpoint-reconciler-type=none",
	}, LogPath: filepath.Join(work, ProcAPIServer+".log")})
	if err != nil {
		return nil, err
	}

	s.CAFile = keys.caCert
	s.REST = &rest.Config{Host: s.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAFile: keys.caCert}}
	s.Kubeconfig = filepath.Join(work, "kubeconfig")
	if err := writeKubeconfig(s.Kubeconfig, s.URL, keys.caCert, token); err != nil {
		return nil, err
	}
	client, err := rest.HTTPClientFor(s.REST)
	if err != nil {
		return nil, err
	}
	// Ready when the default namespace exists: the bootstrap controllers have run and RBAC's
	// default roles are in place.
	if err := api.WaitFor(ctx, s.URL+"/api/v1/namespaces/default", 3*time.Minute, func(ctx context.Context) error {
		return getOK(ctx, client, s.URL+"/api/v1/namespaces/default")
	}); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) start(c proc.Config) (*proc.Proc, error) {
	p, err := proc.Start(c)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	return p, nil
}

func getOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

func writeKubeconfig(path, server, caFile, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: caFile}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin"}
	cfg.CurrentContext = "local"
	return clientcmd.WriteToFile(*cfg, path)
}

// Exited returns the name of a process that has ended, or "" while all run.
func (s *Server) Exited() string {
	for _, p := range s.procs {
		if p.Exited() {
			return p.Name
		}
	}
	return ""
}

// RestartAPIServer stops kube-apiserver (etcd keeps running and keeps the data), waits down,
// starts it again on the same address and waits until it serves (the chaos soak's fault).
func (s *Server) RestartAPIServer(ctx context.Context, down time.Duration) error {
	if len(s.procs) < 2 {
		return fmt.Errorf("restart %s: not running", ProcAPIServer)
	}
	api := s.procs[1]
	api.Stop(10 * time.Second)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	again, err := api.Restart()
	if err != nil {
		return err
	}
	s.procs[1] = again
	client, err := rest.HTTPClientFor(s.REST)
	if err != nil {
		return err
	}
	return again.WaitFor(ctx, s.URL+"/api/v1/namespaces/default", 3*time.Minute, func(ctx context.Context) error {
		return getOK(ctx, client, s.URL+"/api/v1/namespaces/default")
	})
}

// Processes are etcd and kube-apiserver as they run now (for memory readings).
func (s *Server) Processes() []*proc.Proc { return append([]*proc.Proc(nil), s.procs...) }

// Stop stops kube-apiserver, then etcd.
func (s *Server) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].Stop(10 * time.Second)
	}
	s.procs = nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
