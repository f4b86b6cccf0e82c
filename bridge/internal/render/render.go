// Package render turns an Alertmanager notification into a Slack Block Kit message designed for
// the Argo CD alerts (app links, health/sync fields, buttons) that still reads well for any other
// alert, and that always stays within Slack's limits whatever the input.
package render

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
)

// Slack's limits, and our own budget for all block text together (Slack reports
// msg_blocks_too_long somewhere around 12k characters).
const (
	MaxBlocks       = 50
	MaxHeader       = 150
	MaxSection      = 3000
	MaxFields       = 10
	MaxField        = 2000
	MaxContext      = 10
	MaxButtonText   = 75
	MaxBlockText    = 10000
	MaxFallbackText = 3000
)

// Per-item caps chosen so that the header, override fields, the first alert and the context
// always fit MaxBlockText together (150+3300+5500+100+500 < 10000).
const (
	maxFieldValue    = 200
	maxFieldTitle    = 40
	maxOverrideValue = 300
	maxContextItem   = 100
	minAlertText     = 200
	reserveTail      = 700 // the "more alerts" notice and the context line
	maxLinkURL       = 500
)

// Colours of the attachment bar.
const (
	ColorResolved = "#2EB67D"
	ColorCritical = "#E01E5A"
	ColorWarning  = "#ECB22E"
	ColorInfo     = "#36C5F0"
	ColorOther    = "#868686"
)

// Options are the deployment's links.
type Options struct {
	ArgoCDURL  string
	GrafanaURL string
	// Interactive (bot mode) adds the action buttons (silence, acknowledge, retry/resume)
	// beside the link buttons (the Silence link stays, for a custom silence), and shows Status.
	Interactive bool
	Status      Status
	// Why is the exporter's detail about the notification's apps (nil: enrichment off).
	Why *enrich.Result
	// Layout is LayoutApp (the default) or LayoutClassic (app.go).
	Layout string
	// Threads: the message can have a Details reply in its thread (bot mode), so its top level
	// keeps to TopBudget.
	Threads bool
}

// Field is a title/value pair from a route's template override.
type Field struct {
	Title string
	Value string
}

// Overrides are a route's executed templates; empty members keep the built-in rendering.
type Overrides struct {
	Title  string
	Text   string
	Fields []Field
}

// Message is a rendered Slack message: the header as a top-level block (so the fallback Text is
// only used for notifications), and the body in one attachment that carries the colour bar.
type Message struct {
	Text   string
	Color  string
	Header []slack.Block
	Body   []slack.Block
	// Reply is the short thread reply posted when an existing message is updated.
	Reply string
	// Details is the detail that did not fit the top level (app layout, Options.Threads): the
	// bridge posts it as a reply in the message's thread and updates it with the message.
	Details *Message
}

// Attachments returns the colour-bar attachment holding the body blocks; none without a body
// (a Details reply has only top-level blocks).
func (m *Message) Attachments() []slack.Attachment {
	if len(m.Body) == 0 && len(m.Header) > 0 {
		return nil
	}
	return []slack.Attachment{{Color: m.Color, Fallback: m.Text, Blocks: slack.Blocks{BlockSet: m.Body}}}
}

// WebhookMessage is the message as an incoming-webhook payload (also the golden-file form).
func (m *Message) WebhookMessage() *slack.WebhookMessage {
	return &slack.WebhookMessage{Text: m.Text, Blocks: &slack.Blocks{BlockSet: m.Header}, Attachments: m.Attachments()}
}

// Render builds the message for one notification.
func Render(n *notification.Message, ov Overrides, opt Options) *Message {
	r := &renderer{n: n, opt: opt, now: time.Now(), whyShown: map[string]bool{}}
	if opt.Layout != LayoutClassic {
		if c, ok := fleetOf(n); ok {
			return r.renderFleet(ov, c)
		}
		if namespace, name, ok := oneApp(n); ok {
			return r.renderApp(ov, namespace, name)
		}
	}
	return r.render(ov)
}

type renderer struct {
	n      *notification.Message
	opt    Options
	now    time.Time
	body   []slack.Block
	used   int // runes of block text so far
	blocks int
	// whyShown: apps whose Why was considered; whyAdded: how many made it into the message.
	whyShown map[string]bool
	whyAdded int
}

func (r *renderer) render(ov Overrides) *Message {
	title := r.title()
	if t := plain(ov.Title, MaxHeader); t != "" {
		title = t
	}
	header := plain(title, MaxHeader)
	if header == "" {
		header = "Alertmanager notification"
	}
	r.used, r.blocks = runes(header), 1

	if len(ov.Fields) > 0 {
		r.add(r.overrideFields(ov.Fields))
	}
	shown := 0
	custom := strings.TrimSpace(ov.Text) != ""
	if custom {
		r.add(section(mrkdwn(truncate(ov.Text, MaxSection)), nil))
	} else {
		shown = r.alerts()
	}
	r.tail(shown, custom)
	return &Message{
		Text:   r.fallback(title),
		Color:  r.color(),
		Header: []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, header, true, false))},
		Body:   r.body,
		Reply:  r.reply(),
	}
}

// add appends blocks and accounts for their text.
func (r *renderer) add(bs ...slack.Block) {
	for _, b := range bs {
		r.body = append(r.body, b)
		r.used += blockText(b)
		r.blocks++
	}
}

func (r *renderer) overrideFields(fs []Field) slack.Block {
	if len(fs) > MaxFields {
		fs = fs[:MaxFields]
	}
	objs := make([]*slack.TextBlockObject, 0, len(fs))
	for _, f := range fs {
		objs = append(objs, mrkdwn("*"+escapeTruncate(f.Title, maxFieldTitle)+"*\n"+truncate(f.Value, maxOverrideValue)))
	}
	return section(nil, objs)
}

// alerts adds one section (text + fields) and one actions block per alert while blocks and
// text budget last; it returns how many alerts it showed.
func (r *renderer) alerts() int {
	n := len(r.n.Alerts)
	perAlert := 600
	switch {
	case n == 1:
		perAlert = MaxSection
	case n <= 3:
		perAlert = 1500
	}
	// Firing alerts first, in their original order, so the newest trouble is on top.
	order := make([]int, 0, n)
	for _, st := range []string{"firing", "resolved"} {
		for i, a := range r.n.Alerts {
			if a.Status == st {
				order = append(order, i)
			}
		}
	}
	apps := 0
	if r.opt.Why != nil {
		apps = r.appCount()
	}
	shown := 0
	for _, i := range order {
		a := r.n.Alerts[i]
		fields := r.alertFields(a)
		actions := r.actions(a, i)
		cost := 0
		for _, f := range fields {
			cost += runes(f.Text)
		}
		extra := 1
		if actions != nil {
			cost += blockText(actions)
			extra = 2
		}
		resBlocks, resText := r.statusReserve()
		room := MaxBlockText - reserveTail - resText - r.used - cost
		if shown > 0 && (room < minAlertText || r.blocks+extra+2+resBlocks > MaxBlocks) {
			break
		}
		limit := min(perAlert, MaxSection, max(room, minAlertText))
		r.add(section(mrkdwn(r.alertText(a, limit)), fields))
		if actions != nil {
			r.add(actions)
		}
		r.addWhy(a, apps)
		shown++
	}
	return shown
}

func (r *renderer) alertText(a template.Alert, limit int) string {
	var head string
	if name, ns := a.Labels["name"], a.Labels["namespace"]; isArgoCD(a) {
		app := escapeTruncate(ns+"/"+name, 200)
		if u := argoCDAppURL(r.opt.ArgoCDURL, ns, name); u != "" && len(u) <= maxLinkURL {
			head = "*<" + u + "|" + app + ">*"
		} else {
			head = "*" + app + "*"
		}
	} else {
		head = "*" + escapeTruncate(orDefault(a.Labels["alertname"], "alert"), 200) + "*"
	}
	if a.Status == "resolved" && r.n.Status == "firing" {
		head = "✅ " + head + " (resolved)"
	}
	summary := firstOf(a.Annotations, "summary", "message", "title")
	desc := a.Annotations["description"]
	text := head
	if summary != "" {
		text += ": " + escapeTruncate(summary, max(limit-runes(text)-2, 0))
	}
	if desc != "" && desc != summary && limit-runes(text)-1 > 20 {
		text += "\n" + escapeTruncate(desc, limit-runes(text)-1)
	}
	return truncate(text, limit)
}

func isArgoCD(a template.Alert) bool { return a.Labels["name"] != "" && a.Labels["namespace"] != "" }

// alertFields are project/health/sync/phase for Argo CD alerts, the distinguishing labels for
// any other alert, and always when it started (or ended).
func (r *renderer) alertFields(a template.Alert) []*slack.TextBlockObject {
	var pairs [][2]string
	if isArgoCD(a) {
		for _, f := range [][2]string{{"Project", "project"}, {"Health", "health_status"}, {"Sync", "sync_status"}, {"Phase", "phase"}} {
			if v := a.Labels[f[1]]; v != "" {
				pairs = append(pairs, [2]string{f[0], v})
			}
		}
	} else {
		names := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			if k != "alertname" && k != "severity" {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			pairs = append(pairs, [2]string{k, a.Labels[k]})
		}
	}
	if len(pairs) > MaxFields-1 {
		pairs = pairs[:MaxFields-1]
	}
	if t := r.when(a); t != "" {
		title := "Since"
		if a.Status == "resolved" {
			title = "Resolved"
		}
		pairs = append(pairs, [2]string{title, t})
	}
	out := make([]*slack.TextBlockObject, 0, len(pairs))
	for _, p := range pairs {
		out = append(out, mrkdwn("*"+escapeTruncate(p[0], maxFieldTitle)+"*\n"+escapeTruncate(p[1], maxFieldValue)))
	}
	return out
}

func (r *renderer) when(a template.Alert) string {
	if a.StartsAt.IsZero() {
		return ""
	}
	const layout = "2006-01-02 15:04 UTC"
	if a.Status == "resolved" && !a.EndsAt.IsZero() {
		return a.EndsAt.UTC().Format(layout) + " after " + humanDuration(a.EndsAt.Sub(a.StartsAt))
	}
	return a.StartsAt.UTC().Format(layout) + " (" + humanDuration(r.now.Sub(a.StartsAt)) + " ago)"
}

// humanDuration is a short, coarse duration ("2d 3h", "5h 12m", "40s").
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	days, hours, mins := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	case mins > 0:
		return fmt.Sprintf("%dm", mins)
	default:
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
}

// actions are the alert's link buttons; nil when it has none.
func (r *renderer) actions(a template.Alert, i int) slack.Block {
	links := []struct{ id, text, url string }{
		{"argocd", "Open in Argo CD", argoCDAppURL(r.opt.ArgoCDURL, a.Labels["namespace"], a.Labels["name"])},
		{"dashboard", "Dashboard", dashboardURL(a.Annotations["dashboard_url"], r.opt.GrafanaURL)},
		{"runbook", "Runbook", safeURL(a.Annotations["runbook_url"])},
	}
	if a.Status == "firing" {
		links = append(links, struct{ id, text, url string }{"silence", "Silence", silenceURL(r.n.ExternalURL, a.Labels)})
	}
	var els []slack.BlockElement
	for _, l := range links {
		if l.url == "" {
			continue
		}
		b := slack.NewButtonBlockElement(l.id+"-"+strconv.Itoa(i), "", slack.NewTextBlockObject(slack.PlainTextType, l.text, true, false))
		b.URL = l.url
		els = append(els, b)
	}
	if b := r.remediationButton(a, i); b != nil {
		els = append(els, b)
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock("", els...)
}

// tail adds the "and N more alerts" notice and the context line.
func (r *renderer) tail(shown int, custom bool) {
	hidden := 0
	if !custom {
		hidden = len(r.n.Alerts) - shown
	}
	more := hidden + int(min(r.n.TruncatedAlerts, 1<<30))
	if more > 0 && !custom {
		text := fmt.Sprintf("… and %d more alert%s", more, plural(more))
		if r.n.TruncatedAlerts > 0 {
			text += fmt.Sprintf(" (%d left out by Alertmanager's max_alerts)", r.n.TruncatedAlerts)
		}
		if u := safeURL(r.n.ExternalURL); u != "" && len(u) <= maxLinkURL {
			text += " — <" + u + "|see all in Alertmanager>"
		}
		r.add(section(mrkdwn(text), nil))
	} else if r.n.TruncatedAlerts > 0 {
		r.add(section(mrkdwn(fmt.Sprintf("%d more alert%s left out by Alertmanager's max_alerts", r.n.TruncatedAlerts, plural(int(min(r.n.TruncatedAlerts, 2))))), nil))
	}
	r.add(r.statusBlocks()...)
	items := append(r.contextItems(), r.whyContext()...)
	if len(items) > 0 {
		r.add(slack.NewContextBlock("", items...))
	}
}

// contextItems are the context line's severity, receiver and notification reason.
func (r *renderer) contextItems() []slack.MixedElement {
	var items []slack.MixedElement
	if sev := r.severity(); sev != "" {
		items = append(items, mrkdwn("*Severity:* "+escapeTruncate(sev, maxContextItem)))
	}
	if r.n.Receiver != "" {
		items = append(items, mrkdwn("*Receiver:* "+escapeTruncate(unquoteReceiver(r.n.Receiver), maxContextItem)))
	}
	if r.n.NotificationReason != "" {
		items = append(items, mrkdwn("*Reason:* "+escapeTruncate(r.n.NotificationReason, maxContextItem)))
	}
	return items
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

var severityRank = map[string]int{"critical": 3, "error": 3, "warning": 2, "info": 1}

// severity is the group's common severity, else the highest among its alerts.
func (r *renderer) severity() string {
	if s := r.n.CommonLabels["severity"]; s != "" {
		return s
	}
	best := ""
	for _, a := range r.n.Alerts {
		if s := a.Labels["severity"]; s != "" && (best == "" || severityRank[s] > severityRank[best]) {
			best = s
		}
	}
	return best
}

func (r *renderer) color() string {
	if r.n.Resolved() {
		return ColorResolved
	}
	switch severityRank[strings.ToLower(r.severity())] {
	case 3:
		return ColorCritical
	case 2:
		return ColorWarning
	case 1:
		return ColorInfo
	}
	return ColorOther
}

// alertName is the group's alertname, or a count when the group mixes several.
func (r *renderer) alertName() string {
	if s := firstOf(r.n.CommonLabels, "alertname"); s != "" {
		return s
	}
	if s := r.n.GroupLabels["alertname"]; s != "" {
		return s
	}
	name := r.n.Alerts[0].Labels["alertname"]
	for _, a := range r.n.Alerts[1:] {
		if a.Labels["alertname"] != name {
			// A group by app (group_by: [namespace, name]) is titled by its app.
			if ns, app := r.n.CommonLabels["namespace"], r.n.CommonLabels["name"]; ns != "" && app != "" {
				return ns + "/" + app
			}
			return "several alerts"
		}
	}
	return orDefault(name, "alert")
}

func (r *renderer) counts() (firing, resolved int) {
	for _, a := range r.n.Alerts {
		if a.Status == "firing" {
			firing++
		} else {
			resolved++
		}
	}
	return firing, resolved
}

func (r *renderer) title() string {
	firing, resolved := r.counts()
	name := r.alertName()
	if r.n.Resolved() {
		return fmt.Sprintf("✅ Resolved: %s (%d)", name, resolved+int(min(r.n.TruncatedAlerts, 1<<30)))
	}
	emoji := "🔴"
	if severityRank[strings.ToLower(r.severity())] == 2 {
		emoji = "🟠"
	} else if severityRank[strings.ToLower(r.severity())] == 1 {
		emoji = "🔵"
	}
	count := strconv.Itoa(firing + int(min(r.n.TruncatedAlerts, 1<<30)))
	if resolved > 0 {
		count = fmt.Sprintf("%d firing, %d resolved", firing, resolved)
	}
	return fmt.Sprintf("%s Firing: %s (%s)", emoji, name, count)
}

// fallback is the notification text: the title and the first alerts in one line each.
func (r *renderer) fallback(title string) string {
	var b strings.Builder
	b.WriteString(escape(title))
	const listed = 10
	for i, a := range r.n.Alerts {
		if i == listed {
			fmt.Fprintf(&b, "\n… and %d more", len(r.n.Alerts)-listed+int(min(r.n.TruncatedAlerts, 1<<30)))
			break
		}
		b.WriteString("\n• ")
		if isArgoCD(a) {
			b.WriteString(escape(a.Labels["namespace"] + "/" + a.Labels["name"]))
		} else {
			b.WriteString(escape(orDefault(a.Labels["alertname"], "alert")))
		}
		if s := firstOf(a.Annotations, "summary", "message", "title"); s != "" {
			b.WriteString(": " + escapeTruncate(s, 300))
		}
	}
	return truncateEscaped(b.String(), MaxFallbackText)
}

// reply is the short thread reply for an updated message.
func (r *renderer) reply() string {
	firing, resolved := r.counts()
	reason := ""
	if r.n.NotificationReason != "" {
		reason = " — " + escapeTruncate(r.n.NotificationReason, 100)
	}
	if r.n.Resolved() {
		return fmt.Sprintf("✅ Resolved: %s%s", escapeTruncate(r.alertName(), 200), reason)
	}
	return fmt.Sprintf("🔴 Still firing: %s (%d firing, %d resolved)%s", escapeTruncate(r.alertName(), 200), firing, resolved, reason)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func section(text *slack.TextBlockObject, fields []*slack.TextBlockObject) slack.Block {
	return slack.NewSectionBlock(text, fields, nil)
}

func firstOf(kv map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := kv[k]; v != "" {
			return v
		}
	}
	return ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
