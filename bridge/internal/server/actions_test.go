package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
)

const signingSecret = "test-signing-secret"

// clickButton posts a signed block_actions payload for action on the group's message.
func clickButton(t *testing.T, bridgeURL, action, value, channel, ts string) int {
	t.Helper()
	return sendClick(t, bridgeURL, clickBody(action, value, channel, ts))
}

func clickBody(action, value, channel, ts string) string {
	p := fmt.Sprintf(`{"type":"block_actions","user":{"id":"U0BOB","name":"bob"},"team":{"domain":"acme"},
"container":{"message_ts":%q,"channel_id":%q},"actions":[{"action_id":%q,"block_id":"b","type":"button","value":%q,"action_ts":"1700000001.%d"}]}`,
		ts, channel, action, value, time.Now().UnixNano())
	return url.Values{"payload": {p}}.Encode()
}

// sendClick signs body now and posts it to /slack/interactions.
func sendClick(t *testing.T, bridgeURL, body string) int {
	t.Helper()
	now := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(signingSecret))
	_, _ = io.WriteString(mac, "v0:"+now+":"+body)
	req, _ := http.NewRequest(http.MethodPost, bridgeURL+"/slack/interactions", strings.NewReader(body))
	req.Header.Set("X-Slack-Request-Timestamp", now)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAckThroughTheBridge: bot mode with a signing secret shows the buttons; a signed
// Acknowledge updates the message in place and replies in its thread; the resolved update
// keeps the ack line.
func TestAckThroughTheBridge(t *testing.T) {
	fake := slackfake.New("xoxb-1")
	logs := &syncBuffer{}
	cfg := botConfig(t, fake, logs)
	s, url := startFiring(t, cfg)
	first := fake.Requests()[0]
	if !strings.Contains(first.Attach, `"action_id":"ack"`) {
		t.Fatalf("bot-mode message lacks the buttons: %s", first.Attach)
	}
	m, err := notification.Decode(payload(t, "firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	value := render.ButtonValue{Group: render.GroupID(m.GroupKey)}.Encode()
	if code := clickButton(t, url, render.ActionAck, value, "C0ALERTS", "1700000000.000001"); code != 200 {
		t.Fatalf("click answered %d", code)
	}
	s.receiver.Wait()
	reqs := fake.Requests()
	if len(reqs) != 3 || reqs[1].Method != "chat.update" || !strings.Contains(reqs[1].Attach, "Acked by \\u003c@U0BOB\\u003e at ") ||
		reqs[2].ThreadTS != "1700000000.000001" || !strings.Contains(reqs[2].Text, "acknowledged") {
		t.Fatalf("want the update with the ack line and an audit reply: %d requests\n%s", len(reqs), logs)
	}
	if v := testutil.ToFloat64(s.metrics.Actions.WithLabelValues("ack", "ok")); v != 1 {
		t.Errorf("actions_total{ack,ok} = %v", v)
	}
	if n, err := testutil.GatherAndCount(s.metrics.Registry, "argocd_monitor_bridge_actions_total", "argocd_monitor_bridge_interactions_total"); err != nil || n != 8*5+2*6 {
		t.Errorf("action series pre-initialised: %d %v, want %d", n, err, 8*5+2*6)
	}
	if problems, err := testutil.GatherAndLint(s.metrics.Registry); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	if code, body := post(t, url, payload(t, "resolved.json")); code != 200 {
		t.Fatalf("resolved: %d %s", code, body)
	}
	reqs = fake.Requests()
	if last := reqs[len(reqs)-2]; last.Method != "chat.update" || !strings.Contains(last.Attach, "Acked by") {
		t.Errorf("resolved update lost the ack line: %+v", last)
	}
	if code := clickButton(t, url, render.ActionAck, value, "C0ALERTS", "1700000000.000001"); code != 200 {
		t.Fatalf("second click answered %d", code)
	}
	s.receiver.Wait()
	if v := testutil.ToFloat64(s.metrics.Actions.WithLabelValues("ack", "error")); v != 1 {
		t.Errorf("a second ack must be refused as already done: %v", v)
	}
}

// TestReplayedRequest: the same signed request sent twice (within the 5-minute window, so the
// signature holds) acts once.
func TestReplayedRequest(t *testing.T) {
	fake := slackfake.New("xoxb-1")
	s, err := New(botConfig(t, fake, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	url := httpServer(t, s)
	if code, body := post(t, url, payload(t, "firing.json")); code != 200 {
		t.Fatalf("firing: %d %s", code, body)
	}
	m, _ := notification.Decode(payload(t, "firing.json"))
	body := clickBody(render.ActionAck, render.ButtonValue{Group: render.GroupID(m.GroupKey)}.Encode(), "C0ALERTS", "1700000000.000001")
	for range 2 {
		if code := sendClick(t, url, body); code != 200 {
			t.Fatalf("click answered %d", code)
		}
	}
	s.receiver.Wait()
	if ok, replay := testutil.ToFloat64(s.metrics.Actions.WithLabelValues("ack", "ok")), testutil.ToFloat64(s.metrics.Actions.WithLabelValues("ack", "replay")); ok != 1 || replay != 1 {
		t.Errorf("ack ok %v replay %v, want 1 and 1", ok, replay)
	}
	if n := len(fake.Requests()); n != 3 {
		t.Errorf("%d Slack requests, want 3 (post, one update, one audit reply)", n)
	}
}

func TestActionsNeedBotMode(t *testing.T) {
	fake := slackfake.New("xoxb-1")
	cfg := testConfig(t, fake, io.Discard)
	cfg.SigningSecret = static(signingSecret)
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "need bot mode") {
		t.Errorf("webhook mode with a signing secret: %v", err)
	}
}

// botConfig is a bot-mode bridge with the buttons on (signing secret), against fake.
func botConfig(t testing.TB, fake *slackfake.Fake, logs io.Writer) Config {
	cfg := testConfig(t, fake, logs)
	cfg.Mode, cfg.WebhookURL, cfg.BotToken, cfg.APIURL, cfg.Channel = ModeBot, nil, static("xoxb-1"), fake.APIURL(), "C0ALERTS"
	cfg.SigningSecret = static(signingSecret)
	return cfg
}

// startFiring starts a bridge with cfg and delivers firing.json to it.
func startFiring(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	url := httpServer(t, s)
	if code, body := post(t, url, payload(t, "firing.json")); code != 200 {
		t.Fatalf("firing: %d %s", code, body)
	}
	return s, url
}
