package slack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
)

// Interactive is a transport that can also talk to one user and list user groups (bot mode,
// and console mode for the demo).
type Interactive interface {
	Transport
	Ephemeral(ctx context.Context, channel, user, text string) error
	GroupMembers(ctx context.Context, group string) ([]string, error)
}

// Actor is the transport's side of the Slack actions: message updates and thread replies go
// through the Deliverer (pacing, 429 with Retry-After and 5xx retried within the delivery
// deadline, counted in the request metrics); ephemeral messages and user group lookups are
// single calls.
type Actor struct {
	d *Deliverer
	t Interactive
}

// NewActor needs the deliverer and its (interactive) transport.
func NewActor(d *Deliverer, t Interactive) *Actor { return &Actor{d: d, t: t} }

func (a *Actor) do(ctx context.Context, channel string, o op, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, a.d.opt.Deadline)
	defer cancel()
	return a.d.call(ctx, time.Now().Add(a.d.opt.Deadline), paceKey(Target{Channel: channel}), o, fn)
}

// Update replaces the message at channel/ts with m.
func (a *Actor) Update(ctx context.Context, channel, ts string, m *render.Message) error {
	return a.do(ctx, channel, opUpdate, func(ctx context.Context) error { return a.t.Update(ctx, Ref{Channel: channel, TS: ts}, m) })
}

// Reply posts text in the thread of channel/ts.
func (a *Actor) Reply(ctx context.Context, channel, ts, text string) error {
	return a.do(ctx, channel, opReply, func(ctx context.Context) error { return a.t.Reply(ctx, Ref{Channel: channel, TS: ts}, text) })
}

// Ephemeral shows text to user only.
func (a *Actor) Ephemeral(ctx context.Context, channel, user, text string) error {
	return a.t.Ephemeral(ctx, channel, user, text)
}

// GroupMembers lists a user group's members.
func (a *Actor) GroupMembers(ctx context.Context, group string) ([]string, error) {
	return a.t.GroupMembers(ctx, group)
}

// Ephemeral calls chat.postEphemeral.
func (b *Bot) Ephemeral(ctx context.Context, channel, user, text string) error {
	_, err := b.api().PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false))
	return err
}

// GroupMembers calls usergroups.users.list (scope usergroups:read).
func (b *Bot) GroupMembers(ctx context.Context, group string) ([]string, error) {
	return b.api().GetUserGroupMembersContext(ctx, group)
}

// Ephemeral prints a message only user would see.
func (c *Console) Ephemeral(_ context.Context, channel, user, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := fmt.Fprintf(c.out, "  (only <@%s> sees, in %s) %s\n\n", user, channel, unlink(text))
	return err
}

var errNoUserGroups = errors.New("console mode has no user groups")

// GroupMembers fails: the console knows no user groups.
func (c *Console) GroupMembers(context.Context, string) ([]string, error) {
	return nil, errNoUserGroups
}
