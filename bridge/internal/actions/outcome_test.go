package actions

import (
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

func TestOutcome(t *testing.T) {
	resumed := &Remediation{Mark: Mark{User: bob, At: now}, Kind: KindResume, App: "argocd/payments"}
	story := func(r *apiv1.Remediation) *enrich.Result {
		return &enrich.Result{Apps: map[string]*apiv1.App{"argocd/payments": {Remediation: r}}}
	}
	old := apiv1.Attempt{N: 3, At: now.Add(-time.Hour), Result: "failed", DoneAt: now.Add(-time.Hour)}
	tests := []struct {
		name string
		st   State
		why  *enrich.Result
		want string // "" = no line
	}{
		{"no resume", State{}, story(&apiv1.Remediation{Attempts: []apiv1.Attempt{old}}), ""},
		{"enrichment off", State{Remediation: resumed}, nil, ""},
		{"only attempts before the resume", State{Remediation: resumed}, story(&apiv1.Remediation{Attempts: []apiv1.Attempt{old}}), ""},
		{"attempt still running", State{Remediation: resumed}, story(&apiv1.Remediation{Attempts: []apiv1.Attempt{{N: 1, At: now.Add(time.Second), Result: "triggered"}}}), ""},
		{"failed", State{Remediation: resumed}, story(&apiv1.Remediation{Attempts: []apiv1.Attempt{old, {N: 1, At: now.Add(time.Second), Result: "failed", Message: "hook failed", DoneAt: now.Add(time.Minute)}}}),
			"❌ The sync after <@U0BOB>'s resume of argocd/payments failed at 10:43 UTC: hook failed."},
		{"failed, Argo CD's message escaped", State{Remediation: resumed}, story(&apiv1.Remediation{Attempts: []apiv1.Attempt{{N: 1, At: now.Add(time.Second), Result: "failed",
			Message: "<!channel> hook <http://x|failed> & more", DoneAt: now.Add(time.Minute)}}}),
			"❌ The sync after <@U0BOB>'s resume of argocd/payments failed at 10:43 UTC: &lt;!channel&gt; hook &lt;http://x|failed&gt; &amp; more."},
		{"succeeded, streak ended", State{Remediation: resumed}, story(&apiv1.Remediation{LastReset: &apiv1.Reset{Attempts: []apiv1.Attempt{{N: 1, At: now.Add(time.Second), Result: "succeeded", DoneAt: now.Add(time.Minute)}}}}),
			"✅ The sync after <@U0BOB>'s resume of argocd/payments succeeded at 10:43 UTC."},
		{"reported already", State{Remediation: &Remediation{Mark: resumed.Mark, Kind: KindResume, App: resumed.App, Reported: true}},
			story(&apiv1.Remediation{Attempts: []apiv1.Attempt{{N: 1, At: now.Add(time.Second), Result: "failed"}}}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.st.Outcome(tt.why); got != tt.want {
				t.Errorf("Outcome() = %q, want %q", got, tt.want)
			}
		})
	}
}
