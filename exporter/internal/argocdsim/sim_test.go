package argocdsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

const testToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcmdvY2QtbW9uaXRvcjphcGlLZXkifQ.c2lnbmF0dXJl"

// fixture serves a simulator in memory, so tests that move time run inside
// a synctest bubble (time.Sleep is the bubble's clock) and the rest on the
// real one.
type fixture struct {
	sim    *Sim
	url    string
	client *http.Client
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	cfg.Token = testToken
	sim, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pipe := sim.ServePipe()
	client := &http.Client{Transport: &http.Transport{DialContext: pipe.DialContext}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		_ = pipe.Close()
	})
	return &fixture{sim: sim, url: PipeURL, client: client}
}

// do sends a request with the right token unless headers say otherwise.
func (f *fixture) do(t *testing.T, method, path, body string, headers map[string]string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (f *fixture) get(t *testing.T, name string) map[string]any {
	t.Helper()
	code, b := f.do(t, http.MethodGet, "/api/v1/applications/"+name, "", nil)
	if code != http.StatusOK {
		t.Fatalf("get %s: %d %s", name, code, b)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func str(doc map[string]any, path string) string {
	v, _ := lookup(doc, path)
	s, _ := v.(string)
	return s
}

func (f *fixture) sync(t *testing.T, name string) (int, []byte) {
	t.Helper()
	return f.do(t, http.MethodPost, "/api/v1/applications/"+name+"/sync", `{"project":"demo","prune":false}`, nil)
}

func TestScenarioFixableOneSyncRepairs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{SyncPickup: time.Second, SyncDuration: 3 * time.Second})
		doc := f.get(t, AppFixable)
		if got := str(doc, "status.sync.status"); got != "OutOfSync" {
			t.Fatalf("fixable starts %s, want OutOfSync", got)
		}
		if code, b := f.sync(t, AppFixable); code != http.StatusOK {
			t.Fatalf("sync: %d %s", code, b)
		}
		steps := []struct {
			after      time.Duration
			operation  bool
			phase      string
			sync       string
			health     string
			historyLen int
		}{
			{0, true, "", "OutOfSync", "Healthy", 10},                                // accepted, not yet picked up
			{time.Second, true, "Running", "OutOfSync", "Healthy", 10},               // controller runs it
			{3 * time.Second, false, "Succeeded", "Synced", "Healthy", historyLimit}, // done, history capped
		}
		for _, s := range steps {
			time.Sleep(s.after)
			doc := f.get(t, AppFixable)
			_, op := doc["operation"]
			if op != s.operation || str(doc, "status.operationState.phase") != s.phase ||
				str(doc, "status.sync.status") != s.sync || str(doc, "status.health.status") != s.health {
				t.Fatalf("after +%v: operation=%v phase=%q sync=%q health=%q, want %v %q %q %q", s.after, op,
					str(doc, "status.operationState.phase"), str(doc, "status.sync.status"), str(doc, "status.health.status"),
					s.operation, s.phase, s.sync, s.health)
			}
			if h, _ := lookup(doc, "status.history"); len(h.([]any)) != s.historyLen {
				t.Fatalf("history has %d entries, want %d", len(h.([]any)), s.historyLen)
			}
		}
		if got := f.sim.SyncCounts()[AppFixable]; got.Accepted != 1 || got.Calls != 1 {
			t.Fatalf("sync counts %+v, want 1 call accepted", got)
		}
	})
}

func TestScenarioStuckEverySyncFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{SyncPickup: time.Second, SyncDuration: 3 * time.Second})
		for i := 1; i <= 3; i++ {
			if code, b := f.sync(t, AppStuck); code != http.StatusOK {
				t.Fatalf("sync %d: %d %s", i, code, b)
			}
			time.Sleep(2 * time.Second)
			if code, b := f.sync(t, AppStuck); code != http.StatusBadRequest || !strings.Contains(string(b), "another operation is already in progress") {
				t.Fatalf("sync while running: %d %s", code, b)
			}
			time.Sleep(2 * time.Second)
			doc := f.get(t, AppStuck)
			if _, op := doc["operation"]; op {
				t.Fatal("operation still set after the sync finished")
			}
			if got := str(doc, "status.operationState.phase"); got != "Failed" {
				t.Fatalf("phase %q, want Failed", got)
			}
			if got := str(doc, "status.operationState.message"); !strings.Contains(got, `Deployment.apps "stuck" is invalid`) {
				t.Fatalf("message %q", got)
			}
			if str(doc, "status.sync.status") != "OutOfSync" || str(doc, "status.health.status") != "Degraded" {
				t.Fatal("a failed sync changed the app's states")
			}
		}
		got := f.sim.SyncCounts()[AppStuck]
		if got.Accepted != 3 || got.Busy != 3 || got.Calls != 6 {
			t.Fatalf("sync counts %+v, want 3 accepted, 3 busy, 6 calls", got)
		}
		if got.LastRequest == nil || got.LastRequest.Project != "demo" {
			t.Fatalf("last request %+v, want the project recorded", got.LastRequest)
		}
	})
}

func TestScenarioDegradesAfterDelayAndSyncDoesNotHelp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{DegradeAfter: 20 * time.Second, SyncPickup: time.Second, SyncDuration: time.Second})
		time.Sleep(19 * time.Second)
		if got := str(f.get(t, AppDegrades), "status.health.status"); got != "Healthy" {
			t.Fatalf("before the delay: %s", got)
		}
		time.Sleep(time.Second)
		doc := f.get(t, AppDegrades)
		if got := str(doc, "status.health.status"); got != "Degraded" {
			t.Fatalf("after the delay: %s", got)
		}
		if got := str(doc, "status.health.lastTransitionTime"); got != "2000-01-01T00:00:20Z" {
			t.Fatalf("lastTransitionTime %s", got)
		}
		res, _ := lookup(doc, "status.resources")
		first := res.([]any)[0].(map[string]any)
		if h, _ := lookup(first, "health.status"); h != "Degraded" {
			t.Fatalf("resource health %v, want Degraded on the Deployment", h)
		}
		f.sync(t, AppDegrades)
		time.Sleep(3 * time.Second)
		doc = f.get(t, AppDegrades)
		if str(doc, "status.operationState.phase") != "Succeeded" || str(doc, "status.health.status") != "Degraded" {
			t.Fatal("degrades: want a Succeeded sync that leaves it Degraded")
		}
	})
}

func TestControlRepairsStuckApp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{})
		code, b := f.do(t, http.MethodPost, "/sim/apps/stuck/state", `{"health":"Healthy","sync":"Synced"}`, nil)
		if code != http.StatusNoContent {
			t.Fatalf("control: %d %s", code, b)
		}
		doc := f.get(t, AppStuck)
		if str(doc, "status.health.status") != "Healthy" || str(doc, "status.sync.status") != "Synced" {
			t.Fatal("stuck not repaired")
		}
		if _, ok := doc["status"].(map[string]any)["conditions"]; ok {
			t.Fatal("a repaired app kept its warning conditions")
		}
		code, b = f.do(t, http.MethodPost, "/sim/apps/nope/state", `{"health":"Healthy"}`, nil)
		if code != http.StatusNotFound {
			t.Fatalf("unknown app: %d %s", code, b)
		}
		code, _ = f.do(t, http.MethodPost, "/sim/apps/stuck/state", `{"health":"Great"}`, nil)
		if code != http.StatusBadRequest {
			t.Fatalf("bad health: %d", code)
		}
		// A new commit makes a synced app OutOfSync.
		f.do(t, http.MethodPost, "/sim/apps/healthy/state", `{"revision":"0123456789abcdef0123456789abcdef01234567"}`, nil)
		doc = f.get(t, AppHealthy)
		if str(doc, "status.sync.status") != "OutOfSync" || str(doc, "status.sync.revision") != "0123456789abcdef0123456789abcdef01234567" {
			t.Fatal("new revision not applied")
		}
	})
}

func TestSimSummariesAndSyncsEndpoints(t *testing.T) {
	f := newFixture(t, Config{Apps: 3})
	f.sync(t, AppFixable)
	code, b := f.do(t, http.MethodGet, "/sim/apps", "", nil)
	var sums []AppSummary
	if code != http.StatusOK || json.Unmarshal(b, &sums) != nil || len(sums) != len(ScenarioApps) {
		t.Fatalf("/sim/apps: %d %s", code, b)
	}
	for _, s := range sums {
		if s.Name == AppFixable && !s.OperationInProgress {
			t.Fatal("fixable: operation in progress not reported")
		}
	}
	code, b = f.do(t, http.MethodGet, "/sim/syncs", "", nil)
	var counts map[string]SyncStats
	if code != http.StatusOK || json.Unmarshal(b, &counts) != nil || counts[AppFixable].Accepted != 1 {
		t.Fatalf("/sim/syncs: %d %s", code, b)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Token: "not-a-jwt"}, {Token: testToken, Apps: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestAppsCarryFixtureSpecAndPolicies(t *testing.T) {
	f := newFixture(t, Config{})
	auto := f.get(t, AppAutomated)
	if _, ok := lookup(auto, "spec.syncPolicy.automated"); !ok {
		t.Fatal("automated: no spec.syncPolicy.automated")
	}
	if _, ok := lookup(f.get(t, AppFixable), "spec.syncPolicy.automated"); ok {
		t.Fatal("fixable must not be automated")
	}
	ann, _ := lookup(f.get(t, AppOptedOut), "metadata.annotations")
	if ann.(map[string]any)[OptOutAnnotation] != "false" {
		t.Fatalf("opted-out annotations %v", ann)
	}
	if got := str(auto, "spec.source.repoURL"); got != "https://github.com/argoproj/argocd-example-apps.git" {
		t.Fatalf("repoURL %q, want the fixture's", got)
	}
	if got := argocd.HealthStatus(str(f.get(t, AppStuck), "status.health.status")); got != argocd.HealthDegraded {
		t.Fatalf("stuck health %s", got)
	}
}

// A sync waiting on a hook that never completes stays Running until DELETE .../operation
// terminates it; the operation then ends Failed, "Operation terminated", as Argo CD does.
func TestHangingHookRunsUntilTerminated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{SyncPickup: time.Second, SyncDuration: 3 * time.Second})
		hang := OutcomeHang
		if err := f.sim.SetState(AppStuck, ControlState{OnSync: &hang}); err != nil {
			t.Fatal(err)
		}
		terminate := func(headers map[string]string) (int, []byte) {
			return f.do(t, http.MethodDelete, "/api/v1/applications/"+AppStuck+"/operation?project=demo", "", headers)
		}
		json := map[string]string{"Content-Type": "application/json"}
		if code, b := terminate(json); code != http.StatusBadRequest || !strings.Contains(string(b), "No operation is in progress") {
			t.Fatalf("terminate with no operation: %d %s", code, b)
		}
		if code, b := f.sync(t, AppStuck); code != http.StatusOK {
			t.Fatalf("sync: %d %s", code, b)
		}
		time.Sleep(time.Hour)
		doc := f.get(t, AppStuck)
		if got := str(doc, "status.operationState.phase"); got != "Running" {
			t.Fatalf("phase after an hour %q, want Running", got)
		}
		if got, want := str(doc, "status.operationState.message"), "waiting for completion of hook batch/Job/stuck-presync"; got != want {
			t.Fatalf("message %q, want %q", got, want)
		}
		if code, b := terminate(nil); code != http.StatusUnsupportedMediaType {
			t.Fatalf("terminate without Content-Type: %d %s, want 415", code, b)
		}
		if code, b := terminate(json); code != http.StatusOK || strings.TrimSpace(string(b)) != "{}" {
			t.Fatalf("terminate: %d %s", code, b)
		}
		if got := str(f.get(t, AppStuck), "status.operationState.phase"); got != "Terminating" {
			t.Fatalf("phase right after terminate %q, want Terminating", got)
		}
		// Argo CD accepts a terminate while the operation is Terminating (operation still set).
		if code, b := terminate(json); code != http.StatusOK || strings.TrimSpace(string(b)) != "{}" {
			t.Fatalf("terminate while Terminating: %d %s, want 200 {}", code, b)
		}
		time.Sleep(2 * time.Second)
		doc = f.get(t, AppStuck)
		if _, op := doc["operation"]; op {
			t.Fatal("operation still set after termination")
		}
		if ph, msg := str(doc, "status.operationState.phase"), str(doc, "status.operationState.message"); ph != "Failed" || msg != TerminatedMessage {
			t.Fatalf("after termination: %s %q, want Failed %q", ph, msg, TerminatedMessage)
		}
		if got := f.sim.SyncCounts()[AppStuck].Terminated; got != 1 {
			t.Fatalf("terminated = %d, want 1", got)
		}
		if code, _ := terminate(json); code != http.StatusBadRequest {
			t.Fatalf("terminate after the end: %d, want 400", code)
		}
	})
}

// A rollback body without id is Argo CD v3.5's 500; with id 0 it names the first history entry.
func TestRollbackBody(t *testing.T) {
	f := newFixture(t, Config{})
	json := map[string]string{"Content-Type": "application/json"}
	rollback := func(body string) (int, []byte) {
		return f.do(t, http.MethodPost, "/api/v1/applications/"+AppStuck+"/rollback", body, json)
	}
	tests := []struct {
		name, body string
		want       int
	}{
		{"no id", `{"project":"demo"}`, http.StatusInternalServerError},
		{"unknown id", `{"id":0,"project":"demo"}`, http.StatusBadRequest}, // the padding history starts at 1
		{"known id", `{"id":1,"project":"demo"}`, http.StatusOK},
	}
	for _, tc := range tests {
		if code, b := rollback(tc.body); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, b, tc.want)
		}
	}
	doc := f.get(t, AppStuck)
	if got := str(doc, "status.sync.status"); got != "OutOfSync" {
		t.Errorf("sync after rollback %q, want OutOfSync", got)
	}
	if got := str(doc, "status.health.status"); got != "Healthy" {
		t.Errorf("health after rollback %q, want Healthy", got)
	}
}
