package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
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

func call(t *testing.T, f *Fake, method string, form url.Values) answer {
	t.Helper()
	resp, err := (&http.Client{Transport: f}).PostForm(f.APIURL()+method, form)
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
	post := call(t, f, MethodPost, url.Values{"token": {"xoxb-test"}, "channel": {"#alerts"}, "text": {"firing"}, "blocks": {`[{"type":"header"}]`}})
	if !post.OK || post.Channel == "" || post.TS == "" {
		t.Fatalf("post: %+v", post)
	}
	tests := []struct {
		name    string
		method  string
		form    url.Values
		wantErr string
	}{
		{"update by channel ID", MethodUpdate, url.Values{"token": {"xoxb-test"}, "channel": {post.Channel}, "ts": {post.TS}, "text": {"resolved"}}, ""},
		{"thread reply", MethodPost, url.Values{"token": {"xoxb-test"}, "channel": {post.Channel}, "thread_ts": {post.TS}, "text": {"resolved"}}, ""},
		{"update of an unknown message", MethodUpdate, url.Values{"token": {"xoxb-test"}, "channel": {post.Channel}, "ts": {"1.2"}, "text": {"x"}}, "message_not_found"},
		{"wrong token", MethodPost, url.Values{"token": {"xoxb-other"}, "channel": {"#alerts"}, "text": {"x"}}, "invalid_auth"},
		{"no channel", MethodPost, url.Values{"token": {"xoxb-test"}, "text": {"x"}}, "channel_not_found"},
		{"no text", MethodPost, url.Values{"token": {"xoxb-test"}, "channel": {"#alerts"}}, "no_text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, f, tt.method, tt.form)
			if a.status != http.StatusOK || a.OK != (tt.wantErr == "") || a.Error != tt.wantErr {
				t.Fatalf("%+v, want error %q", a, tt.wantErr)
			}
		})
	}
	msgs := f.Messages()
	if len(msgs) != 3 || msgs[1].Method != MethodUpdate || msgs[1].TS != post.TS || msgs[2].ThreadTS != post.TS {
		t.Fatalf("messages %+v", msgs)
	}
	if !strings.Contains(msgs[0].Content(), "header") {
		t.Fatal("blocks not recorded")
	}
	if got := len(f.Requests()); got != 7 {
		t.Fatalf("%d requests recorded, want 7", got)
	}
}

func TestJSONBodyWithBearer(t *testing.T) {
	f := New("xoxb-test")
	req, _ := http.NewRequest(http.MethodPost, f.APIURL()+MethodPost, strings.NewReader(`{"channel":"#a","text":"hi","blocks":[{"type":"section"}]}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer xoxb-test")
	resp, err := (&http.Client{Transport: f}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if m := f.Messages(); len(m) != 1 || m[0].Blocks != `[{"type":"section"}]` {
		t.Fatalf("messages %+v", m)
	}
}

// TestPlanRateLimitThenServerErrors drives the plan through the control API, as the
// end-to-end test does with the slack-fake binary.
func TestPlanRateLimitThenServerErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := New("xoxb-test")
		plan := `{"filter":{"method":"chat.postMessage","top_level":true,"contains":["x"]},"rate_limited":2,"retry_after":3,"server_errors_for":5000000000}`
		rec := httptest.NewRecorder()
		f.Control().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/fake/fail", strings.NewReader(plan)))
		if rec.Code != http.StatusNoContent {
			t.Fatalf("plan: %d %s", rec.Code, rec.Body)
		}
		form := url.Values{"token": {"xoxb-test"}, "channel": {"#a"}, "text": {"x"}}
		other := url.Values{"token": {"xoxb-test"}, "channel": {"#a"}, "text": {"other"}}
		if a := call(t, f, MethodPost, other); a.status != http.StatusOK {
			t.Fatalf("a message the plan does not match failed: %+v", a)
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
			time.Sleep(s.advance)
			a := call(t, f, MethodPost, form)
			if a.status != s.wantStatus || a.retryAfter != s.retryAfter {
				t.Fatalf("step %d: status %d Retry-After %q, want %d %q", i, a.status, a.retryAfter, s.wantStatus, s.retryAfter)
			}
		}
		rec = httptest.NewRecorder()
		f.Control().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/fake/requests", nil))
		var reqs []Request
		if err := json.Unmarshal(rec.Body.Bytes(), &reqs); err != nil {
			t.Fatal(err)
		}
		var results []string
		for _, r := range reqs {
			results = append(results, r.Result)
		}
		if strings.Join(results, ",") != "ok,ratelimited,ratelimited,server_error,server_error,ok,ok" {
			t.Fatalf("results %v", results)
		}
	})
}
