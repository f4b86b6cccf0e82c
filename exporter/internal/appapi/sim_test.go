package appapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// The whole chain against the simulator: the stuck app's answer names its
// failing Deployment and Pod, the pod's warnings, the apply error and the commit.
func TestAgainstSimulator(t *testing.T) {
	const simToken = "header.payload.signature"
	sim, err := argocdsim.New(argocdsim.Config{Token: simToken})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	client, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: secret.Static(simToken)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Token: secret.Static(token)}, client, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, ans := get(t, mux(a), "/api/v1/apps/argocd/stuck", token)
	if ans == nil {
		t.Fatalf("code %d: %s", rec.Code, rec.Body)
	}
	if len(ans.Errors) > 0 {
		t.Fatalf("errors: %+v", ans.Errors)
	}
	kinds := []string{}
	for _, r := range ans.FailingResources {
		kinds = append(kinds, r.Kind)
	}
	if strings.Join(kinds, ",") != "Deployment,Pod" {
		t.Errorf("failing resources %+v", ans.FailingResources)
	}
	if len(ans.Events) == 0 || ans.Events[0].Kind != "Pod" {
		t.Errorf("events %+v", ans.Events)
	}
	if len(ans.Commits) != 1 || ans.Commits[0].Message != argocdsim.CommitMessageStuck || ans.Commits[0].Author != argocdsim.CommitAuthor {
		t.Errorf("commits %+v", ans.Commits)
	}
	if ans.OutOfSyncTotal != 1 || ans.Health.Status != "Degraded" {
		t.Errorf("out of sync %d, health %+v", ans.OutOfSyncTotal, ans.Health)
	}
	if b := rec.Body.String(); strings.Contains(b, "helm") || strings.Contains(b, simToken) {
		t.Errorf("answer leaks spec or token: %s", b)
	}
}

// An app of an unreachable destination: the answer carries Argo CD's ComparisonError, the
// cause the bridge's fleet message quotes.
func TestUnreachableDestinationCondition(t *testing.T) {
	const simToken = "header.payload.signature"
	sim, err := argocdsim.New(argocdsim.Config{Token: simToken, NoScenario: true, Fleets: []argocdsim.Fleet{{Destination: "prod-eu", Apps: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.SetDestinationReachable("prod-eu", false); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	client, err := argocd.NewClient(argocd.Config{APIURL: srv.URL, Token: secret.Static(simToken)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Token: secret.Static(token)}, client, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec, ans := get(t, mux(a), "/api/v1/apps/argocd/prod-eu-02", token)
	if ans == nil {
		t.Fatalf("code %d: %s", rec.Code, rec.Body)
	}
	if len(ans.Conditions) != 1 || ans.Conditions[0].Type != "ComparisonError" || !strings.Contains(ans.Conditions[0].Message, `"prod-eu"`) {
		t.Fatalf("conditions %+v", ans.Conditions)
	}
	if ans.Sync == nil || ans.Sync.Status != "Unknown" {
		t.Fatalf("sync %+v", ans.Sync)
	}
}
