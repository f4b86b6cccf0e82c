package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type answer struct {
	status     int
	retryAfter string
	OK         bool   `json:"ok"`
	Error      string `json:"error"`
	Channel    string `json:"channel"`
	TS         string `json:"ts"`
}

func call(t *testing.T, srv *httptest.Server, method string, form url.Values) answer {
	t.Helper()
	resp, err := http.PostForm(srv.URL+"/api/"+method, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("%s: %s", err, b)
		}
	}
	return a
}

func TestPostUpdateThread(t *testing.T) {
	f := New("xoxb-test")
	srv := httptest.NewServer(f)
	defer srv.Close()
	post := call(t, srv, "chat.postMessage", url.Values{"token": {"xoxb-test"}, "channel": {"#alerts"}, "text": {"firing"}, "blocks": {`[{"type":"header"}]`}})
	if !post.OK || post.Channel == "" || post.TS == "" {
		t.Fatalf("post: %+v", post)
	}
	tests := []struct {
		name    string
		method  string
		form    url.Values
		wantErr string
	}{
		{"update by channel ID", "chat.update", url.Values{"token": {"xoxb-test"}, "channel": {post.Channel}, "ts": {post.TS}, "text": {"resolved"}}, ""},
		{"thread reply", "chat.postMessage", url.Values{"token": {"xoxb-test"}, "channel": {post.Channel}, "thread_ts": {post.TS}, "text": {"resolved"}}, ""},
		{"update of an unknown message", "chat.update", url.Values{"token": {"xoxb-test"}, "channel": {post.Channel}, "ts": {"1.2"}, "text": {"x"}}, "message_not_found"},
		{"wrong token", "chat.postMessage", url.Values{"token": {"xoxb-other"}, "channel": {"#alerts"}, "text": {"x"}}, "invalid_auth"},
		{"no channel", "chat.postMessage", url.Values{"token": {"xoxb-test"}, "text": {"x"}}, "channel_not_found"},
		{"no text", "chat.postMessage", url.Values{"token": {"xoxb-test"}, "channel": {"#alerts"}}, "no_text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, srv, tt.method, tt.form)
			if a.status != http.StatusOK || a.OK != (tt.wantErr == "") || a.Error != tt.wantErr {
				t.Fatalf("%+v, want error %q", a, tt.wantErr)
			}
		})
	}
	msgs := f.Messages()
	if len(msgs) != 3 || msgs[1].Method != "chat.update" || msgs[1].TS != post.TS || msgs[2].ThreadTS != post.TS {
		t.Fatalf("messages %+v", msgs)
	}
	if !strings.Contains(msgs[0].Content(), "header") {
		t.Fatal("blocks not recorded")
	}
	if got := len(f.Calls()); got != 7 {
		t.Fatalf("%d calls recorded, want 7", got)
	}
}

func TestJSONBodyWithBearer(t *testing.T) {
	f := New("xoxb-test")
	srv := httptest.NewServer(f)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/chat.postMessage", strings.NewReader(`{"channel":"#a","text":"hi","blocks":[{"type":"section"}]}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer xoxb-test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if m := f.Messages(); len(m) != 1 || m[0].Blocks != `[{"type":"section"}]` {
		t.Fatalf("messages %+v", m)
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func TestFailRateLimitThenServerErrors(t *testing.T) {
	f := New("xoxb-test")
	c := &clock{now: time.Unix(1700000000, 0)}
	f.now = c.Now
	srv := httptest.NewServer(f)
	defer srv.Close()
	form := url.Values{"token": {"xoxb-test"}, "channel": {"#a"}, "text": {"x"}}
	other := url.Values{"token": {"xoxb-test"}, "channel": {"#a"}, "text": {"other"}}
	f.Fail(func(m Message) bool { return m.Text == "x" }, 2, 3, 5*time.Second)
	if a := call(t, srv, "chat.postMessage", other); a.status != http.StatusOK {
		t.Fatalf("a message the fault plan does not match failed: %+v", a)
	}
	steps := []struct {
		advance    time.Duration
		wantStatus int
		retryAfter string
	}{
		{0, 429, "3"},
		{0, 429, "3"},
		{0, 500, ""},               // 500s start now, for 5s
		{4 * time.Second, 500, ""}, // still inside the window
		{time.Second, 200, ""},     // window over
		{0, 200, ""},
	}
	for i, s := range steps {
		c.Add(s.advance)
		a := call(t, srv, "chat.postMessage", form)
		if a.status != s.wantStatus || a.retryAfter != s.retryAfter {
			t.Fatalf("step %d: status %d Retry-After %q, want %d %q", i, a.status, a.retryAfter, s.wantStatus, s.retryAfter)
		}
	}
	if got := len(f.Messages()); got != 3 {
		t.Fatalf("%d messages accepted, want 3", got)
	}
	var results []string
	for _, c := range f.Calls() {
		results = append(results, c.Result)
	}
	if strings.Join(results, ",") != "ok,ratelimited,ratelimited,server_error,server_error,ok,ok" {
		t.Fatalf("calls %v", results)
	}
}
