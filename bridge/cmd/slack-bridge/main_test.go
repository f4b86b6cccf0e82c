package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/slack/slacktest"
)

func parse(t *testing.T, args ...string) *CLI {
	t.Helper()
	var cli CLI
	p, err := kong.New(&cli, kongOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse(args); err != nil {
		t.Fatal(err)
	}
	return &cli
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("xoxb-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "example config, bot mode from env", args: []string{"--config.file=../../examples/config.yaml", "--config.check"},
			env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, want: "config OK: 4 routes, bot mode"},
		{name: "bot token from file", args: []string{"--config.check", "--slack.bot-token-file=" + tokenFile, "--slack.channel=#a"}, want: "bot mode"},
		{name: "webhook mode from env", args: []string{"--config.check"}, env: map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/x"}, want: "webhook mode"},
		{name: "console mode", args: []string{"--config.check", "--slack.console"}, want: "console mode"},
		{name: "nothing configured", args: []string{"--config.check"}, wantErr: "no Slack destination"},
		{name: "both modes", args: []string{"--config.check"}, env: map[string]string{"SLACK_BOT_TOKEN": "x", "SLACK_WEBHOOK_URL": "https://h/x"}, wantErr: "choose bot mode or webhook mode"},
		{name: "bot without channel", args: []string{"--config.check"}, env: map[string]string{"SLACK_BOT_TOKEN": "x"}, wantErr: "no channel"},
		{name: "missing token file", args: []string{"--config.check", "--webhook.token-file=/nonexistent"}, wantErr: "webhook token"},
		{name: "bad config file", args: []string{"--config.check", "--slack.console", "--config.file=/nonexistent.yaml"}, wantErr: "read config"},
		{name: "bot mode with buttons", args: []string{"--config.check", "--slack.channel=#a", "--slack.signing-secret-file=" + tokenFile,
			"--alertmanager.url=http://alertmanager:9093", "--actions.exporter-url=http://exporter:9797", "--actions.exporter-token-file=" + tokenFile},
			env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, want: "bot mode, Slack actions on"},
		{name: "buttons in webhook mode", args: []string{"--config.check", "--slack.signing-secret-file=" + tokenFile},
			env: map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/x"}, wantErr: "need bot mode"},
		{name: "alertmanager without buttons", args: []string{"--config.check", "--alertmanager.url=http://am:9093"},
			env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CHANNEL": "#a"}, wantErr: "also set --slack.signing-secret-file"},
		{name: "bot token as app token", args: []string{"--config.check", "--slack.channel=#a"},
			env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-1"}, wantErr: "not an app-level token"},
		{name: "exporter without token", args: []string{"--config.check", "--slack.channel=#a", "--actions.exporter-url=http://e:9797"},
			env: map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, wantErr: "needs --actions.exporter-token-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out bytes.Buffer
			err := run(context.Background(), parse(t, tc.args...), &out, os.LookupEnv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("output %q, want %q", out.String(), tc.want)
			}
		})
	}
}

// TestSIGTERMDrains sends the process a real SIGTERM while a delivery is in flight: the webhook
// still gets its 200 and the bridge exits cleanly.
func TestSIGTERMDrains(t *testing.T) {
	fake := slacktest.New()
	defer fake.Close()
	fake.Push(slacktest.Response{Delay: 400 * time.Millisecond})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("SLACK_WEBHOOK_URL", fake.WebhookURL())
	cli := parse(t, "--web.listen-address="+addr, "--log.level=error", "--slack.per-channel-interval=0")
	done := make(chan error, 1)
	go func() { done <- runUntilSignal(cli, io.Discard, os.LookupEnv) }()

	body, err := os.ReadFile("../../internal/server/testdata/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	var resp *http.Response
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		for range 100 { // the listener may not be up yet
			if resp, err = http.Post("http://"+addr+"/webhook", "application/json", bytes.NewReader(body)); err == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for fake.Count() == 0 {
		select {
		case err := <-done:
			t.Fatalf("bridge exited early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-answered
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("in-flight webhook answered %d", resp.StatusCode)
	}
	if err := <-done; err != nil {
		t.Errorf("bridge exit: %v", err)
	}
}
