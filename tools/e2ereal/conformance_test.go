//go:build e2ereal

package e2ereal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/realargocd"
)

// projectedFields is the exporter's `fields` list (exporter/internal/argocd.ProjectedFields,
// another module's internal package, so spelled out here).
const projectedFields = "items.metadata.name,items.metadata.namespace,items.metadata.labels,items.metadata.annotations," +
	"items.metadata.deletionTimestamp,items.spec,items.status.health,items.status.sync.status,items.status.sync.revision," +
	"items.status.operationState.phase,items.status.operationState.startedAt,items.status.operationState.finishedAt,items.operation.sync"

// target is one Argo CD API: the real one or the simulator, with the app names that play each
// role there.
type target struct {
	name, url, token  string
	running, deleting string // an app with an operation in progress; an app being deleted
	idle              string // an app without an operation in progress
	project           string // the project of those three
	automated         string // an app with Argo CD auto-sync
	manual            string // a manual app without an operation in progress
	// treeApp is an app with resources; node is its first resource-tree node and revision its
	// synced revision (read from the target by whyOf).
	treeApp  string
	node     struct{ Name, Namespace, UID string }
	revision string
}

// TestConformance sends the same requests to the real Argo CD and to argocdsim and compares
// status codes, error bodies and response shapes. Differences that stay are listed in
// docs/testing.md with the reason.
func TestConformance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	real := target{name: "argocd", url: env.argo.URL, token: env.monitorToken, running: realargocd.AppHookRunning, deleting: AppDeleting, idle: "healthy", project: "default", treeApp: realargocd.AppProgressing,
		automated: realargocd.AppHealthy, manual: realargocd.AppFailing}
	sim := startSim(t, ctx)
	for _, tg := range []*target{&real, &sim} {
		if err := whyOf(ctx, tg); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name          string
		method, path  func(target) string
		body          func(target) string
		token         func(target) string
		compareShapes bool
		// messageDiffers, when set, is why the error messages may differ (code and status
		// must still agree).
		messageDiffers string
	}{
		{name: "list", method: get, path: fixed("/api/v1/applications"), compareShapes: true},
		{name: "list projected", method: get, path: fixed("/api/v1/applications?fields=" + projectedFields), compareShapes: true},
		{name: "get app", method: get, path: fixed("/api/v1/applications/healthy"), compareShapes: true},
		{name: "get missing app", method: get, path: fixed("/api/v1/applications/no-such-app")},
		{name: "get missing app in a project", method: get, path: fixed("/api/v1/applications/no-such-app?project=default")},
		{name: "sync missing app", method: post, path: fixed("/api/v1/applications/no-such-app/sync"), body: fixed(`{"project":"default"}`)},
		{name: "sync running app", method: post, path: func(tg target) string { return "/api/v1/applications/" + tg.running + "/sync" }, body: syncBody},
		{name: "sync deleting app", method: post, path: func(tg target) string { return "/api/v1/applications/" + tg.deleting + "/sync" }, body: syncBody},
		// DELETE .../operation needs Content-Type: application/json (415 otherwise), hence a body.
		{name: "terminate app without operation", method: del, path: func(tg target) string {
			return "/api/v1/applications/" + tg.idle + "/operation?project=" + tg.project
		}, body: fixed(`{}`)},
		{name: "terminate missing app", method: del, path: fixed("/api/v1/applications/no-such-app/operation?project=default"), body: fixed(`{}`)},
		// Rollback refusals (issue 25); every body carries id: v3.5 answers 500 without it, v3.2
		// reads it as 0.
		{name: "rollback of an auto-sync app", method: post, path: func(tg target) string {
			return "/api/v1/applications/" + tg.automated + "/rollback"
		}, body: fixed(`{"id":0}`)},
		{name: "rollback of a deleting app", method: post, path: func(tg target) string {
			return "/api/v1/applications/" + tg.deleting + "/rollback"
		}, body: fixed(`{"id":0}`)},
		{name: "rollback to an unknown history id", method: post, path: func(tg target) string {
			return "/api/v1/applications/" + tg.manual + "/rollback"
		}, body: fixed(`{"id":9999}`)},
		{name: "hard refresh", method: get, path: fixed("/api/v1/applications/healthy?refresh=hard"), compareShapes: true},
		{name: "manifests at a revision", method: get, compareShapes: true, path: func(tg target) string {
			return whyPath("/manifests?revision=" + tg.revision)(tg)
		}},
		{name: "resource tree", method: get, path: whyPath("/resource-tree"), compareShapes: true},
		{name: "events of a resource of the app", method: get, compareShapes: true, path: func(tg target) string {
			return whyPath("/events?" + url.Values{"resourceName": {tg.node.Name}, "resourceNamespace": {tg.node.Namespace}, "resourceUID": {tg.node.UID}}.Encode())(tg)
		}},
		{name: "events of a resource not in the app", method: get, path: func(tg target) string {
			return whyPath("/events?" + url.Values{"resourceName": {"no-such-resource"}, "resourceNamespace": {tg.node.Namespace}, "resourceUID": {"00000000-0000-0000-0000-000000000000"}}.Encode())(tg)
		}},
		{name: "revision metadata", method: get, compareShapes: true, path: func(tg target) string {
			return whyPath("/revisions/" + tg.revision + "/metadata")(tg)
		}},
		{name: "revision metadata of an unknown revision", method: get, path: whyPath("/revisions/0123456789abcdef0123456789abcdef01234567/metadata"),
			messageDiffers: "the real message is git's own (transport and server dependent: \"not our ref\" from a local repository); the exporter's app API reports the commit part as failed either way"},
		{name: "resource tree of a missing app", method: get, path: fixed("/api/v1/applications/no-such-app/resource-tree")},
		{name: "bad token", method: get, path: fixed("/api/v1/applications"), token: fixed("not-a-token")},
		{name: "no token", method: get, path: fixed("/api/v1/applications"), token: fixed("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answers [2]answer
			for i, tg := range []target{real, sim} {
				token := tg.token
				if tt.token != nil {
					token = tt.token(tg)
				}
				body := ""
				if tt.body != nil {
					body = tt.body(tg)
				}
				status, b, err := argoRequest(ctx, tg.url, tt.method(tg), tt.path(tg), token, body)
				if err != nil {
					t.Fatalf("%s: %v", tg.name, err)
				}
				// Error messages name the app; the two sides' tree apps differ in name only.
				b = bytes.ReplaceAll(b, []byte("application "+tg.treeApp), []byte("application <treeApp>"))
				b = bytes.ReplaceAll(b, []byte("application "+realargocd.Namespace+"/"+tg.manual+" "), []byte("application <manual> "))
				answers[i] = answer{status: status, body: b}
			}
			t.Logf("argocd: %d %s", answers[0].status, clip(answers[0].body))
			t.Logf("sim:    %d %s", answers[1].status, clip(answers[1].body))
			if answers[0].status != answers[1].status {
				t.Errorf("status: argocd %d, sim %d", answers[0].status, answers[1].status)
			}
			if answers[0].status != http.StatusOK {
				compareErrors(t, answers[0].body, answers[1].body, tt.messageDiffers)
				return
			}
			if tt.compareShapes {
				compareShapes(t, answers[0].body, answers[1].body)
			}
		})
	}
	t.Run("terminate a running operation", func(t *testing.T) { conformTerminate(t, ctx) })
	t.Run("stream", func(t *testing.T) {
		r, err := firstEvent(ctx, real, "")
		if err != nil {
			t.Fatal(err)
		}
		s, err := firstEvent(ctx, sim, "")
		if err != nil {
			t.Fatal(err)
		}
		rp, sp := pathsOf(r, 3), pathsOf(s, 3)
		for _, p := range []string{"result", "result.type", "result.application", "result.application.metadata", "result.application.status"} {
			if !rp[p] || !sp[p] {
				t.Errorf("stream event path %s: argocd %v, sim %v", p, rp[p], sp[p])
			}
		}
	})
	// The exporter's stream request: its `fields` projection and a label selector (one every
	// app of both sides matches: these apps carry no labels). Both sides send nothing outside
	// the projection, and the same projected paths.
	t.Run("stream with fields and selector", func(t *testing.T) {
		q := "?" + url.Values{"fields": {strings.Join(streamFields, ",")}, "selector": {"!argocd-monitor.io/no-such-label"}}.Encode()
		r, err := firstEvent(ctx, real, q)
		if err != nil {
			t.Fatal(err)
		}
		s, err := firstEvent(ctx, sim, q)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("argocd: %v", r)
		t.Logf("sim:    %v", s)
		rp, sp := pathsOf(r, 8), pathsOf(s, 8)
		for side, paths := range map[string]map[string]bool{"argocd": rp, "sim": sp} {
			for p := range paths {
				if !projected(p) {
					t.Errorf("%s sends %s, outside the projection", side, p)
				}
			}
		}
		for _, p := range []string{"result.type", "result.application.metadata.name", "result.application.spec.project", "result.application.status.sync.status", "result.application.status.health.status"} {
			if !rp[p] || !sp[p] {
				t.Errorf("projected stream event path %s: argocd %v, sim %v", p, rp[p], sp[p])
			}
		}
	})
}

// streamFields is the exporter's stream projection (exporter/internal/argocd.StreamFields,
// another module's internal package, so spelled out here).
var streamFields = []string{
	"result.type", "result.application.metadata.name", "result.application.metadata.namespace",
	"result.application.metadata.labels", "result.application.metadata.annotations",
	"result.application.metadata.deletionTimestamp", "result.application.spec.project",
	"result.application.spec.destination", "result.application.spec.source.repoURL",
	"result.application.spec.sources", "result.application.spec.syncPolicy.automated",
	"result.application.status.health.status", "result.application.status.health.lastTransitionTime",
	"result.application.status.sync.status", "result.application.status.sync.revision",
	"result.application.status.reconciledAt", "result.application.status.conditions",
	"result.application.status.operationState.phase", "result.application.status.operationState.message",
	"result.application.status.operationState.startedAt", "result.application.status.operationState.finishedAt",
	"result.application.operation.sync",
}

// projected reports whether path p (arrays as []) is a requested field, one of its parents or
// inside one.
func projected(p string) bool {
	p = strings.ReplaceAll(p, "[]", "")
	for _, f := range streamFields {
		if f == p || strings.HasPrefix(f, p+".") || strings.HasPrefix(p, f+".") {
			return true
		}
	}
	return false
}

// whyPath is a path under the target's treeApp.
func whyPath(suffix string) func(target) string {
	return func(tg target) string { return "/api/v1/applications/" + tg.treeApp + suffix }
}

// whyOf reads the first node of tg.treeApp's resource tree and its synced revision.
func whyOf(ctx context.Context, tg *target) error {
	status, b, err := argoRequest(ctx, tg.url, http.MethodGet, whyPath("/resource-tree")(*tg), tg.token, "")
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("%s resource tree: %d %s %v", tg.name, status, clip(b), err)
	}
	var tree struct {
		Nodes []struct{ Name, Namespace, UID string } `json:"nodes"`
	}
	if err := json.Unmarshal(b, &tree); err != nil || len(tree.Nodes) == 0 {
		return fmt.Errorf("%s resource tree of %s: no nodes (%v): %s", tg.name, tg.treeApp, err, clip(b))
	}
	tg.node = tree.Nodes[0]
	status, b, err = argoRequest(ctx, tg.url, http.MethodGet, whyPath("")(*tg), tg.token, "")
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("%s get %s: %d %s %v", tg.name, tg.treeApp, status, clip(b), err)
	}
	var app struct {
		Status struct {
			Sync struct{ Revision string } `json:"sync"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &app); err != nil || app.Status.Sync.Revision == "" {
		return fmt.Errorf("%s get %s: no synced revision (%v)", tg.name, tg.treeApp, err)
	}
	tg.revision = app.Status.Sync.Revision
	return nil
}

type answer struct {
	status int
	body   []byte
}

func get(target) string  { return http.MethodGet }
func post(target) string { return http.MethodPost }
func del(target) string  { return http.MethodDelete }
func fixed(s string) func(target) string {
	return func(target) string { return s }
}
func syncBody(tg target) string { return `{"project":"` + tg.project + `"}` }

func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// compareErrors: Argo CD's error body is {"error","code","message"}; the code and the message
// must match (the exporter classifies by both).
func compareErrors(t *testing.T, real, sim []byte, messageDiffers string) {
	t.Helper()
	var r, s struct {
		Code    *int    `json:"code"`
		Message *string `json:"message"`
		Error   *string `json:"error"`
	}
	if err := json.Unmarshal(real, &r); err != nil {
		t.Logf("argocd error body is not JSON (%v): %s", err, clip(real))
	}
	if err := json.Unmarshal(sim, &s); err != nil {
		t.Errorf("sim error body is not JSON (%v): %s", err, clip(sim))
		return
	}
	if fmt.Sprint(deref(r.Code)) != fmt.Sprint(deref(s.Code)) {
		t.Errorf("error code: argocd %v, sim %v", deref(r.Code), deref(s.Code))
	}
	if messageDiffers != "" {
		t.Logf("error messages may differ: %s", messageDiffers)
		return
	}
	if deref(r.Message) != deref(s.Message) {
		t.Errorf("error message: argocd %q, sim %q", deref(r.Message), deref(s.Message))
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// compareShapes compares the paths of two answers two levels into each item (deeper paths
// depend on the apps' data, which differ: the simulator's scenario is not this repository's
// apps). A path only one side has fails the test unless shapeDifferences explains it.
func compareShapes(t *testing.T, real, sim []byte) {
	t.Helper()
	var r, s map[string]any
	if err := json.Unmarshal(real, &r); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sim, &s); err != nil {
		t.Fatal(err)
	}
	depth := 2
	if _, isList := r["items"]; !isList {
		depth = 1
	}
	rp, sp := pathsOf(r, depth), pathsOf(s, depth)
	for _, p := range sortedKeys(sp) {
		if !rp[p] {
			if why, ok := shapeDifferences[strings.TrimPrefix(p, "items[].")]; ok {
				t.Logf("only the simulator sends %s: %s", p, why)
				continue
			}
			t.Errorf("only the simulator sends %s", p)
		}
	}
	for _, p := range sortedKeys(rp) {
		if !sp[p] {
			if why, ok := shapeDifferences[strings.TrimPrefix(p, "items[].")]; ok {
				t.Logf("only Argo CD sends %s: %s", p, why)
				continue
			}
			t.Errorf("only Argo CD sends %s", p)
		}
	}
}

// shapeDifferences are the differences that stay, with the reason (docs/testing.md lists them).
var shapeDifferences = map[string]string{
	"metadata.labels":                     "data: the simulator's apps carry labels, these apps none (Argo CD then sends null or nothing)",
	"metadata.managedFields":              "Argo CD sends the Kubernetes object as stored; the exporter never reads managedFields",
	"metadata.uid":                        "as stored in Kubernetes; not read by the exporter",
	"metadata.resourceVersion":            "as stored in Kubernetes; not read by the exporter",
	"metadata.finalizers":                 "data: only some apps carry finalizers",
	"metadata.deletionTimestamp":          "data: only the app being deleted has one",
	"metadata.deletionGracePeriodSeconds": "data: only the app being deleted has one",
	"metadata.annotations":                "data: only opted-out apps are annotated",
	"operation":                           "data: only apps with an operation requested",
	"operation.initiatedBy":               "data: only apps with an operation requested",
	"operation.retry":                     "data: only apps with an operation requested",
	"operation.sync":                      "data: only apps with an operation requested",
	"status.sourceHydrator":               "v3.2 sends an empty status.sourceHydrator for every app; the simulator leaves it out; unread",
	"status.sync.revision":                "v3.2 does not project status.sync.revision (v3.5 does; the simulator follows v3.5)",
	"status.observedAt":                   "deprecated field the simulator still sends, as older Argo CD versions did; unread",
	"status.operationState":               "data: only apps that had an operation",
	"status.conditions":                   "data: only apps with conditions",
	"status.history":                      "data: only apps synced before",
	"status.resources":                    "data: apps with resources",
	"status.summary":                      "data",
	"status.resourceHealthSource":         "data",
	"status.controllerNamespace":          "set by the real controller, unread",
	"status.reconciledAt":                 "data",
	"status.sourceType":                   "data",
	"status.sourceTypes":                  "data: multi-source apps only",
	"spec.sources":                        "data: multi-source apps only",
	"spec.source":                         "data: single-source apps",
	"spec.syncPolicy":                     "data: only apps with a policy",
	"nodes[].parentRefs":                  "data: no kube-controller-manager runs here, so the real Deployment has no ReplicaSet and Pod",
}

// pathsOf lists the dotted paths of a JSON value down to depth, arrays as [].
func pathsOf(v any, depth int) map[string]bool {
	out := map[string]bool{}
	var walk func(prefix string, v any, d int)
	walk = func(prefix string, v any, d int) {
		if d > depth {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				out[p] = true
				walk(p, c, d+1)
			}
		case []any:
			for _, c := range x {
				walk(prefix+"[]", c, d)
			}
		}
	}
	walk("", v, 0)
	return out
}

// firstEvent reads the first line of the application stream (no SSE: one JSON object a line).
func firstEvent(ctx context.Context, tg target, query string) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tg.url+"/api/v1/stream/applications"+query, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tg.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s stream: %d", tg.name, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			var v any
			err := json.Unmarshal([]byte(line), &v)
			return v, err
		}
	}
	return nil, fmt.Errorf("%s stream: no event (%v)", tg.name, sc.Err())
}

// runSim starts argocd-sim with args and returns its URL and token.
func runSim(t *testing.T, ctx context.Context, args ...string) (url, token string) {
	t.Helper()
	dir := t.TempDir()
	port, err := proc.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	url = "http://127.0.0.1:" + strconv.Itoa(port)
	tokenFile := filepath.Join(dir, "token")
	p, err := proc.Start(proc.Config{Name: "argocd-sim", Bin: env.bins.Sim, LogPath: filepath.Join(dir, "sim.log"), Args: append([]string{
		"--web.listen-address=127.0.0.1:" + strconv.Itoa(port), "--auth.token-file=" + tokenFile,
	}, args...)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	if err := p.WaitReady(ctx, url+"/api/version", time.Minute); err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	return url, strings.TrimSpace(string(tok))
}

// startSim starts argocd-sim with a running operation on "healthy" and "opted-out" being
// deleting, the roles the real apps play.
func startSim(t *testing.T, ctx context.Context) target {
	t.Helper()
	url, token := runSim(t, ctx, "--scenario.sync-pickup=1h") // an accepted sync stays in progress
	sim := target{name: "sim", url: url, token: token, running: "healthy", deleting: "opted-out", idle: "degrades", project: "demo", treeApp: "healthy",
		automated: "automated", manual: "stuck"}
	if status, b, err := argoRequest(ctx, url, http.MethodPost, "/api/v1/applications/healthy/sync", sim.token, `{"project":"demo"}`); err != nil || status != http.StatusOK {
		t.Fatalf("start an operation on the sim: %d %s %v", status, b, err)
	}
	if status, b, err := argoRequest(ctx, url, http.MethodPost, "/sim/apps/opted-out/state", "", `{"deleting":true}`); err != nil || status != http.StatusNoContent {
		t.Fatalf("sim deleting: %d %s %v", status, b, err)
	}
	return sim
}

// terminated is what one side did with a DELETE .../operation of a running operation.
type terminated struct {
	status int
	body   string
	// phases are the operation phases seen from the answer on, each once, in order.
	phases          []string
	message         string // the final operationState.message
	operationKept   bool   // the top-level operation was still set at the end
	again           int    // the status of a second DELETE after the operation ended
	againMessage    string // its error message
	runningMessage  string // operationState.message while the hook ran
	terminateMillis int64  // from the answer to the final phase
	lost            int    // terminates accepted without effect, sent again
}

// conformTerminate syncs an app whose PreSync hook never completes on both sides (the real
// hook-terminate app, opted out of the monitor; the simulator's stuck app with onSync hang),
// waits until its operation is Running on the hook, terminates it and follows the operation to
// its end: both answer 200 {}, show Terminating (or already the end), end Failed "Operation
// terminated" with the operation cleared, and refuse a second terminate with 400.
func conformTerminate(t *testing.T, ctx context.Context) {
	simURL, simToken := runSim(t, ctx, "--scenario.sync-pickup=500ms", "--scenario.sync-duration=1s")
	if status, b, err := argoRequest(ctx, simURL, http.MethodPost, "/sim/apps/stuck/state", "", `{"onSync":"hang"}`); err != nil || status != http.StatusNoContent {
		t.Fatalf("sim hang: %d %s %v", status, b, err)
	}
	sides := []struct {
		name, url, token, app, project string
	}{
		{"argocd", env.argo.URL, env.monitorToken, realargocd.AppHookTerminate, "default"},
		{"sim", simURL, simToken, "stuck", "demo"},
	}
	var got [2]terminated
	for i, sd := range sides {
		r, err := terminateRunning(ctx, sd.url, sd.token, sd.app, sd.project)
		if err != nil {
			t.Fatalf("%s: %v", sd.name, err)
		}
		t.Logf("%s: running %q; DELETE %d %s; phases %v (%d terminates lost, sent again); end %q after %dms; operation kept %v; second DELETE %d %q",
			sd.name, r.runningMessage, r.status, r.body, r.phases, r.lost, r.message, r.terminateMillis, r.operationKept, r.again, r.againMessage)
		got[i] = r
	}
	real, sim := got[0], got[1]
	if real.status != sim.status || real.body != sim.body {
		t.Errorf("answer: argocd %d %s, sim %d %s", real.status, real.body, sim.status, sim.body)
	}
	for i, r := range got {
		if r.lost == 0 && len(r.phases) > 0 && r.phases[0] != "Terminating" && r.phases[0] != "Failed" {
			t.Errorf("%s: phases %v, want Terminating first (unless the controller was quicker)", sides[i].name, r.phases)
		}
		if len(r.phases) == 0 || r.phases[len(r.phases)-1] != "Failed" {
			t.Errorf("%s: phases %v, want Failed at the end", sides[i].name, r.phases)
		}
	}
	if real.message != sim.message || real.message != realargocd.TerminatedMessage {
		t.Errorf("final message: argocd %q, sim %q, want %q", real.message, sim.message, realargocd.TerminatedMessage)
	}
	if real.operationKept || sim.operationKept {
		t.Errorf("operation still set at the end: argocd %v, sim %v", real.operationKept, sim.operationKept)
	}
	if real.again != sim.again || real.againMessage != sim.againMessage {
		t.Errorf("second terminate: argocd %d %q, sim %d %q", real.again, real.againMessage, sim.again, sim.againMessage)
	}
	if !strings.HasPrefix(real.runningMessage, "waiting for completion of hook") || !strings.HasPrefix(sim.runningMessage, "waiting for completion of hook") {
		t.Errorf("running message: argocd %q, sim %q, want both waiting for completion of the hook", real.runningMessage, sim.runningMessage)
	}
}

// terminateRunning syncs app, waits for its operation to run on the hook, terminates it and
// follows it to the end.
func terminateRunning(ctx context.Context, base, token, app, project string) (terminated, error) {
	var r terminated
	path := "/api/v1/applications/" + app
	if status, b, err := argoRequest(ctx, base, http.MethodPost, path+"/sync", token, `{"project":"`+project+`"}`); err != nil || status != http.StatusOK {
		return r, fmt.Errorf("sync: %d %s %v", status, clip(b), err)
	}
	read := func() (phase, message string, op bool, err error) {
		status, b, err := argoRequest(ctx, base, http.MethodGet, path, token, "")
		if err != nil || status != http.StatusOK {
			return "", "", false, fmt.Errorf("get: %d %s %v", status, clip(b), err)
		}
		var a application
		if err := json.Unmarshal(b, &a); err != nil {
			return "", "", false, err
		}
		if a.Status.OperationState != nil {
			phase, message = a.Status.OperationState.Phase, a.Status.OperationState.Message
		}
		return phase, message, a.Operation != nil, nil
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		phase, msg, _, err := read()
		if err != nil {
			return r, err
		}
		if phase == "Running" && strings.HasPrefix(msg, "waiting for completion of hook") {
			r.runningMessage = msg
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("not running on its hook within 2m: %s %q", phase, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Content-Type: application/json, or Argo CD answers 415.
	status, b, err := argoRequest(ctx, base, http.MethodDelete, path+"/operation?project="+project, token, `{}`)
	if err != nil {
		return r, err
	}
	answered := time.Now()
	r.status, r.body = status, strings.TrimSpace(string(b))
	if status != http.StatusOK {
		return r, fmt.Errorf("terminate: %d %s", status, clip(b))
	}
	deadline = time.Now().Add(2 * time.Minute)
	sent := answered
	for {
		phase, msg, op, err := read()
		if err != nil {
			return r, err
		}
		if len(r.phases) == 0 || r.phases[len(r.phases)-1] != phase {
			r.phases = append(r.phases, phase)
		}
		// Argo CD's controller can write Running over the server's Terminating when both
		// update the Application at once: the terminate is lost, and the exporter sends it
		// again after a backoff. So does this test, after 5s.
		if phase == "Running" && time.Since(sent) > 5*time.Second {
			status, b, err := argoRequest(ctx, base, http.MethodDelete, path+"/operation?project="+project, token, `{}`)
			if err != nil || status != http.StatusOK {
				return r, fmt.Errorf("terminate again: %d %s %v", status, clip(b), err)
			}
			r.lost++
			sent = time.Now()
		}
		if phase == "Failed" || phase == "Error" || phase == "Succeeded" {
			r.message, r.operationKept, r.terminateMillis = msg, op, time.Since(answered).Milliseconds()
			if !op {
				break
			}
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("operation not ended within 2m after the terminate: phases %v", r.phases)
		}
		time.Sleep(100 * time.Millisecond)
	}
	status, b, err = argoRequest(ctx, base, http.MethodDelete, path+"/operation?project="+project, token, `{}`)
	if err != nil {
		return r, err
	}
	var e struct{ Message string }
	_ = json.Unmarshal(b, &e)
	r.again, r.againMessage = status, e.Message
	return r, nil
}
