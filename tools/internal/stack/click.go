package stack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ActionsUser is the Slack user the stack's bridge config allows to retry and resume.
const ActionsUser = "U0ONCALL1"

// actionsConfig is the bridge config the stack runs with: retry and resume for ActionsUser only.
const actionsConfig = `actions:
  retry:
    users: [` + ActionsUser + `]
  resume:
    users: [` + ActionsUser + `]
`

// Button is one interactive button of a message, as Slack would report a click on it.
type Button struct {
	ActionID, Value string
}

// Buttons finds the interactive buttons (those with a value) in a message's attachments JSON.
func Buttons(attachmentsJSON string) []Button {
	var atts []struct {
		Blocks []struct {
			Type     string `json:"type"`
			Elements []struct {
				Type     string `json:"type"`
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	_ = json.Unmarshal([]byte(attachmentsJSON), &atts)
	var out []Button
	for _, a := range atts {
		for _, b := range a.Blocks {
			for _, e := range b.Elements {
				if b.Type == "actions" && e.Type == "button" && e.Value != "" {
					out = append(out, Button{ActionID: e.ActionID, Value: e.Value})
				}
			}
		}
	}
	return out
}

// FindButton returns the first button whose action ID starts with prefix.
func FindButton(attachmentsJSON, prefix string) (Button, bool) {
	for _, b := range Buttons(attachmentsJSON) {
		if strings.HasPrefix(b.ActionID, prefix) {
			return b, true
		}
	}
	return Button{}, false
}

// Click is a click on a button of the message channel/ts by user.
type Click struct {
	User, Channel, TS string
	Button            Button
}

// Click posts the click to the bridge's Request URL signed with the stack's signing secret, as
// Slack does, and returns the HTTP status.
func (s *Stack) Click(ctx context.Context, c Click) (int, error) {
	payload, err := json.Marshal(map[string]any{
		"type":      "block_actions",
		"user":      map[string]string{"id": c.User, "name": strings.ToLower(c.User)},
		"team":      map[string]string{"id": "T0DEMO", "domain": "argocd-monitor-demo"},
		"container": map[string]string{"type": "message_attachment", "channel_id": c.Channel, "message_ts": c.TS},
		"channel":   map[string]string{"id": c.Channel},
		"actions": []map[string]string{{
			"type": "button", "block_id": "b", "action_id": c.Button.ActionID, "value": c.Button.Value,
			"action_ts": strconv.FormatInt(time.Now().UnixNano(), 10),
		}},
	})
	if err != nil {
		return 0, err
	}
	body := url.Values{"payload": {string(payload)}}.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(s.SigningSecret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.BridgeURL+"/slack/interactions", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Silence is one silence as Alertmanager's API v2 lists it.
type Silence struct {
	ID       string `json:"id"`
	Matchers []struct {
		Name    string `json:"name"`
		Value   string `json:"value"`
		IsRegex bool   `json:"isRegex"`
		IsEqual *bool  `json:"isEqual"`
	} `json:"matchers"`
	CreatedBy string `json:"createdBy"`
	Comment   string `json:"comment"`
	Status    struct {
		State string `json:"state"`
	} `json:"status"`
}

// Matches reports an equality matcher name="value".
func (s Silence) Matches(name, value string) bool {
	for _, m := range s.Matchers {
		if m.Name == name && m.Value == value && !m.IsRegex && (m.IsEqual == nil || *m.IsEqual) {
			return true
		}
	}
	return false
}

// Has reports a matcher on name.
func (s Silence) Has(name string) bool {
	for _, m := range s.Matchers {
		if m.Name == name {
			return true
		}
	}
	return false
}

// Silences lists Alertmanager's silences.
func (s *Stack) Silences(ctx context.Context) ([]Silence, error) {
	var out []Silence
	return out, getJSON(ctx, s.AlertmanagerURL+"/api/v2/silences", &out)
}
