package argocdsim

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// The fixtures are real Argo CD Applications (argo-cd's own test data); every simulated app
// starts from one of them: its metadata.labels and spec are kept, status is rendered from state.
//
//go:embed testdata/*.json
var fixtureFS embed.FS

// Fixture names (files in testdata/, taken from argo-cd's own test data).
const (
	AutomatedWithOperation = "app-automated-with-operation.json"       // argocd/my-app-2, Synced Healthy, operation set
	DegradedOutOfSync      = "app-degraded-outofsync-conditions.json"  // argocd/my-app-4, 3 conditions
	OperationRunning       = "app-operation-running.json"              // argocd/my-app, Progressing, phase Running
	OperationSucceeded     = "app-operation-succeeded-syncresult.json" // fake-argocd-ns/my-app, phase Succeeded
)

// AllFixtures lists every fixture name.
var AllFixtures = []string{AutomatedWithOperation, DegradedOutOfSync, OperationRunning, OperationSucceeded}

var fixtureOrder = []string{OperationSucceeded, OperationRunning, DegradedOutOfSync, AutomatedWithOperation}

// Fixture returns a fixture's bytes; it panics on an unknown name (a test bug).
func Fixture(name string) []byte {
	b, err := fixtureFS.ReadFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	return b
}

type fixtures map[string]map[string]any

func loadFixtures() (fixtures, error) {
	fx := make(fixtures, len(fixtureOrder))
	for _, name := range fixtureOrder {
		b, err := fixtureFS.ReadFile("testdata/" + name)
		if err != nil {
			return nil, fmt.Errorf("read fixture %s: %w", name, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("decode fixture %s: %w", name, err)
		}
		fx[name] = doc
	}
	return fx, nil
}

// base returns the fixture's apiVersion, kind, metadata.labels and spec, without the spec's
// automated sync policy unless automated is asked for.
func (fx fixtures) base(name string, automated bool) (map[string]any, map[string]string) {
	src := fx[name]
	doc := map[string]any{"apiVersion": src["apiVersion"], "kind": src["kind"]}
	spec := deepCopy(src["spec"]).(map[string]any)
	policy, _ := spec["syncPolicy"].(map[string]any)
	switch {
	case automated && policy == nil:
		spec["syncPolicy"] = map[string]any{"automated": map[string]any{"prune": true, "selfHeal": false}}
	case !automated && policy != nil:
		delete(policy, "automated")
		if len(policy) == 0 {
			delete(spec, "syncPolicy")
		}
	}
	doc["spec"] = spec
	labels := map[string]string{}
	if md, ok := src["metadata"].(map[string]any); ok {
		if l, ok := md["labels"].(map[string]any); ok {
			for k, v := range l {
				if s, ok := v.(string); ok {
					labels[k] = s
				}
			}
		}
	}
	return doc, labels
}

// fixtureConditions returns the status.conditions of a fixture, re-dated to at.
func (fx fixtures) conditions(name string, at time.Time) []condition {
	st, _ := fx[name]["status"].(map[string]any)
	list, _ := st["conditions"].([]any)
	var out []condition
	for _, c := range list {
		m, _ := c.(map[string]any)
		t, _ := m["type"].(string)
		msg, _ := m["message"].(string)
		out = append(out, condition{Type: t, Message: msg, At: at})
	}
	return out
}

// scenarioApp builds one of the named scenario apps.
func scenarioApp(name string, fx fixtures, start time.Time, cfg Config) *app {
	var a *app
	switch name {
	case AppHealthy:
		a = newApp(name, ScenarioProject, fx, OperationSucceeded, false, start)
		// A previous sync that went well, as in the fixture.
		a.opState = &operationState{
			phase: argocd.PhaseSucceeded, message: "successfully synced (all tasks run)",
			startedAt: start.Add(-10 * time.Minute), finishedAt: start.Add(-10*time.Minute + 4*time.Second),
			revision: a.target, username: "admin",
		}
	case AppDegrades:
		a = newApp(name, ScenarioProject, fx, OperationRunning, false, start)
		a.degradeAt = start.Add(cfg.DegradeAfter)
		a.onSync = OutcomeKeep
	case AppFixable:
		a = newApp(name, ScenarioProject, fx, DegradedOutOfSync, false, start)
		a.sync = argocd.SyncOutOfSync
		a.target = commit(name, "drifted")
	case AppStuck:
		a = newApp(name, ScenarioProject, fx, DegradedOutOfSync, false, start)
		a.sync = argocd.SyncOutOfSync
		a.target = commit(name, "broken")
		a.setHealth(argocd.HealthDegraded, start)
		a.resources[0].health = argocd.HealthDegraded
		a.resources[0].healthMessage = `Deployment "stuck" exceeded its progress deadline`
		a.conditions = fx.conditions(DegradedOutOfSync, start)
		a.onSync = OutcomeFail
	case AppAutomated:
		a = newApp(name, ScenarioProject, fx, AutomatedWithOperation, true, start)
		a.sync = argocd.SyncOutOfSync
		a.target = commit(name, "ignored-drift")
	case AppOptedOut:
		a = newApp(name, ScenarioProject, fx, OperationRunning, false, start)
		a.annotations[OptOutAnnotation] = "false"
		a.sync = argocd.SyncOutOfSync
		a.target = commit(name, "manual-change")
	default:
		panic("unknown scenario app " + name)
	}
	a.scenario = name
	return a
}

// fillerApp builds healthy app number i, cycling through the fixtures (half of them automated,
// as the fixtures are).
func fillerApp(i int, fx fixtures, start time.Time) *app {
	f := fixtureOrder[i%len(fixtureOrder)]
	automated := f == AutomatedWithOperation || f == OperationSucceeded
	return newApp(fmt.Sprintf("app-%05d", i), fmt.Sprintf("team-%d", i%8+1), fx, f, automated, start)
}

func newApp(name, project string, fx fixtures, fixture string, automated bool, start time.Time) *app {
	base, labels := fx.base(fixture, automated)
	labels["app.kubernetes.io/part-of"] = project
	spec := base["spec"].(map[string]any)
	spec["project"] = project
	if dst, ok := spec["destination"].(map[string]any); ok {
		dst["namespace"] = name
	}
	if src, ok := spec["source"].(map[string]any); ok {
		src["path"] = "apps/" + name
		src["targetRevision"] = "HEAD"
	}
	created := start.Add(-72 * time.Hour)
	a := &app{
		name:        name,
		project:     project,
		base:        base,
		labels:      labels,
		annotations: map[string]string{},
		created:     created,
		automated:   automated,
		health:      argocd.HealthHealthy,
		healthSince: created.Add(time.Minute),
		sync:        argocd.SyncSynced,
		target:      commit(name, "release"),
		reconciled:  start,
		onSync:      OutcomeSucceed,
		resources:   paddingResources(name),
	}
	a.deployed = a.target
	a.history = paddingHistory(name, created, a.target)
	return a
}

// paddingResources gives each app the resource list of a typical microservice set, so a full
// List item weighs about what it does on real installations (~12 KB).
func paddingResources(name string) []resource {
	kinds := []struct{ group, version, kind, suffix string }{
		{"apps", "v1", "Deployment", ""},
		{"", "v1", "Service", ""},
		{"", "v1", "ConfigMap", "-config"},
		{"", "v1", "ServiceAccount", ""},
		{"autoscaling", "v2", "HorizontalPodAutoscaler", ""},
		{"policy", "v1", "PodDisruptionBudget", ""},
		{"networking.k8s.io", "v1", "Ingress", ""},
		{"monitoring.coreos.com", "v1", "ServiceMonitor", ""},
	}
	components := []string{"", "-api", "-worker", "-cron", "-cache", "-db", "-gateway"}
	out := make([]resource, 0, len(kinds)*len(components))
	for _, c := range components {
		for _, k := range kinds {
			out = append(out, resource{
				group: k.group, version: k.version, kind: k.kind,
				name: name + c + k.suffix, namespace: name, health: healthOf(k.kind),
			})
		}
	}
	return out
}

// healthOf is the health Argo CD reports for a healthy resource of that kind: kinds without a
// health check have none.
func healthOf(kind string) argocd.HealthStatus {
	switch kind {
	case "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress":
		return argocd.HealthHealthy
	}
	return ""
}

func paddingHistory(name string, created time.Time, current string) []historyEntry {
	var h []historyEntry
	for i := 1; i <= historyLimit; i++ {
		rev := commit(name, fmt.Sprint(i))
		if i == historyLimit {
			rev = current
		}
		at := created.Add(time.Duration(i) * 6 * time.Hour)
		h = append(h, historyEntry{id: i, revision: rev, startedAt: at, deployedAt: at.Add(7 * time.Second), username: "admin"})
	}
	return h
}

// deepCopy copies decoded JSON values so per-app documents never share mutable maps.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, x := range t {
			s[i] = deepCopy(x)
		}
		return s
	default:
		return v
	}
}

func copyStrings(m map[string]string) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range maps.All(m) {
		out[k] = v
	}
	return out
}
