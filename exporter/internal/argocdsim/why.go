package argocdsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// The endpoints that say why an app is in trouble: the resource tree (per-resource health since
// Argo CD 3.0), the events of one resource, and a revision's commit metadata. The workload of
// each app's first Deployment is modelled down to one ReplicaSet and one Pod, whose health and
// events follow the Deployment's.

// CommitAuthor is the author of every simulated commit.
const CommitAuthor = "Jane Doe <jane.doe@example.com>"

// treeNode is one resource of the tree, with its owner.
type treeNode struct {
	group, version, kind, namespace, name, uid string
	parentUID                                  string
	health                                     argocd.HealthStatus
	healthMessage                              string
}

func resourceUID(app, kind, name string) string {
	c := commit("resource", app, kind, name)
	return c[:8] + "-" + c[8:12] + "-" + c[12:16] + "-" + c[16:20] + "-" + c[20:32]
}

// failing reports whether the app's workload is broken (its first Deployment not Healthy).
func (a *app) failing() bool {
	return len(a.resources) > 0 && a.resources[0].health == argocd.HealthDegraded
}

// podName is the one Pod of the app's first Deployment.
func (a *app) podName() string {
	return a.resources[0].name + "-" + a.deployed[:10] + "-" + a.deployed[30:35]
}

// tree renders the app's resources plus the first Deployment's ReplicaSet and Pod.
func (a *app) tree() []treeNode {
	out := make([]treeNode, 0, len(a.resources)+2)
	for _, r := range a.resources {
		out = append(out, treeNode{
			group: r.group, version: r.version, kind: r.kind, namespace: r.namespace, name: r.name,
			uid: resourceUID(a.name, r.kind, r.name), health: r.health, healthMessage: r.healthMessage,
		})
	}
	if len(a.resources) == 0 || len(a.deployed) < 35 {
		return out // an app with no workload (or no deployed commit) has no Pod
	}
	dep := a.resources[0]
	rs := treeNode{
		group: "apps", version: "v1", kind: "ReplicaSet", namespace: dep.namespace, name: dep.name + "-" + a.deployed[:10],
		parentUID: resourceUID(a.name, dep.kind, dep.name), health: argocd.HealthHealthy,
	}
	rs.uid = resourceUID(a.name, rs.kind, rs.name)
	pod := treeNode{
		version: "v1", kind: "Pod", namespace: dep.namespace, name: a.podName(), parentUID: rs.uid, health: argocd.HealthHealthy,
	}
	pod.uid = resourceUID(a.name, pod.kind, pod.name)
	if a.failing() {
		rs.health, rs.healthMessage = argocd.HealthProgressing, "Waiting for rollout to finish: 0 of 1 updated replicas are available..."
		pod.health = argocd.HealthDegraded
		pod.healthMessage = fmt.Sprintf("back-off 5m0s restarting failed container=app pod=%s_%s(%s)", pod.name, pod.namespace, pod.uid)
	}
	return append(out, rs, pod)
}

func (n treeNode) document(created time.Time) map[string]any {
	doc := map[string]any{
		"version": n.version, "kind": n.kind, "namespace": n.namespace, "name": n.name, "uid": n.uid,
		"resourceVersion": "1", "createdAt": ts(created),
	}
	if n.group != "" {
		doc["group"] = n.group
	}
	if n.parentUID != "" {
		parentKind, parentGroup := "Deployment", "apps"
		if n.kind == "Pod" {
			parentKind = "ReplicaSet"
		}
		doc["parentRefs"] = []any{map[string]any{"group": parentGroup, "kind": parentKind, "namespace": n.namespace, "uid": n.parentUID}}
	}
	if n.health != "" {
		h := map[string]any{"status": string(n.health)}
		if n.healthMessage != "" {
			h["message"] = n.healthMessage
		}
		doc["health"] = h
	}
	return doc
}

// findForRead resolves the app of a read endpoint, advancing the story first.
func (s *Sim) findForRead(w http.ResponseWriter, r *http.Request) (*app, time.Time, bool) {
	q := r.URL.Query()
	now := time.Now()
	s.advanceLocked(now)
	a, code, msg := s.findLocked(r.PathValue("name"), q.Get("project"), q.Get("appNamespace"))
	if a == nil {
		writeError(w, code, msg)
		return nil, now, false
	}
	return a, now, true
}

func (s *Sim) handleResourceTree(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, _, ok := s.findForRead(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	nodes := a.tree()
	docs := make([]any, 0, len(nodes))
	for _, n := range nodes {
		docs = append(docs, n.document(a.created))
	}
	s.mu.Unlock()
	// Argo CD leaves out an empty hosts list (and orphanedNodes).
	writeJSON(w, map[string]any{"nodes": docs})
}

// handleManifests is GET /api/v1/applications/{name}/manifests?revision=...: the app's rendered
// manifests at a revision (default: its target), one JSON document per resource. A commit
// changes them only when it touched the app's own path (ControlState.OwnChange): in a
// repository shared by many apps, most commits leave an app's manifests as they were.
func (s *Sim) handleManifests(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, _, ok := s.findForRead(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	rev := r.URL.Query().Get("revision")
	if rev == "" {
		rev = a.target
	}
	out := a.manifestsAt(rev)
	s.mu.Unlock()
	// The API server merges the repo server's answers (one per source) into manifests alone.
	writeJSON(w, map[string]any{"manifests": out})
}

// manifestsAt renders the app's resources as they are at rev.
func (a *app) manifestsAt(rev string) []any {
	gen := a.manifestGen[rev]
	out := make([]any, 0, len(a.resources))
	for _, res := range a.resources {
		apiVersion := res.version
		if res.group != "" {
			apiVersion = res.group + "/" + res.version
		}
		doc := map[string]any{"apiVersion": apiVersion, "kind": res.kind,
			"metadata": map[string]any{"name": res.name, "namespace": res.namespace}}
		if gen != "" {
			doc["metadata"].(map[string]any)["annotations"] = map[string]any{"example.com/commit": gen}
		}
		b, _ := json.Marshal(doc)
		out = append(out, string(b))
	}
	return out
}

// handleEvents serves the events of one resource of the app. As Argo CD does, the resource must
// be in the app's tree (name, namespace and uid) or the answer is 400; without a resource it
// lists the Application's own events.
func (s *Sim) handleEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	a, now, ok := s.findForRead(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	name, ns, uid := q.Get("resourceName"), q.Get("resourceNamespace"), q.Get("resourceUID")
	var items []any
	if name != "" || uid != "" || ns != "" {
		var node *treeNode
		for _, n := range a.tree() {
			if n.name == name && n.namespace == ns && (uid == "" || n.uid == uid) {
				node = &n
				break
			}
		}
		if node == nil {
			s.mu.Unlock()
			writeError(w, codeInvalidArgument, fmt.Sprintf("%s not found as part of application %s", name, a.name))
			return
		}
		items = a.events(*node, now)
	}
	s.mu.Unlock()
	// No events is "items": null, as Argo CD sends it.
	writeJSON(w, map[string]any{"metadata": map[string]any{"resourceVersion": "1"}, "items": items})
}

// events are what the kubelet and the deployment controller would have said about n.
func (a *app) events(n treeNode, now time.Time) []any {
	since := a.healthSince
	if since.After(now) {
		since = now
	}
	count := int(now.Sub(since)/(30*time.Second)) + 1
	ev := func(typ, reason, msg, component string, first, last time.Time, count int) map[string]any {
		return map[string]any{
			"metadata":       map[string]any{"name": n.name + "." + commit(reason, n.uid)[:16], "namespace": n.namespace},
			"involvedObject": map[string]any{"kind": n.kind, "namespace": n.namespace, "name": n.name, "uid": n.uid, "apiVersion": strings.TrimPrefix(n.group+"/"+n.version, "/")},
			"reason":         reason, "message": msg, "type": typ, "count": float64(count),
			"firstTimestamp": ts(first), "lastTimestamp": ts(last),
			"source": map[string]any{"component": component},
		}
	}
	switch {
	case n.kind == "Pod" && a.failing() && a.scenario == AppStuck && len(a.deployed) >= 12:
		image := "registry.example.com/" + a.project + "/" + a.name + ":" + a.deployed[:12]
		return []any{
			ev("Warning", "Failed", fmt.Sprintf(`Failed to pull image %q: rpc error: code = NotFound desc = failed to pull and unpack image %q: not found`, image, image),
				"kubelet", since, now.Add(-30*time.Second), count),
			ev("Warning", "BackOff", fmt.Sprintf("Back-off pulling image %q", image), "kubelet", since, now, count*2),
		}
	case n.kind == "Pod" && a.failing():
		return []any{
			ev("Normal", "Pulled", "Container image already present on machine", "kubelet", since, now.Add(-time.Minute), count),
			ev("Warning", "BackOff", "Back-off restarting failed container app in pod "+n.name+"_"+n.namespace+"("+n.uid+")", "kubelet", since, now, count),
		}
	case n.kind == "Deployment" && a.failing() && len(a.deployed) >= 10:
		return []any{
			ev("Normal", "ScalingReplicaSet", "Scaled up replica set "+n.name+"-"+a.deployed[:10]+" to 1", "deployment-controller", since, since, 1),
		}
	}
	return nil
}

// handleRevisionMetadata serves a commit's metadata for a revision the app knows (its target,
// its deployed revision or one from its history), as the repo server reads it from git.
func (s *Sim) handleRevisionMetadata(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, _, ok := s.findForRead(w, r)
	if !ok {
		s.mu.Unlock()
		return
	}
	rev := r.PathValue("revision")
	when, known := a.revisionDate(rev)
	msg := a.commitMessage(rev)
	s.mu.Unlock()
	if !known {
		writeError(w, codeUnknown, fmt.Sprintf("rpc error: code = NotFound desc = unable to resolve git revision %s", rev))
		return
	}
	// Argo CD leaves out tags when the commit has none (as every simulated one).
	writeJSON(w, map[string]any{"author": CommitAuthor, "date": ts(when), "message": msg})
}

func (a *app) revisionDate(rev string) (time.Time, bool) {
	for _, h := range a.history {
		if h.revision == rev {
			return h.startedAt.Add(-5 * time.Minute), true
		}
	}
	if rev == a.target || rev == a.deployed {
		return a.healthSince.Add(-2 * time.Minute), true
	}
	return time.Time{}, false
}

// CommitMessageStuck is the message of the stuck app's broken commit.
const CommitMessageStuck = "Move stuck to the new base chart"

func (a *app) commitMessage(rev string) string {
	switch {
	case a.scenario == AppStuck && rev == commit(a.name, "broken"):
		return CommitMessageStuck + "\n\nThe image now comes from values; forgot to set it here."
	case rev == a.target && rev != a.deployed:
		return "Update " + a.name + " configuration"
	}
	return "Release " + a.name
}
