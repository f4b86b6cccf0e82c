package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// Methods: the method label values of the Slack request metrics.
const (
	MethodWebhook     = "webhook"
	MethodPostMessage = "chat.postMessage"
	MethodUpdate      = "chat.update"
	MethodHistory     = "conversations.history"
	MethodConsole     = "console"
)

// Target is where a notification goes: a bot-mode channel or a webhook URL (secret).
type Target struct {
	Route      string
	Channel    string
	WebhookURL string
	// Mark (bot mode, shared group state) is put on a new top-level message as Slack message
	// metadata, so a replica taking the group over after a crash can find it (Finder).
	Mark Mark
}

// MarkEventType is the event_type of the message metadata on the bridge's top-level messages.
const MarkEventType = "argocd_monitor_incident"

// Mark names the group (state.GroupID) and the claim a message was posted under.
type Mark struct {
	Group string
	Claim string
}

// Finder is a transport that can find its own post again: Find looks through channel's
// top-level messages since oldest for one marked with one of claims. channel is an ID.
type Finder interface {
	Find(ctx context.Context, channel string, oldest time.Time, claims []string) (Ref, bool, error)
}

// Ref points at a posted message (bot and console modes).
type Ref struct {
	Channel string
	TS      string
}

type op int

const (
	opPost op = iota
	opUpdate
	opReply
	opHistory
)

// Transport is one way of talking to Slack.
type Transport interface {
	Post(ctx context.Context, t Target, m *render.Message) (Ref, error)
	Update(ctx context.Context, ref Ref, m *render.Message) error
	Reply(ctx context.Context, ref Ref, text string) error
	// ReplyMessage posts a whole message in ref's thread (the Details reply) and returns its Ref,
	// which Update can edit.
	ReplyMessage(ctx context.Context, ref Ref, m *render.Message) (Ref, error)
	// Threads reports whether Post returns a Ref that Update and Reply can use.
	Threads() bool
	// Methods are the metric method labels this transport uses.
	Methods() []string
	method(o op) string
}

// NewHTTPClient is the client for Slack calls over next (nil: a clone of the default
// transport). It keeps Slack's short error body (e.g. "invalid_payload") of non-2xx answers in
// the response status, where slack-go reports it, and turns a Retry-After given as an HTTP date
// into the delta-seconds form, the only one slack-go reads.
func NewHTTPClient(next http.RoundTripper) *http.Client {
	if next == nil {
		next = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{Transport: answerFixes{next}}
}

type answerFixes struct{ next http.RoundTripper }

func (s answerFixes) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		if d, ok := parseRetryAfter(v, time.Now()); ok {
			resp.Header.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
		} else {
			resp.Header.Del("Retry-After") // unreadable: a plain 429, retried with backoff
		}
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 128))
	text := strings.TrimSpace(strings.Map(func(r rune) rune {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, string(b)))
	if text != "" && !strings.HasPrefix(text, "<") {
		resp.Status = fmt.Sprintf("%d %s", resp.StatusCode, text)
	}
	return resp, nil
}

// parseRetryAfter reads Retry-After (RFC 9110 10.2.3): delta-seconds or an HTTP date, as the
// wait from now (0 for a date in the past).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// Webhook posts to incoming webhooks. Webhooks return no ts: no updates, no threads.
type Webhook struct {
	Client *http.Client
}

// Post sends m to t.WebhookURL.
func (w *Webhook) Post(ctx context.Context, t Target, m *render.Message) (Ref, error) {
	if t.WebhookURL == "" {
		return Ref{}, &Error{Result: ResultClientError, Reason: "no webhook URL for route " + t.Route}
	}
	return Ref{}, slack.PostWebhookCustomHTTPContext(ctx, t.WebhookURL, w.Client, m.WebhookMessage())
}

var errNoThreads = errors.New("incoming webhooks cannot update or reply")

// Update is impossible with webhooks.
func (w *Webhook) Update(context.Context, Ref, *render.Message) error { return errNoThreads }

// Reply is impossible with webhooks.
func (w *Webhook) Reply(context.Context, Ref, string) error { return errNoThreads }

// ReplyMessage is impossible with webhooks.
func (w *Webhook) ReplyMessage(context.Context, Ref, *render.Message) (Ref, error) {
	return Ref{}, errNoThreads
}

// Threads is false: webhooks never return the message ts.
func (w *Webhook) Threads() bool { return false }

// Methods are the metric labels used.
func (w *Webhook) Methods() []string { return []string{MethodWebhook} }

func (w *Webhook) method(op) string { return MethodWebhook }

// Bot uses the Web API with a bot token (scope chat:write).
type Bot struct {
	token secret.Source
	opts  []slack.Option
}

// NewBot returns a bot transport; token is read per request (a rotated token file takes
// effect at once); apiURL is the Web API base ending in "/" (slack-go appends the method name,
// e.g. http://127.0.0.1:PORT/api/ + chat.postMessage).
func NewBot(token secret.Source, apiURL string, client *http.Client) *Bot {
	opts := []slack.Option{slack.OptionHTTPClient(client)}
	if apiURL != "" {
		if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/"
		}
		opts = append(opts, slack.OptionAPIURL(apiURL))
	}
	return &Bot{token: token, opts: opts}
}

// api is a client with the current token (slack-go keeps the token per client; one is cheap).
func (b *Bot) api() *slack.Client { return slack.New(b.token.Value(), b.opts...) }

func msgOptions(m *render.Message) []slack.MsgOption {
	return []slack.MsgOption{
		slack.MsgOptionText(m.Text, false),
		slack.MsgOptionBlocks(m.Header...),
		slack.MsgOptionAttachments(m.Attachments()...),
	}
}

// Post calls chat.postMessage.
func (b *Bot) Post(ctx context.Context, t Target, m *render.Message) (Ref, error) {
	if t.Channel == "" {
		return Ref{}, &Error{Result: ResultClientError, Reason: "no channel for route " + t.Route}
	}
	opts := msgOptions(m)
	if t.Mark.Claim != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: MarkEventType,
			EventPayload: map[string]any{"group": t.Mark.Group, "claim": t.Mark.Claim}}))
	}
	ch, ts, err := b.api().PostMessageContext(ctx, t.Channel, opts...)
	if ch == "" {
		ch = t.Channel // chat.update wants the ID Slack answers, but the name is the best fallback
	}
	return Ref{Channel: ch, TS: ts}, err
}

// Update calls chat.update on the original message.
func (b *Bot) Update(ctx context.Context, ref Ref, m *render.Message) error {
	_, _, _, err := b.api().UpdateMessageContext(ctx, ref.Channel, ref.TS, msgOptions(m)...)
	return err
}

// Reply posts text in the message's thread.
func (b *Bot) Reply(ctx context.Context, ref Ref, text string) error {
	_, _, err := b.api().PostMessageContext(ctx, ref.Channel, slack.MsgOptionText(text, false), slack.MsgOptionTS(ref.TS))
	return err
}

// ReplyMessage posts m in the thread of ref with chat.postMessage.
func (b *Bot) ReplyMessage(ctx context.Context, ref Ref, m *render.Message) (Ref, error) {
	ch, ts, err := b.api().PostMessageContext(ctx, ref.Channel, append(msgOptions(m), slack.MsgOptionTS(ref.TS))...)
	if ch == "" {
		ch = ref.Channel
	}
	return Ref{Channel: ch, TS: ts}, err
}

// historyPages bounds Find: at most this many pages of historyPage messages.
const (
	historyPages = 5
	historyPage  = 200
)

// Find calls conversations.history (scope channels:history, groups:history for private
// channels) with include_all_metadata, newest first, until a top-level message marked with one
// of claims turns up, the history since oldest ends, or historyPages pages were read.
func (b *Bot) Find(ctx context.Context, channel string, oldest time.Time, claims []string) (Ref, bool, error) {
	api := b.api()
	params := &slack.GetConversationHistoryParameters{ChannelID: channel, Oldest: slackTS(oldest), Inclusive: true,
		Limit: historyPage, IncludeAllMetadata: true}
	for range historyPages {
		resp, err := api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return Ref{}, false, err
		}
		for _, m := range resp.Messages {
			if m.ThreadTimestamp != "" && m.ThreadTimestamp != m.Timestamp {
				continue // a reply shown in the channel
			}
			if m.Metadata.EventType != MarkEventType {
				continue
			}
			if c, ok := m.Metadata.EventPayload["claim"].(string); ok && slices.Contains(claims, c) {
				return Ref{Channel: channel, TS: m.Timestamp}, true, nil
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	return Ref{}, false, nil
}

// slackTS writes t as a Slack timestamp (seconds.microseconds).
func slackTS(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// Threads is true.
func (b *Bot) Threads() bool { return true }

// Methods are the metric labels used.
func (b *Bot) Methods() []string { return []string{MethodPostMessage, MethodUpdate, MethodHistory} }

func (b *Bot) method(o op) string {
	switch o {
	case opUpdate:
		return MethodUpdate
	case opHistory:
		return MethodHistory
	}
	return MethodPostMessage
}
