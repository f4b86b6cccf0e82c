package v1_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// full has every field set, so the golden file shows every JSON name the contract has.
func full() apiv1.App {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	res := apiv1.Resource{Group: "apps", Kind: "Deployment", Namespace: "payments", Name: "api", Health: "Degraded", Status: "OutOfSync", Message: "ProgressDeadlineExceeded"}
	att := apiv1.Attempt{N: 1, At: t0, Result: "failed", Message: "one or more objects failed to apply", DoneAt: t0.Add(time.Minute)}
	return apiv1.App{
		Namespace: "argocd", Name: "payments", Project: "default", FetchedAt: t0,
		Health:           &apiv1.Health{Status: "Degraded", Message: "1 of 2 pods failing", Since: t0},
		Sync:             &apiv1.Sync{Status: "OutOfSync", Revisions: []string{"abc1234"}, Since: t0},
		Operation:        &apiv1.Operation{Phase: "Failed", Message: "boom", StartedAt: t0, FinishedAt: t0.Add(time.Minute), InitiatedBy: apiv1.Initiator{Automated: true, Username: "argocd-monitor"}, RetryCount: 2, Revisions: []string{"abc1234"}, FailedResources: []apiv1.Resource{res}},
		FailingResources: []apiv1.Resource{res}, FailingResourcesTotal: 1,
		Events:    []apiv1.Event{{Kind: "Pod", Name: "api-1", Reason: "BackOff", Message: "Back-off restarting", Count: 3, Last: t0}},
		OutOfSync: []apiv1.Resource{res}, OutOfSyncTotal: 1,
		Commits:    []apiv1.Commit{{Revision: "abc1234", RepoURL: "https://git.example.com/apps.git", SourceIndex: 1, Author: "dev", Date: t0, Message: "bump"}},
		LastDeploy: &apiv1.Deploy{Revisions: []string{"abc1234"}, DeployedAt: t0, InitiatedBy: apiv1.Initiator{Username: "admin"}},
		Remediation: &apiv1.Remediation{Mode: "on", MaxAttempts: 3, Attempts: []apiv1.Attempt{att}, Paused: true, PausedAt: t0, NextAttempt: t0,
			ResetsOn: []string{"the app turning Synced and Healthy"}, Rollback: "offer",
			RollbackOffer: &apiv1.RollbackOffer{Revision: "0123456789abcdef", HealthyUntil: t0},
			Hold:          &apiv1.Hold{Bad: "abc1234", To: "0123456789abcdef", At: t0, By: "alice"}, LastReset: &apiv1.Reset{At: t0, Reason: "app Synced and Healthy", Attempts: []apiv1.Attempt{att}}},
		Errors: []apiv1.PartError{{Part: "events", Error: "timeout"}},
	}
}

// TestAppJSON pins the read API's field names: the exporter writes them, the bridge reads them,
// and users' Slack templates name them. A change here is an API change (README changelog).
func TestAppJSON(t *testing.T) {
	app := full()
	got, err := json.MarshalIndent(app, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "app.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Errorf("App JSON differs from %s (go test -update, and note the change in the changelog):\n%s", golden, got)
	}
	var back apiv1.App
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, app) {
		t.Errorf("round trip lost data:\n got %+v\nwant %+v", back, app)
	}
}

// TestZeroAppOmitsOptionalParts: an answer with nothing known has only its identity and time.
func TestZeroAppOmitsOptionalParts(t *testing.T) {
	got, _ := json.Marshal(apiv1.App{Namespace: "argocd", Name: "a"})
	if want := `{"namespace":"argocd","name":"a","fetchedAt":"0001-01-01T00:00:00Z"}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestPaths(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{apiv1.AppPath("argocd", "payments"), "/api/v1/apps/argocd/payments"},
		{apiv1.AppPath("argocd", "a/b?c"), "/api/v1/apps/argocd/a%2Fb%3Fc"},
		{apiv1.RemediationPath("argocd", "payments", apiv1.ActionResume), "/api/v1/apps/argocd/payments/remediation/resume"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
