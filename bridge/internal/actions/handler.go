// Package actions is what a click in Slack does: silence the group in Alertmanager (and expire
// that silence), acknowledge it, or ask the exporter to retry or resume an app's remediation;
// each only for the people the policy allows, each once however often Slack delivers the click,
// each answered in Slack (message updated in place, an audit reply in the thread, or an
// ephemeral explanation of a refusal or failure), logged and counted.
package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/dedupe"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/interact"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
)

// Action labels of actions_total.
const (
	ActionSilence   = "silence"
	ActionExpire    = "expire_silence"
	ActionAck       = "ack"
	ActionRetry     = "retry"
	ActionResume    = "resume"
	ActionTerminate = "terminate"
	ActionRollback  = "rollback"
	ActionUnknown   = "unknown"
)

// Results of an action: the result label of actions_total.
const (
	ResultOK      = "ok"
	ResultRefused = "refused" // the policy does not allow this user
	ResultError   = "error"   // Alertmanager, the exporter or Slack failed; nothing changed
	ResultReplay  = "replay"  // the same interaction again: nothing done twice
	ResultInvalid = "invalid" // unknown button or value, a group the bridge no longer knows, or an app not of the message's group
)

var allActions = []string{ActionSilence, ActionExpire, ActionAck, ActionRetry, ActionResume, ActionTerminate, ActionRollback, ActionUnknown}
var allResults = []string{ResultOK, ResultRefused, ResultError, ResultReplay, ResultInvalid}

// Slack is what the handler needs from Slack (bot token): update the message in place, reply
// in its thread (both retried on 429 within the deadline), tell one user something, and list a
// user group's members.
type Slack interface {
	Update(ctx context.Context, channel, ts string, m *render.Message) error
	Reply(ctx context.Context, channel, ts, text string) error
	Ephemeral(ctx context.Context, channel, user, text string) error
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// Groups redraws a group's message (by render.GroupID) from the last notification this replica
// delivered; which alerts a group has is read from the shared group state (State.Alerts), so a
// click works on any replica and after a restart.
type Groups interface {
	// Render renders the group's last notification with st (false: this replica has none).
	Render(group string, st render.Status) (*render.Message, bool)
}

// Config is the handler's dependencies. Silencer and Remediator may be nil (not configured):
// their buttons then answer that.
type Config struct {
	Policy     Policy
	Silencer   Silencer
	Remediator Remediator
	Slack      Slack
	Groups     Groups
	// Store holds the acks and silences (in the shared group state).
	Store *Store
	// ReplayWindow is how long a handled interaction is remembered (longer than Slack's
	// 5-minute signature window).
	ReplayWindow time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
	// Counter is actions_total{action,result}.
	Counter *prometheus.CounterVec
}

// Handler acts on clicks; it implements interact.Handler.
type Handler struct {
	cfg     Config
	replays *dedupe.Window
	groups  *groupCache
}

// New returns a handler.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReplayWindow <= 0 {
		cfg.ReplayWindow = 10 * time.Minute
	}
	if cfg.Store == nil {
		mem, _ := state.Open("", 0) // in memory: cannot fail
		cfg.Store = NewStore(mem, cfg.Now)
	}
	for _, a := range allActions {
		for _, r := range allResults {
			cfg.Counter.WithLabelValues(a, r)
		}
	}
	return &Handler{
		cfg:     cfg,
		replays: dedupe.New(cfg.ReplayWindow),
		groups:  &groupCache{now: cfg.Now, fetch: cfg.Slack.GroupMembers, m: map[string]cachedGroup{}},
	}
}

// click is a decoded interaction.
type click struct {
	interact.Interaction
	action string
	kind   Kind
	dur    time.Duration // silences
	value  render.ButtonValue
	verb   string // "silence this group for 1h", for messages
}

func decode(in interact.Interaction) (click, bool) {
	c := click{Interaction: in, action: ActionUnknown}
	v, ok := render.DecodeButtonValue(in.Value)
	if !ok {
		return c, false
	}
	c.value = v
	switch in.ActionID {
	case render.ActionSilence1h, render.ActionSilence4h, render.ActionSilence24h:
		c.action, c.kind = ActionSilence, KindSilence
		c.dur = map[string]time.Duration{render.ActionSilence1h: time.Hour, render.ActionSilence4h: 4 * time.Hour, render.ActionSilence24h: 24 * time.Hour}[in.ActionID]
		c.verb = "silence this group for " + fmt.Sprintf("%dh", int(c.dur.Hours()))
	case render.ActionExpire:
		c.action, c.kind, c.verb = ActionExpire, KindSilence, "expire this group's silence"
	case render.ActionAck:
		c.action, c.kind, c.verb = ActionAck, KindAck, "acknowledge this group"
	case render.ActionRetry, render.ActionResume:
		if v.Namespace == "" {
			return c, false
		}
		c.action, c.kind, c.verb = ActionRetry, KindRetry, "retry the sync of "+v.Namespace+"/"+v.Name
		if in.ActionID == render.ActionResume {
			c.action, c.kind, c.verb = ActionResume, KindResume, "resume auto-sync of "+v.Namespace+"/"+v.Name
		}
	case render.ActionTerminate:
		if v.Namespace == "" {
			return c, false
		}
		c.action, c.kind, c.verb = ActionTerminate, KindTerminate, "terminate the running sync of "+v.Namespace+"/"+v.Name
	case render.ActionRollback:
		if v.Namespace == "" {
			return c, false
		}
		c.action, c.kind, c.verb = ActionRollback, KindRollback, "roll back "+v.Namespace+"/"+v.Name+" to its last healthy revision"
	default:
		return c, false
	}
	return c, true
}

// Handle acts on one click and reports the outcome in Slack.
func (h *Handler) Handle(ctx context.Context, in interact.Interaction) {
	c, ok := decode(in)
	log := h.cfg.Logger.With("action", c.action, "user", in.UserID, "channel", in.ChannelID, "message_ts", in.MessageTS)
	if !ok {
		h.count(c.action, ResultInvalid)
		log.Warn("slack action: unknown button or value", "action_id", in.ActionID)
		h.ephemeral(ctx, c, "⚠️ This button is not one the bridge knows; nothing was done.")
		return
	}
	dup, finish, err := h.replays.Begin(ctx, in.Key())
	if err != nil {
		h.count(c.action, ResultError)
		log.Warn("slack action: gave up waiting for the same click in flight", "err", err)
		return
	}
	if dup {
		h.count(c.action, ResultReplay)
		log.Info("slack action: replay ignored")
		return
	}
	defer finish(true) // a replay of a refused or failed click is still a replay

	allowed, err := h.cfg.Policy.allowed(ctx, c.kind, in.UserID, h.groups)
	if err != nil || !allowed {
		why := h.cfg.Policy.Describe(c.kind) + " may"
		if err != nil {
			why = "the bridge could not check your user groups (its log says why)"
		}
		h.count(c.action, ResultRefused)
		log.Info("slack action refused", "kind", c.kind, "err", err)
		h.ephemeral(ctx, c, "🚫 You may not "+c.verb+": "+sentence(why)+" Nothing was changed.")
		h.reply(ctx, c, fmt.Sprintf("🚫 <@%s> tried to %s at %s: refused.", in.UserID, c.verb, clock(h.cfg.Now())))
		return
	}

	if c.kind == KindRetry || c.kind == KindResume || c.kind == KindTerminate || c.kind == KindRollback {
		if why := h.notOfGroup(ctx, c); why != "" {
			h.count(c.action, ResultInvalid)
			log.Warn("slack action refused: the app is not one of the message's group", "app", c.value.Namespace+"/"+c.value.Name, "group", c.value.Group)
			h.ephemeral(ctx, c, "🚫 You may not "+c.verb+" from here: "+sentence(why)+" Nothing was changed.")
			h.reply(ctx, c, fmt.Sprintf("🚫 <@%s> tried to %s at %s: refused, not an app of this message.", in.UserID, c.verb, clock(h.cfg.Now())))
			return
		}
	}

	audit, err := h.act(ctx, c)
	if err != nil {
		h.count(c.action, ResultError)
		log.Warn("slack action failed", "err", err)
		h.ephemeral(ctx, c, "⚠️ Could not "+c.verb+": "+sentence(say(err))+" The message is unchanged.")
		h.reply(ctx, c, fmt.Sprintf("⚠️ <@%s> tried to %s at %s: failed (%s).", in.UserID, c.verb, clock(h.cfg.Now()), say(err)))
		return
	}
	h.count(c.action, ResultOK)
	log.Info("slack action done", "kind", c.kind, "group", c.value.Group)
	st, _ := h.cfg.Store.Get(ctx, c.value.Group) // act read it already
	if msg, ok := h.cfg.Groups.Render(c.value.Group, st.Status(h.cfg.Now())); ok {
		if err := h.cfg.Slack.Update(ctx, in.ChannelID, in.MessageTS, msg); err != nil {
			log.Warn("slack action done, message update failed", "err", err)
			h.ephemeral(ctx, c, "Done, but the message could not be updated (the bridge's log says why).")
		}
	}
	h.reply(ctx, c, audit)
}

// act does the action; it returns the audit line, or an error saying which system failed and
// why (the state is then unchanged).
func (h *Handler) act(ctx context.Context, c click) (string, error) {
	now := h.cfg.Now()
	g, user := c.value.Group, c.UserID
	st, err := h.cfg.Store.Get(ctx, g)
	if err != nil && !errors.Is(err, state.ErrNoGroup) {
		return "", fail("the bridge could not read this group's state", err)
	}
	// record keeps what was done in Alertmanager or the exporter; failing
	// to record it must not hide that it was done.
	record := func(fn func(*State)) {
		if err := h.cfg.Store.Update(ctx, g, fn); err != nil {
			h.cfg.Logger.Warn("slack action done, state not recorded", "group", g, "err", err)
		}
	}
	switch c.action {
	case ActionSilence:
		if h.cfg.Silencer == nil {
			return "", fail("the bridge has no Alertmanager to silence in (its Alertmanager URL is not set)", nil)
		}
		if st.Silence != nil && now.Before(st.Silence.Until) {
			return "", fail(fmt.Sprintf("already silenced by <@%s> until %s; expire it first", st.Silence.User, clock(st.Silence.Until)), nil)
		}
		alerts := st.Alerts
		if len(alerts) == 0 {
			return "", fail("the bridge has no firing alerts on record for this message (restarted since, or resolved); use Alertmanager's silence form", nil)
		}
		until := now.Add(c.dur)
		comment := "Silenced from Slack"
		if p := c.Permalink(); p != "" {
			comment += ": " + p
		}
		createdBy := "slack:" + user
		if c.UserName != "" {
			createdBy = c.UserName + " (slack:" + user + ")"
		}
		var ids []string
		for _, labels := range alerts {
			id, err := h.cfg.Silencer.Create(ctx, render.IdentifyingLabels(labels), until, createdBy, comment)
			if err != nil {
				h.expireAll(context.WithoutCancel(ctx), ids) // all or nothing
				return "", err
			}
			ids = append(ids, id)
		}
		record(func(s *State) { s.Silence = &Silence{Mark: Mark{User: user, At: now}, Until: until, IDs: ids} })
		return fmt.Sprintf("🔕 <@%s> silenced this group for %dh, until %s (Alertmanager silence %s).", user, int(c.dur.Hours()), clock(until), shortIDs(ids)), nil
	case ActionExpire:
		if st.Silence == nil || h.cfg.Silencer == nil {
			return "", fail("the bridge has no silence on record for this message", nil)
		}
		for _, id := range st.Silence.IDs {
			if err := h.cfg.Silencer.Expire(ctx, id); err != nil {
				return "", err
			}
		}
		record(func(s *State) { s.Silence = nil })
		return fmt.Sprintf("🔔 <@%s> expired the silence at %s (Alertmanager silence %s).", user, clock(now), shortIDs(st.Silence.IDs)), nil
	case ActionAck:
		if st.Ack != nil {
			return "", fail(fmt.Sprintf("already acked by <@%s> at %s", st.Ack.User, clock(st.Ack.At)), nil)
		}
		if err := h.cfg.Store.Update(ctx, g, func(s *State) { s.Ack = &Mark{User: user, At: now} }); err != nil {
			return "", fail("the bridge could not record the ack", err)
		}
		return fmt.Sprintf("👀 <@%s> acknowledged at %s.", user, clock(now)), nil
	default: // retry, resume
		if h.cfg.Remediator == nil {
			return "", fail("the bridge has no exporter to ask (its exporter URL for actions is not set)", nil)
		}
		app := c.value.Namespace + "/" + c.value.Name
		by := "slack:" + user
		if c.UserName != "" {
			by = c.UserName + " (slack:" + user + ")"
		}
		if c.kind == KindTerminate {
			answer, err := h.cfg.Remediator.Terminate(ctx, c.value.Namespace, c.value.Name, by)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("⏹️ <@%s> terminated the running sync of %s at %s: %s.", user, app, clock(now), answer), nil
		}
		if c.kind == KindRollback {
			answer, err := h.cfg.Remediator.Rollback(ctx, c.value.Namespace, c.value.Name, by)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("⏪ <@%s> rolled back %s at %s: %s.", user, app, clock(now), answer), nil
		}
		answer, err := h.cfg.Remediator.Resume(ctx, c.value.Namespace, c.value.Name, by)
		if err != nil {
			return "", err
		}
		record(func(s *State) {
			s.Remediation = &Remediation{Mark: Mark{User: user, At: now}, Kind: c.kind, App: app}
		})
		verb := "resumed auto-sync remediation of"
		if c.kind == KindRetry {
			verb = "asked for a sync retry of"
		}
		return fmt.Sprintf("🔁 <@%s> %s %s at %s: %s. If the sync fixes the app, the alert resolves in this thread.", user, verb, app, clock(now), answer), nil
	}
}

// notOfGroup says why a retry or resume may not act on the app its button names ("" when it
// may): the app must be one of the firing alerts of the group as last delivered, read from the
// shared group state (any replica, any restart), so a button value cannot name any other app.
func (h *Handler) notOfGroup(ctx context.Context, c click) string {
	st, err := h.cfg.Store.Get(ctx, c.value.Group)
	if err != nil && !errors.Is(err, state.ErrNoGroup) {
		h.cfg.Logger.Warn("slack action: read group state", "group", c.value.Group, "err", err)
		return "the bridge could not read this message's group state (its log says why)"
	}
	if len(st.Alerts) == 0 {
		return "the bridge has no firing alerts on record for this message (resolved, or not yet delivered); wait for the group's next notification"
	}
	for _, labels := range st.Alerts {
		if labels["namespace"] == c.value.Namespace && labels["name"] == c.value.Name {
			return ""
		}
	}
	return c.value.Namespace + "/" + c.value.Name + " is not a firing app of this message"
}

func (h *Handler) expireAll(ctx context.Context, ids []string) {
	for _, id := range ids {
		if err := h.cfg.Silencer.Expire(ctx, id); err != nil {
			h.cfg.Logger.Warn("could not expire a silence of a failed batch", "silence_id", id, "err", err)
		}
	}
}

func shortIDs(ids []string) string {
	s := ""
	for i, id := range ids {
		if i == 3 {
			return s + fmt.Sprintf(" and %d more", len(ids)-3)
		}
		if i > 0 {
			s += ", "
		}
		if len(id) > 8 {
			id = id[:8]
		}
		s += id
	}
	return s
}

func sentence(s string) string {
	if s == "" || s[len(s)-1] == '.' {
		return s
	}
	return s + "."
}

func (h *Handler) count(action, result string) {
	h.cfg.Counter.WithLabelValues(action, result).Inc()
}

func (h *Handler) ephemeral(ctx context.Context, c click, text string) {
	if err := h.cfg.Slack.Ephemeral(ctx, c.ChannelID, c.UserID, text); err != nil {
		h.cfg.Logger.Warn("slack ephemeral message failed", "user", c.UserID, "err", err)
	}
}

func (h *Handler) reply(ctx context.Context, c click, text string) {
	if err := h.cfg.Slack.Reply(ctx, c.ChannelID, c.MessageTS, text); err != nil {
		h.cfg.Logger.Warn("slack audit reply failed", "err", err)
	}
}

// NewCounter is argocd_monitor_bridge_actions_total{action,result}, registered on reg (nil: not
// registered, for tests); Config.Counter takes it.
func NewCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "argocd_monitor_bridge", Name: "actions_total",
		Help: "Slack button actions by action (silence, expire_silence, ack, retry, resume, terminate, rollback, unknown) and result (ok, refused, error, replay, invalid).",
	}, []string{"action", "result"})
	if reg != nil {
		reg.MustRegister(c)
	}
	return c
}
