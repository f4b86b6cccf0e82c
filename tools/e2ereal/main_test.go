//go:build e2ereal

package e2ereal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/kubeapi"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/realargocd"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// env is the real stack every test of the package shares: starting it takes about half a
// minute, so it starts once in TestMain.
var env struct {
	root    string
	work    string
	bins    stack.Binaries
	install realargocd.Install
	kube    *kubeapi.Server
	argo    *realargocd.ArgoCD
	// monitorToken is the argocd-monitor account's token, made as deploy/argocd/ documents.
	monitorToken string
	// readOnlyToken belongs to an account with `applications, get` only.
	readOnlyToken string
	adminToken    string
	// gitDir holds the apps' repository (realargocd.CreateRepo, realargocd.Commit).
	gitDir string
}

// AppDeleting is an app held in deletion by a finalizer nobody removes.
const AppDeleting = "deleting"

// readOnlyAccount can list and get applications, not sync them.
const readOnlyAccount = "argocd-monitor-readonly"

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2ereal:", err)
		if env.work != "" {
			fmt.Fprintln(os.Stderr, "logs in", env.work)
		}
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := repofile.FindRootFromWD()
	if err != nil {
		return 0, err
	}
	env.root = root
	log := os.Stderr
	// The pinned builds are cached in tools/.cache/bin; `make e2e-real` builds them first
	// (cmd/realargocd-build), so these are quick checks here.
	kubeBin, err := kubeapi.Build(ctx, root, log)
	if err != nil {
		return 0, err
	}
	if env.install, err = realargocd.Build(ctx, root, log); err != nil {
		return 0, err
	}
	if env.bins, err = stack.Build(ctx, root, log); err != nil {
		return 0, err
	}
	if env.work, err = os.MkdirTemp("", "argocd-monitor-e2ereal-"); err != nil {
		return 0, err
	}
	keep := os.Getenv("E2EREAL_KEEP") != ""
	defer func() {
		if !keep {
			os.RemoveAll(env.work)
		}
	}()
	start := time.Now()
	env.kube, err = kubeapi.Start(ctx, kubeapi.Config{Bin: kubeBin, Work: filepath.Join(env.work, "kube")})
	if err != nil {
		return 0, err
	}
	defer env.kube.Stop()
	fmt.Fprintf(log, "kube-apiserver ready in %s\n", time.Since(start).Round(100*time.Millisecond))
	env.argo, err = realargocd.Start(ctx, realargocd.Config{
		Install: env.install, Kube: env.kube, Root: root, Work: filepath.Join(env.work, "argocd"), Log: log,
		Accounts: map[string][]string{readOnlyAccount: {"p, " + readOnlyAccount + ", applications, get, */*, allow"}},
	})
	if err != nil {
		return 0, err
	}
	defer env.argo.Stop()
	fmt.Fprintf(log, "Argo CD ready in %s (since start)\n", time.Since(start).Round(100*time.Millisecond))
	if env.monitorToken, err = env.argo.AccountToken(ctx, realargocd.MonitorAccount); err != nil {
		return 0, err
	}
	if env.readOnlyToken, err = env.argo.AccountToken(ctx, readOnlyAccount); err != nil {
		return 0, err
	}
	if env.adminToken, err = env.argo.AdminToken(ctx); err != nil {
		return 0, err
	}
	env.gitDir = filepath.Join(env.work, "git")
	repoURL, err := realargocd.CreateRepo(ctx, env.gitDir)
	if err != nil {
		return 0, err
	}
	if err := env.argo.Applier.Apply(ctx, []byte(realargocd.Manifests(repoURL)+deletingApp(repoURL)), false); err != nil {
		return 0, err
	}
	if err := holdInDeletion(ctx); err != nil {
		return 0, err
	}
	if err := waitSettled(ctx); err != nil {
		return 0, err
	}
	fmt.Fprintf(log, "apps settled %s after start\n", time.Since(start).Round(100*time.Millisecond))
	return m.Run(), nil
}

// deletingApp is an app with a finalizer only this test knows: deleted, it stays "deleting".
func deletingApp(repoURL string) string {
	return fmt.Sprintf(`---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: %s
  finalizers: [argocd-monitor.io/e2e-hold]
  annotations:
    argocd-monitor.io/auto-sync: "false"
spec:
  project: default
  destination: {server: 'https://kubernetes.default.svc', namespace: %s}
  source: {repoURL: '%s', targetRevision: main, path: healthy}
`, AppDeleting, realargocd.Namespace, realargocd.AppsNamespace, repoURL)
}

func holdInDeletion(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete,
		env.kube.URL+"/apis/argoproj.io/v1alpha1/namespaces/"+realargocd.Namespace+"/applications/"+AppDeleting, nil)
	if err != nil {
		return err
	}
	client, err := kubeClient()
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("delete %s: %d %s", AppDeleting, resp.StatusCode, b)
	}
	return nil
}

// waitSettled waits until Argo CD reports every scenario app in its expected starting state,
// so the exporter starts on a known picture.
func waitSettled(ctx context.Context) error {
	want := map[string]string{
		realargocd.AppHealthy:     "Synced/Healthy",
		realargocd.AppProgressing: "Synced/Progressing",
		realargocd.AppFailing:     "OutOfSync/",
		realargocd.AppFixable:     "OutOfSync/Healthy",
		// v3.2.11 reports a never-synced app whose resources are missing as Healthy (v3.5.1:
		// Missing), so only the sync status is pinned.
		realargocd.AppOptedOut:      "OutOfSync/",
		realargocd.AppTeamB:         "Synced/Healthy",
		realargocd.AppMultiSource:   "Synced/Healthy",
		realargocd.AppHookStuck:     "OutOfSync/",
		realargocd.AppRollback:      "OutOfSync/",
		realargocd.AppHookTerminate: "OutOfSync/",
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		apps, err := listApps(ctx, env.adminToken, "")
		var pending []string
		if err != nil {
			pending = append(pending, err.Error())
		}
		for name, w := range want {
			a, ok := apps[name]
			got := ""
			if ok {
				got = a.Status.Sync.Status + "/" + a.Status.Health.Status
			}
			if !strings.HasPrefix(got, w) {
				pending = append(pending, fmt.Sprintf("%s is %q, want %q", name, got, w))
			}
		}
		if h := apps[realargocd.AppHookRunning]; h.Status.OperationState == nil || h.Status.OperationState.Phase != "Running" {
			pending = append(pending, realargocd.AppHookRunning+": no Running operation yet")
		}
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("apps not settled within 5m: %s", strings.Join(pending, "; "))
		}
		if name := env.argo.Exited(); name != "" {
			return fmt.Errorf("%s exited; its log: %s", name, env.argo.LogPath(name))
		}
		time.Sleep(time.Second)
	}
}

// application is the part of an Application the tests read.
type application struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	// Operation is set from a sync request until the controller completes it.
	Operation *struct{} `json:"operation"`
	Status    struct {
		Sync struct {
			Status   string `json:"status"`
			Revision string `json:"revision"`
		} `json:"sync"`
		Health struct {
			Status string `json:"status"`
		} `json:"health"`
		OperationState *struct {
			Phase      string `json:"phase"`
			Message    string `json:"message"`
			SyncResult *struct {
				Revision string `json:"revision"`
			} `json:"syncResult"`
		} `json:"operationState"`
	} `json:"status"`
}

// listApps lists the applications through Argo CD's API.
func listApps(ctx context.Context, token, query string) (map[string]application, error) {
	var list struct {
		Items []application `json:"items"`
	}
	status, body, err := argoRequest(ctx, env.argo.URL, http.MethodGet, "/api/v1/applications"+query, token, "")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("list: %d %s", status, body)
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, err
	}
	out := map[string]application{}
	for _, a := range list.Items {
		out[a.Metadata.Name] = a
	}
	return out, nil
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

// argoRequest sends one API request and returns the status and body.
func argoRequest(ctx context.Context, base, method, path, token, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	return resp.StatusCode, b, err
}

func kubeClient() (*http.Client, error) { return rest.HTTPClientFor(env.kube.REST) }

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
