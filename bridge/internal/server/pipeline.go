package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/actions"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/dedupe"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/route"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// pipeline is the path every notification takes: route, dedupe, render, deliver.
type pipeline struct {
	router    *route.Router
	dedupe    *dedupe.Window
	deliverer *slack.Deliverer
	render    render.Options
	channel   string        // default bot/console channel
	webhook   secret.Source // default webhook URL; nil = none
	metrics   *Metrics
	logger    *slog.Logger
	// deadline bounds the whole notification, a wait for a duplicate in flight included.
	deadline time.Duration
	// enricher (nil: off) asks the exporter about the apps, within enrichBudget.
	enricher     *enrich.Enricher
	enrichBudget time.Duration
	// changes makes a group's thread reply say which alerts came and went.
	changes *changes
	// actions and recent are set when the Slack actions are on (actions.go).
	actions *actions.Store
	recent  *recent
}

// renderWith renders m on its route with the exporter's detail and the action status st.
func (p *pipeline) renderWith(m *notification.Message, why *enrich.Result, st render.Status) *render.Message {
	rt := p.router.Match(m.MatchLabels())
	ov, err := p.router.OverridesWithWhy(rt, m, why)
	if err != nil {
		// A broken template must not lose the alert: what rendered is used, the rest is built in.
		p.logger.Warn("route template failed", "route", rt.Name, "err", err)
	}
	opt := p.render
	opt.Why, opt.Layout = why, rt.Layout
	if p.actions != nil {
		opt.Interactive, opt.Status = true, st
	}
	return render.Render(m, ov, opt)
}

func (p *pipeline) Notify(ctx context.Context, m *notification.Message) error {
	ctx, cancel := context.WithTimeout(ctx, p.deadline)
	defer cancel()
	rt := p.router.Match(m.MatchLabels())
	key := dedupe.Key(m.GroupKey, m.Status, m.Fingerprints())
	dup, finish, err := p.dedupe.Begin(ctx, key)
	if err != nil {
		return fmt.Errorf("wait for the same notification in flight: %w", err)
	}
	if dup {
		p.metrics.Duplicates.Inc()
		p.logger.Debug("duplicate notification acknowledged", "group_key", m.GroupKey, "route", rt.Name)
		return nil
	}
	why := p.enrich(ctx, m)
	var st render.Status
	var a actions.State
	var outcome string // a Slack resume's sync result, once the exporter has it
	if p.actions != nil {
		// One read of the group state (a GET with --state.kubernetes): an ack
		// made on any replica shows in this update.
		a, err = p.actions.Get(ctx, render.GroupID(m.GroupKey))
		if err != nil && !errors.Is(err, state.ErrNoGroup) {
			p.logger.Warn("read action state", "group_key", m.GroupKey, "err", err)
		}
		st, outcome = a.Status(time.Now()), a.Outcome(why)
	}
	msg := p.renderWith(m, why, st)
	if note := p.changes.describe(m); note != "" && m.Resolved() {
		msg.Reply += "\n" + note
	} else if note != "" {
		msg.Reply = note
	}
	if outcome != "" {
		msg.Reply = strings.TrimPrefix(msg.Reply+"\n"+outcome, "\n")
	}
	target := slack.Target{Route: rt.Name, Channel: rt.Channel, WebhookURL: rt.WebhookURL()}
	if target.Channel == "" {
		target.Channel = p.channel
	}
	if target.WebhookURL == "" && p.webhook != nil {
		target.WebhookURL = p.webhook.Value()
	}
	n := slack.Notification{GroupKey: m.GroupKey, Key: key, Resolved: m.Resolved(), Target: target, Message: msg,
		FiringSince: firingSince(m), Alerts: instances(m)}
	if p.actions != nil {
		n.Redraw = func(ctx context.Context) *render.Message { return p.redraw(ctx, m, why, st) }
	}
	err = p.deliverer.Deliver(ctx, n)
	if errors.Is(err, slack.ErrDuplicate) { // another replica delivered it
		finish(true)
		p.metrics.Duplicates.Inc()
		p.logger.Debug("duplicate notification acknowledged", "group_key", m.GroupKey, "route", rt.Name, "seen_by", "group state")
		return nil
	}
	if errors.Is(err, slack.ErrStale) { // a peer Alertmanager's late copy of resolved alerts
		// Not a delivery: the dedupe window must not take a real re-fire of the
		// same alerts (a newer startsAt, the same key) for this copy.
		finish(false)
		p.metrics.Duplicates.Inc()
		p.logger.Info("late copy of resolved alerts acknowledged", "group_key", m.GroupKey, "route", rt.Name, "status", m.Status, "alerts", len(m.Alerts))
		return nil
	}
	finish(err == nil)
	if err != nil {
		return err
	}
	p.changes.delivered(m)
	if p.actions != nil {
		p.recordDelivered(ctx, m, a.Alerts, outcome != "")
	}
	if p.recent != nil {
		p.recent.put(m, why)
	}
	p.metrics.Notifications.WithLabelValues(rt.Name, m.Status).Inc()
	p.logger.Info("notification delivered", "route", rt.Name, "status", m.Status, "alerts", len(m.Alerts))
	return nil
}

// redraw runs once m's message was updated in Slack: a click's action that recorded its state
// after this delivery read it (st) has redrawn the message from this replica's last
// notification, maybe before our update landed; read the state again and render m with it if
// it changed. A click recording after this read redraws after our update itself, from m
// (put in recent first). Every order of the two ends with the action's status shown.
func (p *pipeline) redraw(ctx context.Context, m *notification.Message, why *enrich.Result, st render.Status) *render.Message {
	if p.recent != nil {
		p.recent.put(m, why)
	}
	a, err := p.actions.Get(ctx, render.GroupID(m.GroupKey))
	if err != nil {
		return nil
	}
	now := a.Status(time.Now())
	if reflect.DeepEqual(now, st) {
		return nil
	}
	p.logger.Debug("action status changed during delivery, redrawing", "group_key", m.GroupKey)
	return p.renderWith(m, why, now)
}

// recordDelivered writes what the Slack actions need from a delivered notification into the
// shared group state: its firing alerts (what the buttons may act on, read by whichever replica
// gets the click, after any restart; written only when they changed since the state was read,
// prev) and that a remediation outcome was reported. A resolved group's entry is gone: nothing
// to record.
func (p *pipeline) recordDelivered(ctx context.Context, m *notification.Message, prev []map[string]string, reported bool) {
	firing := firingAlerts(m)
	if m.Resolved() || (!reported && reflect.DeepEqual(firing, prev)) {
		return
	}
	err := p.actions.Update(ctx, render.GroupID(m.GroupKey), func(s *actions.State) {
		s.Alerts = firing
		if reported && s.Remediation != nil {
			s.Remediation.Reported = true
		}
	})
	if err != nil && !errors.Is(err, state.ErrNoGroup) {
		p.logger.Warn("record delivered group state", "group_key", m.GroupKey, "err", err)
	}
}

// enrich asks the exporter about the notification's apps within the enrichment budget, which
// leaves the rest of the deadline to Slack; nil when enrichment is off.
func (p *pipeline) enrich(ctx context.Context, m *notification.Message) *enrich.Result {
	if p.enricher == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.enrichBudget)
	defer cancel()
	// A parent's fleet message tells the parent app's last sync and commit: ask about it first.
	var first []string
	if ns, name, ok := render.FleetParent(m); ok {
		first = append(first, enrich.AppKey(ns, name))
	}
	why := p.enricher.Enrich(ctx, m.Alerts, first...)
	if why.Status != enrich.ResultOK {
		p.logger.Debug("notification enrichment incomplete", "group_key", m.GroupKey, "result", why.Status, "problem", why.Problem)
	}
	return why
}

// instances names the alert instances m is about: its firing alerts, or all
// of them when m resolves the group.
func instances(m *notification.Message) []state.Instance {
	var out []state.Instance
	for _, a := range m.Alerts {
		if m.Resolved() || a.Status == "firing" {
			out = append(out, state.Instance{Fingerprint: a.Fingerprint, StartsAt: a.StartsAt})
		}
	}
	return out
}

// firingSince is when the group's oldest firing alert started (zero when none fires).
func firingSince(m *notification.Message) time.Time {
	var since time.Time
	for _, a := range m.Alerts {
		if a.Status == "firing" && !a.StartsAt.IsZero() && (since.IsZero() || a.StartsAt.Before(since)) {
			since = a.StartsAt
		}
	}
	return since
}
