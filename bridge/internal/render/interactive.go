package render

import (
	"net/url"
	"regexp"
	"strconv"

	"github.com/prometheus/alertmanager/template"
	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
)

// Action IDs of the interactive buttons (bot mode). The bridge's action handler dispatches on
// them; they are also what Slack reports in its interaction payloads.
const (
	ActionSilence1h  = "silence_1h"
	ActionSilence4h  = "silence_4h"
	ActionSilence24h = "silence_24h"
	ActionExpire     = "expire_silence"
	ActionAck        = "ack"
	ActionRetry      = "retry_sync"
	ActionResume     = "resume_sync"
	ActionTerminate  = "terminate_sync"
	ActionRollback   = "rollback"
)

// alertSyncStuck is the alert of an app whose operation hangs: it gets "Terminate sync".
const alertSyncStuck = "ArgoCDAppSyncStuck"

// alertRemediationPaused is the alert whose app waits for a person: it gets "Resume auto-sync";
// other firing Argo CD app alerts get "Retry sync now".
const alertRemediationPaused = "ArgoCDAppRemediationPaused"

// maxStatusLines and maxStatusLine bound the status context (acked, silenced, resumed by).
const (
	maxStatusLines = 5
	maxStatusLine  = 150
)

// Status is what people did from Slack on a group's message; the action handler keeps it and
// every later rendering of the group shows it (a resolved update keeps "Acked by ...").
type Status struct {
	// Lines are shown as they are (mrkdwn, e.g. "Acked by <@U1> at 10:42 UTC").
	Lines    []string
	Acked    bool
	Silenced bool
}

// GroupID is the short, fixed-size name of an Alertmanager group that the buttons carry (a
// groupKey can be longer than a button value may be).
func GroupID(groupKey string) string { return state.GroupID(groupKey) }

// ButtonValue is what an interactive button carries: the group, and for retry/resume the app.
type ButtonValue struct {
	Group     string
	Namespace string
	Name      string
}

// Encode is the button's value string (query encoding: short and unambiguous).
func (v ButtonValue) Encode() string {
	q := url.Values{"g": {v.Group}}
	if v.Namespace != "" || v.Name != "" {
		q.Set("ns", v.Namespace)
		q.Set("app", v.Name)
	}
	return q.Encode()
}

var (
	groupIDRE = regexp.MustCompile(`^[0-9a-f]{1,64}$`)
	// Kubernetes object names (DNS-1123 subdomains).
	k8sNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
)

// DecodeButtonValue parses a button value from an interaction payload (outside input): a
// group ID, and for retry/resume an app's namespace and name.
func DecodeButtonValue(s string) (ButtonValue, bool) {
	if len(s) > 2000 {
		return ButtonValue{}, false
	}
	q, err := url.ParseQuery(s)
	if err != nil || len(q["g"]) != 1 || len(q["ns"]) > 1 || len(q["app"]) > 1 {
		return ButtonValue{}, false
	}
	v := ButtonValue{Group: q.Get("g"), Namespace: q.Get("ns"), Name: q.Get("app")}
	if !groupIDRE.MatchString(v.Group) || (v.Namespace == "") != (v.Name == "") ||
		v.Namespace != "" && (!k8sNameRE.MatchString(v.Namespace) || !k8sNameRE.MatchString(v.Name)) {
		return ButtonValue{}, false
	}
	return v, true
}

func button(id, text, value string, style slack.Style) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(id, value, slack.NewTextBlockObject(slack.PlainTextType, text, true, false))
	b.Style = style
	return b
}

// remediationButton is the per-alert "Retry sync now" or "Resume auto-sync" of a firing Argo CD
// app alert; nil otherwise.
func (r *renderer) remediationButton(a template.Alert, i int) slack.BlockElement {
	if !r.opt.Interactive || a.Status != "firing" || !isArgoCD(a) {
		return nil
	}
	v := ButtonValue{Group: GroupID(r.n.GroupKey), Namespace: a.Labels["namespace"], Name: a.Labels["name"]}.Encode()
	if len(v) > 2000 {
		return nil
	}
	id, text := ActionRetry, "Retry sync now"
	switch a.Labels["alertname"] {
	case alertRemediationPaused:
		id, text = ActionResume, "Resume auto-sync"
	case alertSyncStuck:
		id, text = ActionTerminate, "Terminate sync"
	}
	b := button(id, text, v, "")
	b.ActionID = id + "-" + strconv.Itoa(i) // unique per message; the handler strips the suffix
	return b
}

// statusBlocks are the status context (who acked, silenced, resumed) and, while the group
// fires, the group's buttons: Silence 1h/4h/24h or Expire silence, and Acknowledge.
func (r *renderer) statusBlocks() []slack.Block {
	var out []slack.Block
	if c := r.statusContext(); c != nil {
		out = append(out, c)
	}
	if els := r.groupButtons(); len(els) > 0 {
		out = append(out, slack.NewActionBlock("group_actions", els...))
	}
	return out
}

// statusContext says who acked, silenced or resumed (bot mode); nil when nobody did.
func (r *renderer) statusContext() slack.Block {
	if !r.opt.Interactive {
		return nil
	}
	var items []slack.MixedElement
	for _, l := range r.opt.Status.Lines {
		if len(items) == maxStatusLines {
			break
		}
		if t := truncate(l, maxStatusLine); t != "" {
			items = append(items, mrkdwn(t))
		}
	}
	if len(items) == 0 {
		return nil
	}
	return slack.NewContextBlock("status", items...)
}

// groupButtons are Silence 1h/4h/24h (or Expire silence) and Acknowledge while the group
// fires (bot mode).
func (r *renderer) groupButtons() []slack.BlockElement {
	return append(r.silenceButtons(), r.ackButton()...)
}

// silenceButtons are Silence 1h/4h/24h while the group fires, Expire silence while silenced.
func (r *renderer) silenceButtons() []slack.BlockElement {
	if !r.opt.Interactive {
		return nil
	}
	g := ButtonValue{Group: GroupID(r.n.GroupKey)}.Encode()
	switch {
	case r.opt.Status.Silenced:
		return []slack.BlockElement{button(ActionExpire, "Expire silence", g, slack.StyleDanger)}
	case !r.n.Resolved():
		return []slack.BlockElement{
			button(ActionSilence1h, "Silence 1h", g, ""),
			button(ActionSilence4h, "Silence 4h", g, ""),
			button(ActionSilence24h, "Silence 24h", g, "")}
	}
	return nil
}

// ackButton is Acknowledge until someone acked, while the group fires.
func (r *renderer) ackButton() []slack.BlockElement {
	if !r.opt.Interactive || r.opt.Status.Acked || r.n.Resolved() {
		return nil
	}
	return []slack.BlockElement{button(ActionAck, "Acknowledge", ButtonValue{Group: GroupID(r.n.GroupKey)}.Encode(), slack.StylePrimary)}
}

// statusReserve is the blocks and text the status context and group buttons need.
func (r *renderer) statusReserve() (blocks, text int) {
	if !r.opt.Interactive {
		return 0, 0
	}
	return 2, maxStatusLines*maxStatusLine + 60
}
