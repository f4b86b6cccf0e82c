package server

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
)

// hookTransport runs hook once, on the first chat.update after arm, before
// passing that request on: the point where a delivery has rendered its
// message and Slack has not yet applied it.
type hookTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	armed bool
	hook  func()
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	fire := h.armed && strings.HasSuffix(r.URL.Path, "/chat.update")
	if fire {
		h.armed = false
	}
	h.mu.Unlock()
	if fire {
		h.hook()
	}
	return h.next.RoundTrip(r)
}

// TestAckRacingDelivery: an ack is clicked, recorded and drawn while a
// notification of the same group is on its way to Slack (rendered before
// the ack, applied after the ack's redraw). The message's last update must
// still show the ack line.
func TestAckRacingDelivery(t *testing.T) {
	fake := slackfake.New("xoxb-1")
	cfg := botConfig(t, fake, io.Discard)
	ht := &hookTransport{next: fake}
	cfg.HTTPClient = slack.NewHTTPClient(ht)
	s, url := startFiring(t, cfg)
	ts := fake.Requests()[0].TS
	m, err := notification.Decode(payload(t, "firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	value := render.ButtonValue{Group: render.GroupID(m.GroupKey)}.Encode()
	ht.hook = func() {
		if code := clickButton(t, url, render.ActionAck, value, "C0ALERTS", ts); code != 200 {
			t.Errorf("click answered %d", code)
		}
		s.receiver.Wait() // the ack is recorded and its redraw applied
	}
	ht.mu.Lock()
	ht.armed = true
	ht.mu.Unlock()
	if code, body := post(t, url, payload(t, "resolved.json")); code != 200 {
		t.Fatalf("resolved: %d %s", code, body)
	}
	var last *slackfake.Request
	for _, r := range fake.Requests() {
		if r.Method == slackfake.MethodUpdate && r.TS == ts {
			last = &r
		}
	}
	if last == nil {
		t.Fatal("the message was never updated")
	}
	if !strings.Contains(last.Attach, "Acked by \\u003c@U0BOB\\u003e") {
		t.Fatalf("the message's last update lost the ack line: %s", last.Attach)
	}
	if !strings.Contains(last.Attach, "Resolved") && !strings.Contains(last.Content(), "esolved") {
		t.Errorf("the message's last update is not the resolved one: %s", last.Content())
	}
}
