package argocd_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
)

func listOf(items ...[]byte) []byte {
	return []byte(`{"metadata":{"resourceVersion":"1"},"items":[` + string(bytes.Join(items, []byte(","))) + `]}`)
}

func TestDecodeList(t *testing.T) {
	app := argocdsim.Fixture(argocdsim.DegradedOutOfSync)
	newer := argocdsim.Patch(app, map[string]any{
		"status.health.status": "Stalled", "status.sync.status": "Drifting", "metadata.deletionTimestamp": "2026-01-01T00:00:00Z",
		"spec.source": nil, "spec.sources": []any{map[string]any{"repoURL": "https://a"}, map[string]any{"repoURL": "https://b"}},
		"spec.syncPolicy":      map[string]any{"automated": map[string]any{"enabled": false}},
		"status.sync.revision": nil, "status.sync.revisions": []any{"aaa", "bbb"},
	})
	// A multi-source app seen only through its last sync's result.
	synced := argocdsim.Patch(app, map[string]any{
		"status.sync.revision": nil, "status.operationState": map[string]any{"phase": "Succeeded",
			"syncResult": map[string]any{"revisions": []any{"ccc", "ddd"}}},
	})
	for _, tc := range []struct {
		name  string
		body  string
		n     int
		check func(t *testing.T, apps []argocd.App)
		err   bool
	}{
		{name: "fixtures", body: string(listOf(allFixtures()...)), n: 4},
		{name: "items null", body: `{"metadata":{},"items":null}`, n: 0},
		{name: "no items key", body: `{"metadata":{}}`, n: 0},
		// A proxy or another client library may add the Kubernetes envelope.
		{name: "kind and apiVersion envelope", body: `{"kind":"ApplicationList","apiVersion":"argoproj.io/v1alpha1","metadata":{},"items":[` + string(app) + `]}`, n: 1},
		{name: "items first, metadata last", body: `{"items":[` + string(app) + `],"metadata":{"resourceVersion":"2"}}`, n: 1},
		{name: "newer enum values and multi-source", body: string(listOf(newer)), n: 1, check: func(t *testing.T, apps []argocd.App) {
			a := apps[0]
			if a.Health != argocd.HealthUnknown || a.Sync != argocd.SyncUnknown || !a.Deleting || a.Repo != "https://a" || a.AutoSync ||
				a.Revision != "aaa,bbb" {
				t.Errorf("got %+v", a)
			}
		}},
		{name: "multi-source revisions from syncResult", body: string(listOf(synced)), n: 1, check: func(t *testing.T, apps []argocd.App) {
			if got := apps[0].Revision; got != "ccc,ddd" {
				t.Errorf("revision %q, want ccc,ddd", got)
			}
		}},
		{name: "timestamp of the wrong type", body: string(listOf(argocdsim.Patch(app, map[string]any{
			"status.reconciledAt": "yesterday", "status.health.lastTransitionTime": 42.0}))), err: true},
		{name: "bad timestamp string", body: string(listOf(argocdsim.Patch(app, map[string]any{"status.reconciledAt": "yesterday"}))), n: 1,
			check: func(t *testing.T, apps []argocd.App) {
				if !apps[0].ReconciledAt.IsZero() {
					t.Errorf("reconciledAt = %v", apps[0].ReconciledAt)
				}
			}},
		{name: "empty body", body: ``, err: true},
		{name: "truncated in an item", body: string(listOf(allFixtures()...))[:900], err: true},
		{name: "truncated after items", body: `{"items":[` + string(app) + `]`, err: true},
		{name: "trailing garbage", body: string(listOf(app)) + `{}`, err: true},
		{name: "items not an array", body: `{"items":{"a":1}}`, err: true},
		{name: "item without name", body: `{"items":[{"metadata":{}}]}`, err: true},
		{name: "item not an object", body: `{"items":[42]}`, err: true},
		{name: "top level array", body: `[]`, err: true},
		{name: "html", body: `<html></html>`, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			apps, err := argocd.DecodeList(strings.NewReader(tc.body))
			if tc.err {
				if err == nil || !errors.Is(err, argocd.ErrMalformedResponse) || apps != nil {
					t.Fatalf("got %d apps, err %v; want ErrMalformedResponse and no apps", len(apps), err)
				}
				return
			}
			if err != nil || len(apps) != tc.n {
				t.Fatalf("got %d apps, err %v; want %d", len(apps), err, tc.n)
			}
			if tc.check != nil {
				tc.check(t, apps)
			}
		})
	}
}

// FuzzDecodeList: no input panics, and an error always comes without apps.
func FuzzDecodeList(f *testing.F) {
	f.Add(listOf(allFixtures()...))
	for _, fx := range argocdsim.AllFixtures {
		f.Add(listOf(argocdsim.Fixture(fx)))
	}
	f.Add([]byte(`{"items":null}`))
	f.Add([]byte(`{"items":[{"metadata":{"name":"a"},"status":{"operationState":{"phase":"Failed"}}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		apps, err := argocd.DecodeList(bytes.NewReader(b))
		if err != nil && apps != nil {
			t.Fatalf("error %v with %d apps", err, len(apps))
		}
		for _, a := range apps {
			if a.Name == "" {
				t.Fatal("app without a name")
			}
		}
	})
}
