package render

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

// Bounds of the "Why" part: one section per app, shown under the app's first alert.
const (
	maxWhyOne    = 2500 // a group about one app
	maxWhyFew    = 1200 // per app in a group of two or three
	maxWhyMany   = 450  // per app in a bigger group
	minWhyRoom   = 300  // below this, the app gets no Why
	maxWhyLine   = 400
	maxWhyItems  = 3 // failing resources, events, failed sync items listed per app
	shortSHA     = 7
	clockLayout  = "15:04"
	stampLayout  = "15:04 UTC"
	whyHeading   = "*Why*"
	fixedHeading = "*What fixed it*"
)

// addWhy adds the Why section of a's app after its first alert, while room lasts.
func (r *renderer) addWhy(a template.Alert, apps int) {
	key := enrich.Key(a)
	if r.opt.Why == nil || key == "" || r.whyShown[key] {
		return
	}
	app := r.opt.Why.Apps[key]
	if app == nil {
		return
	}
	r.whyShown[key] = true
	limit := maxWhyOne
	switch {
	case apps > 3:
		limit = maxWhyMany
	case apps > 1:
		limit = maxWhyFew
	}
	room := MaxBlockText - reserveTail - r.used
	if room < minWhyRoom || r.blocks+1+2 > MaxBlocks {
		return
	}
	var lines []string
	if a.Status == "resolved" && r.n.Status == "resolved" {
		lines = fixedLines(app, a, r.now)
	} else {
		lines = whyLines(app, r.now)
	}
	if len(lines) == 0 {
		return
	}
	text := joinLines(lines, min(limit, room, MaxSection))
	r.add(section(mrkdwn(text), nil))
	r.whyAdded++
}

// appCount is the number of distinct apps the notification's alerts name.
func (r *renderer) appCount() int {
	seen := map[string]bool{}
	for _, a := range r.n.Alerts {
		if k := enrich.Key(a); k != "" {
			seen[k] = true
		}
	}
	return len(seen)
}

// joinLines joins whole lines up to max runes; a line that does not fit ends the text.
func joinLines(lines []string, max int) string {
	var b strings.Builder
	n := 0
	for i, l := range lines {
		c := runes(l)
		if i > 0 {
			c++
		}
		if n+c > max {
			if i == 0 {
				return truncateEscaped(l, max)
			}
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
		n += c
	}
	return b.String()
}

// whyLines tell why a firing app is in trouble. All outside text is escaped.
func whyLines(app *apiv1.App, now time.Time) []string {
	facts := whyFacts(app, now, told{items: maxWhyItems})
	if len(facts) == 0 {
		return nil
	}
	lines := []string{whyHeading}
	for _, f := range facts {
		lines = append(lines, f.text)
	}
	return lines
}

// fact is one line of the Why; cont marks a list's continuation line (more items of the fact
// above it), which the app layout sends to the thread first.
type fact struct {
	text string
	cont bool
}

// listFacts puts a labelled list on lines of maxWhyItems items each, tail after the last.
func listFacts(label string, items []string, sep, tail string) []fact {
	var out []fact
	for i := 0; i < len(items); i += maxWhyItems {
		head := "• *" + label + ":* "
		if i > 0 {
			head = "• *" + label + "* (continued): "
		}
		s := head + strings.Join(items[i:min(i+maxWhyItems, len(items))], sep)
		if i+maxWhyItems >= len(items) {
			s += tail
		}
		out = append(out, fact{text: line(s), cont: i > 0})
	}
	return out
}

// told is what the message says before the Why (the app layout's top lines), so that the Why
// leaves it out: each fact once.
type told struct {
	// cause is the error the top line quotes; res is the resource it names (nil: none).
	cause string
	res   *apiv1.Resource
	// remediation: the top line tells the attempt count, the pause and the next attempt, so the
	// Why lists only the attempts' times and outcomes.
	remediation bool
	// items bounds the failing resources, events and failed sync items listed.
	items int
}

// says reports whether the top line quotes msg already.
func (t told) says(msg string) bool {
	return t.cause != "" && msg != "" && (msg == t.cause || strings.Contains(msg, t.cause))
}

// names reports whether res is the resource the top line names.
func (t told) names(res apiv1.Resource) bool {
	return t.res != nil && res.Kind == t.res.Kind && res.Name == t.res.Name && res.Namespace == t.res.Namespace
}

// whyFacts are the Why's lines, one fact each, without what t says was told.
func whyFacts(app *apiv1.App, now time.Time, t told) []fact {
	var lines []fact
	add := func(s string) { lines = append(lines, fact{text: s}) }
	if h := app.Health; h != nil && h.Message != "" && len(app.FailingResources) == 0 && !t.says(h.Message) {
		add(line("• *Health:* " + escape(h.Status) + " — " + escape(h.Message)))
	}
	var failing []string
	for _, res := range app.FailingResources {
		if len(failing) == t.items {
			break
		}
		if t.names(res) && t.says(res.Message) {
			continue
		}
		s := escape(res.Kind+" "+res.Name) + " " + escape(res.Health)
		if res.Message != "" {
			s += ": " + escapeTruncate(res.Message, 160)
		}
		failing = append(failing, s)
	}
	if len(failing) > 0 {
		shown := len(failing)
		if len(failing) < len(app.FailingResources) && t.res != nil {
			shown++ // the one the top line names
		}
		lines = append(lines, listFacts("Failing", failing, "; ", more(app.FailingResourcesTotal, shown))...)
	}
	if len(app.Events) > 0 {
		var items []string
		for _, e := range app.Events[:min(len(app.Events), t.items)] {
			s := escape(e.Kind + " " + e.Name + " " + e.Reason)
			if e.Count > 1 {
				s += fmt.Sprintf(" ×%d", e.Count)
			}
			if !e.Last.IsZero() {
				s += " (" + e.Last.UTC().Format(clockLayout) + ")"
			}
			items = append(items, s+": "+escapeTruncate(e.Message, 160))
		}
		lines = append(lines, listFacts("Events", items, "; ", "")...)
	}
	if op := app.Operation; op != nil && op.Phase != "" {
		s := "• *Last sync:* " + escape(op.Phase) + operationWhenBy(op)
		if op.Message != "" && !t.says(op.Message) {
			s += ": " + escapeTruncate(op.Message, 250)
		}
		add(line(s))
		if op.Phase != "Succeeded" {
			var items []string
			for _, res := range op.FailedResources {
				if len(items) == t.items {
					break
				}
				switch {
				case t.names(res):
					continue // the top line names it, with its error
				case res.Message != "" && strings.Contains(op.Message, res.Message):
					items = append(items, escape(res.Kind+" "+res.Name)) // its error is in the line above
				default:
					items = append(items, escape(res.Kind+" "+res.Name)+": "+escapeTruncate(res.Message, 160))
				}
			}
			if len(items) > 0 {
				shown := len(items)
				if t.res != nil {
					shown++
				}
				lines = append(lines, listFacts("Sync failed for", items, "; ", more(len(op.FailedResources), shown))...)
			}
		}
	}
	for _, c := range app.Commits[:min(len(app.Commits), 2)] {
		add("• *Commit:* " + commitText(c))
	}
	if rem := app.Remediation; rem != nil && (len(rem.Attempts) > 0 || rem.Paused || !rem.NextAttempt.IsZero()) {
		if !t.remediation {
			add(line("• *Auto-sync:* " + timeline(rem, now)))
		} else if len(rem.Attempts) > 0 {
			add(line("• *Attempts:* " + attempts(rem.Attempts, t)))
		}
	}
	if rem := app.Remediation; rem != nil {
		if s := rollbackText(rem); s != "" {
			add(line("• *Rollback:* " + s))
		}
	}
	if app.OutOfSyncTotal > 0 {
		var names []string
		for _, res := range app.OutOfSync[:min(len(app.OutOfSync), max(5, t.items))] {
			names = append(names, escape(res.Kind+" "+res.Name))
		}
		add(line("• *Out of sync:* " + strings.Join(names, ", ") + more(app.OutOfSyncTotal, len(names))))
	}
	return lines
}

// line bounds one line of escaped text.
func line(s string) string { return truncateEscaped(s, maxWhyLine) }

func more(total, shown int) string {
	if total > shown {
		return fmt.Sprintf(" (+%d more)", total-shown)
	}
	return ""
}

// operationWhenBy tells when an operation finished (or since when it runs) and who started it:
// " at 10:12 UTC (admin)". The app's and a fleet parent's last sync say it the same way.
func operationWhenBy(op *apiv1.Operation) string {
	var s string
	if !op.FinishedAt.IsZero() {
		s = " at " + op.FinishedAt.UTC().Format(stampLayout)
	} else if !op.StartedAt.IsZero() {
		s = " since " + op.StartedAt.UTC().Format(stampLayout)
	}
	if by := initiator(op.InitiatedBy); by != "" {
		s += " (" + escape(by) + ")"
	}
	return s
}

func initiator(i apiv1.Initiator) string {
	switch {
	case i.Automated:
		return "Argo CD auto-sync"
	case i.Username != "":
		return "by " + i.Username
	}
	return ""
}

// timeline is the remediation story in one line: "tried 3 times: 10:02 failed: …; 10:04
// failed (same error); 10:08 failed — paused since 10:08; resets on …".
func timeline(rem *apiv1.Remediation, now time.Time) string {
	var b strings.Builder
	if n := len(rem.Attempts); n > 0 {
		fmt.Fprintf(&b, "tried %d time%s", n, plural(n))
		if rem.MaxAttempts > 0 {
			fmt.Fprintf(&b, " of %d", rem.MaxAttempts)
		}
		b.WriteString(": " + attempts(rem.Attempts, told{}))
	}
	switch {
	case rem.Paused:
		if b.Len() > 0 {
			b.WriteString(" — ")
		}
		b.WriteString("*paused*")
		if !rem.PausedAt.IsZero() {
			b.WriteString(" since " + rem.PausedAt.UTC().Format(stampLayout))
		}
		if len(rem.ResetsOn) > 0 {
			b.WriteString("; resumes on " + escape(strings.Join(rem.ResetsOn, " or ")))
		}
	case !rem.NextAttempt.IsZero():
		if b.Len() > 0 {
			b.WriteString(" — ")
		}
		b.WriteString(nextAttempt(rem.NextAttempt, now))
	}
	if as := actionsText(rem.Actions); as != "" {
		b.WriteString("; " + as)
	}
	if rem.Mode == "dry-run" {
		b.WriteString(" (dry run: no sync was made)")
	}
	return b.String()
}

// rollbackText is the rollback part of the story: the hold after a rollback ("rolled back to
// abc1234 at 10:12 by argocd-monitor; holding until its manifests change"), the offer ("Roll
// back to abc1234 (healthy until 10:02)"), or why there is none.
func rollbackText(rem *apiv1.Remediation) string {
	switch {
	case rem.Hold != nil:
		by := "argocd-monitor"
		if rem.Hold.By != "" {
			by = escapeTruncate(rem.Hold.By, 60)
		}
		return fmt.Sprintf("rolled back to %s at %s by %s; holding until its manifests change", escape(shortRev(rem.Hold.To)),
			rem.Hold.At.UTC().Format(clockLayout), by)
	case rem.RollbackOffer != nil:
		return fmt.Sprintf("Roll back to %s (healthy until %s)", escape(shortRev(rem.RollbackOffer.Revision)),
			rem.RollbackOffer.HealthyUntil.UTC().Format(stampLayout))
	case rem.NoRollback != "":
		return escape(rem.NoRollback)
	}
	return ""
}

// shortRev is a git SHA's usual shortSHA-character form.
func shortRev(rev string) string {
	if len(rev) > shortSHA {
		return rev[:shortSHA]
	}
	return rev
}

// actionsText lists what the remediation did besides syncs, the last three: "10:12 terminated
// a stuck sync; 10:03 hard refresh".
func actionsText(as []apiv1.RemediationAction) string {
	var parts []string
	for _, a := range as[max(len(as)-3, 0):] {
		var what string
		switch a.Kind {
		case "terminate":
			what = "terminated a stuck sync"
		case "hard_refresh":
			what = "hard refresh"
		case "rollback":
			what = "rolled back"
		default:
			what = escape(a.Kind)
		}
		if a.By != "" {
			what += " (asked by " + escapeTruncate(a.By, 60) + ")"
		}
		if a.Result != "ok" {
			what += " " + escape(a.Result)
		}
		parts = append(parts, a.At.UTC().Format(clockLayout)+" "+what)
	}
	return strings.Join(parts, "; ")
}

// attempts lists the attempts' times and outcomes, each error once: "10:02 failed: …; 10:04
// failed (same error)"; an error the top line quotes is left out.
func attempts(as []apiv1.Attempt, t told) string {
	var b strings.Builder
	last := ""
	for i, at := range as {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(at.At.UTC().Format(clockLayout) + " " + escape(at.Result))
		switch {
		case at.Message == "" || t.says(at.Message):
		case at.Message == last:
			b.WriteString(" (same error)")
		default:
			b.WriteString(": " + escapeTruncate(at.Message, 120))
		}
		last = at.Message
	}
	return b.String()
}

// nextAttempt is "next attempt 10:12 UTC (in 2m)".
func nextAttempt(at, now time.Time) string {
	s := "next attempt " + at.UTC().Format(stampLayout)
	if d := at.Sub(now); d > 0 {
		s += " (in " + humanDuration(d) + ")"
	}
	return s
}

// commitText is "<link|abc1234> by Author: first line", the SHA linked when the repo URL is
// on a forge whose commit URLs we know.
func commitText(c apiv1.Commit) string {
	sha := c.Revision
	if len(sha) > shortSHA {
		sha = sha[:shortSHA]
	}
	s := "`" + escape(sha) + "`"
	if u := commitURL(c.RepoURL, c.Revision); u != "" {
		s = "<" + u + "|" + escape(sha) + ">"
	}
	if c.Author != "" {
		s += " by " + escapeTruncate(authorName(c.Author), 80)
	}
	if c.Message != "" {
		s += ": " + escapeTruncate(c.Message, 200)
	}
	return s
}

// authorName drops the e-mail of "Name <mail>".
func authorName(a string) string {
	if i := strings.Index(a, " <"); i > 0 {
		return a[:i]
	}
	return a
}

// commitURL builds a commit link for GitHub, GitLab and Bitbucket repos (https or scp-like
// ssh URLs); "" for any other host or an unsafe revision.
func commitURL(repo, rev string) string {
	if rev == "" || strings.Trim(rev, "0123456789abcdef") != "" || len(rev) < 7 {
		return "" // not a git SHA (a tag, branch or chart version)
	}
	repo = strings.TrimSpace(repo)
	if rest, ok := strings.CutPrefix(repo, "git@"); ok { // git@github.com:org/repo.git
		host, path, found := strings.Cut(rest, ":")
		if !found {
			return ""
		}
		repo = "https://" + host + "/" + path
	}
	u, err := url.Parse(repo)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "ssh") || u.Host == "" {
		return ""
	}
	path := strings.TrimSuffix(strings.Trim(u.Path, "/"), ".git")
	if strings.Count(path, "/") < 1 || strings.ContainsAny(path, "<>|? #") {
		return ""
	}
	host := u.Hostname()
	var out string
	switch host {
	case "github.com":
		out = "https://github.com/" + path + "/commit/" + rev
	case "gitlab.com":
		out = "https://gitlab.com/" + path + "/-/commit/" + rev
	case "bitbucket.org":
		out = "https://bitbucket.org/" + path + "/commits/" + rev
	default:
		return ""
	}
	if len(out) > maxLinkURL {
		return ""
	}
	return out
}

// fixedLines say, for a resolved app, how long it lasted and what fixed it when known.
func fixedLines(app *apiv1.App, a template.Alert, now time.Time) []string {
	fix := fixedBy(app, a.StartsAt)
	lasted := ""
	if !a.StartsAt.IsZero() && !a.EndsAt.IsZero() {
		lasted = "lasted " + humanDuration(a.EndsAt.Sub(a.StartsAt))
	}
	switch {
	case fix == "" && lasted == "":
		return nil
	case fix == "":
		return []string{fixedHeading + ": not known; " + lasted}
	case lasted == "":
		return []string{fixedHeading + ": " + fix}
	}
	return []string{fixedHeading + ": " + fix + " — " + lasted}
}

// fixedBy names what ended the trouble that started at since: a remediation attempt, a sync
// by a person or by Argo CD, or a new revision. "" when the detail does not say.
func fixedBy(app *apiv1.App, since time.Time) string {
	after := func(t time.Time) bool { return !t.IsZero() && !t.Before(since.Add(-time.Minute)) }
	commit := ""
	if len(app.Commits) > 0 {
		commit = " to " + commitText(app.Commits[0])
	}
	if rem := app.Remediation; rem != nil && rem.LastReset != nil && after(rem.LastReset.At) {
		for i := len(rem.LastReset.Attempts) - 1; i >= 0; i-- {
			if at := rem.LastReset.Attempts[i]; at.Result == "succeeded" {
				return fmt.Sprintf("remediation attempt %d (auto-sync at %s)", at.N, at.At.UTC().Format(stampLayout))
			}
		}
		if strings.HasPrefix(rem.LastReset.Reason, "new target revision") {
			return "a new revision" + commit
		}
	}
	if op := app.Operation; op != nil && op.Phase == "Succeeded" && after(op.FinishedAt) {
		by := initiator(op.InitiatedBy)
		if by == "" {
			by = "a sync"
		} else if !op.InitiatedBy.Automated {
			by = "a sync " + by
		}
		return escape(by) + " at " + op.FinishedAt.UTC().Format(stampLayout) + commit
	}
	if d := app.LastDeploy; d != nil && after(d.DeployedAt) {
		return "a deploy at " + d.DeployedAt.UTC().Format(stampLayout) + commit
	}
	return ""
}

// whyContext is the context line's word on the detail: missing, partial, or cut short.
func (r *renderer) whyContext() []slack.MixedElement {
	w := r.opt.Why
	if w == nil {
		return nil
	}
	var notes []string
	if w.Problem != "" {
		notes = append(notes, w.Problem)
	}
	if total := w.Asked + w.Skipped; total > 1 && r.whyAdded < total && len(w.Apps) > 0 {
		notes = append(notes, fmt.Sprintf("detail for %d of %d apps", r.whyAdded, total))
	}
	if len(notes) == 0 {
		return nil
	}
	return []slack.MixedElement{mrkdwn("*Detail:* " + escapeTruncate(strings.Join(notes, "; "), maxContextItem*2))}
}
