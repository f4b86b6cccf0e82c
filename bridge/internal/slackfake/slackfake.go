// Package slackfake is the one stand-in for Slack, serving the bridge's unit tests in process
// and, through the slack-fake binary, the end-to-end test and the demo. It speaks the Web API
// methods the bridge uses (chat.postMessage, chat.update, chat.postEphemeral,
// usergroups.users.list, conversations.history with message metadata, Socket Mode; slack-go's
// form bodies or JSON, token checked) under
// /api/ and incoming webhooks under /services/; hands out channel IDs and message timestamps;
// answers chat.update of an unknown message with message_not_found; records every request; and
// fails on command: a script of answers (429 with Retry-After, 5xx, API errors, slow answers)
// or a plan of 429s then 500s for the requests a filter picks.
//
// For people, it draws its channels at / the way Slack's client does (page.go), and its buttons
// send signed block_actions interactions to the app's Request URL (click.go), so the whole loop
// can be tried without a Slack workspace.
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"

	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Methods the fake answers (Request.Method).
const (
	MethodPost         = "chat.postMessage"
	MethodUpdate       = "chat.update"
	MethodEphemeral    = "chat.postEphemeral"
	MethodGroupMembers = "usergroups.users.list" // no members unless scripted (Response.Body)
	MethodHistory      = "conversations.history" // top-level messages of a channel (by ID), newest first
	MethodWebhook      = "webhook"
)

// Response is one scripted answer.
type Response struct {
	Status     int           `json:"status,omitempty"`      // HTTP status; 0 = 200
	RetryAfter string        `json:"retry_after,omitempty"` // Retry-After header value
	Body       string        `json:"body,omitempty"`        // raw body (webhooks: "invalid_payload")
	APIError   string        `json:"api_error,omitempty"`   // Web API: 200 {"ok":false,"error":APIError}
	Delay      time.Duration `json:"delay,omitempty"`       // answer after this long (or when the client gives up)
}

// Request is one request the fake received, accepted or not.
type Request struct {
	Method    string    `json:"method"` // chat.postMessage, chat.update or webhook
	Token     string    `json:"-"`
	Channel   string    `json:"channel"`    // as sent
	ChannelID string    `json:"channel_id"` // the ID the fake answered (Web API)
	TS        string    `json:"ts"`         // the posted or updated message's ts
	ThreadTS  string    `json:"thread_ts"`
	Text      string    `json:"text"`
	Blocks    string    `json:"blocks"`             // JSON as sent
	Attach    string    `json:"attachments"`        // JSON as sent
	User      string    `json:"user,omitempty"`     // chat.postEphemeral: who sees it
	Metadata  string    `json:"metadata,omitempty"` // message metadata JSON as sent (chat.postMessage)
	Status    int       `json:"status"`             // HTTP status answered
	Result    string    `json:"result"`             // ok, ratelimited, server_error, or the Slack error code
	At        time.Time `json:"at"`                 // when it was answered
}

// Content is everything a person would read in the message: text, blocks and attachments.
func (r Request) Content() string { return r.Text + "\n" + r.Blocks + "\n" + r.Attach }

// Filter picks the requests a fault plan applies to; empty fields match everything.
type Filter struct {
	Method   string   `json:"method,omitempty"`
	TopLevel bool     `json:"top_level,omitempty"` // not a thread reply
	Contains []string `json:"contains,omitempty"`  // all of these in Content
}

func (f Filter) match(r Request) bool {
	if (f.Method != "" && r.Method != f.Method) || (f.TopLevel && r.ThreadTS != "") {
		return false
	}
	for _, s := range f.Contains {
		if !strings.Contains(r.Content(), s) {
			return false
		}
	}
	return true
}

// Plan fails the requests Filter picks: the first RateLimited get 429 with Retry-After
// RetryAfter seconds, then they get 500 for ServerErrorsFor, counted from the first 500.
type Plan struct {
	Filter          Filter        `json:"filter"`
	RateLimited     int           `json:"rate_limited"`
	RetryAfter      int           `json:"retry_after"`
	ServerErrorsFor time.Duration `json:"server_errors_for"`
}

// Fake is the fake Slack: an http.Handler to serve, and an http.RoundTripper that serves
// in process (no listener; inside a testing/synctest bubble its delays run on the bubble's clock).
type Fake struct {
	token string
	base  string

	mu       sync.Mutex
	script   []Response
	plan     *Plan
	until    time.Time // end of the plan's 500s, once started
	requests []Request
	count    int
	channels map[string]string // name or ID -> ID
	posted   map[string]bool   // channel ID + " " + ts of posts (chat.update may edit them)
	tops     map[string][]*top // channel ID -> its top-level messages, oldest first (history)
	seq      int
	record   bool
	version  int          // requests answered: the page redraws when it changes
	sock     *socketState // Socket Mode (socketmode.go)

	interactions Interactions // where clicks go (click.go)
}

// New returns a fake that accepts token as the bot token ("" accepts any).
func New(token string) *Fake {
	return &Fake{token: token, base: "http://slack.test", channels: map[string]string{}, posted: map[string]bool{}, tops: map[string][]*top{}, record: true}
}

// Serve starts a loopback HTTP server for f; APIURL and WebhookURL then point at it.
func (f *Fake) Serve() *httptest.Server {
	srv := httptest.NewServer(f)
	f.mu.Lock()
	f.base = srv.URL
	f.mu.Unlock()
	return srv
}

// APIURL is the Web API base, as --slack.api-url expects it.
func (f *Fake) APIURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.base + "/api/"
}

// WebhookURL is an incoming-webhook URL whose path holds a secret, like Slack's.
func (f *Fake) WebhookURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.base + "/services/T000/B000/SECRETxSECRET"
}

// KeepCountOnly stops recording requests (benchmarks); Count still counts.
func (f *Fake) KeepCountOnly() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record = false
}

// Push appends scripted answers, used one per request; with the script empty the fake answers ok.
func (f *Fake) Push(rs ...Response) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, rs...)
}

// Fail replaces the fault plan.
func (f *Fake) Fail(p Plan) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plan, f.until = &p, time.Time{}
}

// Requests returns every request so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// Messages returns the accepted posts and updates, in order.
func (f *Fake) Messages() []Request {
	var out []Request
	for _, r := range f.Requests() {
		if r.Result == "ok" {
			out = append(out, r)
		}
	}
	return out
}

// Count is the number of requests received, answered or still in flight.
func (f *Fake) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count
}

// RoundTrip serves r in process: the answer, or the request context's error when the client
// gives up first.
func (f *Fake) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.ServeHTTP(rec, r)
	}()
	select {
	case <-done:
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// ServeHTTP answers the Web API under /api/, webhooks under /services/, the control API under
// /fake/ and the page at /.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.serveSocket(w, r) {
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/fake/"):
		f.Control().ServeHTTP(w, r)
		return
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		f.Page().ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	f.count++
	f.mu.Unlock()
	var req Request
	var history url.Values // conversations.history's parameters
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		req.Method = strings.TrimPrefix(r.URL.Path, "/api/")
		if req.Method != MethodPost && req.Method != MethodUpdate && req.Method != MethodEphemeral && req.Method != MethodGroupMembers && req.Method != MethodHistory {
			http.NotFound(w, r)
			return
		}
		form, token, err := parseForm(r)
		if err != nil {
			f.finish(w, req, http.StatusOK, "invalid_form_data", nil)
			return
		}
		req.Token, req.Channel, req.TS, req.ThreadTS = token, form.Get("channel"), form.Get("ts"), form.Get("thread_ts")
		req.User = form.Get("user")
		req.Text, req.Blocks, req.Attach = form.Get("text"), form.Get("blocks"), form.Get("attachments")
		req.Metadata = form.Get("metadata")
		history = form
	case strings.HasPrefix(r.URL.Path, "/services/"):
		req.Method = MethodWebhook
		var m struct {
			Text        string          `json:"text"`
			Blocks      json.RawMessage `json:"blocks"`
			Attachments json.RawMessage `json:"attachments"`
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if json.Unmarshal(body, &m) != nil {
			f.finish(w, req, http.StatusBadRequest, "invalid_payload", nil)
			return
		}
		req.Text, req.Blocks, req.Attach = m.Text, string(m.Blocks), string(m.Attachments)
	default:
		http.NotFound(w, r)
		return
	}

	resp, scripted := f.next(req)
	if resp.Delay > 0 {
		t := time.NewTimer(resp.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			f.finish(w, req, 0, "client gave up", nil)
			return
		}
	}
	if resp.RetryAfter != "" {
		w.Header().Set("Retry-After", resp.RetryAfter)
	}
	switch {
	case resp.APIError != "":
		f.finish(w, req, http.StatusOK, resp.APIError, nil)
	case resp.Status != 0 && resp.Status != http.StatusOK:
		f.finish(w, req, resp.Status, resp.Body, nil)
	case scripted && resp.Body != "":
		f.finish(w, req, http.StatusOK, "", nil, resp.Body)
	case req.Method == MethodHistory:
		f.history(w, req, history)
	default:
		f.accept(w, req)
	}
}

// next returns the scripted answer or the plan's fault for req (zero: accept).
func (f *Fake) next(req Request) (Response, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.script) > 0 {
		resp := f.script[0]
		f.script = f.script[1:]
		return resp, true
	}
	p := f.plan
	if p == nil || !p.Filter.match(req) {
		return Response{}, false
	}
	if p.RateLimited > 0 {
		p.RateLimited--
		return Response{Status: http.StatusTooManyRequests, RetryAfter: strconv.Itoa(p.RetryAfter), Body: "ratelimited"}, true
	}
	if p.ServerErrorsFor > 0 {
		now := time.Now()
		if f.until.IsZero() {
			f.until = now.Add(p.ServerErrorsFor)
		}
		if now.Before(f.until) {
			return Response{Status: http.StatusInternalServerError, Body: "server_error"}, true
		}
		f.plan = nil
	}
	return Response{}, false
}

// accept checks the token and content, then answers ok with the channel ID and the message ts.
func (f *Fake) accept(w http.ResponseWriter, req Request) {
	if req.Method == MethodWebhook {
		f.finish(w, req, http.StatusOK, "", nil)
		return
	}
	switch {
	case f.token != "" && req.Token != f.token:
		f.finish(w, req, http.StatusOK, "invalid_auth", nil)
		return
	case req.Method == MethodGroupMembers:
		f.finish(w, req, http.StatusOK, "", map[string]any{"users": []string{}})
		return
	case req.Text == "" && req.Blocks == "" && req.Attach == "":
		f.finish(w, req, http.StatusOK, "no_text", nil)
		return
	case req.Channel == "":
		f.finish(w, req, http.StatusOK, "channel_not_found", nil)
		return
	}
	f.mu.Lock()
	id, ok := f.channels[req.Channel]
	switch {
	case !ok && channelID.MatchString(req.Channel):
		id = req.Channel // posted to by ID, as Slack recommends
		f.channels[id] = id
	case !ok:
		id = fmt.Sprintf("C%08d", len(f.channels)/2+1)
		f.channels[req.Channel], f.channels[id] = id, id
	}
	req.ChannelID = id
	if req.Method == MethodUpdate {
		if !f.posted[id+" "+req.TS] {
			f.mu.Unlock()
			f.finish(w, req, http.StatusOK, "message_not_found", nil)
			return
		}
		f.edited(id, req)
	} else {
		f.seq++
		req.TS = fmt.Sprintf("1700000000.%06d", f.seq)
		if req.Method == MethodPost {
			f.posted[id+" "+req.TS] = true
			if req.ThreadTS == "" && f.record {
				f.tops[id] = append(f.tops[id], &top{TS: req.TS, Text: req.Text, Metadata: req.Metadata, At: time.Now()})
			}
		}
	}
	f.mu.Unlock()
	f.finish(w, req, http.StatusOK, "", map[string]any{"channel": id, "ts": req.TS})
}

// finish records req and writes the answer: webhooks answer "ok" or the error text; the Web
// API answers {"ok":true,...} or {"ok":false,"error":...} with status 200, and an HTML page
// with any other status. raw, when given, is the body as scripted.
func (f *Fake) finish(w http.ResponseWriter, req Request, status int, slackErr string, fields map[string]any, raw ...string) {
	req.Status, req.Result, req.At = status, "ok", time.Now()
	switch {
	case status == http.StatusTooManyRequests:
		req.Result = "ratelimited"
	case status >= 500:
		req.Result = "server_error"
	case slackErr != "":
		req.Result = slackErr
	}
	f.mu.Lock()
	if f.record {
		f.requests = append(f.requests, req)
	}
	f.version++
	f.mu.Unlock()
	if status == 0 { // the client is gone
		return
	}
	var body string
	switch {
	case len(raw) > 0:
		body = raw[0]
	case req.Method == MethodWebhook && slackErr == "" && status == http.StatusOK:
		body = "ok"
	case req.Method == MethodWebhook && slackErr != "":
		body = slackErr
	case req.Method == MethodWebhook:
		body = http.StatusText(status)
	case status != http.StatusOK:
		body = "<html>error</html>"
	default:
		m := map[string]any{"ok": slackErr == ""}
		if slackErr != "" {
			m["error"] = slackErr
		}
		for k, v := range fields {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		body = string(b)
	}
	if strings.HasPrefix(body, "{") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// parseForm reads a form body (slack-go: token in the form) or a JSON body (token as Bearer).
func parseForm(r *http.Request) (url.Values, string, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return nil, "", err
	}
	bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, "", err
		}
		form := url.Values{}
		for k, v := range m {
			if s, ok := v.(string); ok {
				form.Set(k, s)
				continue
			}
			j, _ := json.Marshal(v)
			form.Set(k, string(j))
		}
		return form, bearer, nil
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, "", err
	}
	token := form.Get("token")
	if hasBearer {
		token = bearer
	}
	return form, token, nil
}

// Control serves the fake's control API, for a test driving the slack-fake binary and for the
// page: GET /fake/requests (every request, JSON), POST /fake/fail (a Plan, JSON), POST
// /fake/click (a Click, JSON: the app's answer), GET /fake/version (changes with every request).
func (f *Fake) Control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /fake/click", f.serveClick)
	mux.HandleFunc("GET /fake/version", f.serveVersion)
	mux.HandleFunc("GET /fake/requests", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(f.Requests())
	})
	mux.HandleFunc("POST /fake/fail", func(w http.ResponseWriter, r *http.Request) {
		var p Plan
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			http.Error(w, "plan: "+err.Error(), http.StatusBadRequest)
			return
		}
		f.Fail(p)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}
