package interact

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

const signingKey = "8f742231b10e8888abcd99yyyzzz85a5"

type recorder struct {
	mu  sync.Mutex
	got []Interaction
}

func (r *recorder) Handle(_ context.Context, in Interaction) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, in)
}

func (r *recorder) clicks() []Interaction {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Interaction(nil), r.got...)
}

func payload(actionID, value string) string {
	return fmt.Sprintf(`{"type":"block_actions","user":{"id":"U024BE7LH","username":"alice","name":"alice","team_id":"T1"},
"team":{"id":"T1","domain":"acme"},"container":{"type":"message_attachment","message_ts":"1700000000.000100","channel_id":"C0123","attachment_id":1},
"channel":{"id":"C0123","name":"alerts"},"response_url":"https://hooks.slack.com/actions/T1/1/x","trigger_id":"1.2.3",
"actions":[{"action_id":%q,"block_id":"group_actions","type":"button","value":%q,"action_ts":"1700000100.000200"}]}`, actionID, value)
}

func form(p string) string { return url.Values{"payload": {p}}.Encode() }

// sign is Slack's v0 signature of body at ts.
func sign(key string, ts int64, body string) string {
	mac := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(mac, "v0:%d:%s", ts, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func secretFile(t *testing.T, s string) secret.Source {
	t.Helper()
	p := filepath.Join(t.TempDir(), "signing-signingKey")
	if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := secret.ReadFile(p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func inline(s string) secret.Source { return secret.Static(s) }

func post(r http.Handler, body string, ts int64, sig string) *httptest.ResponseRecorder {
	var stamp string
	if ts != 0 {
		stamp = strconv.FormatInt(ts, 10)
	}
	return probePost(r, strings.NewReader(body), stamp, sig, int64(len(body)))
}

// probePost posts body to r with these Slack headers ("" leaves one out) and Content-Length
// (0: unknown, as a chunked request).
func probePost(r http.Handler, body io.Reader, ts, sig string, length int64) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/slack/interactions", body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.ContentLength = length
	if length == 0 {
		req.ContentLength = -1
	}
	if ts != "" {
		req.Header.Set("X-Slack-Request-Timestamp", ts)
	}
	if sig != "" {
		req.Header.Set("X-Slack-Signature", sig)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func TestRequestURLSignature(t *testing.T) {
	body := form(payload("silence_1h", "g=abc"))
	tests := []struct {
		name     string
		body     string
		age      time.Duration // how old the timestamp is when the request arrives
		sig      func(ts int64) string
		noHeader bool
		want     int
		clicks   int
		result   string
	}{
		{name: "valid", body: body, sig: func(ts int64) string { return sign(signingKey, ts, body) }, want: 200, clicks: 1, result: ResultAccepted},
		{name: "valid, 4m59s old", body: body, age: 4*time.Minute + 59*time.Second, sig: func(ts int64) string { return sign(signingKey, ts, body) }, want: 200, clicks: 1, result: ResultAccepted},
		{name: "stale, 5m01s old", body: body, age: 5*time.Minute + time.Second, sig: func(ts int64) string { return sign(signingKey, ts, body) }, want: 401, result: ResultUnauthorized},
		{name: "wrong signingKey", body: body, sig: func(ts int64) string { return sign("other", ts, body) }, want: 401, result: ResultUnauthorized},
		{name: "body changed", body: body + "x", sig: func(ts int64) string { return sign(signingKey, ts, body) }, want: 401, result: ResultUnauthorized},
		{name: "malformed signature", body: body, sig: func(int64) string { return "v0=zz" }, want: 401, result: ResultUnauthorized},
		{name: "no headers", body: body, noHeader: true, want: 401, result: ResultUnauthorized},
		{name: "signed garbage", body: "payload=%7Bnot-json", sig: func(ts int64) string { return sign(signingKey, ts, "payload=%7Bnot-json") }, want: 400, result: ResultInvalid},
		{name: "signed shortcut is ignored", body: form(`{"type":"shortcut","user":{"id":"U1"}}`), sig: func(ts int64) string {
			return sign(signingKey, ts, form(`{"type":"shortcut","user":{"id":"U1"}}`))
		}, want: 200, result: ResultIgnored},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				received := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x"}, []string{"via", "result"})
				r := New(Config{SigningSecret: secretFile(t, signingKey), Handler: rec, Received: received})
				ts := time.Now().Unix()
				var sig string
				if !tc.noHeader {
					sig = tc.sig(ts)
				} else {
					ts = 0
				}
				time.Sleep(tc.age)
				w := post(r, tc.body, ts, sig)
				r.Wait()
				if w.Code != tc.want {
					t.Errorf("code %d, want %d (%s)", w.Code, tc.want, w.Body)
				}
				if got := len(rec.clicks()); got != tc.clicks {
					t.Errorf("handler called %d times, want %d", got, tc.clicks)
				}
				if got := testutil.ToFloat64(received.WithLabelValues(ViaHTTP, tc.result)); got != 1 {
					t.Errorf("interactions{result=%s} = %v, want 1", tc.result, got)
				}
			})
		})
	}
}

func TestRequestURLDecodesTheClick(t *testing.T) {
	rec := &recorder{}
	r := New(Config{SigningSecret: secretFile(t, signingKey), Handler: rec})
	body := form(payload("retry_sync-3", "g=abc&ns=argocd&app=payments"))
	ts := time.Now().Unix()
	if w := post(r, body, ts, sign(signingKey, ts, body)); w.Code != 200 {
		t.Fatalf("code %d", w.Code)
	}
	r.Wait()
	want := Interaction{ActionID: "retry_sync", Value: "g=abc&ns=argocd&app=payments", UserID: "U024BE7LH", UserName: "alice",
		TeamDomain: "acme", ChannelID: "C0123", MessageTS: "1700000000.000100", ActionTS: "1700000100.000200"}
	got := rec.clicks()
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if p := got[0].Permalink(); p != "https://acme.slack.com/archives/C0123/p1700000000000100" {
		t.Errorf("permalink %s", p)
	}
}

func TestRequestURLWithoutSecretIsNotServed(t *testing.T) {
	r := New(Config{Handler: &recorder{}})
	if w := post(r, "payload=x", time.Now().Unix(), "v0=00"); w.Code != http.StatusNotFound {
		t.Errorf("code %d, want 404", w.Code)
	}
}

func TestRequestURLSecretFileRotates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	f, err := secret.ReadFile(p, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := New(Config{SigningSecret: f, Handler: rec})
	body := form(payload("ack", "g=abc"))
	ts := time.Now().Unix()
	if w := post(r, body, ts, sign("new", ts, body)); w.Code != 401 {
		t.Fatalf("new signingKey before rotation: %d", w.Code)
	}
	if err := os.WriteFile(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if w := post(r, body, ts, sign("new", ts, body)); w.Code != 200 {
		t.Fatalf("new signingKey after rotation: %d", w.Code)
	}
	r.Wait()
}

func FuzzFromCallback(f *testing.F) {
	f.Add([]byte(payload("silence_1h", "g=abc")))
	f.Add([]byte(`{"type":"block_actions","actions":[{}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := New(Config{SigningSecret: inline(signingKey), Handler: &recorder{}})
		res := r.accept(context.Background(), ViaHTTP, b)
		r.Wait()
		switch res {
		case ResultAccepted, ResultIgnored, ResultInvalid:
		default:
			t.Fatalf("result %s", res)
		}
	})
}
