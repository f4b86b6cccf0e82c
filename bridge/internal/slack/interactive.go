package slack

import (
	"context"
	"errors"

	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
)

// Actor is the bot's side of the Slack actions: message updates and thread replies go through
// the Deliverer (pacing, 429 with Retry-After and 5xx retried within the delivery deadline,
// counted in the request metrics); ephemeral messages and user group lookups are single calls.
type Actor struct {
	d   *Deliverer
	bot *Bot
}

// NewActor needs a bot-mode deliverer and its transport.
func NewActor(d *Deliverer, bot *Bot) *Actor { return &Actor{d: d, bot: bot} }

func (a *Actor) do(ctx context.Context, channel string, o op, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, a.d.opt.Deadline)
	defer cancel()
	return a.d.call(ctx, a.d.opt.Clock.Now().Add(a.d.opt.Deadline), paceKey(Target{Channel: channel}), o, fn)
}

// Update replaces the message at channel/ts with m.
func (a *Actor) Update(ctx context.Context, channel, ts string, m *render.Message) error {
	return a.do(ctx, channel, opUpdate, func(ctx context.Context) error { return a.bot.Update(ctx, Ref{Channel: channel, TS: ts}, m) })
}

// Reply posts text in the thread of channel/ts.
func (a *Actor) Reply(ctx context.Context, channel, ts, text string) error {
	return a.do(ctx, channel, opReply, func(ctx context.Context) error { return a.bot.Reply(ctx, Ref{Channel: channel, TS: ts}, text) })
}

// Ephemeral shows text to user only (chat.postEphemeral).
func (a *Actor) Ephemeral(ctx context.Context, channel, user, text string) error {
	_, err := a.bot.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false))
	return err
}

var errNoUserGroup = errors.New("unknown user group")

// GroupMembers lists a user group's members (usergroups.users.list, scope usergroups:read).
func (a *Actor) GroupMembers(ctx context.Context, group string) ([]string, error) {
	users, err := a.bot.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && se.Err == "no_such_subteam" {
			return nil, errNoUserGroup
		}
		return nil, err
	}
	return users, nil
}
