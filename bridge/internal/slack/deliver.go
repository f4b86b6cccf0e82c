package slack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
)

// ErrDeadline is returned (transient) when pacing or Retry-After would push a send past the
// delivery deadline; Alertmanager's own backoff then retries.
var ErrDeadline = errors.New("slack delivery deadline reached")

// ErrDuplicate: another replica delivered this very notification already;
// acknowledge it.
var ErrDuplicate = errors.New("notification delivered already")

// ErrStale: a notification, firing or resolved, about alert instances the
// group's last notification resolved (a peer Alertmanager's late copy);
// acknowledge it.
var ErrStale = errors.New("notification about alerts resolved already")

// Notification is one rendered message for one Alertmanager group.
type Notification struct {
	GroupKey string
	// Key names the notification's content (dedupe.Key): replicas sharing
	// the group state deliver each one once.
	Key      string
	Resolved bool
	Target   Target
	Message  *render.Message
	// FiringSince is when the group's oldest firing alert started: reminders count from it.
	FiringSince time.Time
	// Alerts are the alert instances the notification is about: its firing ones, or when
	// Resolved all it resolves. A notification about only instances the group's last
	// (resolving) notification resolved is stale: ErrStale, no Slack call.
	Alerts []state.Instance
	// Redraw (optional) is asked once the group's message was updated in place, while the
	// group is still claimed: a non-nil answer replaces the message again. The bridge uses it
	// when a Slack action changed the group's status after Message was rendered (an ack
	// racing this delivery), so the last update of the message never drops the ack line.
	Redraw func(ctx context.Context) *render.Message
}

// Options tune delivery.
type Options struct {
	// Deadline bounds one delivery, retries and pacing waits included (keep it under
	// Alertmanager's webhook timeout).
	Deadline time.Duration
	// AttemptTimeout bounds one HTTP request to Slack.
	AttemptTimeout time.Duration
	// FirstBackoff is the wait after a transient failure without Retry-After (doubles, max 2s).
	FirstBackoff time.Duration
	Logger       *slog.Logger
	// ReminderInterval (bot mode): when a still-firing group's message is updated after another
	// interval has passed since FiringSince, its thread reply starts with a reminder ("⏰ Still
	// firing for 4h: ..."). 0 turns reminders off.
	ReminderInterval time.Duration
	// Now is the clock of reminders (default time.Now).
	Now func() time.Time
}

// Deliverer sends notifications with retries, pacing and (bot mode) message updates.
type Deliverer struct {
	t        Transport
	state    state.Groups
	pacer    *Pacer
	opt      Options
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// channels maps the channel names routes give to the IDs Slack answered posts with
	// (conversations.history takes IDs only).
	channels sync.Map
}

// NewDeliverer wires a transport. store may be nil (webhook mode keeps no state). requests is
// slack_requests_total{method,result}, duration slack_request_duration_seconds{method}.
func NewDeliverer(t Transport, store state.Groups, pacer *Pacer, opt Options, requests *prometheus.CounterVec, duration *prometheus.HistogramVec) *Deliverer {
	if opt.FirstBackoff <= 0 {
		opt.FirstBackoff = 250 * time.Millisecond
	}
	if opt.AttemptTimeout <= 0 {
		opt.AttemptTimeout = opt.Deadline
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	for _, m := range t.Methods() {
		duration.WithLabelValues(m)
		for _, r := range Results {
			requests.WithLabelValues(m, r)
		}
	}
	if fs, ok := store.(*state.Store); ok && fs == nil {
		store = nil // a nil *Store is no state, not a state that panics
	}
	return &Deliverer{t: t, state: store, pacer: pacer, opt: opt, requests: requests, duration: duration}
}

// paceKey names what Slack rate-limits: the webhook (bound to one channel) or the channel.
func paceKey(t Target) string {
	if t.WebhookURL != "" {
		sum := sha256.Sum256([]byte(t.WebhookURL))
		return "webhook:" + hex.EncodeToString(sum[:8])
	}
	if t.Channel != "" {
		return "channel:" + t.Channel
	}
	return "route:" + t.Route
}

// Deliver posts n, or in bot mode updates the group's earlier message and replies in its
// thread. It returns nil only once Slack accepted everything; an *Error with Permanent() true
// when Slack refused the message for good; any other error is transient.
func (d *Deliverer) Deliver(ctx context.Context, n Notification) error {
	ctx, cancel := context.WithTimeout(ctx, d.opt.Deadline)
	defer cancel()
	deadline := time.Now().Add(d.opt.Deadline)
	key := paceKey(n.Target)
	if d.state == nil {
		_, err := d.post(ctx, deadline, key, n)
		return err
	}
	claim, err := d.state.Begin(ctx, n.GroupKey, n.Key, n.Alerts)
	if err != nil {
		return fmt.Errorf("group state: %w", err)
	}
	if claim.Duplicate {
		return ErrDuplicate
	}
	if claim.Stale {
		return ErrStale
	}
	if !claim.Found && len(claim.Unrecorded) > 0 {
		ref, ok, err := d.adopt(ctx, deadline, key, n, claim)
		if err != nil {
			claim.Abort(ctx)
			return err
		}
		if ok {
			claim.Found, claim.Entry.Channel, claim.Entry.TS = true, ref.Channel, ref.TS
		}
	}
	if claim.Found && d.t.Threads() {
		ref := Ref{Channel: claim.Entry.Channel, TS: claim.Entry.TS}
		err := d.call(ctx, deadline, key, opUpdate, func(ctx context.Context) error { return d.t.Update(ctx, ref, n.Message) })
		switch {
		case err == nil:
			d.learnChannel(n.Target.Channel, ref.Channel)
			if n.Redraw != nil {
				if m := n.Redraw(ctx); m != nil {
					if err := d.call(ctx, deadline, key, opUpdate, func(ctx context.Context) error { return d.t.Update(ctx, ref, m) }); err != nil {
						// Delivered already; the action's own redraw came after ours, or the next notification redraws.
						d.opt.Logger.Warn("message not redrawn with the new action status", "group_key", n.GroupKey, "err", err)
					}
				}
			}
			reply := n.Message.Reply
			sent := reminders(claim.Entry)
			due, remind := reminderDue(d.opt.ReminderInterval, n.FiringSince, d.opt.Now(), sent)
			if remind && !n.Resolved {
				reply = strings.TrimSuffix(reminderText(time.Duration(due)*d.opt.ReminderInterval, n.Message.Text)+"\n"+reply, "\n")
				claim.Entry.Fields = withField(claim.Entry.Fields, reminderField, strconv.Itoa(due))
			}
			if reply != "" {
				if err := d.call(ctx, deadline, key, opReply, func(ctx context.Context) error { return d.t.Reply(ctx, ref, reply) }); err != nil {
					claim.Abort(ctx)
					return fmt.Errorf("thread reply: %w", err)
				}
			}
			d.remember(ctx, claim, n, ref, d.details(ctx, deadline, key, ref, claim.Entry.DetailsTS, n))
			return nil
		case gone(err):
			d.opt.Logger.Info("original message gone, posting a new one", "group_key", n.GroupKey, "err", err)
		default:
			claim.Abort(ctx)
			return fmt.Errorf("update message: %w", err)
		}
	}
	if claim.ID != "" {
		n.Target.Mark = Mark{Group: state.GroupID(n.GroupKey), Claim: claim.ID}
	}
	ref, err := d.post(ctx, deadline, key, n)
	if err != nil {
		claim.Abort(ctx)
		return err
	}
	detailsTS := ""
	if d.t.Threads() && ref.TS != "" {
		detailsTS = d.details(ctx, deadline, key, ref, "", n)
	}
	d.remember(ctx, claim, n, ref, detailsTS)
	return nil
}

// adoptMargin widens the history search for an unrecorded post: the clocks of the replica that
// claimed and of Slack may differ.
const adoptMargin = 2 * time.Minute

// adopt looks for the post of a claim whose replica died mid-delivery (claim.Unrecorded): Slack
// may have accepted it before the replica could record it. Found, the group's message is that
// post, to update rather than post a second one. A transport that cannot read the channel
// (webhooks), a channel known only by a name never posted to, or a permanent Slack error
// (missing scope channels:history) find nothing: the delivery posts, as before. A transient
// error fails the delivery, and Alertmanager's retry looks again.
func (d *Deliverer) adopt(ctx context.Context, deadline time.Time, key string, n Notification, claim *state.Claim) (Ref, bool, error) {
	f, ok := d.t.(Finder)
	if !ok {
		return Ref{}, false, nil
	}
	log := d.opt.Logger.With("group_key", n.GroupKey, "claims", claim.Unrecorded)
	channel := d.channelID(n.Target.Channel)
	if channel == "" {
		log.Warn("cannot look for the post of a replica that died mid-delivery: channel known by name only (configure its ID)", "channel", n.Target.Channel)
		return Ref{}, false, nil
	}
	var ref Ref
	var found bool
	err := d.call(ctx, deadline, key, opHistory, func(ctx context.Context) error {
		var err error
		ref, found, err = f.Find(ctx, channel, claim.UnrecordedSince.Add(-adoptMargin), claim.Unrecorded)
		return err
	})
	var se *Error
	switch {
	case errors.As(err, &se) && se.Permanent():
		log.Warn("cannot look for the post of a replica that died mid-delivery", "err", err)
		return Ref{}, false, nil
	case err != nil:
		return Ref{}, false, fmt.Errorf("look for the post of a replica that died mid-delivery: %w", err)
	case found:
		log.Info("adopted the message a replica posted before it died", "ts", ref.TS)
	default:
		log.Info("no post of the replica that died mid-delivery, posting")
	}
	return ref, found, nil
}

// channelID is the ID of the channel a route names: the name itself when it is an ID, else
// the ID Slack answered a post to it with ("" when none yet).
func (d *Deliverer) channelID(name string) string {
	if isChannelID(name) {
		return name
	}
	if id, ok := d.channels.Load(name); ok {
		return id.(string)
	}
	return ""
}

// learnChannel remembers the ID of the channel a route names: what Slack answered a post to it
// with, or the channel of the group message just updated (the same route posted it).
func (d *Deliverer) learnChannel(name, id string) {
	if name != "" && name != id && !isChannelID(name) && isChannelID(id) {
		d.channels.Store(name, id)
	}
}

// isChannelID: Slack conversation IDs are C, G or D and upper-case letters and digits.
func isChannelID(s string) bool {
	if len(s) < 9 || !strings.ContainsRune("CGD", rune(s[0])) {
		return false
	}
	for _, r := range s[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// noDetails replaces a Details reply whose detail now fits the message.
var noDetails = &render.Message{Text: "Details: everything is in the message now.",
	Header: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Details:* everything is in the message now.", false, false), nil, nil)}}

// details posts or updates the Details reply in the thread of the message at ref (prev: its
// ts, "" for none) and returns its ts. The message itself is delivered already, so a failure
// here is logged and counted (slack_requests_total), not returned: the group's next
// notification tries again.
func (d *Deliverer) details(ctx context.Context, deadline time.Time, key string, ref Ref, prev string, n Notification) string {
	m := n.Message.Details
	if m == nil {
		if prev == "" {
			return ""
		}
		m = noDetails
	}
	if prev != "" {
		err := d.call(ctx, deadline, key, opUpdate, func(ctx context.Context) error {
			return d.t.Update(ctx, Ref{Channel: ref.Channel, TS: prev}, m)
		})
		if err == nil || !gone(err) {
			if err != nil {
				d.opt.Logger.Warn("details reply not updated", "group_key", n.GroupKey, "err", err)
			}
			return prev
		}
	}
	if n.Message.Details == nil {
		return ""
	}
	var reply Ref
	err := d.call(ctx, deadline, key, opReply, func(ctx context.Context) error {
		var err error
		reply, err = d.t.ReplyMessage(ctx, ref, m)
		return err
	})
	if err != nil {
		d.opt.Logger.Warn("details reply not posted", "group_key", n.GroupKey, "err", err)
		return ""
	}
	return reply.TS
}

func (d *Deliverer) post(ctx context.Context, deadline time.Time, key string, n Notification) (Ref, error) {
	var ref Ref
	err := d.call(ctx, deadline, key, opPost, func(ctx context.Context) error {
		var err error
		ref, err = d.t.Post(ctx, n.Target, n.Message)
		return err
	})
	if err != nil {
		return ref, fmt.Errorf("post message: %w", err)
	}
	d.learnChannel(n.Target.Channel, ref.Channel)
	return ref, nil
}

// remember records the group's message for later updates; a resolved group
// is done. A state write failure is logged, not returned: Slack has the
// message already.
func (d *Deliverer) remember(ctx context.Context, claim *state.Claim, n Notification, ref Ref, detailsTS string) {
	e := claim.Entry
	e.Channel, e.TS, e.DetailsTS = ref.Channel, ref.TS, detailsTS
	e.ResolvedAlerts = nil
	if n.Resolved {
		e.ResolvedAlerts = n.Alerts
	}
	if err := claim.Done(ctx, e, n.Resolved || ref.TS == ""); err != nil {
		d.opt.Logger.Error("save state", "group_key", n.GroupKey, "err", err)
	}
}

// call runs one Slack request with pacing and retries until success, a final error or the
// deadline. Once an attempt failed, giving up reports that failure, not the wait that ended
// the retries.
func (d *Deliverer) call(ctx context.Context, deadline time.Time, key string, o op, fn func(context.Context) error) error {
	method := d.t.method(o)
	backoff := d.opt.FirstBackoff
	var last *Error
	giveUp := func(why error) error {
		if last != nil {
			return last
		}
		return why
	}
	for {
		wait, ok := d.pacer.Reserve(key, time.Now(), deadline)
		if !ok {
			return giveUp(fmt.Errorf("%w: channel busy (pacing)", ErrDeadline))
		}
		if err := sleep(ctx, wait); err != nil {
			return giveUp(fmt.Errorf("%w: %v", ErrDeadline, err))
		}
		actx, cancel := context.WithTimeout(ctx, d.opt.AttemptTimeout)
		start := time.Now()
		err := fn(actx)
		d.duration.WithLabelValues(method).Observe(time.Since(start).Seconds())
		cancel()
		last = Classify(err)
		if last == nil {
			d.requests.WithLabelValues(method, ResultOK).Inc()
			return nil
		}
		d.requests.WithLabelValues(method, last.Result).Inc()
		if last.Permanent() {
			return last
		}
		if last.RetryAfter > 0 {
			// Slack's Retry-After closes the channel for everyone; the next Reserve waits it out.
			until := time.Now().Add(last.RetryAfter)
			d.pacer.Block(key, until)
			if ctx.Err() != nil || until.After(deadline) {
				return last
			}
			continue
		}
		wait, backoff = backoff, min(2*backoff, 2*time.Second)
		if ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			return last
		}
		d.opt.Logger.Debug("slack request failed, retrying", "method", method, "result", last.Result, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return last
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// NewMetrics are argocd_monitor_bridge_slack_requests_total{method,result} and
// argocd_monitor_bridge_slack_request_duration_seconds{method}, registered on reg (nil: not
// registered, for tests); NewDeliverer takes them.
func NewMetrics(reg prometheus.Registerer) (requests *prometheus.CounterVec, duration *prometheus.HistogramVec) {
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "argocd_monitor_bridge", Name: "slack_requests_total",
		Help: "Requests to Slack by method and result (ok, ratelimited, server_error, client_error, timeout, network_error).",
	}, []string{"method", "result"})
	duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "argocd_monitor_bridge", Name: "slack_request_duration_seconds",
		Help:    "Duration of requests to Slack.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method"})
	if reg != nil {
		reg.MustRegister(requests, duration)
	}
	return requests, duration
}

// reminderField is the group state field that counts the reminders the group's thread has had.
const reminderField = "reminders"

func reminders(e state.Entry) int {
	n, _ := strconv.Atoi(e.Fields[reminderField])
	return n
}

// reminderDue says whether a reminder is due at now for a group firing since `since` that has
// had `sent` reminders: one per whole interval elapsed; due is the reminder's number.
func reminderDue(interval time.Duration, since, now time.Time, sent int) (due int, ok bool) {
	if interval <= 0 || since.IsZero() || now.Before(since) {
		return sent, false
	}
	due = int(now.Sub(since) / interval)
	return due, due >= 1 && due > sent
}

// reminderText is the reminder's line: how long the group has fired, and its message's title.
func reminderText(firing time.Duration, title string) string {
	return "⏰ Still firing for " + shortDuration(firing) + ": " + render.EscapeTruncate(title, 300)
}

// shortDuration writes 4h, 1h30m, 45m: whole minutes, no seconds.
func shortDuration(d time.Duration) string {
	d = d.Truncate(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h > 0 && m > 0:
		return fmt.Sprintf("%dh%dm", h, m)
	case h > 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dm", m)
}

// withField returns a copy of fields with k set to v (the claim's Entry may share its map).
func withField(fields map[string]string, k, v string) map[string]string {
	out := maps.Clone(fields)
	if out == nil {
		out = map[string]string{}
	}
	out[k] = v
	return out
}
