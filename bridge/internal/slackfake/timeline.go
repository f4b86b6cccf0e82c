package slackfake

import (
	"slices"
	"strings"
	"time"
)

// The channels as a person sees them: each top-level message in its latest version (edits
// applied in place), with its thread replies; built from the accepted requests, the one record.

// webhookChannel holds the incoming-webhook posts (a webhook URL is bound to one channel that
// the request does not name).
const webhookChannel = "incoming-webhook"

// message is one message as it stands now.
type message struct {
	ChannelID string
	TS        string
	ThreadTS  string
	Text      string
	Blocks    string // JSON
	Attach    string // JSON
	Ephemeral string // the user who alone sees it; "" for everyone
	At        time.Time
	Edits     int
	Replies   []*message
}

// channel is one channel's messages, oldest first.
type channel struct {
	ID, Name string
	Messages []*message
	Last     time.Time
}

// timeline replays the accepted requests into channels, most recently active first.
func (f *Fake) timeline() []*channel {
	f.mu.Lock()
	names := map[string]string{}
	for name, id := range f.channels {
		if name != id {
			names[id] = strings.TrimPrefix(name, "#")
		}
	}
	f.mu.Unlock()

	byID := map[string]*channel{}
	var order []*channel
	find := map[string]*message{} // channel ID + " " + ts
	get := func(id string) *channel {
		c, ok := byID[id]
		if !ok {
			c = &channel{ID: id, Name: orString(names[id], id)}
			byID[id] = c
			order = append(order, c)
		}
		return c
	}
	for _, r := range f.Messages() {
		switch r.Method {
		case MethodPost, MethodEphemeral, MethodWebhook:
			id := r.ChannelID
			if r.Method == MethodWebhook {
				id = webhookChannel
			}
			m := &message{ChannelID: id, TS: r.TS, Text: r.Text, Blocks: r.Blocks, Attach: r.Attach, At: r.At}
			if r.Method == MethodEphemeral {
				m.Ephemeral = r.User
			}
			c := get(id)
			c.Last = r.At
			if parent := find[id+" "+r.ThreadTS]; r.ThreadTS != "" && parent != nil {
				m.ThreadTS = parent.TS
				parent.Replies = append(parent.Replies, m)
			} else {
				c.Messages = append(c.Messages, m)
			}
			if r.TS != "" {
				find[id+" "+r.TS] = m
			}
		case MethodUpdate:
			m := find[r.ChannelID+" "+r.TS]
			if m == nil {
				continue
			}
			// chat.update keeps what the request leaves out.
			if r.Text != "" {
				m.Text = r.Text
			}
			if r.Blocks != "" {
				m.Blocks = r.Blocks
			}
			if r.Attach != "" {
				m.Attach = r.Attach
			}
			m.Edits++
			get(r.ChannelID).Last = r.At
		}
	}
	slices.SortStableFunc(order, func(a, b *channel) int { return b.Last.Compare(a.Last) })
	return order
}

// lookup returns the message channel/ts (a top-level message or a reply) as it stands now.
func (f *Fake) lookup(channelID, ts string) *message {
	for _, c := range f.timeline() {
		if c.ID != channelID {
			continue
		}
		for _, m := range c.Messages {
			if m.TS == ts {
				return m
			}
			for _, r := range m.Replies {
				if r.TS == ts {
					return r
				}
			}
		}
	}
	return nil
}
