package render

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

var whyT0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

const applyErr = `one or more objects failed to apply, reason: Deployment.apps "stuck" is invalid: spec.template.spec.containers[0].image: Required value`

// stuckGroup is the stuck app's group (group_by namespace, name): four alerts, one app.
func stuckGroup(status string) *notification.Message {
	m := &notification.Message{GroupKey: `{}:{name="stuck", namespace="argocd"}`}
	m.Status, m.Receiver, m.ExternalURL = status, "slack", "http://alertmanager:9093"
	m.GroupLabels = template.KV{"namespace": "argocd", "name": "stuck"}
	m.CommonLabels = template.KV{"namespace": "argocd", "name": "stuck", "project": "demo"}
	for i, name := range []string{"ArgoCDRemediationPaused", "ArgoCDAppDegraded", "ArgoCDAppSyncFailed", "ArgoCDAppOutOfSync"} {
		a := template.Alert{
			Status:      status,
			Labels:      template.KV{"alertname": name, "namespace": "argocd", "name": "stuck", "project": "demo", "severity": "warning"},
			Annotations: template.KV{"summary": "argocd/stuck: " + name},
			StartsAt:    whyT0.Add(time.Duration(i) * time.Minute), Fingerprint: fmt.Sprintf("%016x", i),
		}
		if status == "resolved" {
			a.EndsAt = whyT0.Add(14 * time.Minute)
		}
		m.Alerts = append(m.Alerts, a)
	}
	return m
}

func stuckDetail() *apiv1.App {
	return &apiv1.App{
		Namespace: "argocd", Name: "stuck", Project: "demo",
		Health: &apiv1.Health{Status: "Degraded"}, Sync: &apiv1.Sync{Status: "OutOfSync", Revisions: []string{"3f2c9a1b7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b"}},
		Operation: &apiv1.Operation{Phase: "Failed", Message: applyErr, FinishedAt: whyT0.Add(8 * time.Minute), InitiatedBy: apiv1.Initiator{Username: "argocd-monitor"},
			FailedResources: []apiv1.Resource{{Kind: "Deployment", Name: "stuck", Status: "SyncFailed", Message: `Deployment.apps "stuck" is invalid: spec.template.spec.containers[0].image: Required value`}}},
		FailingResources: []apiv1.Resource{
			{Kind: "Deployment", Name: "stuck", Health: "Degraded", Message: `Deployment "stuck" exceeded its progress deadline`},
			{Kind: "Pod", Name: "stuck-3f2c9a1b7e-x2", Health: "Degraded", Message: "back-off 5m0s restarting failed container=app"},
		},
		FailingResourcesTotal: 2,
		Events:                []apiv1.Event{{Kind: "Pod", Name: "stuck-3f2c9a1b7e-x2", Reason: "BackOff", Message: `Back-off pulling image "registry.example.com/demo/stuck:3f2c9a1b7e6d"`, Count: 12, Last: whyT0.Add(9 * time.Minute)}},
		OutOfSync:             []apiv1.Resource{{Kind: "Deployment", Name: "stuck"}},
		OutOfSyncTotal:        1,
		Commits: []apiv1.Commit{{Revision: "3f2c9a1b7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b", RepoURL: "https://github.com/example/gitops.git",
			Author: "Jane Doe <jane@example.com>", Message: "Move stuck to the new base chart"}},
		Remediation: &apiv1.Remediation{Mode: "on", MaxAttempts: 3, Paused: true, PausedAt: whyT0.Add(8 * time.Minute),
			ResetsOn: []string{"the app turning Synced and Healthy", "a new target revision"},
			Attempts: []apiv1.Attempt{
				{N: 1, At: whyT0.Add(2 * time.Minute), Result: "failed", Message: applyErr},
				{N: 2, At: whyT0.Add(4 * time.Minute), Result: "failed", Message: applyErr},
				{N: 3, At: whyT0.Add(8 * time.Minute), Result: "failed", Message: applyErr},
			}},
	}
}

func fixedDetail() *apiv1.App {
	d := stuckDetail()
	d.Health.Status, d.Sync.Status = "Healthy", "Synced"
	d.FailingResources, d.FailingResourcesTotal, d.Events, d.OutOfSync, d.OutOfSyncTotal = nil, 0, nil, nil, 0
	d.Operation = &apiv1.Operation{Phase: "Succeeded", FinishedAt: whyT0.Add(12 * time.Minute), InitiatedBy: apiv1.Initiator{Username: "argocd-monitor"}}
	d.Remediation = &apiv1.Remediation{Mode: "on", MaxAttempts: 3, LastReset: &apiv1.Reset{At: whyT0.Add(13 * time.Minute), Reason: "app Synced and Healthy",
		Attempts: []apiv1.Attempt{{N: 1, At: whyT0.Add(11 * time.Minute), Result: "succeeded"}}}}
	return d
}

// rolledBackDetail: the stuck app after the exporter rolled it back at 10:12 and held it.
func rolledBackDetail() *apiv1.App {
	d := stuckDetail()
	d.Health.Status = "Healthy"
	d.Remediation.Rollback = "auto"
	d.Remediation.Hold = &apiv1.Hold{Bad: d.Sync.Revisions[0], To: "abc1234def5678", At: whyT0.Add(12 * time.Minute)}
	d.Remediation.Actions = []apiv1.RemediationAction{{Kind: "rollback", At: whyT0.Add(12 * time.Minute), Result: "ok"}}
	return d
}

// offerDetail: the stuck app paused, with a healthy revision to go back to.
func offerDetail() *apiv1.App {
	d := stuckDetail()
	d.Remediation.Rollback = "offer"
	d.Remediation.RollbackOffer = &apiv1.RollbackOffer{Revision: "abc1234def5678", HealthyUntil: whyT0.Add(-30 * time.Minute)}
	return d
}

func withWhy(apps map[string]*apiv1.App, status, problem string) Options {
	o := testOpts
	o.Why = &enrich.Result{Apps: apps, Status: status, Asked: len(apps), Problem: problem}
	return o
}

func TestWhyGolden(t *testing.T) {
	big := bigGroup(100)
	bigApps := map[string]*apiv1.App{}
	for i := range 10 {
		d := stuckDetail()
		d.Name = fmt.Sprintf("app-%03d", i)
		bigApps["apps/"+d.Name] = d
	}
	bigOpts := withWhy(bigApps, enrich.ResultOK, "")
	bigOpts.Why.Skipped = 90
	tests := []struct {
		name string
		msg  *notification.Message
		opt  Options
	}{
		{"why-stuck", stuckGroup("firing"), withWhy(map[string]*apiv1.App{"argocd/stuck": stuckDetail()}, enrich.ResultOK, "")},
		{"why-resolved", stuckGroup("resolved"), withWhy(map[string]*apiv1.App{"argocd/stuck": fixedDetail()}, enrich.ResultOK, "")},
		{"why-unavailable", stuckGroup("firing"), withWhy(nil, enrich.ResultTimeout, "no detail: the exporter did not answer in time")},
		{"why-group-100", big, bigOpts},
		{"why-rolled-back", stuckGroup("firing"), withWhy(map[string]*apiv1.App{"argocd/stuck": rolledBackDetail()}, enrich.ResultOK, "")},
		{"why-rollback-offer", stuckGroup("firing"), withWhy(map[string]*apiv1.App{"argocd/stuck": offerDetail()}, enrich.ResultOK, "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			atRenderTime(t, func(t *testing.T) {
				checkGolden(t, tc.name, Render(tc.msg, Overrides{}, tc.opt))
			})
		})
	}
}

func TestWhyTellsTheStory(t *testing.T) {
	stuck := mustJSON(t, Render(stuckGroup("firing"), Overrides{}, withWhy(map[string]*apiv1.App{"argocd/stuck": stuckDetail()}, enrich.ResultOK, "")))
	for _, want := range []string{
		`*Why*`,
		`*Failing:* Deployment stuck Degraded: Deployment \"stuck\" exceeded its progress deadline; Pod stuck-3f2c9a1b7e-x2 Degraded`,
		`*Events:* Pod stuck-3f2c9a1b7e-x2 BackOff ×12 (10:09)`,
		`*Last sync:* Failed at 10:08 UTC (by argocd-monitor): one or more objects failed to apply`,
		`*Commit:* <https://github.com/example/gitops/commit/3f2c9a1b7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b|3f2c9a1> by Jane Doe: Move stuck to the new base chart`,
		`*Auto-sync:* tried 3 times of 3: 10:02 failed: one or more objects`, `10:04 failed (same error); 10:08 failed (same error) — *paused* since 10:08 UTC`,
		`*Out of sync:* Deployment stuck`,
	} {
		if !strings.Contains(stuck, want) {
			t.Errorf("missing %s\n%s", want, stuck)
		}
	}
	if n := strings.Count(stuck, "*Why*"); n != 1 {
		t.Errorf("%d Why parts for one app, want 1", n)
	}

	// What the remediation did besides syncs follows the attempts.
	d := stuckDetail()
	d.Remediation.Actions = []apiv1.RemediationAction{
		{Kind: "hard_refresh", At: d.Remediation.Attempts[0].At.Add(time.Minute), Result: "ok"},
		{Kind: "terminate", At: d.Remediation.Attempts[1].At.Add(time.Minute), Result: "ok", By: "alice"},
	}
	acted := mustJSON(t, Render(stuckGroup("firing"), Overrides{}, withWhy(map[string]*apiv1.App{"argocd/stuck": d}, enrich.ResultOK, "")))
	if !strings.Contains(acted, "; 10:03 hard refresh; 10:05 terminated a stuck sync (asked by alice)") {
		t.Errorf("actions not told:\n%s", acted)
	}

	held := mustJSON(t, Render(stuckGroup("firing"), Overrides{}, withWhy(map[string]*apiv1.App{"argocd/stuck": rolledBackDetail()}, enrich.ResultOK, "")))
	if !strings.Contains(held, "*Rollback:* rolled back to abc1234 at 10:12 by argocd-monitor; holding until its manifests change") {
		t.Errorf("hold not told:\n%s", held)
	}
	offer := mustJSON(t, Render(stuckGroup("firing"), Overrides{}, withWhy(map[string]*apiv1.App{"argocd/stuck": offerDetail()}, enrich.ResultOK, "")))
	if !strings.Contains(offer, "*Rollback:* Roll back to abc1234 (healthy until 09:30 UTC)") {
		t.Errorf("offer not told:\n%s", offer)
	}

	fixed := mustJSON(t, Render(stuckGroup("resolved"), Overrides{}, withWhy(map[string]*apiv1.App{"argocd/stuck": fixedDetail()}, enrich.ResultOK, "")))
	if !strings.Contains(fixed, "*What fixed it*: remediation attempt 1 (auto-sync at 10:11 UTC) — lasted 14m") {
		t.Errorf("resolved message does not say what fixed it:\n%s", fixed)
	}

	off := mustJSON(t, Render(stuckGroup("firing"), Overrides{}, withWhy(nil, enrich.ResultError, "no detail: the exporter refused the token (401)")))
	if !strings.Contains(off, "*Detail:* no detail: the exporter refused the token (401)") || strings.Contains(off, "*Why*") {
		t.Errorf("unavailable detail not said in the context line:\n%s", off)
	}
}

func TestFixedBy(t *testing.T) {
	since := whyT0
	commit := []apiv1.Commit{{Revision: "abcdef0123456789", RepoURL: "git@gitlab.com:team/apps.git", Author: "Bob", Message: "Fix image"}}
	tests := []struct {
		name string
		app  *apiv1.App
		want string
	}{
		{"person", &apiv1.App{Commits: commit, Operation: &apiv1.Operation{Phase: "Succeeded", FinishedAt: since.Add(5 * time.Minute), InitiatedBy: apiv1.Initiator{Username: "alice"}}},
			"a sync by alice at 10:05 UTC to <https://gitlab.com/team/apps/-/commit/abcdef0123456789|abcdef0> by Bob: Fix image"},
		{"auto-sync", &apiv1.App{Operation: &apiv1.Operation{Phase: "Succeeded", FinishedAt: since.Add(5 * time.Minute), InitiatedBy: apiv1.Initiator{Automated: true}}},
			"Argo CD auto-sync at 10:05 UTC"},
		{"new revision", &apiv1.App{Commits: commit, Remediation: &apiv1.Remediation{LastReset: &apiv1.Reset{At: since.Add(3 * time.Minute), Reason: "new target revision abcdef0"}}},
			"a new revision to <https://gitlab.com/team/apps/-/commit/abcdef0123456789|abcdef0> by Bob: Fix image"},
		{"old operation", &apiv1.App{Operation: &apiv1.Operation{Phase: "Succeeded", FinishedAt: since.Add(-time.Hour)}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fixedBy(tc.app, since); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestCommitURL(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	for repo, want := range map[string]string{
		"https://github.com/org/repo.git":      "https://github.com/org/repo/commit/" + sha,
		"https://github.com/org/repo":          "https://github.com/org/repo/commit/" + sha,
		"git@github.com:org/repo.git":          "https://github.com/org/repo/commit/" + sha,
		"ssh://git@bitbucket.org/org/repo.git": "https://bitbucket.org/org/repo/commits/" + sha,
		"https://git.internal.example/org/r":   "",
		"https://github.com/org|evil/repo":     "",
		"oci://registry.example.com/charts":    "",
		"":                                     "",
	} {
		if got := commitURL(repo, sha); got != want {
			t.Errorf("commitURL(%q) = %q, want %q", repo, got, want)
		}
	}
	if got := commitURL("https://github.com/org/repo", "v1.2.3"); got != "" {
		t.Errorf("a tag got a commit link: %s", got)
	}
}

// FuzzRenderEnriched: whatever the notification and whatever the exporter answers, an
// enriched message stays within Slack's limits.
func FuzzRenderEnriched(f *testing.F) {
	firing, _ := os.ReadFile(filepath.Join("testdata", "firing.json"))
	detail, _ := json.Marshal(stuckDetail())
	fixed, _ := json.Marshal(fixedDetail())
	f.Add(firing, detail)
	f.Add(firing, fixed)
	stuck, _ := json.Marshal(stuckGroup("firing"))
	f.Add(stuck, detail)
	long := stuckDetail()
	long.Operation.Message = strings.Repeat("é<&>|*", 3000)
	for i := range 50 {
		long.FailingResources = append(long.FailingResources, apiv1.Resource{Kind: "Pod", Name: strings.Repeat("p", 300), Message: strings.Repeat("x&", 400), Health: "Degraded"})
		long.Remediation.Attempts = append(long.Remediation.Attempts, apiv1.Attempt{N: i, Result: "failed", Message: fmt.Sprint(i, strings.Repeat("<m>", 100))})
	}
	longJSON, _ := json.Marshal(long)
	f.Add(stuck, longJSON)
	f.Fuzz(func(t *testing.T, body, detail []byte) {
		m, err := notification.Decode(body)
		if err != nil {
			return
		}
		var app apiv1.App
		if json.Unmarshal(detail, &app) != nil {
			return
		}
		apps := map[string]*apiv1.App{}
		for _, a := range m.Alerts {
			if k := enrich.Key(a); k != "" {
				apps[k] = &app
			}
		}
		opt := withWhy(apps, enrich.ResultPartial, string(detail[:min(len(detail), 300)]))
		opt.Why.Skipped = len(detail)
		bot := appOpts(true, Status{Lines: []string{string(detail[:min(len(detail), 100)])}})
		bot.Why = opt.Why
		for _, o := range []Options{opt, bot} { // the classic layout, the app layout in bot mode
			msg := Render(m, Overrides{}, o)
			if err := CheckLimits(msg); err != nil {
				t.Fatalf("limits: %v", err)
			}
			if _, err := json.Marshal(msg.WebhookMessage()); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func BenchmarkRenderEnriched100(b *testing.B) {
	m := bigGroup(100)
	apps := map[string]*apiv1.App{}
	for _, a := range m.Alerts {
		apps[enrich.Key(a)] = stuckDetail()
	}
	opt := withWhy(apps, enrich.ResultOK, "")
	b.ReportAllocs()
	for b.Loop() {
		Render(m, Overrides{}, opt)
	}
}
