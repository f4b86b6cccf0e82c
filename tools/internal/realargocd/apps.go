package realargocd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
)

// AppsNamespace is where the scenario apps deploy to.
const AppsNamespace = "apps"

// The scenario apps, one per case the exporter handles.
const (
	AppHealthy     = "healthy"     // automated, a ConfigMap: Synced, Healthy
	AppProgressing = "progressing" // automated, a Deployment: Progressing forever (no kubelet)
	AppFailing     = "failing"     // manual, a ConfigMap the API server rejects: every sync Fails
	AppFixable     = "fixable"     // manual, OutOfSync by drift made through the API: one sync fixes it
	AppOptedOut    = "opted-out"   // manual, OutOfSync, annotated argocd-monitor.io/auto-sync=false
	AppTeamB       = "team-b-web"  // automated, in the second project
	AppMultiSource = "multi-source"
	AppHookRunning = "hook-running" // automated, a PreSync hook Job that never runs: the operation stays Running
	// AppHookStuck is manual and OutOfSync, with a PreSync hook Job that never runs: every sync
	// the exporter starts stays Running until --remediation.terminate-after ends it.
	AppHookStuck = "hook-stuck"
)

// ProjectTeamB is the second project.
const ProjectTeamB = "team-b"

// Apps lists every scenario app.
var Apps = []string{AppHealthy, AppProgressing, AppFailing, AppFixable, AppOptedOut, AppTeamB, AppMultiSource, AppHookRunning, AppHookStuck}

// TerminatedMessage is the message Argo CD reports for an operation ended by a terminate.
const TerminatedMessage = "Operation terminated"

// FailingMessage is a fragment of the message Argo CD reports for the failing app's sync.
const FailingMessage = "is invalid: metadata.name: Invalid value"

func configMap(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  value: %q\n", name, value)
}

// repoFiles are the git repository's files: one directory per app.
var repoFiles = map[string]string{
	"healthy/cm.yaml":        configMap("healthy", "v1"),
	"team-b-web/cm.yaml":     configMap("team-b-web", "v1"),
	"fixable/cm.yaml":        configMap("fixable", "from-git"),
	"opted-out/cm.yaml":      configMap("opted-out", "v1"),
	"multi-source/a/cm.yaml": configMap("multi-source-a", "v1"),
	"multi-source/b/cm.yaml": configMap("multi-source-b", "v1"),
	// Upper case and "_" are not allowed in a name: the API server rejects it on apply, which
	// is what an invalid manifest looks like to Argo CD.
	"failing/cm.yaml": configMap("Not_A_Valid_Name", "v1"),
	"progressing/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: progressing
spec:
  replicas: 1
  selector:
    matchLabels: {app: progressing}
  template:
    metadata:
      labels: {app: progressing}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:1
`,
	"hook-running/cm.yaml":      configMap("hook-running", "v1"),
	"hook-running/presync.yaml": presyncJob("presync"),
	"hook-stuck/cm.yaml":        configMap("hook-stuck", "v1"),
	"hook-stuck/presync.yaml":   presyncJob("hook-stuck-presync"),
}

// presyncJob is a PreSync hook Job that never completes: no kubelet runs its pod.
func presyncJob(name string) string {
	return `apiVersion: batch/v1
kind: Job
metadata:
  name: ` + name + `
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: wait
        image: registry.invalid/wait:1
`
}

// CreateRepo writes the apps into a new bare git repository under dir and returns its
// file:// URL.
func CreateRepo(ctx context.Context, dir string) (string, error) {
	wt, bare := filepath.Join(dir, "apps-src"), filepath.Join(dir, "apps.git")
	for _, d := range []string{wt, bare} {
		if err := os.RemoveAll(d); err != nil {
			return "", err
		}
	}
	for name, body := range repoFiles {
		p := filepath.Join(wt, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	git := func(dir string, args ...string) error {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@argocd-monitor.invalid",
			"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@argocd-monitor.invalid", "GIT_CONFIG_GLOBAL=/dev/null")
		return proc.Run(cmd)
	}
	steps := [][]string{
		{wt, "init", "-q", "-b", "main"}, {wt, "add", "."}, {wt, "commit", "-q", "-m", "scenario apps"},
		{dir, "clone", "-q", "--bare", wt, bare},
	}
	for _, s := range steps {
		if err := git(s[0], s[1:]...); err != nil {
			return "", err
		}
	}
	return "file://" + bare, nil
}

// Manifests returns the AppProjects, the apps' namespace, the drift that makes the fixable app
// OutOfSync, and the Applications, as YAML for the API server.
func Manifests(repoURL string) string {
	var b strings.Builder
	b.WriteString(`apiVersion: v1
kind: Namespace
metadata:
  name: ` + AppsNamespace + `
`)
	// The fixable app's ConfigMap, made through the API with other data than git's: drift.
	b.WriteString("---\n" + strings.Replace(configMap(AppFixable, "drifted"), "metadata:\n", "metadata:\n  namespace: "+AppsNamespace+"\n", 1))
	for _, p := range []string{"default", ProjectTeamB} {
		fmt.Fprintf(&b, `---
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: %s
  namespace: %s
spec:
  sourceRepos: ['*']
  destinations: [{server: '*', namespace: '*'}]
  clusterResourceWhitelist: [{group: '*', kind: '*'}]
`, p, Namespace)
	}
	type app struct {
		name, project, path string
		automated           bool
		annotations         string
		multi               bool
	}
	for _, a := range []app{
		{name: AppHealthy, path: "healthy", automated: true},
		{name: AppProgressing, path: "progressing", automated: true},
		{name: AppFailing, path: "failing"},
		{name: AppFixable, path: "fixable"},
		{name: AppOptedOut, path: "opted-out", annotations: "    argocd-monitor.io/auto-sync: \"false\"\n"},
		{name: AppTeamB, project: ProjectTeamB, path: "team-b-web", automated: true},
		{name: AppMultiSource, automated: true, multi: true},
		{name: AppHookRunning, path: "hook-running", automated: true},
		{name: AppHookStuck, path: "hook-stuck"},
	} {
		if a.project == "" {
			a.project = "default"
		}
		fmt.Fprintf(&b, "---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: %s\n  namespace: %s\n", a.name, Namespace)
		if a.annotations != "" {
			b.WriteString("  annotations:\n" + a.annotations)
		}
		fmt.Fprintf(&b, "spec:\n  project: %s\n  destination: {server: 'https://kubernetes.default.svc', namespace: %s}\n", a.project, AppsNamespace)
		if a.multi {
			fmt.Fprintf(&b, "  sources:\n  - {repoURL: '%s', targetRevision: main, path: multi-source/a}\n  - {repoURL: '%s', targetRevision: main, path: multi-source/b}\n", repoURL, repoURL)
		} else {
			fmt.Fprintf(&b, "  source: {repoURL: '%s', targetRevision: main, path: %s}\n", repoURL, a.path)
		}
		if a.automated {
			b.WriteString("  syncPolicy:\n    automated: {}\n")
		}
	}
	return b.String()
}
