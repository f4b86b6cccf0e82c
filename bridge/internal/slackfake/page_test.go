package slackfake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/interact"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

const (
	token         = "xoxb-page"
	signingSecret = "signing-secret"
)

// header and body: a message shaped like the bridge's (header block on top, body in one
// attachment with the colour bar), with a link button and interactive buttons.
const (
	headerBlocks = `[{"type":"header","text":{"type":"plain_text","text":"🔴 argocd/stuck: sync failing <b>","emoji":true}}]`
	bodyAttach   = `[{"color":"#E01E5A","fallback":"x","blocks":[
	 {"type":"section","text":{"type":"mrkdwn","text":"*Why* <https://argocd.example.com/applications/argocd/stuck|argocd/stuck> &lt;script&gt;"},"fields":[{"type":"mrkdwn","text":"*Health*\nDegraded"}]},
	 {"type":"actions","block_id":"group_actions","elements":[
	   {"type":"button","action_id":"argocd","text":{"type":"plain_text","text":"Open in Argo CD"},"url":"https://argocd.example.com/applications/argocd/stuck"},
	   {"type":"button","action_id":"ack","text":{"type":"plain_text","text":"Acknowledge"},"value":"g=abc","style":"primary"},
	   {"type":"button","action_id":"silence_1h","text":{"type":"plain_text","text":"Silence 1h"},"value":"g=abc"}]},
	 {"type":"context","elements":[{"type":"mrkdwn","text":"*Severity:* critical"}]},
	 {"type":"rich_text","elements":[]}]}]`
)

func post(t *testing.T, srv *httptest.Server, method string, form url.Values) map[string]any {
	t.Helper()
	form.Set("token", token)
	resp, err := http.PostForm(srv.URL+"/api/"+method, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m["ok"] != true {
		t.Fatalf("%s: %v %v", method, m, err)
	}
	return m
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

// TestPageDrawsTheChannel: the page shows the latest version of each message, marked edited,
// its header, blocks, colour bar, buttons (links as links, the rest as clickable buttons),
// its thread, and ephemeral messages as such; everything from the message is escaped.
func TestPageDrawsTheChannel(t *testing.T) {
	f := slackfake.New(token)
	srv := f.Serve()
	defer srv.Close()
	if page := get(t, srv.URL+"/"); !strings.Contains(page, "No messages yet") {
		t.Fatalf("empty page:\n%s", page)
	}
	m := post(t, srv, slackfake.MethodPost, url.Values{"channel": {"#alerts"}, "text": {"first version"}, "blocks": {`[{"type":"header","text":{"type":"plain_text","text":"old header"}}]`}})
	ch, ts := m["channel"].(string), m["ts"].(string)
	post(t, srv, slackfake.MethodPost, url.Values{"channel": {ch}, "thread_ts": {ts}, "text": {"👀 <@U0ONCALL1> acknowledged at *10:42*."}})
	post(t, srv, slackfake.MethodUpdate, url.Values{"channel": {ch}, "ts": {ts}, "text": {"fallback only"}, "blocks": {headerBlocks}, "attachments": {bodyAttach}})
	post(t, srv, slackfake.MethodEphemeral, url.Values{"channel": {ch}, "user": {"U0STRANGER"}, "text": {"🚫 You may not resume"}})
	post(t, srv, slackfake.MethodPost, url.Values{"channel": {"#other"}, "text": {"elsewhere"}})

	page := get(t, srv.URL+"/?channel="+ch)
	for _, want := range []string{
		`<h1># alerts</h1>`,
		`🔴 argocd/stuck: sync failing &lt;b&gt;`, // plain text escaped
		`(edited)`,
		`border-left-color: #E01E5A`,
		`<b>Why</b> <a href="https://argocd.example.com/applications/argocd/stuck"`,
		`&lt;script&gt;`,
		`<b>Health</b><br>Degraded`,
		`<a class="btn link" href="https://argocd.example.com/applications/argocd/stuck"`,
		`<button class="btn primary" data-action="ack">Acknowledge</button>`,
		`<button class="btn" data-action="silence_1h">Silence 1h</button>`,
		`<b>Severity:</b> critical`,
		`unsupported block: rich_text`,
		`1 reply`,
		`<span class="mention">@U0ONCALL1</span> acknowledged at <b>10:42</b>.`,
		`Only visible to <span class="mention">@U0STRANGER</span>`,
		`># other</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, unwanted := range []string{"old header", "fallback only", "elsewhere"} {
		if strings.Contains(page, unwanted) {
			t.Errorf("page shows %q", unwanted)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("%d script elements, want the page's own one", n)
	}
}

type recorder struct {
	mu  sync.Mutex
	got []interact.Interaction
}

func (r *recorder) Handle(_ context.Context, in interact.Interaction) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, in)
}

// TestClickReachesTheBridge: a click on the page becomes an interaction that the bridge's own
// Request URL receiver verifies and decodes: the button's action and value from the message,
// the user, channel and message ts; a wrong secret is refused there; a button the message does
// not show cannot be clicked.
func TestClickReachesTheBridge(t *testing.T) {
	rec := &recorder{}
	var currentSecret atomic.Value
	currentSecret.Store(signingSecret)
	recv := interact.New(interact.Config{SigningSecret: secret.Func(func() string { return currentSecret.Load().(string) }), Handler: rec})
	bridge := httptest.NewServer(recv)
	defer bridge.Close()

	f := slackfake.New(token)
	srv := f.Serve()
	defer srv.Close()
	click := func(c slackfake.Click) (int, string) {
		b, _ := json.Marshal(c)
		resp, err := http.Post(srv.URL+"/fake/click", "application/json", strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	m := post(t, srv, slackfake.MethodPost, url.Values{"channel": {"#alerts"}, "blocks": {headerBlocks}, "attachments": {bodyAttach}})
	ch, ts := m["channel"].(string), m["ts"].(string)
	ack := slackfake.Click{Channel: ch, TS: ts, ActionID: "ack", User: "U0ONCALL1"}

	if code, body := click(ack); code != http.StatusServiceUnavailable {
		t.Fatalf("click without a Request URL: %d %s", code, body)
	}
	f.SetInteractions(slackfake.Interactions{URL: bridge.URL, SigningSecret: secret.Static(signingSecret + "\n"), User: "U0DEFAULT"})

	tests := []struct {
		name       string
		click      slackfake.Click
		wantStatus int
		wantBridge int // the bridge's answer, when the click was sent
	}{
		{"ack", ack, http.StatusOK, http.StatusOK},
		{"default user", slackfake.Click{Channel: ch, TS: ts, ActionID: "silence_1h"}, http.StatusOK, http.StatusOK},
		{"link button", slackfake.Click{Channel: ch, TS: ts, ActionID: "argocd", User: "U0ONCALL1"}, http.StatusNotFound, 0},
		{"no such button", slackfake.Click{Channel: ch, TS: ts, ActionID: "resume_sync", User: "U0ONCALL1"}, http.StatusNotFound, 0},
		{"no such message", slackfake.Click{Channel: ch, TS: "1.000001", ActionID: "ack", User: "U0ONCALL1"}, http.StatusNotFound, 0},
		{"bad user", slackfake.Click{Channel: ch, TS: ts, ActionID: "ack", User: "<script>"}, http.StatusBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := click(tt.click)
			if code != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", code, body, tt.wantStatus)
			}
			if tt.wantBridge != 0 {
				var res slackfake.ClickResult
				if err := json.Unmarshal([]byte(body), &res); err != nil || res.Status != tt.wantBridge {
					t.Fatalf("bridge answered %+v (%v), want %d", res, err, tt.wantBridge)
				}
			}
		})
	}
	recv.Wait()
	want := []interact.Interaction{
		{ActionID: "ack", Value: "g=abc", UserID: "U0ONCALL1", UserName: "u0oncall1", TeamDomain: slackfake.TeamDomain, ChannelID: ch, MessageTS: ts},
		{ActionID: "silence_1h", Value: "g=abc", UserID: "U0DEFAULT", UserName: "u0default", TeamDomain: slackfake.TeamDomain, ChannelID: ch, MessageTS: ts},
	}
	rec.mu.Lock()
	got := rec.got
	rec.mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("the bridge got %d clicks, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		got[i].ActionTS = "" // a clock value
		if got[i] != want[i] {
			t.Errorf("click %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	currentSecret.Store("rotated") // the bridge now expects another secret: the fake's signature fails
	code, body := click(ack)
	var res slackfake.ClickResult
	if err := json.Unmarshal([]byte(body), &res); code != http.StatusOK || err != nil || res.Status != http.StatusUnauthorized {
		t.Fatalf("click signed with the old secret: %d %s, want the bridge's 401", code, body)
	}
}

// TestVersionChangesWithRequests: the page redraws when /fake/version changes.
func TestVersionChangesWithRequests(t *testing.T) {
	f := slackfake.New(token)
	srv := f.Serve()
	defer srv.Close()
	before := get(t, srv.URL+"/fake/version")
	post(t, srv, slackfake.MethodPost, url.Values{"channel": {"#a"}, "text": {"x"}})
	if after := get(t, srv.URL+"/fake/version"); after == before {
		t.Fatalf("version %s unchanged after a post", after)
	}
}
