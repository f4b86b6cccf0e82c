// Package slacktest is a fake Slack for tests and benchmarks: an httptest server speaking the
// Web API (chat.postMessage, chat.update: form-encoded, token in the form) under /api/ and
// incoming webhooks under /services/, answering from a script (ok, 429 with Retry-After, 5xx,
// API errors, slow answers) and recording what it received.
package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Response is one scripted answer.
type Response struct {
	Status     int           // HTTP status; 0 = 200
	RetryAfter string        // Retry-After header value
	Body       string        // raw body (webhooks: "invalid_payload"; overrides the default)
	APIError   string        // Web API: answer 200 {"ok":false,"error":APIError}
	Delay      time.Duration // answer after this long (or when the client gives up)
}

// Request is what the fake received.
type Request struct {
	Method   string // "chat.postMessage", "chat.update" or "webhook"
	Token    string
	Channel  string
	TS       string
	ThreadTS string
	Text     string
	Blocks   string
	Attach   string
	Body     []byte
}

// Server is the fake.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	script   []Response
	requests []Request
	seq      int
	// Record false keeps only a count (benchmarks).
	Record bool
	count  int
	sock   *socketState
}

// New starts a fake Slack on 127.0.0.1.
func New() *Server {
	s := &Server{Record: true}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// APIURL is the Web API base, as --slack.api-url expects it.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// WebhookURL is an incoming-webhook URL whose path holds a secret, like Slack's.
func (s *Server) WebhookURL() string { return s.URL + "/services/T000/B000/SECRETxSECRET" }

// Push appends scripted answers; when the script is empty the fake answers ok.
func (s *Server) Push(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, rs...)
}

// Requests returns what was received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count is the number of requests received.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.serveSocket(w, r) {
		return
	}
	body, _ := io.ReadAll(r.Body)
	req := Request{Body: body}
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		req.Method = strings.TrimPrefix(r.URL.Path, "/api/")
		form, _ := url.ParseQuery(string(body))
		req.Token, req.Channel, req.TS, req.ThreadTS = form.Get("token"), form.Get("channel"), form.Get("ts"), form.Get("thread_ts")
		req.Text, req.Blocks, req.Attach = form.Get("text"), form.Get("blocks"), form.Get("attachments")
	case strings.HasPrefix(r.URL.Path, "/services/"):
		req.Method = "webhook"
		var m struct {
			Text        string          `json:"text"`
			Blocks      json.RawMessage `json:"blocks"`
			Attachments json.RawMessage `json:"attachments"`
		}
		_ = json.Unmarshal(body, &m)
		req.Text, req.Blocks, req.Attach = m.Text, string(m.Blocks), string(m.Attachments)
	default:
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.count++
	if s.Record {
		s.requests = append(s.requests, req)
	}
	var resp Response
	if len(s.script) > 0 {
		resp, s.script = s.script[0], s.script[1:]
	}
	s.seq++
	seq := s.seq
	s.mu.Unlock()

	if resp.Delay > 0 {
		select {
		case <-time.After(resp.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if resp.RetryAfter != "" {
		w.Header().Set("Retry-After", resp.RetryAfter)
	}
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	out := resp.Body
	if out == "" {
		switch {
		case req.Method == "webhook" && status == http.StatusOK:
			out = "ok"
		case req.Method == "webhook":
			out = http.StatusText(status)
		case resp.APIError != "":
			out = fmt.Sprintf(`{"ok":false,"error":%q}`, resp.APIError)
		case status == http.StatusOK:
			ts := req.TS
			if ts == "" || req.Method == "chat.postMessage" {
				ts = fmt.Sprintf("1700000000.%06d", seq)
			}
			out = fmt.Sprintf(`{"ok":true,"channel":%q,"ts":%q}`, req.Channel, ts)
		default:
			out = "<html>error</html>"
		}
	}
	if strings.HasPrefix(out, "{") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, out)
}
