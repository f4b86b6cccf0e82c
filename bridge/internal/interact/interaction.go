// Package interact receives Slack interactions (button clicks) both ways Slack offers: the
// Request URL (POST /slack/interactions, signed with the app's signing secret) and Socket Mode
// (a websocket the bridge opens with an app-level token). Both decode the payload into the same
// Interaction, drop replays, acknowledge Slack at once and hand the click to one Handler.
package interact

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// Interaction is one button click.
type Interaction struct {
	// ActionID is the button's action ID without the per-alert "-N" suffix.
	ActionID string
	Value    string
	UserID   string
	UserName string
	// TeamDomain builds the message's permalink (audit comment of a silence).
	TeamDomain string
	ChannelID  string
	MessageTS  string
	ActionTS   string
}

// Key identifies the click: a replay of the same interaction has the same key.
func (in Interaction) Key() string {
	return strings.Join([]string{in.UserID, in.ChannelID, in.MessageTS, in.ActionID, in.ActionTS, in.Value}, "\x00")
}

// Permalink is the message's Slack URL ("" when the team domain is unknown).
func (in Interaction) Permalink() string {
	if in.TeamDomain == "" || in.ChannelID == "" || in.MessageTS == "" {
		return ""
	}
	return "https://" + in.TeamDomain + ".slack.com/archives/" + in.ChannelID + "/p" + strings.ReplaceAll(in.MessageTS, ".", "")
}

// Handler acts on one click. It reports the outcome to the user itself (ephemeral message,
// message update, thread reply), so it returns nothing.
type Handler interface {
	Handle(ctx context.Context, in Interaction)
}

// ErrNotAction marks a payload that is valid but no button click on a message (a shortcut, a
// modal): acknowledged and ignored.
var ErrNotAction = errors.New("not a message button click")

// FromCallback turns Slack's payload into the clicks it carries (Slack sends one per payload).
func FromCallback(cb *slack.InteractionCallback) ([]Interaction, error) {
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil, ErrNotAction
	}
	channel, ts := cb.Container.ChannelID, cb.Container.MessageTs
	if channel == "" {
		channel = cb.Channel.ID
	}
	if ts == "" {
		ts = cb.Message.Timestamp
	}
	if cb.User.ID == "" || channel == "" || ts == "" {
		return nil, fmt.Errorf("payload without user, channel or message ts")
	}
	var out []Interaction
	for _, a := range cb.ActionCallback.BlockActions {
		if a == nil || a.ActionID == "" {
			continue
		}
		id := a.ActionID
		if i := strings.LastIndexByte(id, '-'); i > 0 {
			id = id[:i]
		}
		name := cb.User.Name
		if name == "" {
			name = cb.User.Username
		}
		out = append(out, Interaction{
			ActionID: id, Value: a.Value, UserID: cb.User.ID, UserName: name, TeamDomain: cb.Team.Domain,
			ChannelID: channel, MessageTS: ts, ActionTS: a.ActionTs,
		})
	}
	if len(out) == 0 {
		return nil, ErrNotAction
	}
	return out, nil
}
