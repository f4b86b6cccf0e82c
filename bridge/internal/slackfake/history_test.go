package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"testing/synctest"
	"time"
)

type historyAnswer struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	HasMore  bool   `json:"has_more"`
	Messages []struct {
		TS       string          `json:"ts"`
		Text     string          `json:"text"`
		Metadata json.RawMessage `json:"metadata"`
	} `json:"messages"`
	Meta struct {
		NextCursor string `json:"next_cursor"`
	} `json:"response_metadata"`
}

func history(t *testing.T, f *Fake, form url.Values) historyAnswer {
	t.Helper()
	form.Set("token", "xoxb-1")
	resp, err := (&http.Client{Transport: f}).PostForm(f.APIURL()+MethodHistory, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var a historyAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return a
}

// conversations.history as Slack answers a bot: by channel ID only, top-level messages newest
// first (no thread replies), after oldest, metadata only with include_all_metadata, paged.
func TestHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := New("xoxb-1")
		start := time.Now()
		var id string
		for i := range 3 {
			a := call(t, f, MethodPost, url.Values{"token": {"xoxb-1"}, "channel": {"#alerts"}, "text": {"m" + strconv.Itoa(i)},
				"metadata": {`{"event_type":"argocd_monitor_incident","event_payload":{"claim":"c` + strconv.Itoa(i) + `"}}`}})
			id = a.Channel
			call(t, f, MethodPost, url.Values{"token": {"xoxb-1"}, "channel": {id}, "thread_ts": {a.TS}, "text": {"reply"}})
			time.Sleep(time.Minute)
		}
		call(t, f, MethodUpdate, url.Values{"token": {"xoxb-1"}, "channel": {id}, "ts": {"1700000000.000001"}, "text": {"m0 edited"}})

		if a := history(t, f, url.Values{"channel": {"#alerts"}}); a.OK || a.Error != "channel_not_found" {
			t.Errorf("history by name = %+v, want channel_not_found", a)
		}
		a := history(t, f, url.Values{"channel": {id}, "include_all_metadata": {"1"}})
		if !a.OK || len(a.Messages) != 3 || a.Messages[0].Text != "m2" || a.Messages[2].Text != "m0 edited" || len(a.Messages[1].Metadata) == 0 {
			t.Errorf("history = %+v, want m2, m1, m0 edited with metadata", a)
		}
		if a := history(t, f, url.Values{"channel": {id}}); len(a.Messages) != 3 || len(a.Messages[0].Metadata) != 0 {
			t.Errorf("history without include_all_metadata = %+v, want no metadata", a)
		}
		oldest := strconv.FormatInt(start.Add(90*time.Second).Unix(), 10)
		if a := history(t, f, url.Values{"channel": {id}, "oldest": {oldest}}); len(a.Messages) != 1 || a.Messages[0].Text != "m2" {
			t.Errorf("history since +90s = %+v, want m2", a)
		}
		p1 := history(t, f, url.Values{"channel": {id}, "limit": {"2"}})
		p2 := history(t, f, url.Values{"channel": {id}, "limit": {"2"}, "cursor": {p1.Meta.NextCursor}})
		if len(p1.Messages) != 2 || !p1.HasMore || len(p2.Messages) != 1 || p2.HasMore || p2.Messages[0].Text != "m0 edited" {
			t.Errorf("pages = %+v, %+v", p1, p2)
		}
	})
}
