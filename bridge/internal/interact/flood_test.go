package interact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf16"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/notification"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
)

// probeBody is a request body of size bytes, made up as it is read (a 1 MiB body costs the
// test nothing), that counts what the handler reads. At its first Read it calls started and
// waits for gate: the test then sees how many bodies are being read at once.
type probeBody struct {
	size, read int
	started    func()
	gate       <-chan struct{}
}

func (b *probeBody) Read(p []byte) (int, error) {
	if b.read == 0 && b.started != nil {
		b.started()
		<-b.gate
	}
	n := min(len(p), b.size-b.read)
	if n == 0 {
		return 0, io.EOF
	}
	for i := range p[:n] {
		p[i] = 'a'
	}
	b.read += n
	return n, nil
}

func received() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x"}, []string{"via", "result"})
}

// TestHeadersCheckedBeforeTheBody: a request without Slack's headers, or with a stale or
// malformed one, is refused without reading one byte of its body (issue 20, defect 1).
func TestHeadersCheckedBeforeTheBody(t *testing.T) {
	fresh := strconv.FormatInt(time.Now().Unix(), 10)
	forged := "v0=" + strings.Repeat("0", 64)
	tests := []struct {
		name, ts, sig string
		length        int64 // Content-Length; 0: unknown (chunked)
		code          int
		result        string
	}{
		{"no headers", "", "", 0, 401, ResultUnauthorized},
		{"no timestamp", "", forged, 0, 401, ResultUnauthorized},
		{"timestamp not a number", "yesterday", forged, 0, 401, ResultUnauthorized},
		{"timestamp 6 minutes old", strconv.FormatInt(time.Now().Add(-6*time.Minute).Unix(), 10), forged, 0, 401, ResultUnauthorized},
		{"timestamp 6 minutes ahead", strconv.FormatInt(time.Now().Add(6*time.Minute).Unix(), 10), forged, 0, 401, ResultUnauthorized},
		{"no signature", fresh, "", 0, 401, ResultUnauthorized},
		{"not a v0 signature", fresh, "v1=" + strings.Repeat("0", 64), 0, 401, ResultUnauthorized},
		{"signature not hex", fresh, "v0=" + strings.Repeat("z", 64), 0, 401, ResultUnauthorized},
		{"signature too short", fresh, "v0=abc", 0, 401, ResultUnauthorized},
		{"declared too large", fresh, forged, MaxBody + 1, 413, ResultTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			counter := received()
			r := New(Config{SigningSecret: inline(signingKey), Handler: &recorder{}, Received: counter})
			body := &probeBody{size: 1 << 20}
			w := probePost(r, body, tc.ts, tc.sig, tc.length)
			if w.Code != tc.code || body.read != 0 {
				t.Errorf("answer %d after reading %d bytes, want %d after none", w.Code, body.read, tc.code)
			}
			if got := testutil.ToFloat64(counter.WithLabelValues(ViaHTTP, tc.result)); got != 1 {
				t.Errorf("interactions{result=%s} = %v", tc.result, got)
			}
		})
	}
}

// TestUnsignedFloodIsBounded is the probe of issue 20 (defect 1), in process: 400 concurrent
// posts of 1 MiB each, with a fresh timestamp and a forged signature (what an attacker can
// send without the signing secret) and no Content-Length. At most MaxUnverified bodies are read
// at once, each only up to MaxBody: the rest are answered 503 without a byte read. What the
// flood can make the bridge hold is bounded by MaxUnverified x MaxBody, whatever its size.
func TestUnsignedFloodIsBounded(t *testing.T) {
	const posts, size = 400, 1 << 20
	counter := received()
	r := New(Config{SigningSecret: inline(signingKey), Handler: &recorder{}, Received: counter})
	gate := make(chan struct{})
	var mu sync.Mutex
	reading := 0
	var arrived, done sync.WaitGroup // arrived: each post is being read or answered
	arrived.Add(posts)
	bodies := make([]*probeBody, posts)
	codes := make([]int, posts)
	for i := range posts {
		b := &probeBody{size: size, gate: gate, started: func() {
			mu.Lock()
			reading++
			mu.Unlock()
			arrived.Done()
		}}
		bodies[i] = b
		done.Go(func() {
			// Chunked (no Content-Length): nothing to refuse before reading.
			w := probePost(r, b, strconv.FormatInt(time.Now().Unix(), 10), "v0="+strings.Repeat("0", 64), 0)
			codes[i] = w.Code
			if b.read == 0 {
				arrived.Done() // answered without reading
			}
		})
	}
	arrived.Wait()
	mu.Lock()
	if reading != MaxUnverified {
		t.Errorf("%d bodies read at once, want MaxUnverified = %d", reading, MaxUnverified)
	}
	mu.Unlock()
	close(gate)
	done.Wait()
	total, byCode := 0, map[int]int{}
	for i, b := range bodies {
		byCode[codes[i]]++
		total += b.read
		if b.read > MaxBody+1 {
			t.Errorf("post %d: %d bytes read, want at most MaxBody+1 = %d", i, b.read, MaxBody+1)
		}
	}
	if want := map[int]int{http.StatusRequestEntityTooLarge: MaxUnverified, http.StatusServiceUnavailable: posts - MaxUnverified}; fmt.Sprint(byCode) != fmt.Sprint(want) {
		t.Errorf("answers %v, want %v", byCode, want)
	}
	if limit := MaxUnverified * (MaxBody + 1); total > limit {
		t.Errorf("%d bytes read in all, want at most %d", total, limit)
	}
	t.Logf("%d posts of %d KiB: %d KiB read in all (%.1f%% of what was sent)", posts, size>>10, total>>10, 100*float64(total)/float64(posts*size))
	if got := testutil.ToFloat64(counter.WithLabelValues(ViaHTTP, ResultOverloaded)); got != posts-MaxUnverified {
		t.Errorf("interactions{result=overloaded} = %v", got)
	}
	// The slots are free again: a real click goes through.
	body := form(payload("ack", "g=abc"))
	ts := time.Now().Unix()
	if w := post(r, body, ts, sign(signingKey, ts, body)); w.Code != http.StatusOK {
		t.Errorf("a signed click after the flood: %d", w.Code)
	}
	r.Wait()
}

// TestMaxBodyFitsTheLargestMessage justifies MaxBody: Slack's block_actions payload carries the
// clicked message, and the largest message the bridge renders (Slack's limits, here filled with
// 4-byte characters that JSON may escape as \uXXXX\uXXXX and the form encoding percent-encodes)
// stays under it.
func TestMaxBodyFitsTheLargestMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		char string
	}{{"ASCII", "x&<> "}, {"4-byte characters", "😀"}} {
		t.Run(tc.name, func(t *testing.T) {
			msg := render.Render(largestGroup(tc.char), render.Overrides{}, render.Options{
				ArgoCDURL: "https://argocd.example.com", GrafanaURL: "https://grafana.example.com", Interactive: true,
				Status: render.Status{Acked: true, Lines: []string{"👀 Acked by <@U0123456789> at 10:42 UTC", "🔕 Silenced by <@U0123456789> until 14:00 UTC"}},
			})
			if err := render.CheckLimits(msg); err != nil {
				t.Fatal(err)
			}
			payload, err := json.Marshal(map[string]any{
				"type": "block_actions", "user": map[string]string{"id": "U0123456789", "username": "someone", "name": "someone", "team_id": "T0123456789"},
				"api_app_id": "A0123456789", "token": "verificationtoken0123456", "trigger_id": "1234567890123.1234567890123.0123456789abcdef0123456789abcdef",
				"team":      map[string]string{"id": "T0123456789", "domain": "example-team"},
				"container": map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": "C0123456789", "is_ephemeral": false},
				"channel":   map[string]string{"id": "C0123456789", "name": "alerts"},
				"message": map[string]any{"type": "message", "subtype": "bot_message", "text": msg.Text, "ts": "1700000000.000100", "bot_id": "B0123456789",
					"blocks": msg.Header, "attachments": msg.Attachments()},
				"state":        map[string]any{"values": map[string]any{}},
				"response_url": "https://hooks.slack.com/actions/T0123456789/1234567890123/abcdefghijklmnopqrstuvwx",
				"actions": []map[string]string{{"action_id": "ack", "block_id": "group_actions", "type": "button", "value": "g=0123456789abcdef01234567",
					"action_ts": "1700000100.000200"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			size := len(url.Values{"payload": {asciiJSON(string(payload))}}.Encode())
			t.Logf("largest message, %s: a %d KiB body (MaxBody %d KiB)", tc.name, size>>10, MaxBody>>10)
			if size > MaxBody {
				t.Errorf("a click on the largest message is %d bytes, over MaxBody %d", size, MaxBody)
			}
		})
	}
}

// asciiJSON escapes every non-ASCII character of JSON text as \uXXXX (UTF-16 pairs beyond the
// BMP): the largest form a JSON encoder may choose.
func asciiJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&b, `\u%04x`, u)
		}
	}
	return b.String()
}

// largestGroup is a group that fills every limit of a message: 150 firing Argo CD alerts (a
// button each) with the longest names and long summaries and descriptions made of char.
func largestGroup(char string) *notification.Message {
	m := &notification.Message{GroupKey: `{}:{alertname="ArgoCDAppDegraded"}`, TruncatedAlerts: 1000}
	m.Status, m.Receiver, m.ExternalURL = "firing", "slack", "https://alertmanager.example.com"
	m.CommonLabels = template.KV{"alertname": "ArgoCDAppDegraded", "severity": "critical"}
	long := strings.Repeat(char, 5000/len([]rune(char)))
	ns := strings.Repeat("n", 63)
	for i := range 150 {
		name := fmt.Sprintf("%s-%03d", strings.Repeat("a", 240), i)
		m.Alerts = append(m.Alerts, template.Alert{
			Status: "firing",
			Labels: template.KV{"alertname": "ArgoCDAppDegraded", "severity": "critical", "namespace": ns, "name": name,
				"project": strings.Repeat("p", 63), "sync_status": "Synced", "health_status": "Degraded"},
			Annotations: template.KV{"summary": long[:200], "description": long, "runbook_url": "https://example.com/" + strings.Repeat("r", 200),
				"dashboard_url": "/d/" + strings.Repeat("d", 200)},
			StartsAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), Fingerprint: fmt.Sprintf("%016x", i),
		})
	}
	return m
}

// TestRefusalLogIsThrottled: a thousand refused requests are a thousand in the counter but one
// log line; the next after the interval says how many were held back (issue 20, defect 6).
func TestRefusalLogIsThrottled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		counter := received()
		r := New(Config{SigningSecret: inline(signingKey), Handler: &recorder{}, Received: counter,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		for range 1000 {
			post(r, "payload=x", 0, "") // no Slack headers
			time.Sleep(time.Millisecond)
		}
		time.Sleep(10 * time.Second)
		post(r, "payload=x", 0, "")
		if got := testutil.ToFloat64(counter.WithLabelValues(ViaHTTP, ResultUnauthorized)); got != 1001 {
			t.Errorf("interactions{result=unauthorized} = %v, want 1001", got)
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], "interaction refused") || !strings.Contains(lines[1], "suppressed=999") {
			t.Errorf("log, want 2 lines, the second with suppressed=999:\n%s", logs.String())
		}
	})
}
