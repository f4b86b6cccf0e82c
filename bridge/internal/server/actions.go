package server

import (
	"context"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/actions"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/enrich"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/interact"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
)

// maxRecent bounds the groups whose last notification the bridge keeps for the buttons.
const maxRecent = 10000

// recent keeps each group's last notification (by render.GroupID), so a click can silence the
// group's alerts and re-render its message with the new status.
type recent struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[string]recentEntry
}

type recentEntry struct {
	msg *notification.Message
	why *enrich.Result
	at  time.Time
}

func (r *recent) put(m *notification.Message, why *enrich.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if len(r.m) >= maxRecent {
		for k, e := range r.m {
			if r.ttl <= 0 || now.Sub(e.at) > r.ttl || len(r.m) >= maxRecent {
				delete(r.m, k)
			}
		}
	}
	r.m[render.GroupID(m.GroupKey)] = recentEntry{msg: m, why: why, at: now}
}

func (r *recent) get(group string) (recentEntry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[group]
	if !ok || (r.ttl > 0 && r.now().Sub(e.at) > r.ttl) {
		return recentEntry{}, false
	}
	return e, true
}

// groups is the actions' view of the pipeline: a group's re-rendering. (Its firing alerts are
// in the shared group state: actions.State.Alerts, written by each delivery.)
type groups struct{ p *pipeline }

// firingAlerts are the identifying labels of m's firing alerts, as actions.State.Alerts keeps
// them (nil when none fire).
func firingAlerts(m *notification.Message) []map[string]string {
	var out []map[string]string
	for _, a := range m.Alerts {
		if a.Status == "firing" {
			out = append(out, render.IdentifyingLabels(a.Labels))
		}
	}
	return out
}

func (g groups) Render(group string, st render.Status) (*render.Message, bool) {
	e, ok := g.p.recent.get(group)
	if !ok {
		return nil, false
	}
	return g.p.renderWith(e.msg, e.why, st), true
}

// Interactive reports whether the Slack actions are on: bot or console mode, and a way to
// receive clicks (signing secret or app token).
func (c *Config) Interactive() bool {
	return (c.Mode == ModeBot || c.Mode == ModeConsole) && (c.SigningSecret != nil || c.AppToken != nil)
}

// setupActions builds the action handler and the interaction receiver behind
// /slack/interactions and Socket Mode.
// Acks and silences live in the group state (fs) beside each message, shared by the replicas.
func (s *Server) setupActions(p *pipeline, d *slack.Deliverer, t slack.Interactive, fs state.FieldStore) error {
	cfg := s.cfg
	store := actions.NewStore(fs, nil)
	p.actions = store
	p.recent = &recent{ttl: cfg.StateTTL, now: time.Now, m: map[string]recentEntry{}}
	h := actions.New(actions.Config{
		Policy: cfg.Router.Actions(), Silencer: cfg.Silencer, Remediator: cfg.Remediator,
		Slack: slack.NewActor(d, t), Groups: groups{p}, Store: store,
		Logger: cfg.Logger, Counter: s.metrics.Actions,
	})
	s.receiver = interact.New(interact.Config{
		SigningSecret: cfg.SigningSecret, Handler: h, Timeout: cfg.Deadline * 3, Logger: cfg.Logger, Received: s.metrics.Interactions,
	})
	s.mux.Handle("/slack/interactions", s.receiver)
	return nil
}

// runSocketMode runs the Socket Mode connection until ctx ends (nothing when no app token).
func (s *Server) runSocketMode(ctx context.Context) error {
	if s.receiver == nil || s.cfg.AppToken == nil {
		<-ctx.Done()
		return nil
	}
	// The token is read once per process: slack-go keeps it for its reconnects.
	opts := []slackapi.Option{slackapi.OptionAppLevelToken(s.cfg.AppToken.Value()), slackapi.OptionHTTPClient(s.cfg.HTTPClient)}
	if s.cfg.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(s.cfg.APIURL))
	}
	return s.receiver.RunSocketMode(ctx, slackapi.New(s.cfg.BotToken.Value(), opts...))
}
