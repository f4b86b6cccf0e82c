package notification

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	firing, err := os.ReadFile("testdata/firing.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		body    string
		wantErr string
		check   func(t *testing.T, m *Message)
	}{
		{name: "full v4 payload", body: string(firing), check: func(t *testing.T, m *Message) {
			if m.Version != "4" || m.GroupKey == "" || m.Status != "firing" || m.Receiver != `slack\.platform` || m.NotificationReason != "first notification" {
				t.Errorf("fields not decoded: %+v", m)
			}
			if len(m.Alerts) != 1 || m.Alerts[0].Fingerprint != "c0ffee1234567890" || m.Alerts[0].Annotations["runbook_url"] == "" {
				t.Errorf("alert not decoded: %+v", m.Alerts)
			}
		}},
		{name: "old alertmanager: only alerts", body: `{"alerts":[{"labels":{"alertname":"X"},"endsAt":"2001-01-01T00:00:00Z"}]}`, check: func(t *testing.T, m *Message) {
			if m.Status != "resolved" || m.Alerts[0].Status != "resolved" {
				t.Errorf("status not derived from endsAt: %q/%q", m.Status, m.Alerts[0].Status)
			}
			if m.Alerts[0].Fingerprint == "" || m.CommonLabels == nil || m.Alerts[0].Annotations == nil {
				t.Error("defaults not filled")
			}
			if m.MatchLabels()["alertname"] != "X" {
				t.Error("routing labels should fall back to the first alert")
			}
		}},
		{name: "group status is derived", body: `{"status":"resolved","alerts":[{"status":"resolved"},{"status":"firing"}]}`, check: func(t *testing.T, m *Message) {
			if m.Status != "firing" {
				t.Errorf("status %q", m.Status)
			}
		}},
		{name: "unknown fields are accepted", body: `{"future":1,"alerts":[{"status":"firing","new":true}]}`},
		{name: "empty body", body: ``, wantErr: "empty body"},
		{name: "malformed", body: `{"alerts":[`, wantErr: "truncated JSON"},
		{name: "syntax error", body: `{"alerts":x}`, wantErr: "malformed JSON at byte"},
		{name: "wrong type", body: `{"alerts":{}}`, wantErr: `field "alerts"`},
		{name: "no alerts", body: `{"status":"firing","alerts":[]}`, wantErr: "no alerts"},
		{name: "missing alerts", body: `{"status":"firing"}`, wantErr: "no alerts"},
		{name: "bad alert status", body: `{"alerts":[{"status":"burning"}]}`, wantErr: `unknown status "burning"`},
		{name: "trailing data", body: `{"alerts":[{}]} {}`, wantErr: "after the JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode([]byte(tc.body))
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrInvalid containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

func TestFingerprintsIdentifyContent(t *testing.T) {
	const (
		t0 = `"startsAt":"2026-11-20T10:00:00Z"`
		t1 = `"startsAt":"2026-11-20T10:01:30Z"` // the same alert firing again after a resolve
	)
	alerts := func(as ...string) string { return `{"alerts":[` + strings.Join(as, ",") + `]}` }
	alert := func(status, fp, startsAt string) string {
		return `{"status":"` + status + `","fingerprint":"` + fp + `",` + startsAt + `}`
	}
	tests := []struct {
		name   string
		a, b   string
		wantEq bool
	}{
		{name: "order does not matter", wantEq: true,
			a: alerts(alert("firing", "b", t0), alert("firing", "a", t0)), b: alerts(alert("firing", "a", t0), alert("firing", "b", t0))},
		{name: "an alert changing status", a: alerts(alert("firing", "a", t0), alert("firing", "b", t0)),
			b: alerts(alert("resolved", "a", t0), alert("firing", "b", t0))},
		{name: "another alert", a: alerts(alert("firing", "a", t0)), b: alerts(alert("firing", "b", t0))},
		{name: "a new incident of the same alert (re-fire)", a: alerts(alert("firing", "a", t0)), b: alerts(alert("firing", "a", t1))},
		{name: "the resolve of a new incident", a: alerts(alert("resolved", "a", t0)), b: alerts(alert("resolved", "a", t1))},
		{name: "the peer Alertmanager's copy", wantEq: true, a: alerts(alert("firing", "a", t0)), b: alerts(alert("firing", "a", t0))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Decode([]byte(tc.a))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Decode([]byte(tc.b))
			if err != nil {
				t.Fatal(err)
			}
			ka, kb := strings.Join(a.Fingerprints(), ","), strings.Join(b.Fingerprints(), ",")
			if (ka == kb) != tc.wantEq {
				t.Errorf("identities %q and %q: equal %v, want %v", ka, kb, ka == kb, tc.wantEq)
			}
		})
	}
	// The same alerts firing again after they resolved (a newer startsAt): new content, not a
	// copy of the first firing notification.
	first, _ := Decode([]byte(`{"alerts":[{"status":"firing","fingerprint":"a","startsAt":"2026-12-08T02:11:36Z"}]}`))
	again, _ := Decode([]byte(`{"alerts":[{"status":"firing","fingerprint":"a","startsAt":"2026-12-08T02:13:34Z"}]}`))
	copyOfFirst, _ := Decode([]byte(`{"alerts":[{"status":"firing","fingerprint":"a","startsAt":"2026-12-08T02:11:36Z"}]}`))
	if strings.Join(first.Fingerprints(), ",") == strings.Join(again.Fingerprints(), ",") {
		t.Error("an alert firing again (newer startsAt) must change the identity")
	}
	if strings.Join(first.Fingerprints(), ",") != strings.Join(copyOfFirst.Fingerprints(), ",") {
		t.Error("a copy of the same notification (an HA peer's) must keep the identity")
	}
}

// FuzzDecode: any body either decodes into a usable message or fails with ErrInvalid.
func FuzzDecode(f *testing.F) {
	firing, err := os.ReadFile("testdata/firing.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(firing)
	f.Add([]byte(`{"alerts":[{}]}`))
	f.Add([]byte(`{"alerts":[{"status":"resolved","endsAt":"2001-01-01T00:00:00Z"}],"truncatedAlerts":3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Decode(body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not marked invalid: %v", err)
			}
			return
		}
		if len(m.Alerts) == 0 || (m.Status != "firing" && m.Status != "resolved") {
			t.Fatalf("invalid message accepted: %+v", m)
		}
		for _, a := range m.Alerts {
			if a.Fingerprint == "" || a.Labels == nil || (a.Status != "firing" && a.Status != "resolved") {
				t.Fatalf("alert not normalized: %+v", a)
			}
		}
		_ = m.MatchLabels()
	})
}
