package render

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

// appOpts render the app layout: with threads and the buttons (bot mode), or as a webhook.
func appOpts(bot bool, st Status) Options {
	o := testOpts
	o.Layout = ""
	if bot {
		o.Interactive, o.Status, o.Threads = true, st, true
	}
	return o
}

func withApp(o Options, app *apiv1.App) Options {
	o.Why = &enrich.Result{Apps: map[string]*apiv1.App{app.Namespace + "/" + app.Name: app}, Status: enrich.ResultOK, Asked: 1}
	return o
}

// incident is the stuck app's incident as the real rules send it: n alerts of one app (paused
// first), with the annotations of alerts/argocd-monitor.rules.yaml. The pause's summary was
// evaluated by Prometheus before the third attempt: it says 2.
func incident(status string, n int) *notification.Message {
	m := &notification.Message{GroupKey: `{}:{name="stuck", namespace="argocd"}`}
	m.Status, m.Receiver, m.ExternalURL = status, "slack", "http://alertmanager:9093"
	m.GroupLabels = template.KV{"namespace": "argocd", "name": "stuck"}
	m.CommonLabels = template.KV{"namespace": "argocd", "name": "stuck", "project": "demo", "severity": "warning"}
	alerts := []struct{ name, summary, desc string }{
		{"ArgoCDAppRemediationPaused", "Argo CD app argocd/stuck: auto-sync stopped after 2 attempts",
			"Auto-sync remediation of application argocd/stuck (project demo) stopped after 2 sync attempts that did not bring it back to Synced and Healthy."},
		{"ArgoCDAppDegraded", "Argo CD app argocd/stuck is Degraded",
			"Application argocd/stuck (project demo) has been Degraded for more than 5m: some of its resources fail their health checks."},
		{"ArgoCDAppSyncFailed", "Argo CD app argocd/stuck: last sync Failed",
			"The last sync operation of application argocd/stuck (project demo) ended Failed, and the app has not been Synced and Healthy for more than 5m."},
		{"ArgoCDAppOutOfSync", "Argo CD app argocd/stuck is OutOfSync",
			"Application argocd/stuck (project demo) has been OutOfSync for more than 30m."},
	}
	for i, x := range alerts[:n] {
		a := template.Alert{
			Status: status,
			Labels: template.KV{"alertname": x.name, "namespace": "argocd", "name": "stuck", "project": "demo", "severity": "warning"},
			Annotations: template.KV{"summary": x.summary, "description": x.desc,
				"runbook_url":   "https://github.com/argocd-monitor/argocd-monitor/blob/main/alerts/RUNBOOK.md#" + strings.ToLower(x.name),
				"dashboard_url": "/d/argocd-monitor-app/argocd-monitor-application?var-namespace=argocd&var-name=stuck"},
			StartsAt: whyT0.Add(time.Duration(i) * time.Minute), Fingerprint: fmt.Sprintf("%016x", i),
		}
		if status == "resolved" {
			a.EndsAt = whyT0.Add(14 * time.Minute)
		}
		m.Alerts = append(m.Alerts, a)
	}
	return m
}

// longDetail is the stuck app with ten failing resources and events: more than the top of a
// message holds.
func longDetail() *apiv1.App {
	d := stuckDetail()
	for i := range 8 {
		pod := fmt.Sprintf("stuck-3f2c9a1b7e-p%d", i)
		d.FailingResources = append(d.FailingResources, apiv1.Resource{Kind: "Pod", Name: pod, Health: "Degraded", Message: "back-off 5m0s restarting failed container=app pod=" + pod})
		d.Events = append(d.Events, apiv1.Event{Kind: "Pod", Name: pod, Reason: "BackOff", Message: `Back-off pulling image "registry.example.com/demo/stuck:3f2c9a1b7e6d"`, Count: 3 + i, Last: whyT0.Add(9 * time.Minute)})
	}
	d.FailingResourcesTotal = len(d.FailingResources)
	for i := range 9 {
		d.OutOfSync = append(d.OutOfSync, apiv1.Resource{Kind: "ConfigMap", Name: fmt.Sprintf("stuck-config-%d", i)})
	}
	d.OutOfSyncTotal = 10
	return d
}

func TestAppGolden(t *testing.T) {
	acked := Status{Lines: []string{"👀 Acked by <@U024BE7LH> at 10:42 UTC"}, Acked: true}
	tests := []struct {
		name string
		msg  *notification.Message
		opt  Options
	}{
		// The budget case: one app, three alerts, full detail.
		{"app-stuck-3-alerts", incident("firing", 3), withApp(appOpts(true, Status{}), stuckDetail())},
		{"app-stuck-3-alerts-webhook", incident("firing", 3), withApp(appOpts(false, Status{}), stuckDetail())},
		{"app-stuck-acked", incident("firing", 3), withApp(appOpts(true, acked), stuckDetail())},
		{"app-stuck-long", incident("firing", 4), withApp(appOpts(true, Status{}), longDetail())},
		{"app-resolved", incident("resolved", 3), withApp(appOpts(true, acked), fixedDetail())},
		{"app-no-detail", incident("firing", 3), appOpts(false, Status{})},
		{"app-detail-unavailable", incident("firing", 3), func() Options {
			o := appOpts(true, Status{})
			o.Why = &enrich.Result{Status: enrich.ResultTimeout, Asked: 1, Problem: "no detail: the exporter did not answer in time"}
			return o
		}()},
		{"app-one-alert", load(t, "firing.json"), appOpts(false, Status{})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			atRenderTime(t, func(t *testing.T) {
				msg := Render(tc.msg, Overrides{}, tc.opt)
				checkGolden(t, tc.name, msg)
				if msg.Details != nil {
					checkGolden(t, tc.name+"-details", msg.Details)
				}
			})
		})
	}
}

// TestAppTopBudget: the one-app incident with three alerts and full detail fits TopBudget
// visible characters at the top level in bot mode; a longer story keeps its top within the
// budget and puts the rest, each line once, in the Details reply.
func TestAppTopBudget(t *testing.T) {
	atRenderTime(t, func(t *testing.T) {
		msg := Render(incident("firing", 3), Overrides{}, withApp(appOpts(true, Status{}), stuckDetail()))
		n := Visible(append(msg.Header, msg.Body...)...)
		t.Logf("one app, 3 alerts, full detail: %d visible characters at the top level", n)
		if n > TopBudget || msg.Details != nil {
			t.Errorf("%d visible characters (budget %d), details %v", n, TopBudget, msg.Details != nil)
		}
		for _, fact := range []string{"Failing:", "Events:", "Last sync:", "Commit:", "Attempts:", "Out of sync:"} {
			if !strings.Contains(mustJSON(t, msg), fact) {
				t.Errorf("full detail lacks %s", fact)
			}
		}

		long := Render(incident("firing", 4), Overrides{}, withApp(appOpts(true, Status{}), longDetail()))
		top := Visible(append(long.Header, long.Body...)...)
		t.Logf("one app, 4 alerts, long detail: %d visible characters at the top level, %d in the Details reply", top, Visible(long.Details.Body...))
		if top > TopBudget || long.Details == nil {
			t.Fatalf("long story: %d visible at the top (budget %d), details %v", top, TopBudget, long.Details != nil)
		}
		all := mustJSON(t, long) + mustJSON(t, long.Details)
		for _, fact := range []string{"*Failing:*", "*Events:*", "*Out of sync:*", "*Attempts:*"} {
			if n := strings.Count(all, fact); n != 1 {
				t.Errorf("%s in the message and its Details %d times, want once", fact, n)
			}
		}
		if !strings.Contains(mustJSON(t, long), threadNote) {
			t.Error("the top does not say the rest is in the thread")
		}

		// Webhooks cannot reply in a thread: all the detail stays in the message.
		hook := Render(incident("firing", 4), Overrides{}, withApp(appOpts(false, Status{}), longDetail()))
		if hook.Details != nil || !strings.Contains(mustJSON(t, hook), "*Out of sync:*") {
			t.Errorf("webhook mode: details %v, or detail missing", hook.Details != nil)
		}
	})
}

var attemptCountRE = regexp.MustCompile(`(\d+) (?:of \d+ )?(?:sync )?(?:attempts|syncs failed|times)|sync (\d+) of \d+`)

// TestAppNumbersAgree: every attempt count in the message (header, text, top lines, detail and
// Details reply) comes from the exporter's one answer, never from an alert summary Prometheus
// evaluated at another time (the pause's summary says 2; the exporter knows 3).
func TestAppNumbersAgree(t *testing.T) {
	atRenderTime(t, func(t *testing.T) {
		for _, opt := range []Options{appOpts(true, Status{}), appOpts(false, Status{})} {
			for _, detail := range []*apiv1.App{stuckDetail(), longDetail()} {
				msg := Render(incident("firing", 3), Overrides{}, withApp(opt, detail))
				all := mustJSON(t, msg)
				if msg.Details != nil {
					all += mustJSON(t, msg.Details)
				}
				counts := attemptCountRE.FindAllStringSubmatch(all, -1)
				if len(counts) == 0 {
					t.Fatalf("no attempt count in the message:\n%s", all)
				}
				for _, c := range counts {
					if c[1]+c[2] != "3" {
						t.Errorf("%q: the exporter says 3 attempts", c[0])
					}
				}
				if strings.Contains(all, "stopped after 2") {
					t.Errorf("the stale alert summary is shown:\n%s", all)
				}
			}
		}
		// After a Resume: a fourth attempt, every count says 4.
		d := stuckDetail()
		d.Remediation.Attempts = append(d.Remediation.Attempts, apiv1.Attempt{N: 4, At: whyT0.Add(11 * time.Minute), Result: "failed", Message: applyErr})
		all := mustJSON(t, Render(incident("firing", 3), Overrides{}, withApp(appOpts(true, Status{}), d)))
		for _, c := range attemptCountRE.FindAllStringSubmatch(all, -1) {
			if c[1]+c[2] != "4" {
				t.Errorf("after a Resume %q: the exporter says 4 attempts", c[0])
			}
		}
	})
}

// TestAppTopLines: the top answers in three lines, in order: the app and where (header, with
// the Argo CD link beside the next lines), what is wrong with its cause, what the monitor did
// and will do; then the buttons.
func TestAppTopLines(t *testing.T) {
	atRenderTime(t, func(t *testing.T) {
		msg := Render(incident("firing", 3), Overrides{}, withApp(appOpts(true, Status{}), stuckDetail()))
		header := msg.Header[0].(*slack.HeaderBlock).Text.Text
		first := msg.Body[0].(*slack.SectionBlock)
		lines := strings.Split(first.Text.Text, "\n")
		if header != "🟠 argocd/stuck · project demo" || len(lines) != 2 {
			t.Fatalf("header %q, then %d lines:\n%s", header, len(lines), first.Text.Text)
		}
		if first.Accessory == nil || first.Accessory.ButtonElement.URL != "https://argocd.example.com/applications/argocd/stuck" {
			t.Errorf("no Argo CD link beside the top lines")
		}
		for _, want := range []string{"Degraded, sync failing", "Deployment stuck", "image: Required value"} {
			if !strings.Contains(lines[0], want) {
				t.Errorf("line 2 lacks %q: %s", want, lines[0])
			}
		}
		for _, want := range []string{"3 of 3 syncs failed", "*paused* since 10:08 UTC", "resumes on"} {
			if !strings.Contains(lines[1], want) {
				t.Errorf("line 3 lacks %q: %s", want, lines[1])
			}
		}
		if _, ok := msg.Body[1].(*slack.ActionBlock); !ok {
			t.Errorf("the buttons do not follow the top lines: %T", msg.Body[1])
		}
		if !strings.HasPrefix(msg.Text, header+"\n"+lines[0]) {
			t.Errorf("the notification text is not the top lines: %q", msg.Text)
		}

		// The cause of the last failure, and whether a retry can help.
		d0 := stuckDetail()
		for i := range d0.Remediation.Attempts {
			d0.Remediation.Attempts[i].Cause = "invalid_manifest"
		}
		top0 := Render(incident("firing", 3), Overrides{}, withApp(appOpts(true, Status{}), d0)).Body[0].(*slack.SectionBlock).Text.Text
		if !strings.Contains(top0, "3 of 3 syncs failed: the manifest is invalid: retrying will not help — *paused*") {
			t.Errorf("cause not told: %s", top0)
		}

		// Next attempt due: line 3 says when.
		d := stuckDetail()
		d.Remediation.Paused, d.Remediation.Attempts = false, d.Remediation.Attempts[:1]
		d.Remediation.NextAttempt = renderTime.Add(2 * time.Minute)
		top := Render(incident("firing", 2), Overrides{}, withApp(appOpts(true, Status{}), d)).Body[0].(*slack.SectionBlock).Text.Text
		if !strings.Contains(top, "sync 1 of 3 failed — next attempt 12:07 UTC (in 2m)") {
			t.Errorf("next attempt not told: %s", top)
		}
	})
}

// TestAppTerminateButton: while ArgoCDAppSyncStuck fires for the app, its remediation button
// is "Terminate sync" (nothing else syncs the app until the operation ends); bot mode only.
func TestAppTerminateButton(t *testing.T) {
	atRenderTime(t, func(t *testing.T) {
		n := incident("firing", 2)
		n.Alerts[0].Labels["alertname"] = "ArgoCDAppSyncStuck"
		for _, bot := range []bool{true, false} {
			js := mustJSON(t, Render(n, Overrides{}, withApp(appOpts(bot, Status{}), stuckDetail())))
			if got := strings.Contains(js, `"action_id":"terminate_sync"`) && strings.Contains(js, "Terminate sync"); got != bot {
				t.Errorf("bot %v: terminate button shown %v", bot, got)
			}
		}
	})
}

// TestAppRollbackButton: while the exporter offers a rollback for the app (paused on a revision
// that never became healthy), the app's buttons include "Roll back to abc1234"; bot mode only,
// and not once the app is held.
func TestAppRollbackButton(t *testing.T) {
	atRenderTime(t, func(t *testing.T) {
		n := incident("firing", 2)
		for _, tc := range []struct {
			name   string
			bot    bool
			detail *apiv1.App
			want   bool
		}{
			{"offer, bot", true, offerDetail(), true},
			{"offer, webhook", false, offerDetail(), false},
			{"held", true, rolledBackDetail(), false},
			{"no offer", true, stuckDetail(), false},
		} {
			js := mustJSON(t, Render(n, Overrides{}, withApp(appOpts(tc.bot, Status{}), tc.detail)))
			if got := strings.Contains(js, `"action_id":"rollback"`) && strings.Contains(js, "Roll back to abc1234"); got != tc.want {
				t.Errorf("%s: rollback button shown %v, want %v", tc.name, got, tc.want)
			}
		}
	})
}

// TestAppOneSetOfButtons: the app's alerts share one row of buttons, each action once: one
// remediation button, one silence control (buttons in bot mode, the link otherwise), the
// dashboard once; each alert is one line linking its runbook.
func TestAppOneSetOfButtons(t *testing.T) {
	atRenderTime(t, func(t *testing.T) {
		for _, tc := range []struct {
			bot  bool
			want []string
		}{
			{true, []string{"resume_sync", "ack", "silence_1h", "silence_4h", "silence_24h", "dashboard"}},
			{false, []string{"dashboard", "silence"}},
		} {
			msg := Render(incident("firing", 3), Overrides{}, withApp(appOpts(tc.bot, Status{}), stuckDetail()))
			var rows int
			var ids []string
			for _, b := range msg.Body {
				if a, ok := b.(*slack.ActionBlock); ok {
					rows++
					for _, e := range a.Elements.ElementSet {
						ids = append(ids, e.(*slack.ButtonBlockElement).ActionID)
					}
				}
			}
			if rows != 1 || strings.Join(ids, " ") != strings.Join(tc.want, " ") {
				t.Errorf("bot %v: %d rows of buttons %v, want one row %v", tc.bot, rows, ids, tc.want)
			}
			js := mustJSON(t, msg)
			if n := strings.Count(js, "RUNBOOK.md#"); n != 3 {
				t.Errorf("bot %v: %d runbook links, want one per alert", tc.bot, n)
			}
			if n := strings.Count(js, "Open in Argo CD"); n != 1 {
				t.Errorf("bot %v: %d Argo CD links", tc.bot, n)
			}
		}
	})
}

// TestAppEachFactOnce: the sync error, the pause, the failing resources and the commit are
// said once in the blocks (the notification text repeats the top lines, as notifications show
// only it).
func TestAppEachFactOnce(t *testing.T) {
	atRenderTime(t, func(t *testing.T) {
		msg := Render(incident("firing", 3), Overrides{}, withApp(appOpts(false, Status{}), stuckDetail()))
		b, err := json.Marshal(append(msg.Header, msg.Body...))
		if err != nil {
			t.Fatal(err)
		}
		blocks := string(b)
		for _, fact := range []string{"image: Required value", "*paused*", "Move stuck to the new base chart", "exceeded its progress deadline", "BackOff"} {
			if n := strings.Count(blocks, fact); n != 1 {
				t.Errorf("%q said %d times in the blocks", fact, n)
			}
		}
	})
}

// TestLayoutClassic: the route option layout: classic keeps the former layout, one section and
// one row of buttons per alert.
func TestLayoutClassic(t *testing.T) {
	atRenderTime(t, func(t *testing.T) {
		o := withApp(appOpts(true, Status{}), stuckDetail())
		o.Layout = LayoutClassic
		msg := Render(incident("firing", 3), Overrides{}, o)
		rows := 0
		for _, b := range msg.Body {
			if _, ok := b.(*slack.ActionBlock); ok {
				rows++
			}
		}
		if rows != 4 || msg.Details != nil || !strings.HasPrefix(msg.Text, "🟠 Firing: argocd/stuck (3)") {
			t.Errorf("classic: %d rows of buttons (want 3 alerts + the group's), details %v, text %q", rows, msg.Details != nil, msg.Text)
		}
	})
}
