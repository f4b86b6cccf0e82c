package render

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
)

// The fleet layout is the message about one cause breaking many apps: the fleet alerts
// (ArgoCDDestinationDown, ArgoCDParentDegraded) fire once per affected app, and Alertmanager
// groups them by the cause (dest_server, or parent_kind and parent), so one notification holds
// the cause's apps. The header names the cause and counts the apps ("🔴 cluster prod-eu
// unreachable: 37 apps"), then the Why of the cause, the first maxFleetApps apps with their state
// and "and M more", the apps that recovered meanwhile, one set of buttons. However many apps
// (Alertmanager's max_alerts truncation included), it is one message within Slack's limits; as
// apps join and recover the bridge updates it in place and the thread notes the change.

// The fleet alerts' names (alerts/argocd-monitor.rules.yaml).
const (
	AlertDestinationDown = "ArgoCDDestinationDown"
	AlertParentDegraded  = "ArgoCDParentDegraded"
)

// maxFleetApps bounds the apps listed by name; the rest are counted. maxFleetCause bounds the
// quoted Argo CD message.
const (
	maxFleetApps  = 25
	maxFleetCause = 500
)

// fleetCause is what a fleet notification is about.
type fleetCause struct {
	alertname string
	kind      string // "cluster", or the parent's kind
	name      string // dest_server, or the parent's name
}

// fleetOf returns the cause every alert of n shares, if n is a fleet notification.
func fleetOf(n *notification.Message) (fleetCause, bool) {
	if len(n.Alerts) == 0 {
		return fleetCause{}, false
	}
	key := func(a template.Alert) (fleetCause, bool) {
		switch l := a.Labels; l["alertname"] {
		case AlertDestinationDown:
			return fleetCause{AlertDestinationDown, "cluster", l["dest_server"]}, l["dest_server"] != ""
		case AlertParentDegraded:
			return fleetCause{AlertParentDegraded, l["parent_kind"], l["parent"]}, l["parent"] != ""
		}
		return fleetCause{}, false
	}
	c, ok := key(n.Alerts[0])
	if !ok {
		return fleetCause{}, false
	}
	for _, a := range n.Alerts[1:] {
		if k, ok := key(a); !ok || k != c {
			return fleetCause{}, false
		}
	}
	return c, true
}

// fleetApp is one affected app of the notification.
type fleetApp struct {
	ref   string // namespace/name
	alert template.Alert
}

func (r *renderer) renderFleet(ov Overrides, c fleetCause) *Message {
	var firing, recovered []fleetApp
	for _, a := range r.n.Alerts {
		fa := fleetApp{ref: a.Labels["namespace"] + "/" + a.Labels["name"], alert: a}
		if a.Status == "firing" {
			firing = append(firing, fa)
		} else {
			recovered = append(recovered, fa)
		}
	}
	byRef := func(a, b fleetApp) int { return cmp.Compare(a.ref, b.ref) }
	slices.SortFunc(firing, byRef)
	slices.SortFunc(recovered, byRef)
	// Alertmanager's max_alerts drops alerts beyond the limit: they are affected apps too.
	affected := len(firing) + int(r.n.TruncatedAlerts)

	title := r.fleetTitle(c, affected)
	if t := plain(ov.Title, MaxHeader); t != "" {
		title = t
	}
	header := []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, true, false))}

	why := r.fleetWhy(c, affected, firing)
	if custom := strings.TrimSpace(ov.Text); custom != "" {
		why = truncate(ov.Text, MaxSection)
	}
	body := []slack.Block{section(mrkdwn(truncate(why, MaxSection)), nil)}
	if len(ov.Fields) > 0 {
		body = append(body, r.overrideFields(ov.Fields))
	}
	if st := r.statusContext(); st != nil {
		body = append(body, st)
	}
	if els := r.fleetButtons(); len(els) > 0 {
		body = append(body, slack.NewActionBlock("fleet_actions", els...))
	}
	if len(firing) > 0 {
		lines := make([]string, 0, maxFleetApps+1)
		for i, a := range firing {
			if i == maxFleetApps {
				break
			}
			lines = append(lines, "• "+r.fleetAppLine(c, a))
		}
		if more := affected - len(lines); more > 0 {
			lines = append(lines, fmt.Sprintf("_and %d more_", more))
		}
		body = append(body, sections(fmt.Sprintf("*Affected apps (%d)*", affected), lines)...)
	}
	if len(recovered) > 0 {
		names := make([]string, 0, 10)
		for i, a := range recovered {
			if i == 10 {
				names = append(names, fmt.Sprintf("and %d more", len(recovered)-10))
				break
			}
			names = append(names, "`"+escapeTruncate(a.ref, 120)+"`")
		}
		body = append(body, section(mrkdwn(truncate(fmt.Sprintf("*Recovered (%d):* %s", len(recovered), strings.Join(names, ", ")), MaxSection)), nil))
	}
	start, _ := r.span()
	ctx := fmt.Sprintf("%s · %s %s", c.alertname, c.kind, escapeTruncate(c.name, 200))
	if !start.IsZero() {
		ctx += " · since " + start.UTC().Format(stampLayout)
		if !r.n.Resolved() {
			ctx += " (" + humanDuration(r.now.Sub(start)) + ")"
		}
	}
	body = append(body, slack.NewContextBlock("fleet_context", mrkdwn(truncate(ctx, MaxSection))))
	return &Message{
		Text:   plain(title, MaxFallbackText),
		Color:  r.color(),
		Header: header,
		Body:   body,
		Reply:  r.reply(),
	}
}

// fleetTitle is the header: the cause and how many apps it affects.
func (r *renderer) fleetTitle(c fleetCause, affected int) string {
	what := c.kind + " " + c.name + " unreachable"
	if c.alertname == AlertParentDegraded {
		what = c.kind + " " + c.name + " broke its children"
	}
	if r.n.Resolved() {
		return plain("✅ Resolved: "+what, MaxHeader)
	}
	apps := "apps"
	if affected == 1 {
		apps = "app"
	}
	// The count (and how long it has lasted, from the first minute) is kept when the name must
	// be cut.
	count := fmt.Sprintf(": %d %s", affected, apps)
	if start, _ := r.span(); !start.IsZero() && r.now.Sub(start) >= time.Minute {
		count += " · for " + humanDuration(r.now.Sub(start))
	}
	return plain(severityEmoji(r.severity())+" "+truncate(what, MaxHeader-runes(count)-3)+count, MaxHeader)
}

// fleetWhy is the cause's Why: what the alerts say about it, in one paragraph.
func (r *renderer) fleetWhy(c fleetCause, affected int, firing []fleetApp) string {
	if r.n.Resolved() {
		start, end := r.span()
		if start.IsZero() || end.IsZero() {
			return "*Resolved*: every app recovered."
		}
		return "*Resolved* after " + humanDuration(end.Sub(start)) + ": every app recovered."
	}
	if c.alertname == AlertDestinationDown {
		why := fmt.Sprintf("*Argo CD cannot reach cluster `%s`*: %d apps deployed there cannot be compared with git (sync Unknown with a ComparisonError, or health Unknown). Their own alerts are held back while this one fires: fix the cluster or Argo CD's access to it (`argocd cluster get %s`).",
			escapeTruncate(c.name, 300), affected, escapeTruncate(c.name, 300))
		if ref, msg := r.comparisonError(firing); msg != "" {
			why += "\n>" + escapeTruncate(msg, maxFleetCause) + "\n_Argo CD's ComparisonError on " + escapeTruncate(ref, 200) + "_"
		}
		return why
	}
	why := fmt.Sprintf("*%d children of %s `%s` are in trouble* (Degraded, Missing or failing to sync): look at what the parent changed, its last sync and commit. Their own alerts are held back while this one fires.",
		affected, escape(c.kind), escapeTruncate(c.name, 300))
	if lines := r.parentWhy(); len(lines) > 0 {
		why += "\n" + strings.Join(lines, "\n")
	}
	return why
}

// FleetParent names the parent app whose last sync and commit an ArgoCDParentDegraded message
// tells: the Application every alert names in parent (parent_kind Application), in the
// namespace of the children's Applications, or in the namespace Argo CD's "namespace_name"
// instance value gives (an app outside the control plane's namespace). ok is false for any other
// notification, and for an ApplicationSet parent (no sync of its own).
func FleetParent(n *notification.Message) (namespace, name string, ok bool) {
	c, isFleet := fleetOf(n)
	if !isFleet || c.alertname != AlertParentDegraded || c.kind != "Application" {
		return "", "", false
	}
	namespace = n.Alerts[0].Labels["namespace"]
	for _, a := range n.Alerts {
		if a.Status == "firing" {
			namespace = a.Labels["namespace"]
			break
		}
	}
	name = c.name
	if ns, n, found := strings.Cut(c.name, "_"); found && ns != "" && n != "" {
		namespace, name = ns, n
	}
	return namespace, name, namespace != "" && name != ""
}

// parentWhy is what the parent app's last sync and commit were, from the exporter's answer for
// it (enrichment asks for it first): "*Parent's last sync:* `abc1234` Failed at 10:02 UTC (by
// alice): message" and "*Parent's commit:* `abc1234` by Jane: first line", or its last deploy
// when it has no operation. Nothing when the parent is not an Application or not known.
func (r *renderer) parentWhy() []string {
	ns, name, ok := FleetParent(r.n)
	if !ok || r.opt.Why == nil {
		return nil
	}
	app := r.opt.Why.App(ns, name)
	if app == nil {
		return nil
	}
	ref := "`" + escapeTruncate(ns+"/"+name, 200) + "`"
	if u := argoCDAppURL(r.opt.ArgoCDURL, ns, name); u != "" {
		ref = "<" + u + "|" + escapeTruncate(ns+"/"+name, 200) + ">"
	}
	var lines []string
	switch op, d := app.Operation, app.LastDeploy; {
	case op != nil && op.Phase != "":
		s := "• *Parent " + ref + ", last sync:*"
		if len(op.Revisions) > 0 && op.Revisions[0] != "" {
			s += " `" + escape(shortRev(op.Revisions[0])) + "`"
		}
		s += " " + escape(op.Phase) + operationWhenBy(op)
		if op.Message != "" {
			s += ": " + escapeTruncate(strings.Join(strings.Fields(op.Message), " "), 250)
		}
		lines = append(lines, line(s))
	case d != nil && !d.DeployedAt.IsZero():
		s := "• *Parent " + ref + ", last deploy:*"
		if len(d.Revisions) > 0 && d.Revisions[0] != "" {
			s += " `" + escape(shortRev(d.Revisions[0])) + "`"
		}
		s += " at " + d.DeployedAt.UTC().Format(stampLayout)
		if by := initiator(d.InitiatedBy); by != "" {
			s += " (" + escape(by) + ")"
		}
		lines = append(lines, line(s))
	default:
		lines = append(lines, line("• *Parent "+ref+":* no sync recorded"))
	}
	for _, c := range app.Commits[:min(len(app.Commits), 2)] {
		s := "• *Parent's commit:* " + commitText(c)
		if !c.Date.IsZero() {
			s += " (" + c.Date.UTC().Format(stampLayout) + ")"
		}
		lines = append(lines, line(s))
	}
	return lines
}

// fleetAppLine is one affected app: its name, linked to Argo CD, and since when.
func (r *renderer) fleetAppLine(c fleetCause, a fleetApp) string {
	name := "`" + escapeTruncate(a.ref, 200) + "`"
	ns, n, _ := strings.Cut(a.ref, "/")
	if u := argoCDAppURL(r.opt.ArgoCDURL, ns, n); u != "" {
		name = "<" + u + "|" + escapeTruncate(a.ref, 200) + ">"
	}
	line := name
	if c.alertname == AlertParentDegraded && a.alert.Labels["dest_server"] != "" {
		line += " · " + escapeTruncate(a.alert.Labels["dest_server"], 100)
	}
	if !a.alert.StartsAt.IsZero() {
		line += " · since " + a.alert.StartsAt.UTC().Format(clockLayout)
	}
	return line
}

// fleetButtons: acknowledge and silence the whole group, the dashboard, or the silence link.
func (r *renderer) fleetButtons() []slack.BlockElement {
	var els []slack.BlockElement
	els = append(els, r.ackButton()...)
	els = append(els, r.silenceButtons()...)
	if u := dashboardURL(r.primary().Annotations["dashboard_url"], r.opt.GrafanaURL); u != "" {
		els = append(els, linkButton("dashboard", "Dashboard", u))
	}
	if !r.opt.Interactive && !r.n.Resolved() {
		if u := silenceURL(r.n.ExternalURL, r.n.GroupLabels); u != "" {
			els = append(els, linkButton("silence", "Silence", u))
		}
	}
	return els
}

// comparisonError is the first ComparisonError message the exporter's answers hold for the
// affected apps (in the listed order): Argo CD's own words about the cluster connection.
func (r *renderer) comparisonError(firing []fleetApp) (ref, msg string) {
	if r.opt.Why == nil {
		return "", ""
	}
	for _, a := range firing {
		app := r.opt.Why.App(a.alert.Labels["namespace"], a.alert.Labels["name"])
		if app == nil {
			continue
		}
		for _, c := range app.Conditions {
			if c.Type == "ComparisonError" && strings.TrimSpace(c.Message) != "" {
				return a.ref, strings.Join(strings.Fields(c.Message), " ")
			}
		}
	}
	return "", ""
}
