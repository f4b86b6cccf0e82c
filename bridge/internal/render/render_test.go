package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testOpts render the classic layout: the goldens and tests of render_test.go and why_test.go
// keep it covered (app_test.go covers the app layout).
var testOpts = Options{
	ArgoCDURL:  "https://argocd.example.com",
	GrafanaURL: "https://grafana.example.com",
	Layout:     LayoutClassic,
}

var (
	interactiveOpts = withStatus(Status{})
	silencedOpts    = withStatus(Status{Lines: []string{"Acked by <@U024BE7LH> at 10:42 UTC", "Silenced by <@U024BE7LH> until 14:00 UTC"}, Acked: true, Silenced: true})
	ackedOpts       = withStatus(Status{Lines: []string{"Acked by <@U024BE7LH> at 10:42 UTC"}, Acked: true})
)

func withStatus(s Status) Options {
	o := testOpts
	o.Interactive, o.Status = true, s
	return o
}

func load(t testing.TB, name string) *notification.Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := notification.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// bigGroup is a 120-alert group with 5 KB descriptions (Alertmanager cut 30 more).
func bigGroup(n int) *notification.Message {
	m := &notification.Message{GroupKey: "{}:{alertname=\"ArgoCDAppOutOfSync\"}", TruncatedAlerts: 30}
	m.Status, m.Receiver, m.ExternalURL = "firing", "slack", "http://alertmanager:9093"
	m.CommonLabels = template.KV{"alertname": "ArgoCDAppOutOfSync", "severity": "warning"}
	desc := strings.Repeat("Resource Deployment/api is OutOfSync with the desired state & needs a sync. ", 70)[:5000]
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for i := range n {
		m.Alerts = append(m.Alerts, template.Alert{
			Status: "firing",
			Labels: template.KV{"alertname": "ArgoCDAppOutOfSync", "severity": "warning", "namespace": "apps", "name": fmt.Sprintf("app-%03d", i),
				"project": "platform", "sync_status": "OutOfSync", "health_status": "Healthy"},
			Annotations: template.KV{"summary": fmt.Sprintf("app-%03d is OutOfSync", i), "description": desc,
				"runbook_url": "https://example.com/runbook#outofsync"},
			StartsAt: start.Add(time.Duration(i) * time.Minute), Fingerprint: fmt.Sprintf("%016x", i),
		})
	}
	return m
}

// renderTime is "now" of the golden files' "since" fields.
var renderTime = time.Date(2026, 11, 20, 12, 5, 0, 0, time.UTC)

// atRenderTime runs f in a synctest bubble whose clock reads renderTime.
func atRenderTime(t *testing.T, f func(t *testing.T)) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(renderTime)) // instant in the bubble
		f(t)
	})
}

func TestGolden(t *testing.T) {
	big := bigGroup(120)
	tests := []struct {
		name string
		msg  *notification.Message
		ov   Overrides
		opt  *Options
	}{
		{"firing", load(t, "firing.json"), Overrides{}, nil},
		{"resolved", load(t, "resolved.json"), Overrides{}, nil},
		{"group-120", big, Overrides{}, nil},
		{"non-ascii", load(t, "non-ascii.json"), Overrides{}, nil},
		{"non-argocd", load(t, "non-argocd.json"), Overrides{}, nil},
		{"overrides", load(t, "firing.json"), Overrides{Title: "Custom: payments", Text: "*Custom* text", Fields: []Field{{Title: "Cluster", Value: "prod-eu"}}}, nil},
		{"firing-interactive", load(t, "firing.json"), Overrides{}, &interactiveOpts},
		{"silenced-acked", load(t, "firing.json"), Overrides{}, &silencedOpts},
		{"resolved-acked", load(t, "resolved.json"), Overrides{}, &ackedOpts},
		{"group-120-interactive", big, Overrides{}, &interactiveOpts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			atRenderTime(t, func(t *testing.T) {
				opt := testOpts
				if tc.opt != nil {
					opt = *tc.opt
				}
				checkGolden(t, tc.name, Render(tc.msg, tc.ov, opt))
			})
		})
	}
}

// checkGolden checks msg against Slack's limits and testdata/<name>.golden.json (-update rewrites it).
func checkGolden(t *testing.T, name string, msg *Message) {
	t.Helper()
	if err := CheckLimits(msg); err != nil {
		t.Fatalf("limits: %v", err)
	}
	got, err := json.MarshalIndent(msg.WebhookMessage(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rendered JSON differs from %s (run with -update and review the diff):\n%s", path, got)
	}
}

func TestRenderBehaviour(t *testing.T) {
	t.Run("firing has header, app link, buttons, red bar", func(t *testing.T) {
		m := Render(load(t, "firing.json"), Overrides{}, testOpts)
		js := mustJSON(t, m)
		for _, want := range []string{
			`🔴 Firing: ArgoCDAppDegraded (1)`,
			`<https://argocd.example.com/applications/argocd/payments|argocd/payments>`,
			`"text":"Open in Argo CD"`, `"text":"Dashboard"`, `"text":"Runbook"`, `"text":"Silence"`,
			`https://grafana.example.com/d/argocd-monitor-app/`,
			`/#/silences/new?filter=%7Balertname%3D%22ArgoCDAppDegraded%22`,
			`*Receiver:* slack.platform`, `*Health*\nDegraded`,
		} {
			if !strings.Contains(js, want) {
				t.Errorf("missing %s", want)
			}
		}
		if m.Color != ColorCritical {
			t.Errorf("colour %s, want %s", m.Color, ColorCritical)
		}
	})
	t.Run("resolved is green, says resolved, offers no silence", func(t *testing.T) {
		m := Render(load(t, "resolved.json"), Overrides{}, testOpts)
		js := mustJSON(t, m)
		if m.Color != ColorResolved || !strings.Contains(js, "✅ Resolved: ArgoCDAppDegraded (1)") || strings.Contains(js, `"Silence"`) {
			t.Errorf("resolved message wrong: colour %s\n%s", m.Color, js)
		}
		if !strings.HasPrefix(m.Reply, "✅ Resolved") {
			t.Errorf("reply %q", m.Reply)
		}
	})
	t.Run("big group is cut with a visible notice", func(t *testing.T) {
		m := Render(bigGroup(120), Overrides{}, testOpts)
		js := mustJSON(t, m)
		if !strings.Contains(js, "… and ") || !strings.Contains(js, "30 left out by Alertmanager") {
			t.Errorf("no truncation notice:\n%s", js)
		}
		if !strings.Contains(js, "(150)") {
			t.Errorf("header should count all 150 alerts")
		}
	})
	t.Run("fallback text is escaped once", func(t *testing.T) {
		m := load(t, "firing.json")
		m.Alerts[0].Annotations["summary"] = "a & b"
		if got := Render(m, Overrides{}, testOpts).Text; !strings.Contains(got, "a &amp; b") || strings.Contains(got, "&amp;amp;") {
			t.Errorf("fallback %q", got)
		}
	})
	t.Run("silence leaves out state labels", func(t *testing.T) {
		js := mustJSON(t, Render(load(t, "firing.json"), Overrides{}, testOpts))
		if strings.Contains(js, "health_status%3D") || !strings.Contains(js, "name%3D%22payments%22") {
			t.Errorf("silence filter wrong:\n%s", js)
		}
	})
	t.Run("mrkdwn in label values is escaped", func(t *testing.T) {
		m := load(t, "firing.json")
		m.Alerts[0].Annotations["summary"] = "<!channel> & <http://evil|click>"
		js := mustJSON(t, Render(m, Overrides{}, testOpts))
		if strings.Contains(js, "<!channel>") || !strings.Contains(js, "&lt;!channel&gt; &amp; &lt;http://evil|click&gt;") {
			t.Errorf("not escaped:\n%s", js)
		}
	})
	t.Run("no links configured still renders", func(t *testing.T) {
		m := Render(load(t, "firing.json"), Overrides{}, Options{Layout: LayoutClassic})
		js := mustJSON(t, m)
		if strings.Contains(js, "Open in Argo CD") || strings.Contains(js, `"Dashboard"`) || !strings.Contains(js, "*argocd/payments*") {
			t.Errorf("unexpected links:\n%s", js)
		}
	})
}

func mustJSON(t *testing.T, m *Message) string {
	t.Helper()
	b, err := json.Marshal(m.WebhookMessage())
	if err != nil {
		t.Fatal(err)
	}
	// Undo JSON's HTML escaping so assertions read like the message.
	s := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))
	return s
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello world", 6, "hello…"},
		{"héllo wörld", 4, "hél…"},
		{"日本語テキスト", 3, "日本…"},
		{"🚨🚨🚨", 2, "🚨…"},
		{"abc", 1, "…"},
		{"abc", 0, ""},
	}
	for _, tc := range tests {
		if got := truncate(tc.in, tc.max); got != tc.want || !utf8.ValidString(got) {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
	if got := escapeTruncate("a&b", 3); got != "a…" {
		t.Errorf("escapeTruncate cut inside an entity: %q", got)
	}
}

func TestCheckLimitsCatchesViolations(t *testing.T) {
	m := Render(load(t, "firing.json"), Overrides{}, testOpts)
	m.Header = []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("x", 151), false, false))}
	if err := CheckLimits(m); err == nil {
		t.Error("151-rune header passed")
	}
	m = Render(load(t, "firing.json"), Overrides{}, testOpts)
	for range 50 {
		m.Body = append(m.Body, section(mrkdwn("x"), nil))
	}
	if err := CheckLimits(m); err == nil {
		t.Error("too many blocks passed")
	}
}

// FuzzRender feeds arbitrary payloads and templates: rendering never panics and the message
// always stays within Slack's limits.
func FuzzRender(f *testing.F) {
	for _, name := range []string{"firing.json", "resolved.json", "non-ascii.json", "non-argocd.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "", "")
	}
	f.Add([]byte(`{"alerts":[{"labels":{"name":"a","namespace":"b"},"annotations":{"summary":"`+strings.Repeat("é&<", 2000)+`"}}],"truncatedAlerts":99}`), strings.Repeat("t", 200), strings.Repeat("x", 4000))
	f.Fuzz(func(t *testing.T, body []byte, title, text string) {
		m, err := notification.Decode(body)
		if err != nil {
			return
		}
		lines := Status{Lines: []string{title, text, text, text, text, text}}
		for _, opt := range []Options{testOpts, withStatus(lines), appOpts(false, lines), appOpts(true, lines)} {
			msg := Render(m, Overrides{Title: title, Text: text, Fields: []Field{{Title: title, Value: text}}}, opt)
			if err := CheckLimits(msg); err != nil {
				t.Fatalf("limits: %v", err)
			}
		}
		msg := Render(m, Overrides{}, withStatus(Status{Lines: []string{title, text}}))
		if err := CheckLimits(msg); err != nil {
			t.Fatalf("limits (interactive): %v", err)
		}
		if _, err := json.Marshal(msg.WebhookMessage()); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkRender100(b *testing.B) {
	m := bigGroup(100)
	b.ReportAllocs()
	for b.Loop() {
		Render(m, Overrides{}, testOpts)
	}
}

func TestInteractiveButtons(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		opt       Options
		want, not []string
	}{
		{"webhook mode keeps the Silence link", "firing.json", testOpts, []string{`"text":"Silence"`}, []string{ActionSilence1h, `"action_id":"ack"`, ActionRetry}},
		{"bot mode: silence, ack and retry buttons", "firing.json", interactiveOpts,
			[]string{`"action_id":"silence_1h"`, `"action_id":"silence_4h"`, `"action_id":"silence_24h"`, `"action_id":"ack"`, `"action_id":"retry_sync-0"`, `"value":"app=payments&g=`},
			[]string{ActionExpire, ActionResume}},
		{"silenced and acked: expire only, status shown", "firing.json", silencedOpts,
			[]string{`"action_id":"expire_silence"`, "Silenced by <@U024BE7LH> until 14:00 UTC"},
			[]string{`"action_id":"silence_1h"`, `"action_id":"ack"`}},
		{"resolved keeps the ack line, offers nothing", "resolved.json", ackedOpts,
			[]string{"Acked by <@U024BE7LH> at 10:42 UTC"}, []string{`"action_id":"silence_1h"`, `"action_id":"ack"`, ActionRetry}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			js := mustJSON(t, Render(load(t, tc.file), Overrides{}, tc.opt))
			for _, w := range tc.want {
				if !strings.Contains(js, w) {
					t.Errorf("missing %s", w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(js, n) {
					t.Errorf("unexpected %s", n)
				}
			}
		})
	}
	t.Run("paused app gets Resume", func(t *testing.T) {
		m := load(t, "firing.json")
		m.Alerts[0].Labels["alertname"] = alertRemediationPaused
		js := mustJSON(t, Render(m, Overrides{}, interactiveOpts))
		if !strings.Contains(js, `"action_id":"resume_sync-0"`) || strings.Contains(js, ActionRetry) {
			t.Errorf("want resume button only:\n%s", js)
		}
	})
}

func TestButtonValueRoundTrip(t *testing.T) {
	for _, v := range []ButtonValue{{Group: GroupID("{}:{a=\"b\"}")}, {Group: "0a", Namespace: "argocd", Name: "payments.v2"}} {
		got, ok := DecodeButtonValue(v.Encode())
		if !ok || got != v {
			t.Errorf("round trip of %+v: %+v %v", v, got, ok)
		}
	}
	for _, bad := range []string{"", "x=1", "g=a&g=b", "g=a&ns=x", "%zz", "g=xyz", "g=a&ns=Argo&app=x", "g=a&ns=a&app=b%0A"} {
		if _, ok := DecodeButtonValue(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzDecodeButtonValue(f *testing.F) {
	f.Add("g=abc&ns=argocd&app=payments")
	f.Add("g=\v!\"")
	f.Add("g=abc")
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := DecodeButtonValue(s)
		if !ok {
			return
		}
		again, ok := DecodeButtonValue(v.Encode())
		if !ok || again != v {
			t.Fatalf("re-encode of %q: %+v -> %+v %v", s, v, again, ok)
		}
	})
}
