package slackfake

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

// channelID is what a Slack conversation ID looks like: conversations.history takes only these,
// and a post to one is kept under it.
var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{8,}$`)

// top is a top-level message as conversations.history returns it. The fake's ts are counters,
// not times, so the history filters on when the fake received the post (At).
type top struct {
	TS       string
	Text     string
	Metadata string // as sent: {"event_type":...,"event_payload":{...}}
	At       time.Time
}

// edited applies a chat.update to the history (f.mu held): chat.update keeps what it leaves out.
func (f *Fake) edited(id string, req Request) {
	for _, m := range f.tops[id] {
		if m.TS != req.TS {
			continue
		}
		if req.Text != "" {
			m.Text = req.Text
		}
		if req.Metadata != "" {
			m.Metadata = req.Metadata
		}
	}
}

// history answers conversations.history as Slack does for a bot: the channel by ID only
// (channel_not_found for a name), top-level messages newest first, no thread replies, oldest and
// latest exclusive unless inclusive=1, limit (default 100, at most 999) with a cursor and has_more,
// and each message's metadata only when include_all_metadata=1.
func (f *Fake) history(w http.ResponseWriter, req Request, form url.Values) {
	if f.token != "" && req.Token != f.token {
		f.finish(w, req, http.StatusOK, "invalid_auth", nil)
		return
	}
	bound := func(k string, def time.Time) (time.Time, bool) {
		v := form.Get(k)
		if v == "" {
			return def, true
		}
		sec, err := strconv.ParseFloat(v, 64)
		if err != nil || sec < 0 {
			return time.Time{}, false
		}
		whole, frac := math.Modf(sec)
		return time.Unix(int64(whole), int64(frac*1e9)), true
	}
	oldest, ok1 := bound("oldest", time.Time{})
	latest, ok2 := bound("latest", time.Unix(math.MaxInt32, 0))
	limit, err := strconv.Atoi(form.Get("limit"))
	if form.Get("limit") == "" {
		limit, err = 100, nil
	}
	offset, cerr := strconv.Atoi(form.Get("cursor"))
	if form.Get("cursor") == "" {
		offset, cerr = 0, nil
	}
	if !ok1 || !ok2 || err != nil || cerr != nil || limit < 1 || offset < 0 {
		f.finish(w, req, http.StatusOK, "invalid_arguments", nil)
		return
	}
	limit = min(limit, 999)
	inclusive := form.Get("inclusive") == "1" || form.Get("inclusive") == "true"
	withMeta := form.Get("include_all_metadata") == "1" || form.Get("include_all_metadata") == "true"

	f.mu.Lock()
	id, known := f.channels[req.Channel]
	if !known || id != req.Channel {
		f.mu.Unlock()
		f.finish(w, req, http.StatusOK, "channel_not_found", nil)
		return
	}
	req.ChannelID = id
	var picked []map[string]any
	tops := f.tops[id]
	for i := len(tops) - 1; i >= 0; i-- {
		m := tops[i]
		after := m.At.After(oldest) || (inclusive && m.At.Equal(oldest))
		before := m.At.Before(latest) || (inclusive && m.At.Equal(latest))
		if !after || !before {
			continue
		}
		msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
		if withMeta && m.Metadata != "" {
			msg["metadata"] = json.RawMessage(m.Metadata)
		}
		picked = append(picked, msg)
	}
	f.mu.Unlock()
	page := picked[min(offset, len(picked)):]
	more := len(page) > limit
	if more {
		page = page[:limit]
	}
	fields := map[string]any{"messages": page, "has_more": more, "pin_count": 0}
	if page == nil {
		fields["messages"] = []any{}
	}
	if more {
		fields["response_metadata"] = map[string]any{"next_cursor": strconv.Itoa(offset + limit)}
	}
	f.finish(w, req, http.StatusOK, "", fields)
}
