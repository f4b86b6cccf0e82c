// Package realargocd runs a real Argo CD on 127.0.0.1 against a real kube-apiserver (package
// kubeapi), without Docker or a kubelet: redis from Debian, and argocd-server (API only),
// argocd-repo-server and argocd-application-controller from the one multi-call binary built from
// Argo CD's Go module. It installs Argo CD's CRDs and config, the argocd-monitor account exactly
// as deploy/argocd/ says, and hands out API tokens made through the API.
package realargocd

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/kubeapi"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
)

// Namespace is where Argo CD runs and keeps its Applications.
const Namespace = "argocd"

// Config says how to run Argo CD.
type Config struct {
	Install Install         // from Build
	Kube    *kubeapi.Server // a running API server
	Root    string          // repository root (deploy/argocd/)
	Work    string          // logs, scratch directories; created
	// Accounts are extra local accounts (apiKey only) with their policy.csv lines, for tests of
	// other permissions than the documented ones.
	Accounts map[string][]string
	// Reconciliation is argocd-cm's timeout.reconciliation; default 30s so changes are noticed
	// quickly.
	Reconciliation time.Duration
	Log            io.Writer
}

// ArgoCD is a running Argo CD.
type ArgoCD struct {
	// URL is argocd-server's http://127.0.0.1:PORT (plain HTTP: --insecure).
	URL string
	// ControllerMetricsURL is the application controller's /metrics (argocd_app_info).
	ControllerMetricsURL string
	// Applier applies manifests to the API server (Applications, AppProjects, drift).
	Applier *kubeapi.Applier

	adminPassword string
	procs         []*proc.Proc
	work          string
}

// Names of the processes, also their log file names (<name>.log in Work).
const (
	ProcRedis      = "redis"
	ProcRepoServer = "argocd-repo-server"
	ProcController = "argocd-application-controller"
	ProcServer     = "argocd-server"
)

// MonitorAccount is the account deploy/argocd/ creates.
const MonitorAccount = "argocd-monitor"

// Start installs Argo CD's CRDs and config into the API server and starts redis and the three
// Argo CD components; it returns once the API server answers. On error it stops what it started.
func Start(ctx context.Context, cfg Config) (_ *ArgoCD, err error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Reconciliation == 0 {
		cfg.Reconciliation = 30 * time.Second
	}
	work, err := filepath.Abs(cfg.Work)
	if err != nil {
		return nil, err
	}
	a := &ArgoCD{work: work, adminPassword: randomHex(12)}
	defer func() {
		if err != nil {
			a.Stop()
		}
	}()
	a.Applier, err = cfg.Kube.NewApplier("argocd-monitor-e2e")
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(cfg.Log, "installing Argo CD's CRDs and config")
	if err := a.install(ctx, cfg); err != nil {
		return nil, err
	}

	ports, err := proc.FreePorts(7)
	if err != nil {
		return nil, err
	}
	port := func(i int) string { return strconv.Itoa(ports[i]) }
	redis, repo, repoMetrics, ctrlMetrics, server, serverMetrics := "127.0.0.1:"+port(0), "127.0.0.1:"+port(1), port(2), port(3), port(4), port(5)
	a.URL = "http://127.0.0.1:" + server
	a.ControllerMetricsURL = "http://127.0.0.1:" + ctrlMetrics + "/metrics"

	env, err := a.environment(cfg.Kube.Kubeconfig)
	if err != nil {
		return nil, err
	}
	r, err := a.start(proc.Config{Name: ProcRedis, Bin: "redis-server", Args: []string{
		"--bind", "127.0.0.1", "--port", port(0), "--save", "", "--appendonly", "no",
	}})
	if err != nil {
		return nil, err
	}
	if err := r.WaitFor(ctx, redis, time.Minute, func(context.Context) error { return dial(redis) }); err != nil {
		return nil, err
	}
	// v3.2's repo-server has no --client-ca-path; plain gRPC between the components.
	rs, err := a.start(proc.Config{Name: ProcRepoServer, Bin: cfg.Install.Bin, Env: append(env, "ARGOCD_BINARY_NAME=argocd-repo-server"), Args: []string{
		"--address", "127.0.0.1", "--port", port(1), "--metrics-port", repoMetrics, "--redis", redis, "--disable-tls",
	}})
	if err != nil {
		return nil, err
	}
	if err := rs.WaitFor(ctx, repo, 3*time.Minute, func(context.Context) error { return dial(repo) }); err != nil {
		return nil, err
	}
	ctrl, err := a.start(proc.Config{Name: ProcController, Bin: cfg.Install.Bin,
		Env: append(env, "ARGOCD_BINARY_NAME=argocd-application-controller", "HOSTNAME=argocd-application-controller-0"),
		Args: []string{
			"--namespace", Namespace, "--redis", redis, "--repo-server", repo, "--repo-server-plaintext",
			"--metrics-port", ctrlMetrics,
		}})
	if err != nil {
		return nil, err
	}
	srv, err := a.start(proc.Config{Name: ProcServer, Bin: cfg.Install.Bin, Env: append(env, "ARGOCD_BINARY_NAME=argocd-server"), Args: []string{
		"--namespace", Namespace, "--insecure", "--address", "127.0.0.1", "--port", server,
		"--metrics-port", serverMetrics, "--redis", redis, "--repo-server", repo, "--repo-server-plaintext",
		"--dex-server", "http://127.0.0.1:" + port(6), // no Dex: nothing listens there
	}})
	if err != nil {
		return nil, err
	}
	if err := srv.WaitReady(ctx, a.URL+"/healthz", 3*time.Minute); err != nil {
		return nil, err
	}
	if err := ctrl.WaitReady(ctx, a.ControllerMetricsURL, 3*time.Minute); err != nil {
		return nil, err
	}
	return a, nil
}

// environment is what all three components need: the local API server posing as in-cluster,
// GPG off, and every scratch path in the work directory.
func (a *ArgoCD) environment(kubeconfig string) ([]string, error) {
	dirs := map[string]string{
		"ARGOCD_TLS_DATA_PATH": "tls", "ARGOCD_SSH_DATA_PATH": "ssh", "ARGOCD_GNUPGHOME": "gnupg",
		"TMPDIR": "tmp", "HOME": "home",
	}
	env := []string{
		"ARGOCD_FAKE_IN_CLUSTER=true", "KUBECONFIG=" + kubeconfig, "ARGOCD_GPG_ENABLED=false",
		"ARGOCD_PLUGINSOCKFILEPATH=" + filepath.Join(a.work, "plugins"),
	}
	for k, d := range dirs {
		p := filepath.Join(a.work, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return nil, err
		}
		env = append(env, k+"="+p)
	}
	if err := os.MkdirAll(filepath.Join(a.work, "plugins"), 0o700); err != nil {
		return nil, err
	}
	return env, nil
}

// install applies the CRDs, the namespace, Argo CD's base config, our documented account
// patches (deploy/argocd/, applied by their own field manager: a merge, as the docs say) and the
// admin password.
func (a *ArgoCD) install(ctx context.Context, cfg Config) error {
	src := cfg.Install.Src
	for _, f := range []string{"application-crd.yaml", "appproject-crd.yaml", "applicationset-crd.yaml"} {
		if err := a.applyFile(ctx, filepath.Join(src, "manifests/crds", f), ""); err != nil {
			return err
		}
	}
	if err := a.Applier.WaitCRDsEstablished(ctx, []string{"applications.argoproj.io", "appprojects.argoproj.io", "applicationsets.argoproj.io"}, 2*time.Minute); err != nil {
		return err
	}
	if err := a.Applier.Apply(ctx, []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+Namespace+"\n"), false); err != nil {
		return err
	}
	for _, f := range []string{"argocd-cm.yaml", "argocd-rbac-cm.yaml", "argocd-cmd-params-cm.yaml", "argocd-gpg-keys-cm.yaml", "argocd-ssh-known-hosts-cm.yaml", "argocd-tls-certs-cm.yaml"} {
		if err := a.applyFile(ctx, filepath.Join(src, "manifests/base/config", f), Namespace); err != nil {
			return err
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(a.adminPassword), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	cm := map[string]string{"timeout.reconciliation": cfg.Reconciliation.String()}
	rbac := map[string]string{}
	for name, policy := range cfg.Accounts {
		cm["accounts."+name] = "apiKey"
		rbac["policy."+name+".csv"] = strings.Join(policy, "\n") + "\n"
	}
	objs := []map[string]any{
		{"apiVersion": "v1", "kind": "Secret", "metadata": meta("argocd-secret"),
			"stringData": map[string]string{
				"admin.password": string(hash), "admin.passwordMtime": time.Now().UTC().Format(time.RFC3339),
				"server.secretkey": randomHex(32),
			}},
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("argocd-cm"), "data": cm},
		{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("argocd-rbac-cm"), "data": rbac},
	}
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		if err := a.Applier.Apply(ctx, b, false); err != nil {
			return err
		}
	}
	// The documented patches, by a manager of their own, exactly as the files say.
	docs, err := cfg.Kube.NewApplier("argocd-monitor-docs")
	if err != nil {
		return err
	}
	for _, f := range []string{"deploy/argocd/argocd-cm.yaml", "deploy/argocd/argocd-rbac-cm.yaml"} {
		b, err := os.ReadFile(filepath.Join(cfg.Root, f))
		if err != nil {
			return err
		}
		if err := docs.Apply(ctx, b, false); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}

// meta names an object of Argo CD's config; Argo CD's informers only see objects labelled
// part-of argocd.
func meta(name string) map[string]any {
	return map[string]any{"name": name, "namespace": Namespace, "labels": map[string]string{"app.kubernetes.io/part-of": "argocd"}}
}

// applyFile applies a manifest file, namespaced objects without a namespace going to ns.
func (a *ArgoCD) applyFile(ctx context.Context, path, ns string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	objs, err := kubeapi.Decode(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, o := range objs {
		if ns != "" && o.GetNamespace() == "" {
			o.SetNamespace(ns)
		}
		if err := a.Applier.ApplyObject(ctx, o, false); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

func (a *ArgoCD) start(c proc.Config) (*proc.Proc, error) {
	c.LogPath = filepath.Join(a.work, c.Name+".log")
	c.Dir = a.work
	p, err := proc.Start(c)
	if err != nil {
		return nil, err
	}
	a.procs = append(a.procs, p)
	return p, nil
}

// LogPath returns the log file of a process.
func (a *ArgoCD) LogPath(name string) string { return filepath.Join(a.work, name+".log") }

// Exited returns the name of a process that has ended, or "" while all run.
func (a *ArgoCD) Exited() string {
	for _, p := range a.procs {
		if p.Exited() {
			return p.Name
		}
	}
	return ""
}

// Stop stops the components, then redis.
func (a *ArgoCD) Stop() {
	for i := len(a.procs) - 1; i >= 0; i-- {
		a.procs[i].Stop(10 * time.Second)
	}
	a.procs = nil
}

// AdminToken logs in as admin (POST /api/v1/session) and returns the session JWT.
func (a *ArgoCD) AdminToken(ctx context.Context) (string, error) {
	var out struct{ Token string }
	err := a.post(ctx, "", "/api/v1/session", map[string]string{"username": "admin", "password": a.adminPassword}, &out)
	return out.Token, err
}

// AccountToken generates an API token for a local account through the API, as an operator
// would (`argocd account generate-token --account NAME`).
func (a *ArgoCD) AccountToken(ctx context.Context, account string) (string, error) {
	admin, err := a.AdminToken(ctx)
	if err != nil {
		return "", err
	}
	var out struct{ Token string }
	err = a.post(ctx, admin, "/api/v1/account/"+account+"/token", map[string]string{"id": "e2e-" + randomHex(4)}, &out)
	if err == nil && out.Token == "" {
		err = fmt.Errorf("account %s: empty token", account)
	}
	return out.Token, err
}

var client = &http.Client{Timeout: 30 * time.Second}

func (a *ArgoCD) post(ctx context.Context, token, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, bytes.TrimSpace(rb))
	}
	return json.Unmarshal(rb, out)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}
