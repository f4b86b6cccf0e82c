package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
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

// Buttons finds the interactive buttons (those with a value, not links) in a message's blocks
// or attachments JSON, wherever they are.
func Buttons(content ...string) []Button {
	var out []Button
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			id, _ := v["action_id"].(string)
			value, _ := v["value"].(string)
			if v["type"] == "button" && id != "" && value != "" {
				out = append(out, Button{ActionID: id, Value: value})
				return
			}
			for _, k := range []string{"blocks", "elements", "accessory"} {
				walk(v[k])
			}
		}
	}
	for _, c := range content {
		var v any
		if json.Unmarshal([]byte(c), &v) == nil {
			walk(v)
		}
	}
	return out
}

// FindButton returns the first button whose action ID starts with prefix.
func FindButton(prefix string, content ...string) (Button, bool) {
	for _, b := range Buttons(content...) {
		if strings.HasPrefix(b.ActionID, prefix) {
			return b, true
		}
	}
	return Button{}, false
}

// Click is a click on the button actionID of the message channel/ts by user.
type Click struct {
	User, Channel, TS, ActionID string
}

// Click presses the button on the fake Slack (bot mode), which sends the bridge's Request URL
// the interaction Slack would, signed with the signing secret, as the page's buttons do; it
// returns the bridge's HTTP status.
func (s *Stack) Click(ctx context.Context, c Click) (int, error) {
	if s.SlackURL == "" {
		return 0, fmt.Errorf("click: the stack runs without the fake Slack (console mode)")
	}
	body, err := json.Marshal(map[string]string{"channel": c.Channel, "ts": c.TS, "action_id": c.ActionID, "user": c.User})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.SlackURL+"/fake/click", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("click %s: the fake Slack answered %d: %s", c.ActionID, resp.StatusCode, bytes.TrimSpace(b))
	}
	var res struct {
		Status int `json:"status"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return 0, fmt.Errorf("click %s: %w", c.ActionID, err)
	}
	return res.Status, nil
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
