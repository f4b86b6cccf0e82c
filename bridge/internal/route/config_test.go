package route

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/alertmanager/template"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
)

func TestExampleConfigLoads(t *testing.T) {
	r, err := Load("../../examples/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(r.Routes()); got != 4 {
		t.Fatalf("%d routes, want 4", got)
	}
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"severity": "critical", "alertname": "ArgoCDAutoSyncPaused"}, "critical"},
		{map[string]string{"severity": "warning", "alertname": "ArgoCDAutoSyncPaused"}, "remediation"},
		{map[string]string{"severity": "warning", "project": "infra"}, "platform-apps"},
		{map[string]string{"severity": "info", "project": "infra"}, "default"},
		{map[string]string{}, "default"},
	}
	for _, tc := range tests {
		if got := r.Match(tc.labels).Name; got != tc.want {
			t.Errorf("Match(%v) = %s, want %s", tc.labels, got, tc.want)
		}
	}
	rt := r.Match(map[string]string{"alertname": "ArgoCDAutoSyncPaused"})
	data := sampleData()
	data.Alerts = append(data.Alerts, template.Alert{Labels: template.KV{"name": "orders"}})
	ov, err := r.Overrides(rt, &notification.Message{Data: *data})
	if err != nil {
		t.Fatal(err)
	}
	if ov.Title != "[FIRING] ArgoCDAppDegraded: payments, orders" {
		t.Errorf("title override = %q", ov.Title)
	}
	ov, _ = r.Overrides(r.Match(map[string]string{"severity": "critical"}), &notification.Message{Data: *data})
	if len(ov.Fields) != 1 || ov.Fields[0].Value != "in-cluster" {
		t.Errorf("fields override = %+v", ov.Fields)
	}
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "url"), []byte("https://hooks.slack.com/services/T/B/SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notaurl"), []byte("SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"unknown key names key and line", "routes:\n  - name: a\n    matchers: ['a=\"b\"']\n    chanel: x\n", "line 4: field chanel not found"},
		{"unknown top-level key", "route: {}\n", "field route not found"},
		{"bad matcher names line", "routes:\n  - name: a\n    matchers: ['a=~\"(\"']\n", `routes[0] "a" (line 2): matcher`},
		{"route without matchers", "routes:\n  - name: a\n", "needs at least one matcher"},
		{"default with matchers", "default_route:\n  matchers: ['a=\"b\"']\n", "takes no matchers"},
		{"bad name", "routes:\n  - name: 'has space'\n    matchers: ['a=\"b\"']\n", "name must be"},
		{"duplicate name", "routes:\n  - name: a\n    matchers: ['a=\"b\"']\n  - name: a\n    matchers: ['a=\"c\"']\n", "duplicate route name"},
		{"inline webhook URL refused", "default_route:\n  channel: https://hooks.slack.com/services/x\n", "webhook URLs go in webhook_url_file"},
		{"missing url file", "default_route:\n  webhook_url_file: nope\n", "webhook_url_file"},
		{"url file without URL", "default_route:\n  webhook_url_file: notaurl\n", "not an http(s) URL"},
		{"template parse error", "default_route:\n  title: '{{ .Status '\n", "title template"},
		{"undefined template", "default_route:\n  text: '{{ template \"nope\" . }}'\n", "text template"},
		{"two documents", "routes: []\n---\nroutes: []\n", "more than one YAML document"},
		{"too many fields", "default_route:\n  fields: [" + strings.Repeat("{title: a, value: b},", 11) + "]\n", "at most 10 fields"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), dir)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error leaks the webhook URL: %v", err)
			}
		})
	}
	r, err := Parse([]byte("default_route:\n  webhook_url_file: url\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Routes()[0].WebhookURL() != "https://hooks.slack.com/services/T/B/SECRET" {
		t.Error("webhook URL not read from file")
	}
	// A rotated Secret (a new file renamed over the old) takes effect without a reload.
	if err := os.WriteFile(filepath.Join(dir, "url.new"), []byte("https://hooks.slack.com/services/T/B/ROTATED\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "url.new"), filepath.Join(dir, "url")); err != nil {
		t.Fatal(err)
	}
	if got := r.Routes()[0].WebhookURL(); got != "https://hooks.slack.com/services/T/B/ROTATED" {
		t.Errorf("after rotation: %q", got)
	}
}

func TestEmptyConfigIsDefaultRoute(t *testing.T) {
	for _, src := range []string{"", "# nothing\n"} {
		r, err := Parse([]byte(src), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if rt := r.Match(map[string]string{"a": "b"}); rt.Name != DefaultName {
			t.Errorf("route %s", rt.Name)
		}
	}
	r, err := Load("")
	if err != nil || len(r.Routes()) != 1 {
		t.Fatalf("Load(\"\") = %v, %v", r, err)
	}
}

func TestOverridesRuntimeErrorKeepsRest(t *testing.T) {
	r, err := Parse([]byte("default_route:\n  title: '{{ index .Alerts 5 }}'\n  text: 'ok {{ .Status }}'\n"), t.TempDir())
	if err == nil {
		// index out of range fails on the one-alert sample data at load time already.
		t.Fatalf("expected load-time failure, got router %v", r)
	}
	r, err = Parse([]byte("default_route:\n  title: '{{ (index .Alerts 0).Labels.name }}'\n  text: 'ok {{ .Status }}'\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ov, err := r.Overrides(r.Routes()[0], &notification.Message{Data: template.Data{Status: "firing"}})
	if err == nil || ov.Text != "ok firing" {
		t.Errorf("err=%v text=%q: a failing title must not lose the text", err, ov.Text)
	}
}

func TestActionsSection(t *testing.T) {
	r, err := Parse([]byte("actions:\n  resume:\n    users: [U024BE7LH]\n    user_groups: [S0ONCALL]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if a := r.Actions(); a.Resume == nil || a.Resume.Users[0] != "U024BE7LH" || a.Silence != nil {
		t.Errorf("actions %+v", a)
	}
	for _, bad := range []string{"actions:\n  resume:\n    users: [alice]\n", "actions:\n  launch: {anyone: true}\n"} {
		if _, err := Parse([]byte(bad), t.TempDir()); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
