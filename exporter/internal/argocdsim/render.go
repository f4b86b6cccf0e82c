package argocdsim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ts formats a time as Kubernetes does (metav1.Time: RFC 3339, UTC, seconds).
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// document renders the app as the Argo CD API returns it. Get and Watch fill
// status.resources[].health from the resource tree; List does not (since 3.0), hence
// withResourceHealth.
func (a *app) document(withResourceHealth bool) map[string]any {
	if a.raw != nil {
		return deepCopy(a.raw).(map[string]any)
	}
	// No apiVersion and kind: the real API (grpc-gateway over the proto) sends neither in Get,
	// List or Watch, though kubectl-style fixtures have them (conformance test, tools/e2ereal).
	doc := map[string]any{
		"spec": deepCopy(a.base["spec"]),
	}
	md := map[string]any{
		"name":              a.name,
		"namespace":         Namespace,
		"uid":               uid(a.name),
		"resourceVersion":   strconv.FormatUint(a.rv, 10),
		"generation":        float64(a.rv),
		"creationTimestamp": ts(a.created),
		"finalizers":        []any{"resources-finalizer.argocd.argoproj.io"},
	}
	if l := copyStrings(a.labels); l != nil {
		md["labels"] = l
	}
	if an := copyStrings(a.annotations); an != nil {
		md["annotations"] = an
	}
	if !a.deleting.IsZero() {
		md["deletionTimestamp"] = ts(a.deleting)
	}
	if a.owner != "" {
		md["ownerReferences"] = []any{map[string]any{
			"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "name": a.owner,
			"uid": uid("appset/" + a.owner), "controller": true, "blockOwnerDeletion": true,
		}}
	}
	doc["metadata"] = md

	spec := doc["spec"].(map[string]any)
	source, _ := spec["source"].(map[string]any)
	dest, _ := spec["destination"].(map[string]any)

	health := map[string]any{"status": string(a.health)}
	if !a.healthSince.IsZero() {
		health["lastTransitionTime"] = ts(a.healthSince)
	}
	status := map[string]any{
		"sync": map[string]any{
			"status":     string(a.sync),
			"revision":   a.target,
			"comparedTo": map[string]any{"source": deepCopy(source), "destination": deepCopy(dest)},
		},
		"health":              health,
		"reconciledAt":        ts(a.reconciled),
		"observedAt":          ts(a.reconciled),
		"sourceType":          "Directory",
		"controllerNamespace": Namespace,
		"summary":             a.summary(),
		"resources":           a.resourceList(withResourceHealth),
		"history":             a.historyList(source),
	}
	if len(a.conditions) > 0 {
		var cs []any
		for _, c := range a.conditions {
			cs = append(cs, map[string]any{"type": c.Type, "message": c.Message, "lastTransitionTime": ts(c.At)})
		}
		status["conditions"] = cs
	}
	if a.opState != nil {
		status["operationState"] = a.opState.document(a, source)
	}
	doc["status"] = status
	if a.op != nil {
		doc["operation"] = map[string]any{
			"sync":        a.op.request.operationSync(a.target),
			"initiatedBy": map[string]any{"username": a.op.username},
			"retry":       map[string]any{},
		}
	}
	return doc
}

func (st *operationState) document(a *app, source map[string]any) map[string]any {
	doc := map[string]any{
		"phase":     string(st.phase),
		"message":   st.message,
		"startedAt": ts(st.startedAt),
		"operation": map[string]any{
			"sync":        map[string]any{"revision": st.revision, "prune": st.prune},
			"initiatedBy": map[string]any{"username": st.username},
			"retry":       map[string]any{},
		},
	}
	if st.finishedAt.IsZero() {
		return doc
	}
	doc["finishedAt"] = ts(st.finishedAt)
	var res []any
	for _, r := range a.resources[:2] {
		item := map[string]any{
			"group": r.group, "version": r.version, "kind": r.kind, "namespace": r.namespace, "name": r.name,
			"status": "Synced", "message": strings.ToLower(r.kind) + "/" + r.name + " configured",
			"hookPhase": "Running", "syncPhase": "Sync",
		}
		if st.failed {
			item["status"] = "SyncFailed"
			item["message"] = fmt.Sprintf(`Deployment.apps "%s" is invalid: spec.template.spec.containers[0].image: Required value`, r.name)
			item["hookPhase"] = "Failed"
		}
		res = append(res, item)
	}
	doc["syncResult"] = map[string]any{"resources": res, "revision": st.revision, "source": deepCopy(source)}
	return doc
}

func (a *app) resourceList(withHealth bool) []any {
	out := make([]any, 0, len(a.resources))
	for i, r := range a.resources {
		status := "Synced"
		if i == 0 && a.sync != "Synced" {
			status = string(a.sync) // the drifted resource
		}
		item := map[string]any{"version": r.version, "kind": r.kind, "namespace": r.namespace, "name": r.name, "status": status}
		if r.group != "" {
			item["group"] = r.group
		}
		if withHealth && r.health != "" {
			h := map[string]any{"status": string(r.health)}
			if r.healthMessage != "" {
				h["message"] = r.healthMessage
			}
			item["health"] = h
		}
		out = append(out, item)
	}
	return out
}

func (a *app) historyList(source map[string]any) []any {
	out := make([]any, 0, len(a.history))
	for _, h := range a.history {
		out = append(out, map[string]any{
			"id":              float64(h.id),
			"revision":        h.revision,
			"deployStartedAt": ts(h.startedAt),
			"deployedAt":      ts(h.deployedAt),
			"source":          deepCopy(source),
			"initiatedBy":     map[string]any{"username": h.username},
		})
	}
	return out
}

func (a *app) summary() map[string]any {
	return map[string]any{
		"images": []any{
			"registry.example.com/" + a.project + "/" + a.name + ":" + a.deployed[:12],
			"registry.example.com/platform/envoy:v1.31.2",
		},
		"externalURLs": []any{"https://" + a.name + ".apps.example.com/"},
	}
}

// uid is a stable fake metadata.uid.
func uid(name string) string {
	c := commit("uid", name)
	return c[:8] + "-" + c[8:12] + "-" + c[12:16] + "-" + c[16:20] + "-" + c[20:32]
}

// listItem returns the app's List encoding, cached until the app changes: serving 10k apps
// must not re-encode 120 MB on every poll.
func (a *app) listItem() []byte {
	if a.listJSON == nil {
		b, err := json.Marshal(a.document(false))
		if err != nil {
			panic(fmt.Sprintf("encode app %s: %v", a.name, err)) // only maps, strings and numbers: cannot fail
		}
		a.listJSON = b
	}
	return a.listJSON
}
