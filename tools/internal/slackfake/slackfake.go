// Package slackfake is a fake of the Slack Web API methods the bridge uses in bot mode
// (chat.postMessage, chat.update, chat.postEphemeral), for the end-to-end test: it accepts slack-go's form bodies
// (and JSON bodies), checks the bot token, hands out channel IDs and message timestamps, records
// every call, and on command answers 429 with Retry-After and then 500 for a while.
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Message is one request Slack accepted.
type Message struct {
	Method      string // chat.postMessage or chat.update
	Channel     string // the channel ID
	TS          string // the message's ts (for an update: the updated message)
	ThreadTS    string // set for thread replies
	Text        string
	Blocks      string // JSON as sent
	Attachments string // JSON as sent
	At          time.Time
}

// Content is everything a person would read in the message: text, blocks and attachments.
func (m Message) Content() string { return m.Text + "\n" + m.Blocks + "\n" + m.Attachments }

// Call is one request, accepted or not.
type Call struct {
	Method string
	Status int    // HTTP status answered
	Result string // ok, ratelimited, server_error, or the Slack error code
}

// Fake is the fake Slack. Serve it with httptest or http.Server at <base>/api/.
type Fake struct {
	token string
	now   func() time.Time

	mu       sync.Mutex
	messages []Message
	calls    []Call
	channels map[string]string // name or ID -> ID
	seq      int

	// Faults planned by Fail, for calls whose message matches failMatch: the next rateLimited
	// get 429, then they get 500 until serverErrorUntil (counted from the first 500).
	failMatch        func(Message) bool
	rateLimited      int
	retryAfter       int
	serverErrorFor   time.Duration
	serverErrorUntil time.Time
	serverErrorArmed bool
}

// New returns a fake that accepts token as the bot token.
func New(token string) *Fake {
	return &Fake{token: token, now: time.Now, channels: map[string]string{}}
}

// Fail makes the next rateLimited calls whose message matches (nil: every call) answer 429 with
// Retry-After: retryAfter seconds, and the matching calls after them answer 500 for
// serverErrorsFor (counted from the first 500).
func (f *Fake) Fail(match func(Message) bool, rateLimited, retryAfter int, serverErrorsFor time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if match == nil {
		match = func(Message) bool { return true }
	}
	f.failMatch = match
	f.rateLimited, f.retryAfter = rateLimited, retryAfter
	f.serverErrorFor, f.serverErrorArmed = serverErrorsFor, serverErrorsFor > 0
	f.serverErrorUntil = time.Time{}
}

// Messages returns the accepted requests in order.
func (f *Fake) Messages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Message(nil), f.messages...)
}

// Calls returns every request in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// ServeHTTP answers <anything>/chat.postMessage and <anything>/chat.update.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	if method != "chat.postMessage" && method != "chat.update" && method != "chat.postEphemeral" {
		f.answer(w, method, http.StatusNotFound, "unknown_method", nil)
		return
	}
	if r.Method != http.MethodPost {
		f.answer(w, method, http.StatusMethodNotAllowed, "method_not_allowed", nil)
		return
	}
	form, token, err := parseBody(r)
	if err != nil {
		f.answer(w, method, http.StatusOK, "invalid_form_data", nil)
		return
	}
	msg := Message{
		Method: method, ThreadTS: form.Get("thread_ts"), Text: form.Get("text"),
		Blocks: form.Get("blocks"), Attachments: form.Get("attachments"), At: f.now(),
	}
	if status, result, ok := f.fault(msg); !ok {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		}
		f.record(method, status, result)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, result)
		return
	}
	if token != f.token {
		f.answer(w, method, http.StatusOK, "invalid_auth", nil)
		return
	}
	if msg.Text == "" && msg.Blocks == "" && msg.Attachments == "" {
		f.answer(w, method, http.StatusOK, "no_text", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := form.Get("channel")
	if ch == "" {
		f.answerLocked(w, method, http.StatusOK, "channel_not_found", nil)
		return
	}
	id, ok := f.channels[ch]
	if !ok {
		id = fmt.Sprintf("C%08d", len(f.channels)/2+1)
		f.channels[ch], f.channels[id] = id, id
	}
	msg.Channel = id
	if method == "chat.update" {
		msg.TS = form.Get("ts")
		if !f.postedLocked(id, msg.TS) {
			f.answerLocked(w, method, http.StatusOK, "message_not_found", nil)
			return
		}
	} else {
		f.seq++
		msg.TS = fmt.Sprintf("1700000000.%06d", f.seq)
	}
	f.messages = append(f.messages, msg)
	f.answerLocked(w, method, http.StatusOK, "", map[string]any{"channel": id, "ts": msg.TS})
}

func (f *Fake) postedLocked(channel, ts string) bool {
	for _, m := range f.messages {
		if m.Method == "chat.postMessage" && m.Channel == channel && m.TS == ts {
			return true
		}
	}
	return false
}

// fault applies the planned failures; ok is false when this call fails.
func (f *Fake) fault(m Message) (status int, body string, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failMatch == nil || !f.failMatch(m) {
		return 0, "", true
	}
	if f.rateLimited > 0 {
		f.rateLimited--
		return http.StatusTooManyRequests, "ratelimited", false
	}
	if f.serverErrorArmed {
		now := f.now()
		if f.serverErrorUntil.IsZero() {
			f.serverErrorUntil = now.Add(f.serverErrorFor)
		}
		if now.Before(f.serverErrorUntil) {
			return http.StatusInternalServerError, "server_error", false
		}
		f.serverErrorArmed = false
	}
	return 0, "", true
}

func (f *Fake) record(method string, status int, result string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{Method: method, Status: status, Result: result})
}

func (f *Fake) answer(w http.ResponseWriter, method string, status int, slackErr string, fields map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answerLocked(w, method, status, slackErr, fields)
}

// answerLocked writes a Web API answer: {"ok":true,...} or {"ok":false,"error":...}.
func (f *Fake) answerLocked(w http.ResponseWriter, method string, status int, slackErr string, fields map[string]any) {
	body := map[string]any{"ok": slackErr == ""}
	result := "ok"
	if slackErr != "" {
		body["error"] = slackErr
		result = slackErr
	}
	for k, v := range fields {
		body[k] = v
	}
	f.calls = append(f.calls, Call{Method: method, Status: status, Result: result})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// parseBody reads a form body (slack-go: token in the form) or a JSON body (token as Bearer).
func parseBody(r *http.Request) (url.Values, string, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return nil, "", err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, "", err
		}
		form := url.Values{}
		for k, v := range m {
			switch t := v.(type) {
			case string:
				form.Set(k, t)
			default:
				j, _ := json.Marshal(t)
				form.Set(k, string(j))
			}
		}
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		return form, token, nil
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, "", err
	}
	token := form.Get("token")
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = t
	}
	return form, token, nil
}
