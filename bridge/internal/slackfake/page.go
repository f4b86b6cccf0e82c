package slackfake

import (
	_ "embed"
	"encoding/json"
	"html/template"
	"net/http"
	"time"
)

// The page at / draws the channels as Slack's client does (page.html: html/template and a
// little vanilla JS, no build step): a sidebar of channels, each message in its latest
// version with "(edited)", blocks and attachments with their colour bar, threads folded under
// their message, ephemeral messages marked as such; buttons that send signed interactions.

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

type channelLink struct {
	ID, Name string
	Selected bool
}

type messageView struct {
	Channel, TS string
	Time        string
	Edits       int
	Ephemeral   string
	Text        template.HTML // shown when the message has no blocks, as Slack does
	Blocks      []blockView
	Attachments []attachmentView
	Replies     []messageView
}

type channelView struct {
	ID, Name string
	Messages []messageView
}

type pageData struct {
	Channels  []channelLink
	Channel   *channelView
	User      string
	Clickable bool
	Version   int
}

func view(m *message) messageView {
	v := messageView{Channel: m.ChannelID, TS: m.TS, Time: m.At.Local().Format(time.TimeOnly), Edits: m.Edits, Ephemeral: m.Ephemeral,
		Blocks: blockViews(decodeBlocks(m.Blocks)), Attachments: attachmentViews(decodeAttachments(m.Attach))}
	if len(v.Blocks) == 0 {
		v.Text = mrkdwnHTML(m.Text)
	}
	for _, r := range m.Replies {
		v.Replies = append(v.Replies, view(r))
	}
	return v
}

// Page serves the channels page at / (?channel=ID picks one; default: the most recently active).
func (f *Fake) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		version := f.Version()
		chans := f.timeline()
		in := f.interactionsConfig()
		data := pageData{User: in.User, Clickable: in.URL != "", Version: version}
		want := r.URL.Query().Get("channel")
		for i, c := range chans {
			if c.ID == want || (want == "" && i == 0) {
				cv := &channelView{ID: c.ID, Name: c.Name}
				for _, m := range c.Messages {
					cv.Messages = append(cv.Messages, view(m))
				}
				data.Channel = cv
			}
		}
		for _, c := range chans {
			data.Channels = append(data.Channels, channelLink{ID: c.ID, Name: c.Name, Selected: data.Channel != nil && c.ID == data.Channel.ID})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self'")
		if err := pageTmpl.Execute(w, data); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}

// serveVersion is GET /fake/version: a number that changes with every request the fake
// records, for the page to know when to redraw.
func (f *Fake) serveVersion(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]int{"version": f.Version()})
}

// Version is the number of requests answered so far.
func (f *Fake) Version() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.version
}
