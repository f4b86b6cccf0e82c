package interact

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slackfake"
)

func TestSocketModeAcknowledgesAndHandles(t *testing.T) {
	fake := slackfake.New("xoxb-test")
	srv := fake.Serve()
	defer srv.Close()
	rec := &recorder{}
	r := New(Config{Handler: rec})
	api := slack.New("xoxb-test", slack.OptionAppLevelToken("xapp-1-test"), slack.OptionAPIURL(fake.APIURL()))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.RunSocketMode(ctx, api) }()

	fake.SendEnvelope(slackfake.Envelope{EnvelopeID: "env-1", Type: "interactive", Payload: json.RawMessage(payload("ack", "g=abc")), AcceptsResponsePayload: true})
	fake.SendEnvelope(slackfake.Envelope{EnvelopeID: "env-2", Type: "interactive", Payload: json.RawMessage(`{"type":"shortcut"}`)})
	for _, want := range []string{"env-1", "env-2"} {
		select {
		case got := <-fake.Acks():
			if got != want {
				t.Fatalf("ack %s, want %s", got, want)
			}
		case <-time.After(30 * time.Second): // generous: a busy machine, not a timing assertion
			t.Fatalf("no ack for %s", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunSocketMode: %v", err)
	}
	r.Wait()
	got := rec.clicks()
	if len(got) != 1 || got[0].ActionID != "ack" || got[0].UserID != "U024BE7LH" || got[0].MessageTS != "1700000000.000100" {
		t.Fatalf("clicks %+v", got)
	}
}

func TestSocketModeRefusedTokenStopsAtContext(t *testing.T) {
	fake := slackfake.New("xoxb-test")
	srv := fake.Serve()
	defer srv.Close()
	r := New(Config{Handler: &recorder{}})
	api := slack.New("xoxb-test", slack.OptionAppLevelToken("xoxb-not-an-app-token"), slack.OptionAPIURL(fake.APIURL()))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.RunSocketMode(ctx, api) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunSocketMode after cancel = %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("RunSocketMode did not return after cancel")
	}
}
