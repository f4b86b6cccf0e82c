package argocd_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
)

// TestParent reads an app's parent from each place Argo CD records it, and
// shows what a projected List cannot see (ownerReferences are not in the
// `fields` whitelist).
func TestParent(t *testing.T) {
	app := argocdsim.Fixture(argocdsim.DegradedOutOfSync)
	for _, tc := range []struct {
		name   string
		patch  map[string]any
		kind   argocd.ParentKind
		parent string
	}{
		{name: "root app", kind: "", parent: ""},
		{name: "ApplicationSet owner", patch: map[string]any{"metadata.ownerReferences": []any{
			map[string]any{"kind": "Deployment", "name": "x"},
			map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "name": "guestbook-set"},
		}}, kind: argocd.ParentApplicationSet, parent: "guestbook-set"},
		{name: "tracking annotation", patch: map[string]any{"metadata.annotations": map[string]any{
			argocd.TrackingIDAnnotation: "root:argoproj.io/Application:argocd/my-app-4",
		}}, kind: argocd.ParentApplication, parent: "root"},
		{name: "tracking annotation of another kind is ignored", patch: map[string]any{
			"metadata.annotations": map[string]any{argocd.TrackingIDAnnotation: "root:apps/Deployment:argocd/x"},
			"metadata.labels":      map[string]any{},
		}, kind: "", parent: ""},
		{name: "instance label", patch: map[string]any{"metadata.labels": map[string]any{argocd.InstanceLabel: "root-v2"}},
			kind: argocd.ParentApplication, parent: "root-v2"},
		{name: "owner wins over tracking", patch: map[string]any{
			"metadata.ownerReferences": []any{map[string]any{"kind": "ApplicationSet", "name": "set"}},
			"metadata.labels":          map[string]any{argocd.InstanceLabel: "root"},
		}, kind: argocd.ParentApplicationSet, parent: "set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := app
			if tc.patch != nil {
				b = argocdsim.Patch(app, tc.patch)
			}
			apps, err := argocd.DecodeList(bytes.NewReader(listOf(b)))
			if err != nil {
				t.Fatal(err)
			}
			if got := apps[0]; got.ParentKind != tc.kind || got.Parent != tc.parent {
				t.Fatalf("parent %q %q, want %q %q", got.ParentKind, got.Parent, tc.kind, tc.parent)
			}
		})
	}
}

// TestFleetThroughTheAPI lists the simulator's fleets: whole items name both
// kinds of parent, projected items only the tracked one; a destination made
// unreachable turns its apps sync Unknown with a ComparisonError.
func TestFleetThroughTheAPI(t *testing.T) {
	sim, err := argocdsim.New(argocdsim.Config{Token: testToken, NoScenario: true, Fleets: []argocdsim.Fleet{
		{Destination: "prod-eu", Apps: 3},
		{Destination: "prod-us", Apps: 2, ParentKind: argocd.ParentApplication},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	cl, _ := newClient(t, srv.URL, 0)
	ctx := context.Background()
	byName := func(fields []string) map[string]argocd.App {
		apps, err := cl.List(ctx, argocd.ListOptions{Fields: fields})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]argocd.App{}
		for _, a := range apps {
			m[a.Name] = a
		}
		return m
	}
	whole := byName(nil)
	if a := whole["prod-eu-03"]; a.ParentKind != argocd.ParentApplicationSet || a.Parent != "prod-eu-apps" || a.DestServer != "prod-eu" {
		t.Fatalf("prod-eu-03: %q %q dest %q", a.ParentKind, a.Parent, a.DestServer)
	}
	if a := whole["prod-us-01"]; a.ParentKind != argocd.ParentApplication || a.Parent != "prod-us-root" {
		t.Fatalf("prod-us-01: %q %q", a.ParentKind, a.Parent)
	}
	if a, ok := whole["prod-us-root"]; !ok || a.Parent != "" || a.Operation == nil {
		t.Fatalf("the app of apps prod-us-root: served %v, parent %q, operation %v", ok, a.Parent, a.Operation)
	}
	projected := byName(argocd.ProjectedFields)
	if a := projected["prod-eu-01"]; a.ParentKind != "" {
		t.Fatalf("projected List named an ApplicationSet owner %q: the whitelist has no ownerReferences", a.Parent)
	}
	if a := projected["prod-us-01"]; a.Parent != "prod-us-root" {
		t.Fatalf("projected prod-us-01 parent %q", a.Parent)
	}

	if n, err := sim.SetDestinationReachable("prod-eu", false); err != nil || n != 3 {
		t.Fatalf("break prod-eu: %d %v", n, err)
	}
	a, err := cl.Get(ctx, "prod-eu-02", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Sync != argocd.SyncUnknown || a.Health != argocd.HealthHealthy || a.Conditions["ComparisonError"] != 1 {
		t.Fatalf("unreachable app: sync %s health %s conditions %v", a.Sync, a.Health, a.Conditions)
	}
	if a := byName(nil)["prod-us-01"]; a.Sync != argocd.SyncSynced {
		t.Fatalf("prod-us changed with prod-eu: %s", a.Sync)
	}
	if n, err := sim.SetDestinationReachable("prod-eu", true); err != nil || n != 3 {
		t.Fatalf("mend prod-eu: %d %v", n, err)
	}
	if a := byName(nil)["prod-eu-02"]; a.Sync != argocd.SyncSynced || a.Conditions["ComparisonError"] != 0 {
		t.Fatalf("mended app: sync %s conditions %v", a.Sync, a.Conditions)
	}
	if _, err := sim.SetDestinationReachable("nowhere", false); err == nil {
		t.Fatal("unknown destination accepted")
	}
}
