package render

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

// The app layout (the default) is a message about one Argo CD app that reads in ten seconds.
// Its top answers in three lines, in this order:
//
//  1. which app, and where (the header; the Argo CD link is the button beside lines 2 and 3),
//  2. what is wrong, in one phrase with its cause (the failing resource and its error, from
//     the exporter's Why),
//  3. what the monitor did and will do (3 of 3 syncs failed — paused; next attempt at …).
//
// Then the buttons, one set for the app (remediation, acknowledge, silence, links), then the
// detail, each fact once: the alerts as one line each, and the Why's facts the top did not
// tell. Every number comes from the exporter's one answer (its snapshot): the alerts'
// summaries, evaluated by Prometheus at another time, are not shown beside it. In bot mode the
// top level stays within TopBudget visible characters; the detail beyond goes to a "Details"
// reply in the message's thread, which the bridge keeps up to date (Message.Details).
//
// Groups about several apps, and alerts about no app, keep the classic layout; so does a route
// with `layout: classic` (one section and one row of buttons per alert, as before).

// Layouts (Options.Layout, the route option `layout`).
const (
	LayoutApp     = "app"
	LayoutClassic = "classic"
)

// TopBudget is the most visible characters (Visible) the top-level message of one app shows when
// the rest can go to the thread.
const TopBudget = 1500

// Bounds of the app layout's parts.
const (
	maxCause      = 240 // line 2's cause
	maxAlertLines = 10  // alerts listed; the rest are counted
	maxSummary    = 150 // an alert's summary in its line (no exporter detail)
	maxDescLine   = 400 // an alert's description in the detail (no exporter detail)
)

// oneApp returns the app every alert of n names, if they all name the same one.
func oneApp(n *notification.Message) (namespace, name string, ok bool) {
	if len(n.Alerts) == 0 {
		return "", "", false
	}
	namespace, name = n.Alerts[0].Labels["namespace"], n.Alerts[0].Labels["name"]
	for _, a := range n.Alerts {
		if !isArgoCD(a) || a.Labels["namespace"] != namespace || a.Labels["name"] != name {
			return "", "", false
		}
	}
	return namespace, name, true
}

// appMessage is the app layout's parts before they are placed in the message.
type appMessage struct {
	title      string
	what, did  string // lines 2 and 3 (mrkdwn)
	told       told   // what lines 2 and 3 say, left out of the detail
	detail     []fact
	detailHead string
}

func (r *renderer) renderApp(ov Overrides, namespace, name string) *Message {
	app := r.opt.Why.App(namespace, name)
	primary := r.primary()
	m := appMessage{title: r.appTitle(namespace, name, app)}
	m.what, m.told = r.appWhat(app, primary)
	m.did = r.appDid(app)
	m.detail, m.detailHead = r.appDetail(app, m.told)
	if t := plain(ov.Title, MaxHeader); t != "" {
		m.title = t
	}
	top := strings.TrimPrefix(m.what+"\n"+m.did, "\n")
	top = strings.TrimSuffix(top, "\n")
	if custom := strings.TrimSpace(ov.Text); custom != "" {
		top = truncate(ov.Text, MaxSection)
	}

	// The top: lines 2 and 3 with the Argo CD link beside them; the route's fields; who did
	// what from Slack; the buttons; the alerts.
	first := slack.NewSectionBlock(mrkdwn(truncate(top, MaxSection)), nil, nil)
	if u := argoCDAppURL(r.opt.ArgoCDURL, namespace, name); u != "" {
		first.Accessory = slack.NewAccessory(linkButton("argocd", "Open in Argo CD", u))
	}
	header := []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, m.title, true, false))}
	body := []slack.Block{first}
	if len(ov.Fields) > 0 {
		body = append(body, r.overrideFields(ov.Fields))
	}
	if st := r.statusContext(); st != nil {
		body = append(body, st)
	}
	if els := r.appButtons(); len(els) > 0 {
		body = append(body, slack.NewActionBlock("app_actions", els...))
	}
	body = append(body, section(mrkdwn(r.alertLines(app != nil, primary)), nil))

	// The detail: in the message while the budget lasts (bot mode) or Slack's limits allow
	// (webhooks cannot reply in a thread), the rest in the thread's Details reply.
	used := Visible(header...) + Visible(body...) + Visible(r.appContext(app, false))
	budget := MaxBlockText - reserveTail - blocksText(header) - blocksText(body)
	if r.opt.Threads {
		budget = TopBudget - used - runes(m.detailHead) - 1 - runes(threadNote)
	}
	inline, rest := fitLines(m.detail, budget, r.opt.Threads)
	if len(inline) > 0 {
		body = append(body, sections(m.detailHead, inline)...)
	}
	var details *Message
	if len(rest) > 0 && r.opt.Threads {
		head := "*Details* · " + escape(namespace+"/"+name) + " · as of " + r.now.UTC().Format(stampLayout)
		details = &Message{Text: plain("Details: "+namespace+"/"+name, MaxFallbackText), Header: sections(head, rest)}
	}
	if c := r.appContext(app, details != nil); c != nil {
		body = append(body, c)
	}
	return &Message{
		Text:    r.appFallback(m),
		Color:   r.color(),
		Header:  header,
		Body:    body,
		Reply:   r.reply(),
		Details: details,
	}
}

// primary is the alert the message is about first: the first firing alert, else the first.
func (r *renderer) primary() template.Alert {
	for _, a := range r.n.Alerts {
		if a.Status == "firing" {
			return a
		}
	}
	return r.n.Alerts[0]
}

// appTitle is line 1: the state emoji, the app and where it lives.
func (r *renderer) appTitle(namespace, name string, app *apiv1.App) string {
	emoji := r.emoji()
	if r.n.Resolved() {
		emoji += " Resolved:"
	}
	where := ""
	project := r.n.Alerts[0].Labels["project"]
	if project == "" && app != nil {
		project = app.Project
	}
	if project != "" {
		where += " · project " + project
	}
	if c := firstOf(r.n.CommonLabels, "cluster", "dest_server"); c != "" {
		where += " · cluster " + c
	}
	return plain(emoji+" "+namespace+"/"+name+where, MaxHeader)
}

// emoji is the message's state: resolved, or the severity of what fires.
func (r *renderer) emoji() string {
	if r.n.Resolved() {
		return "✅"
	}
	return severityEmoji(r.severity())
}

func severityEmoji(sev string) string {
	switch severityRank[strings.ToLower(sev)] {
	case 3:
		return "🔴"
	case 2:
		return "🟠"
	case 1:
		return "🔵"
	}
	return "⚪"
}

// appWhat is line 2: what is wrong in one phrase, with its cause, and what it told.
func (r *renderer) appWhat(app *apiv1.App, primary template.Alert) (string, told) {
	t := told{items: 10, remediation: app != nil}
	if r.n.Resolved() {
		start, end := r.span()
		if start.IsZero() || end.IsZero() {
			return "*Resolved*", t
		}
		return "*Lasted " + humanDuration(end.Sub(start)) + "*, " + start.UTC().Format(clockLayout) + "–" + end.UTC().Format(stampLayout), t
	}
	if app == nil {
		s := firstOf(primary.Annotations, "summary", "message", "title")
		if s == "" {
			s = orDefault(primary.Labels["alertname"], "alert")
		}
		return escapeTruncate(s, maxCause), t
	}
	var states []string
	if h := app.Health; h != nil && h.Status != "" && h.Status != "Healthy" {
		states = append(states, h.Status)
	}
	op := app.Operation
	syncFailed := op != nil && (op.Phase == "Failed" || op.Phase == "Error")
	switch {
	case syncFailed:
		states = append(states, "sync failing")
	case app.Sync != nil && app.Sync.Status == "OutOfSync":
		states = append(states, "out of sync")
	}
	if len(states) == 0 {
		states = append(states, orDefault(primary.Labels["alertname"], "in trouble"))
	}
	phrase := strings.Join(states, ", ")
	cause := ""
	switch {
	case syncFailed && firstWithMessage(op.FailedResources) != nil:
		res := firstWithMessage(op.FailedResources)
		t.cause, t.res = res.Message, res
		cause = res.Kind + " " + res.Name + " — " + res.Message
	case syncFailed && op.Message != "":
		t.cause, cause = op.Message, op.Message
	case firstWithMessage(app.FailingResources) != nil:
		res := firstWithMessage(app.FailingResources)
		t.cause, t.res = res.Message, res
		cause = res.Kind + " " + res.Name + " — " + res.Message
	case app.Health != nil && app.Health.Message != "":
		t.cause, cause = app.Health.Message, app.Health.Message
	case len(app.OutOfSync) > 0:
		cause = app.OutOfSync[0].Kind + " " + app.OutOfSync[0].Name + " differs from git"
	}
	if cause == "" {
		return "*" + escape(upperFirst(phrase)) + "*", t
	}
	return "*" + escape(upperFirst(phrase)) + ":* " + escapeTruncate(cause, maxCause), t
}

func firstWithMessage(rs []apiv1.Resource) *apiv1.Resource {
	for i := range rs {
		if rs[i].Message != "" {
			return &rs[i]
		}
	}
	return nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	return strings.ToUpper(string(r[0])) + string(r[1:])
}

// span is when the group's trouble started and, resolved, ended.
func (r *renderer) span() (start, end time.Time) {
	for _, a := range r.n.Alerts {
		if !a.StartsAt.IsZero() && (start.IsZero() || a.StartsAt.Before(start)) {
			start = a.StartsAt
		}
		if a.EndsAt.After(end) {
			end = a.EndsAt
		}
	}
	return start, end
}

// appDid is line 3: what the monitor did and will do (the exporter's remediation story), what
// fixed a resolved app, or why the detail is missing.
func (r *renderer) appDid(app *apiv1.App) string {
	switch {
	case app == nil && r.opt.Why != nil && r.opt.Why.Problem != "":
		return "*Detail:* " + escapeTruncate(r.opt.Why.Problem, maxCause)
	case app == nil:
		return ""
	case r.n.Resolved():
		start, _ := r.span()
		if fix := fixedBy(app, start); fix != "" {
			return "*What fixed it:* " + fix
		}
		return ""
	case app.Remediation == nil:
		return "*Auto-sync:* not remediated by argocd-monitor (off, or the app is out of its scope)"
	}
	return "*Auto-sync:* " + autoSyncSummary(app.Remediation, r.now)
}

// autoSyncSummary is the remediation story in one phrase: "3 of 3 syncs failed — *paused*
// since 10:08 UTC; resumes on …" or "sync 1 of 3 failed — next attempt 10:12 UTC (in 2m)".
func autoSyncSummary(rem *apiv1.Remediation, now time.Time) string {
	n := len(rem.Attempts)
	if n > 0 && rem.Attempts[n-1].N > n { // older attempts fell out of the history
		n = rem.Attempts[n-1].N
	}
	of := func(k int) string {
		if rem.MaxAttempts > 0 && k <= rem.MaxAttempts {
			return fmt.Sprintf("%d of %d", k, rem.MaxAttempts)
		}
		return fmt.Sprint(k)
	}
	var s string
	if n == 0 {
		s = "no sync yet"
	} else {
		last, failed := rem.Attempts[len(rem.Attempts)-1], 0
		for _, a := range rem.Attempts {
			if a.Result == "failed" {
				failed++
			}
		}
		switch last.Result {
		case "failed":
			if failed == len(rem.Attempts) {
				s = of(n) + " syncs failed"
				if n == 1 {
					s = "sync " + of(1) + " failed"
				}
			} else {
				s = "sync " + of(n) + " failed"
			}
		case "succeeded":
			s = "sync " + of(n) + " succeeded"
		case "pending", "triggered":
			s = "sync " + of(n) + " running"
		case "dry_run":
			s = fmt.Sprintf("%d sync%s logged in dry run (none made)", n, plural(n))
		default:
			s = "sync " + of(n) + " " + escape(last.Result)
		}
	}
	if n := len(rem.Attempts); n > 0 && rem.Attempts[n-1].Result == "failed" {
		if c := causeText(rem.Attempts[n-1].Cause); c != "" {
			s += ": " + c
		}
	}
	switch {
	case rem.Paused:
		s += " — *paused*"
		if !rem.PausedAt.IsZero() {
			s += " since " + rem.PausedAt.UTC().Format(stampLayout)
		}
		if len(rem.ResetsOn) > 0 {
			s += "; resumes on " + escape(strings.Join(rem.ResetsOn, " or "))
		}
	case !rem.NextAttempt.IsZero():
		s += " — " + nextAttempt(rem.NextAttempt, now)
	}
	return s
}

// causeText says what a failed attempt's cause means for the next one: "the manifest is
// invalid: retrying will not help"; "" for an unknown cause.
func causeText(cause string) string {
	var s string
	switch cause {
	case "invalid_manifest":
		s = "the manifest is invalid"
	case "immutable_field":
		s = "it changes a field that cannot change (the resource must be replaced)"
	case "admission_denied":
		s = "an admission webhook denied it"
	case "forbidden":
		s = "the cluster refused it (forbidden or over quota)"
	case "missing_kind":
		s = "a resource kind is not installed in the cluster (CRD missing)"
	case "hook_failed":
		return "a sync hook failed"
	case "stuck":
		return "the sync was stuck and terminated"
	case "transient":
		return "a transient error, a retry may help"
	default:
		return ""
	}
	if apiv1.PermanentCause(cause) {
		s += ": retrying will not help"
	}
	return s
}

// appDetail is the detail, each fact once: the Why's facts lines 2 and 3 did not tell, or,
// without the exporter's answer, the alerts' descriptions.
func (r *renderer) appDetail(app *apiv1.App, t told) (lines []fact, heading string) {
	switch {
	case r.n.Resolved():
		return nil, "" // line 3 tells what fixed it
	case app != nil:
		return whyFacts(app, r.now, t), whyHeading
	}
	for _, a := range r.n.Alerts {
		desc, summary := a.Annotations["description"], firstOf(a.Annotations, "summary", "message", "title")
		if desc == "" || desc == summary {
			continue
		}
		lines = append(lines, fact{text: line("• *" + escapeTruncate(orDefault(a.Labels["alertname"], "alert"), 100) + ":* " + escapeTruncate(desc, maxDescLine))})
	}
	return lines, "*Detail*"
}

// alertLines list the alerts, one line each: state, name (linked to its runbook), since when;
// without the exporter's answer, the summary of each but the primary (line 2 quotes it).
func (r *renderer) alertLines(why bool, primary template.Alert) string {
	var lines []string
	order := make([]template.Alert, 0, len(r.n.Alerts))
	for _, st := range []string{"firing", "resolved"} {
		for _, a := range r.n.Alerts {
			if a.Status == st {
				order = append(order, a)
			}
		}
	}
	for i, a := range order {
		if i == maxAlertLines {
			break
		}
		name := escapeTruncate(orDefault(a.Labels["alertname"], "alert"), 100)
		if u := safeURL(a.Annotations["runbook_url"]); u != "" && len(u) <= maxLinkURL {
			name = "<" + u + "|" + name + ">"
		}
		s := severityEmoji(a.Labels["severity"]) + " " + name
		if a.Status == "resolved" {
			s = "✅ " + name
		}
		s += r.since(a)
		if summary := firstOf(a.Annotations, "summary", "message", "title"); !why && summary != "" && a.Fingerprint != primary.Fingerprint {
			s += ": " + escapeTruncate(summary, maxSummary)
		}
		lines = append(lines, s)
	}
	if more := len(order) - len(lines) + int(min(r.n.TruncatedAlerts, 1<<30)); more > 0 {
		s := fmt.Sprintf("… and %d more alert%s", more, plural(more))
		if u := safeURL(r.n.ExternalURL); u != "" && len(u) <= maxLinkURL {
			s += " — <" + u + "|see all in Alertmanager>"
		}
		lines = append(lines, s)
	}
	return joinLines(lines, MaxSection)
}

// since is " since 10:00 UTC (2h 5m)" or " resolved 10:14 UTC after 14m"; the day is named
// when it is not today's.
func (r *renderer) since(a template.Alert) string {
	at := func(t time.Time) string {
		if r.now.Sub(t) > 20*time.Hour || t.Sub(r.now) > time.Hour {
			return t.UTC().Format("Jan 2 15:04 UTC")
		}
		return t.UTC().Format(stampLayout)
	}
	switch {
	case a.StartsAt.IsZero():
		return ""
	case a.Status == "resolved" && !a.EndsAt.IsZero():
		return " resolved " + at(a.EndsAt) + " after " + humanDuration(a.EndsAt.Sub(a.StartsAt))
	case a.Status == "resolved":
		return " resolved"
	}
	return " since " + at(a.StartsAt) + " (" + humanDuration(r.now.Sub(a.StartsAt)) + ")"
}

// appButtons are the app's one set of buttons, in the order a person needs them: what to do
// about the app (remediation; new remedies go here), about the alerts (acknowledge, silence),
// then where to look. The Argo CD link sits beside the top lines; each alert's runbook is
// linked from its line.
func (r *renderer) appButtons() []slack.BlockElement {
	var els []slack.BlockElement
	if b := r.appRemediationButton(); b != nil {
		els = append(els, b)
	}
	if b := r.appRollbackButton(); b != nil {
		els = append(els, b)
	}
	els = append(els, r.ackButton()...)
	els = append(els, r.silenceButtons()...)
	a := r.primary()
	if u := dashboardURL(a.Annotations["dashboard_url"], r.opt.GrafanaURL); u != "" {
		els = append(els, linkButton("dashboard", "Dashboard", u))
	}
	if !r.opt.Interactive && !r.n.Resolved() {
		if u := silenceURL(r.n.ExternalURL, r.n.CommonLabels); u != "" {
			els = append(els, linkButton("silence", "Silence", u))
		}
	}
	return els
}

// appRemediationButton is "Terminate sync" while the app's sync is stuck, "Resume auto-sync"
// when its remediation is paused, else "Retry sync now", while an alert fires (bot mode).
func (r *renderer) appRemediationButton() slack.BlockElement {
	if !r.opt.Interactive || r.n.Resolved() {
		return nil
	}
	a := r.primary()
	id, text := ActionRetry, "Retry sync now"
	for _, x := range r.n.Alerts {
		if x.Status == "firing" && x.Labels["alertname"] == alertRemediationPaused {
			id, text = ActionResume, "Resume auto-sync"
		}
	}
	for _, x := range r.n.Alerts { // a hanging sync first: nothing else syncs until it ends
		if x.Status == "firing" && x.Labels["alertname"] == alertSyncStuck {
			id, text = ActionTerminate, "Terminate sync"
		}
	}
	v := ButtonValue{Group: GroupID(r.n.GroupKey), Namespace: a.Labels["namespace"], Name: a.Labels["name"]}.Encode()
	if len(v) > 2000 {
		return nil
	}
	return button(id, text, v, "")
}

// appRollbackButton is "Roll back to abc1234" while an alert fires and the exporter offers a
// rollback for the app (its remediation paused on a revision that never became healthy; bot
// mode).
func (r *renderer) appRollbackButton() slack.BlockElement {
	if !r.opt.Interactive || r.n.Resolved() || r.opt.Why == nil {
		return nil
	}
	a := r.primary()
	app := r.opt.Why.Apps[enrich.Key(a)]
	if app == nil || app.Remediation == nil || app.Remediation.RollbackOffer == nil || app.Remediation.Hold != nil {
		return nil
	}
	v := ButtonValue{Group: GroupID(r.n.GroupKey), Namespace: a.Labels["namespace"], Name: a.Labels["name"]}.Encode()
	if len(v) > 2000 {
		return nil
	}
	return button(ActionRollback, "Roll back to "+shortRev(app.Remediation.RollbackOffer.Revision), v, "")
}

func linkButton(id, text, u string) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(id, "", slack.NewTextBlockObject(slack.PlainTextType, text, true, false))
	b.URL = u
	return b
}

// threadNote tells that the Details reply holds the rest.
const threadNote = "More detail in the thread ↓"

// appContext is the last line: severity, receiver, why Alertmanager sent it, what detail is
// missing, and where the rest of it is.
func (r *renderer) appContext(app *apiv1.App, inThread bool) slack.Block {
	items := r.contextItems()
	if w := r.opt.Why; w != nil && app != nil && w.Problem != "" {
		items = append(items, mrkdwn("*Detail:* "+escapeTruncate(w.Problem, maxContextItem*2))) // partial
	}
	if inThread {
		items = append(items, mrkdwn(threadNote))
	}
	if len(items) == 0 {
		return nil
	}
	return slack.NewContextBlock("", items...)
}

// appFallback is the notification text: the three top lines.
func (r *renderer) appFallback(m appMessage) string {
	s := escape(m.title)
	for _, l := range []string{m.what, m.did} {
		if l != "" {
			s += "\n" + l
		}
	}
	return truncateEscaped(s, MaxFallbackText)
}

// fitLines splits the detail into what the message shows and what goes to the thread. With a
// thread (bot mode), the first line of each fact comes first while budget visible characters
// last, then the continuation lines of the facts shown; the rest goes to the thread, in
// reading order. Without one (webhooks), lines are shown in order while the block text limit
// allows, and the rest is dropped.
func fitLines(facts []fact, budget int, threads bool) (inline, rest []string) {
	if !threads {
		used := 0
		for _, f := range facts {
			if used+runes(f.text)+1 > budget {
				break
			}
			used += runes(f.text) + 1
			inline = append(inline, f.text)
		}
		return inline, nil
	}
	shown := make([]bool, len(facts))
	used := 0
	for _, cont := range []bool{false, true} {
		for i, f := range facts {
			if f.cont != cont || (cont && !shown[i-1]) {
				continue
			}
			if c := visibleMrkdwn(f.text) + 1; used+c <= budget {
				shown[i], used = true, used+c
			}
		}
	}
	for i, f := range facts {
		if shown[i] {
			inline = append(inline, f.text)
		} else {
			rest = append(rest, f.text)
		}
	}
	return inline, rest
}

// sections puts a heading and lines into as few sections as Slack's section limit allows.
func sections(heading string, lines []string) []slack.Block {
	var out []slack.Block
	cur := heading
	for _, l := range lines {
		if cur != "" && runes(cur)+1+runes(l) > MaxSection {
			out = append(out, section(mrkdwn(cur), nil))
			cur = ""
		}
		if cur != "" {
			cur += "\n"
		}
		cur += truncateEscaped(l, MaxSection)
	}
	if cur != "" {
		out = append(out, section(mrkdwn(cur), nil))
	}
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}

func blocksText(bs []slack.Block) int {
	n := 0
	for _, b := range bs {
		n += blockText(b)
	}
	return n
}
