package realargocd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	// AppRollback is manual and OutOfSync at first, a valid ConfigMap: one sync makes it Synced
	// and Healthy. The test then commits a manifest the API server rejects under its path
	// (BadRollbackManifest), later a fix (FixedRollbackManifest): the rollback and hold story.
	AppRollback = "rollback"
	// AppHookTerminate is opted out of remediation, manual, with a PreSync hook Job that never
	// runs: the conformance test syncs it and terminates the running operation itself.
	AppHookTerminate = "hook-terminate"
)

// ProjectTeamB is the second project.
const ProjectTeamB = "team-b"

// Apps lists every scenario app.
var Apps = []string{AppHealthy, AppProgressing, AppFailing, AppFixable, AppOptedOut, AppTeamB, AppMultiSource, AppHookRunning, AppHookStuck,
	AppRollback, AppHookTerminate}

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
	OptedOutPath:             configMap(AppOptedOut, "v1"),
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
	"hook-running/cm.yaml":        configMap("hook-running", "v1"),
	"hook-running/presync.yaml":   presyncJob("presync"),
	"hook-stuck/cm.yaml":          configMap("hook-stuck", "v1"),
	"hook-stuck/presync.yaml":     presyncJob("hook-stuck-presync"),
	RollbackPath:                  configMap(AppRollback, "v1"),
	"hook-terminate/cm.yaml":      configMap(AppHookTerminate, "v1"),
	"hook-terminate/presync.yaml": presyncJob("hook-terminate-presync"),
}

// RollbackPath is the rollback app's one file in the repository.
const RollbackPath = "rollback/cm.yaml"

// The rollback app's later manifests: a bad commit (a name the API server rejects, so every
// sync Fails) and a fix that changes the app's manifests.
var (
	BadRollbackManifest   = configMap("Rollback_Bad", "v2")
	FixedRollbackManifest = configMap(AppRollback, "v3")
)

// OptedOutPath and OptedOutChange: a commit under another app's path of the same repository
// (it changes every app's revision, not the rollback app's manifests).
const OptedOutPath = "opted-out/cm.yaml"

// OptedOutChange is a new version of OptedOutPath.
var OptedOutChange = configMap(AppOptedOut, "v2")

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
// file:// URL. Commit adds commits to it.
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
	steps := [][]string{
		{wt, "init", "-q", "-b", "main"}, {wt, "add", "."}, {wt, "commit", "-q", "-m", "scenario apps"},
		{dir, "clone", "-q", "--bare", wt, bare},
	}
	for _, s := range steps {
		if _, err := git(ctx, s[0], s[1:]...); err != nil {
			return "", err
		}
	}
	return "file://" + bare, nil
}

// Commit writes files (path in the repository -> content) into the repository CreateRepo made
// under dir, commits them to main, pushes, and returns the new commit's id.
func Commit(ctx context.Context, dir, message string, files map[string]string) (string, error) {
	wt, bare := filepath.Join(dir, "apps-src"), filepath.Join(dir, "apps.git")
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(wt, name), []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	for _, args := range [][]string{{"add", "."}, {"commit", "-q", "-m", message}, {"push", "-q", bare, "main"}} {
		if _, err := git(ctx, wt, args...); err != nil {
			return "", err
		}
	}
	out, err := git(ctx, wt, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// git runs git in dir with a fixed identity and no user config, and returns its stdout.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@argocd-monitor.invalid",
		"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@argocd-monitor.invalid", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
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
		{name: AppRollback, path: "rollback"},
		{name: AppHookTerminate, path: "hook-terminate", annotations: "    argocd-monitor.io/auto-sync: \"false\"\n"},
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
