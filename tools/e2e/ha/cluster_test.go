//go:build e2e_ha || e2e_chaos

// Package ha runs two of everything against a real kube-apiserver (with etcd): two exporters
// electing a leader and sharing the remediation state, two bridges sharing the group state
// (issue 14). make e2e-ha runs it. The same chain under a seeded fault schedule is the chaos
// soak (chaos_test.go, build tag e2e_chaos: make chaos, make chaos-smoke; issue 20).
package ha

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/kubeapi"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

const (
	namespace = "argocd-monitor"
	botToken  = "xoxb-ha-test-token"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// cluster is a real API server with the namespace and the deploy's Roles applied.
type cluster struct {
	srv    *kubeapi.Server
	admin  kubernetes.Interface
	work   string
	root   string
	bins   stack.Binaries
	stopFn []func()
}

func startCluster(t *testing.T, ctx context.Context) *cluster {
	t.Helper()
	root, err := repofile.FindRootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	bins, err := stack.Build(ctx, root, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	apiBin, err := kubeapi.Build(ctx, root, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	srv, err := kubeapi.Start(ctx, kubeapi.Config{Bin: apiBin, Work: filepath.Join(work, "kube")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	admin, err := kubernetes.NewForConfig(srv.REST)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{srv: srv, admin: admin, work: work, root: root, bins: bins}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.applyRBAC(t, ctx)
	return c
}

// applyRBAC creates the ServiceAccounts, Roles and RoleBindings of deploy/base, as deployed.
func (c *cluster) applyRBAC(t *testing.T, ctx context.Context) {
	t.Helper()
	for _, sa := range []string{"argocd-exporter", "slack-bridge"} {
		if _, err := c.admin.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(c.root, "deploy", "base", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if err != nil {
			break
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("rbac.yaml: %v", err)
		}
		switch o := obj.(type) {
		case *rbacv1.Role:
			_, err = c.admin.RbacV1().Roles(namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			for i := range o.Subjects {
				o.Subjects[i].Namespace = namespace // kustomize's namespace does this in the deploy
			}
			_, err = c.admin.RbacV1().RoleBindings(namespace).Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("rbac.yaml: unexpected %T", obj)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// kubeconfig writes a kubeconfig with a token of the ServiceAccount: the process gets exactly
// what its Role grants, as in a pod.
func (c *cluster) kubeconfig(t *testing.T, ctx context.Context, sa string) string {
	t.Helper()
	exp := int64(3600)
	tok, err := c.admin.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, sa, &authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: c.srv.URL, CertificateAuthority: c.srv.CAFile}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "c"
	path := filepath.Join(c.work, sa+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func (c *cluster) start(t *testing.T, ctx context.Context, name, bin, readyURL string, env []string, args ...string) *proc.Proc {
	t.Helper()
	p, err := proc.Start(proc.Config{Name: name, Bin: bin, Args: args, Env: env, LogPath: filepath.Join(c.work, name+".log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("--- %s log tail:\n%s", name, p.LogTail(30))
		}
	})
	if readyURL != "" {
		if err := p.WaitReady(ctx, readyURL, 2*time.Minute); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, p.LogTail(30))
		}
	}
	return p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(port)
}

// eventually polls check every 200ms until it holds or timeout passes.
func eventually(t *testing.T, what string, timeout time.Duration, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := check()
		if ok {
			return
		}
		last = msg
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last: %s)", what, timeout, last)
}

const (
	lease = 4 * time.Second
	renew = 3 * time.Second
	retry = time.Second
)

// roundRobin is a plain round-robin Service in front of the bridges.
type roundRobin struct {
	targets []*url.URL
	n       atomic.Uint64
}

func (rr *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := rr.targets[rr.n.Add(1)%uint64(len(rr.targets))]
	httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
}
