package actions

import (
	"fmt"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
)

// Outcome is the thread line reporting the sync a Slack retry or resume led to, once the
// exporter's story (the enrichment of a later notification of the group) has its result; ""
// while there is none, or after it was reported (Remediation.Reported).
func (s State) Outcome(why *enrich.Result) string {
	r := s.Remediation
	if r == nil || r.Reported || why == nil {
		return ""
	}
	app := why.Apps[r.App]
	if app == nil || app.Remediation == nil {
		return ""
	}
	story := app.Remediation
	attempts := story.Attempts
	if story.LastReset != nil { // the attempt fixed the app: its streak ended
		attempts = append(attempts, story.LastReset.Attempts...)
	}
	for _, a := range attempts {
		if a.At.Before(r.At) {
			continue
		}
		switch a.Result {
		case "succeeded":
			return fmt.Sprintf("✅ The sync after <@%s>'s %s of %s succeeded at %s.", r.User, r.Kind, r.App, clock(a.DoneAt))
		case "failed":
			line := fmt.Sprintf("❌ The sync after <@%s>'s %s of %s failed at %s", r.User, r.Kind, r.App, clock(a.DoneAt))
			if a.Message != "" { // Argo CD's words: outside text
				line += ": " + render.EscapeTruncate(a.Message, 300)
			}
			return line + "."
		case "dry_run":
			return fmt.Sprintf("ℹ️ After <@%s>'s %s of %s the exporter only logged a sync (dry run).", r.User, r.Kind, r.App)
		}
	}
	return ""
}
