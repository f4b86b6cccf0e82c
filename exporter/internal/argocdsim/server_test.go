package argocdsim

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

type apiError struct {
	Error   string `json:"error"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func TestAuth(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		name     string
		path     string
		auth     string
		wantCode int
		wantMsg  string
	}{
		{"version needs no auth", "/api/version", "", http.StatusOK, ""},
		{"no header", "/api/v1/applications", "", http.StatusUnauthorized, "no session information"},
		{"not a bearer", "/api/v1/applications", "Basic YTpi", http.StatusUnauthorized, "no session information"},
		{"non-JWT bearer", "/api/v1/applications", "Bearer secret-token", http.StatusUnauthorized, "no session information"},
		{"empty JWT part", "/api/v1/applications", "Bearer a..c", http.StatusUnauthorized, "no session information"},
		{"wrong JWT", "/api/v1/applications", "Bearer a.b.c", http.StatusUnauthorized, "invalid session: token signature is invalid"},
		{"wrong JWT on get", "/api/v1/applications/healthy", "Bearer a.b.c", http.StatusUnauthorized, "invalid session: token signature is invalid"},
		{"right token", "/api/v1/applications", "Bearer " + testToken, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := f.do(t, http.MethodGet, tt.path, "", map[string]string{"Authorization": tt.auth})
			if code != tt.wantCode {
				t.Fatalf("code %d, want %d: %s", code, tt.wantCode, b)
			}
			if tt.wantMsg == "" {
				return
			}
			var e apiError
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatal(err)
			}
			if e != (apiError{tt.wantMsg, 16, tt.wantMsg}) {
				t.Fatalf("body %+v", e)
			}
			if strings.Contains(string(b), testToken) {
				t.Fatal("error body echoes the token")
			}
		})
	}
}

type listAnswer struct {
	Kind     string                           `json:"kind"`
	Metadata struct{ ResourceVersion string } `json:"metadata"`
	Items    []map[string]any                 `json:"items"`
}

func (f *fixture) list(t *testing.T, query string) (listAnswer, []byte) {
	t.Helper()
	code, b := f.do(t, http.MethodGet, "/api/v1/applications"+query, "", nil)
	if code != http.StatusOK {
		t.Fatalf("list %s: %d %s", query, code, b)
	}
	var l listAnswer
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("list %s: %v", query, err)
	}
	return l, b
}

func TestListFullItems(t *testing.T) {
	f := newFixture(t, Config{Apps: 20})
	l, b := f.list(t, "")
	if !strings.HasPrefix(string(b), `{"metadata":{"resourceVersion":"`) || l.Metadata.ResourceVersion == "" || len(l.Items) != 26 {
		t.Fatalf("want Argo CD's envelope (metadata first, no kind), 26 items; got %.60s... with %d items", b, len(l.Items))
	}
	if per := len(b) / len(l.Items); per < 9<<10 || per > 16<<10 {
		t.Fatalf("%d bytes per item, want about 12 KB as on real installations", per)
	}
	for _, it := range l.Items {
		res, _ := lookup(it, "status.resources")
		for _, r := range res.([]any) {
			if _, ok := r.(map[string]any)["health"]; ok {
				t.Fatalf("%s: List must not fill status.resources[].health", str(it, "metadata.name"))
			}
		}
	}
}

func TestListFilters(t *testing.T) {
	f := newFixture(t, Config{Apps: 16})
	tests := []struct {
		query string
		want  int
	}{
		{"?projects=demo", 6},
		{"?projects=demo&projects=team-1", 8},
		{"?project=team-2", 2},
		{"?selector=app.kubernetes.io/part-of%3Ddemo", 6},
		{"?selector=app.kubernetes.io/part-of+in+(team-1,team-2)", 4},
		{"?selector=app.kubernetes.io/part-of!%3Ddemo", 16},
		{"?selector=team-name", 5 + 12}, // apps built from fixtures with a team-name label
		{"?selector=!team-name", 1 + 4},
		{"?appNamespace=argocd", 22},
		{"?appNamespace=other", 0},
		{"?repo=https://github.com/argoproj/argocd-example-apps.git", 22},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			l, b := f.list(t, tt.query)
			if len(l.Items) != tt.want {
				t.Fatalf("%d items, want %d", len(l.Items), tt.want)
			}
			if tt.want == 0 && !strings.Contains(string(b), `"items":null`) {
				t.Fatalf("empty list encoded as %s, want items null as Argo CD does", b)
			}
		})
	}
	code, b := f.do(t, http.MethodGet, "/api/v1/applications?selector=a%3D%3D%3Db", "", nil)
	if code != http.StatusInternalServerError || !strings.Contains(string(b), "error parsing the selector") {
		t.Fatalf("bad selector: %d %s", code, b)
	}
}

func TestListFieldsWhitelist(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		name   string
		fields string
		want   map[string]any // for the stuck app
	}{
		{
			name:   "whitelisted paths kept, others dropped silently",
			fields: "items.metadata.name,items.status.sync.status,items.status.conditions,items.status.reconciledAt,items.status.operationState.message",
			want:   map[string]any{"metadata": map[string]any{"name": "stuck"}, "status": map[string]any{"sync": map[string]any{"status": "OutOfSync"}}},
		},
		{
			name:   "parent of a whitelisted path is not whitelisted",
			fields: "items.metadata.name,items.status.sync",
			want:   map[string]any{"metadata": map[string]any{"name": "stuck"}},
		},
		{
			name:   "paths without the items prefix are ignored",
			fields: "metadata.name,items.spec.project",
			want:   map[string]any{"spec": map[string]any{"project": "demo"}},
		},
		{
			name:   "health and sync revision",
			fields: "items.status.health,items.status.sync.revision",
			want: map[string]any{"status": map[string]any{
				"health": map[string]any{"status": "Degraded", "lastTransitionTime": ts(f.sim.start)},
				"sync":   map[string]any{"revision": commit(AppStuck, "broken")},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := f.list(t, "?projects=demo&fields="+tt.fields)
			// Items are in name order: stuck is the last of the scenario apps.
			got := l.Items[len(l.Items)-1]
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	// Excluding keeps every other whitelisted path, and nothing outside the whitelist.
	l, _ := f.list(t, "?projects=demo&fields=-items.status.health,items.status.resources,items.status.summary")
	it := l.Items[0]
	if _, ok := lookup(it, "status.health"); ok {
		t.Fatal("excluded status.health still there")
	}
	if _, ok := lookup(it, "status.sync.status"); !ok {
		t.Fatal("status.sync.status missing from an exclude projection")
	}
	if _, ok := lookup(it, "status.history"); ok {
		t.Fatal("history is not whitelisted: it must not appear")
	}
}

func TestGet(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		name     string
		path     string
		wantCode int
		wantMsg  string
	}{
		{"exists", "/api/v1/applications/healthy", http.StatusOK, ""},
		{"exists in project", "/api/v1/applications/healthy?project=demo", http.StatusOK, ""},
		{"missing, no project: 403", "/api/v1/applications/nope", http.StatusForbidden, "permission denied"},
		{"missing, project named: 404", "/api/v1/applications/nope?project=demo", http.StatusNotFound, `applications.argoproj.io "nope" not found`},
		{"other project: 404", "/api/v1/applications/healthy?project=team-1", http.StatusNotFound, `applications.argoproj.io "healthy" not found`},
		{"other namespace: 403", "/api/v1/applications/healthy?appNamespace=x", http.StatusForbidden, "permission denied"},
		{"unknown route", "/api/v1/clusters", http.StatusNotFound, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := f.do(t, http.MethodGet, tt.path, "", nil)
			if code != tt.wantCode {
				t.Fatalf("code %d, want %d: %s", code, tt.wantCode, b)
			}
			if tt.wantMsg != "" {
				var e apiError
				if json.Unmarshal(b, &e) != nil || e.Message != tt.wantMsg || e.Error != tt.wantMsg {
					t.Fatalf("body %s", b)
				}
			}
		})
	}
	// Get fills resource health from the resource tree.
	res, _ := lookup(f.get(t, AppHealthy), "status.resources")
	if _, ok := res.([]any)[0].(map[string]any)["health"]; !ok {
		t.Fatal("Get must fill status.resources[].health")
	}
}

// TestGetRefreshReconciles: refresh=normal re-reconciles the app now.
func TestGetRefreshReconciles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, Config{})
		time.Sleep(time.Minute)
		f.do(t, http.MethodGet, "/api/v1/applications/healthy?refresh=normal", "", nil)
		if got := str(f.get(t, AppHealthy), "status.reconciledAt"); got != "2000-01-01T00:01:00Z" {
			t.Fatalf("reconciledAt %s after refresh", got)
		}
	})
}

func TestSyncErrors(t *testing.T) {
	tests := []struct {
		name     string
		app      string
		control  string // state set on the app first
		body     string
		headers  map[string]string
		wantCode int
		wantGRPC int
		wantMsg  string
	}{
		{name: "charset suffix", app: "fixable", body: `{}`, headers: map[string]string{"Content-Type": "application/json; charset=utf-8"}, wantCode: 415, wantMsg: "Invalid content type"},
		{name: "no content type", app: "fixable", body: `{}`, headers: map[string]string{"Content-Type": ""}, wantCode: 415, wantMsg: "Invalid content type"},
		{name: "content type before auth", app: "fixable", body: `{}`, headers: map[string]string{"Content-Type": "text/plain", "Authorization": ""}, wantCode: 415, wantMsg: "Invalid content type"},
		{name: "no auth", app: "fixable", body: `{}`, headers: map[string]string{"Authorization": ""}, wantCode: 401, wantGRPC: 16, wantMsg: "no session information"},
		{name: "malformed body", app: "fixable", body: `{"prune":"yes"}`, wantCode: 400, wantGRPC: 3},
		{name: "missing app", app: "nope", body: `{}`, wantCode: 403, wantGRPC: 7, wantMsg: "permission denied"},
		{name: "missing app with project", app: "nope", body: `{"project":"demo"}`, wantCode: 404, wantGRPC: 5, wantMsg: `applications.argoproj.io "nope" not found`},
		{name: "rbac", app: "fixable", control: `{"syncDenied":true}`, body: `{}`, wantCode: 403, wantGRPC: 7, wantMsg: "permission denied: applications, sync, demo/fixable, sub: argocd-monitor, iat: START"},
		{name: "sync window", app: "fixable", control: `{"syncWindow":true}`, body: `{}`, wantCode: 403, wantGRPC: 7, wantMsg: "cannot sync: blocked by sync window"},
		{name: "deleting", app: "fixable", control: `{"deleting":true}`, body: `{}`, wantCode: 400, wantGRPC: 9, wantMsg: "application is deleting"},
		{name: "other app namespace", app: "fixable", body: `{"appNamespace":"team-a"}`, wantCode: 403, wantGRPC: 7, wantMsg: "permission denied"},
		{name: "own app namespace", app: "fixable", body: `{"appNamespace":"argocd","project":"demo"}`, wantCode: 200},
		{name: "unknown fields ignored", app: "fixable", body: `{"retry":{"limit":3}}`, wantCode: 200},
		{name: "empty body", app: "fixable", body: ``, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			if tt.control != "" {
				if code, b := f.do(t, http.MethodPost, "/sim/apps/"+tt.app+"/state", tt.control, nil); code != http.StatusNoContent {
					t.Fatalf("control: %d %s", code, b)
				}
			}
			code, b := f.do(t, http.MethodPost, "/api/v1/applications/"+tt.app+"/sync", tt.body, tt.headers)
			if code != tt.wantCode {
				t.Fatalf("code %d, want %d: %s", code, tt.wantCode, b)
			}
			switch {
			case tt.wantCode == 415:
				if strings.TrimSpace(string(b)) != tt.wantMsg {
					t.Fatalf("body %q", b)
				}
			case tt.wantGRPC != 0:
				var e apiError
				want := strings.ReplaceAll(tt.wantMsg, "START", ts(f.sim.start))
				if err := json.Unmarshal(b, &e); err != nil || e.Code != tt.wantGRPC || (want != "" && e.Message != want) {
					t.Fatalf("body %s", b)
				}
			default:
				var doc map[string]any
				if err := json.Unmarshal(b, &doc); err != nil || doc["operation"] == nil {
					t.Fatalf("accepted sync must answer the app with operation set: %s", b)
				}
			}
			accepted := f.sim.SyncCounts()[tt.app].Accepted
			if (tt.wantCode == 200) != (accepted == 1) {
				t.Fatalf("accepted count %d after a %d", accepted, code)
			}
		})
	}
}

// watchClient reads a Watch stream line by line.
type watchClient struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func (f *fixture) watch(t *testing.T, query string, sse bool) *watchClient {
	t.Helper()
	// A missing event fails the read (and the test) instead of hanging until the test timeout.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.url+"/api/v1/stream/applications"+query, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if sse {
		req.Header.Set("Accept", "text/event-stream")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch: %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return &watchClient{resp: resp, sc: sc}
}

type watchEvent struct {
	Result struct {
		Type        string         `json:"type"`
		Application map[string]any `json:"application"`
	} `json:"result"`
}

// next returns the next event, skipping SSE framing and keepalives.
func (w *watchClient) next(t *testing.T) watchEvent {
	t.Helper()
	for w.sc.Scan() {
		line := w.sc.Text()
		if line == "" || line == ":" {
			continue
		}
		line = strings.TrimSuffix(strings.TrimPrefix(line, "data: "), " ")
		var ev watchEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		return ev
	}
	t.Fatalf("stream ended: %v", w.sc.Err())
	return watchEvent{}
}

func TestWatchJSONLines(t *testing.T) {
	f := newFixture(t, Config{Apps: 4})
	w := f.watch(t, "?projects=demo", false)
	if ct := w.resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	var added []string
	for range ScenarioApps {
		ev := w.next(t)
		if ev.Result.Type != "ADDED" {
			t.Fatalf("type %s before all ADDED", ev.Result.Type)
		}
		added = append(added, str(ev.Result.Application, "metadata.name"))
	}
	sort.Strings(added)
	want := append([]string(nil), ScenarioApps...)
	sort.Strings(want)
	if !reflect.DeepEqual(added, want) {
		t.Fatalf("ADDED %v, want the scenario apps %v", added, want)
	}
	if err := f.sim.SetState(AppStuck, ControlState{Health: ptr(argocd.HealthHealthy)}); err != nil {
		t.Fatal(err)
	}
	ev := w.next(t)
	if ev.Result.Type != "MODIFIED" || str(ev.Result.Application, "status.health.status") != "Healthy" {
		t.Fatalf("want MODIFIED stuck Healthy, got %s %v", ev.Result.Type, str(ev.Result.Application, "status.health.status"))
	}
	// A filler app outside the filter changes: nothing arrives for it.
	if err := f.sim.SetState("app-00001", ControlState{Health: ptr(argocd.HealthDegraded)}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.Delete(AppFixable); err != nil {
		t.Fatal(err)
	}
	ev = w.next(t)
	if ev.Result.Type != "DELETED" || str(ev.Result.Application, "metadata.name") != AppFixable {
		t.Fatalf("want DELETED fixable, got %s %s", ev.Result.Type, str(ev.Result.Application, "metadata.name"))
	}
}

func TestWatchSSEFieldsDedupeKeepalive(t *testing.T) {
	f := newFixture(t, Config{KeepAlive: 5 * time.Millisecond})
	w := f.watch(t, "?fields=result.type,result.application.metadata.name,result.application.status.health.status&selector=app.kubernetes.io/part-of%3Ddemo", true)
	if ct := w.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	for range ScenarioApps {
		ev := w.next(t)
		app := ev.Result.Application
		if len(app) != 2 || len(app["metadata"].(map[string]any)) != 1 {
			t.Fatalf("projection kept more than asked: %v", app)
		}
	}
	// The first MODIFIED differs from ADDED by its type; a second change invisible through the
	// projection (the revision) is then dropped as a duplicate, and the next visible one arrives.
	if err := f.sim.SetState(AppHealthy, ControlState{Revision: ptr("00000000000000000000000000000000000000aa")}); err != nil {
		t.Fatal(err)
	}
	if ev := w.next(t); ev.Result.Type != "MODIFIED" || str(ev.Result.Application, "status.health.status") != "Healthy" {
		t.Fatalf("first MODIFIED: %+v", ev)
	}
	if err := f.sim.SetState(AppHealthy, ControlState{Revision: ptr("00000000000000000000000000000000000000bb")}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.SetState(AppHealthy, ControlState{Health: ptr(argocd.HealthMissing)}); err != nil {
		t.Fatal(err)
	}
	// Keepalives are sent meanwhile: read lines until both a keepalive and an event were seen.
	var first watchEvent
	sawKeepalive, sawEvent := false, false
	for !(sawKeepalive && sawEvent) && w.sc.Scan() {
		line := w.sc.Text()
		switch {
		case line == ":":
			sawKeepalive = true
		case strings.HasPrefix(line, "data: ") && !sawEvent:
			if !strings.HasSuffix(line, "} ") {
				t.Fatalf("SSE data line %q: want Argo CD's framing (a space before the blank line)", line)
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &first); err != nil {
				t.Fatal(err)
			}
			sawEvent = true
		}
	}
	if !sawKeepalive || !sawEvent {
		t.Fatalf("keepalive %v, event %v: %v", sawKeepalive, sawEvent, w.sc.Err())
	}
	if first.Result.Type != "MODIFIED" {
		t.Fatalf("type %s", first.Result.Type)
	}
	if got := str(first.Result.Application, "status.health.status"); got != "Missing" {
		t.Fatalf("first event after the invisible change shows health %q: duplicate not dropped", got)
	}
}

func TestWatchUnauthorized(t *testing.T) {
	f := newFixture(t, Config{})
	code, _ := f.do(t, http.MethodGet, "/api/v1/stream/applications", "", map[string]string{"Authorization": ""})
	if code != http.StatusUnauthorized {
		t.Fatalf("code %d", code)
	}
}

func ptr[T any](v T) *T { return &v }
