package slackfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// Clicks: a button pressed on the page (or through POST /fake/click) becomes the block_actions
// interaction Slack would send to the app's Request URL, signed with the app's signing secret
// (v0: HMAC-SHA256 of "v0:timestamp:body"). The button's value comes from the message as it
// stands, as in Slack; a button the message no longer shows cannot be clicked.

// Team is the workspace the interactions come from (its domain builds permalinks).
const (
	TeamID     = "T0DEMO"
	TeamDomain = "argocd-monitor-demo"
)

// Interactions says where clicks go.
type Interactions struct {
	// URL is the app's Request URL (the bridge's POST /slack/interactions).
	URL string
	// SigningSecret is asked at every click (a rotated file applies at once).
	SigningSecret secret.Source
	// User is the Slack user ID the page clicks as unless the person picks another.
	User string
	// Client sends the interactions; nil: a client with a 10s timeout.
	Client *http.Client
}

// SetInteractions configures where clicks go.
func (f *Fake) SetInteractions(in Interactions) {
	if in.Client == nil {
		in.Client = &http.Client{Timeout: 10 * time.Second}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.interactions = in
}

func (f *Fake) interactionsConfig() Interactions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.interactions
}

// Click is one button press.
type Click struct {
	Channel  string `json:"channel"` // channel ID
	TS       string `json:"ts"`      // the message's ts
	ActionID string `json:"action_id"`
	User     string `json:"user"` // Slack user ID
}

// ClickResult is the app's answer to the interaction.
type ClickResult struct {
	Status int    `json:"status"`
	Body   string `json:"body,omitempty"`
}

// Errors of Click.
var (
	ErrNoInteractions = errors.New("no Request URL configured (slack-fake --interactions.url)")
	ErrNoButton       = errors.New("no such message or button")
	ErrBadClick       = errors.New("invalid click")
)

var userIDRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// Click sends the interaction of c to the Request URL and returns the app's answer.
func (f *Fake) Click(ctx context.Context, c Click) (ClickResult, error) {
	cfg := f.interactionsConfig()
	if cfg.URL == "" || cfg.SigningSecret == nil {
		return ClickResult{}, ErrNoInteractions
	}
	if c.User == "" {
		c.User = cfg.User
	}
	if !userIDRE.MatchString(c.User) || c.Channel == "" || c.TS == "" || c.ActionID == "" {
		return ClickResult{}, fmt.Errorf("%w: channel, ts, action_id and a user ID like U0ONCALL1 are required", ErrBadClick)
	}
	m := f.lookup(c.Channel, c.TS)
	if m == nil || m.Ephemeral != "" {
		return ClickResult{}, ErrNoButton
	}
	el, blockID, att, ok := findButton(m, c.ActionID)
	if !ok || el.URL != "" {
		return ClickResult{}, ErrNoButton
	}
	now := time.Now()
	container := map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.ChannelID, "is_ephemeral": false}
	if att > 0 {
		container["type"], container["attachment_id"] = "message_attachment", att
	}
	msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
	if m.Blocks != "" {
		msg["blocks"] = json.RawMessage(m.Blocks)
	}
	if m.Attach != "" {
		msg["attachments"] = json.RawMessage(m.Attach)
	}
	if m.ThreadTS != "" {
		msg["thread_ts"] = m.ThreadTS
	}
	action := map[string]any{
		"type": "button", "action_id": el.ActionID, "block_id": blockID, "value": el.Value,
		"text":      map[string]any{"type": "plain_text", "text": el.label(), "emoji": true},
		"action_ts": strconv.FormatFloat(float64(now.UnixMicro())/1e6, 'f', 6, 64),
	}
	if el.Style != "" {
		action["style"] = el.Style
	}
	payload, err := json.Marshal(map[string]any{
		"type":       "block_actions",
		"user":       map[string]string{"id": c.User, "username": strings.ToLower(c.User), "name": strings.ToLower(c.User), "team_id": TeamID},
		"api_app_id": "A0FAKE",
		"team":       map[string]string{"id": TeamID, "domain": TeamDomain},
		"container":  container,
		"trigger_id": strconv.FormatInt(now.UnixNano(), 10) + ".fake",
		"channel":    map[string]string{"id": m.ChannelID, "name": f.channelName(m.ChannelID)},
		"message":    msg,
		"actions":    []any{action},
	})
	if err != nil {
		return ClickResult{}, err
	}
	body := url.Values{"payload": {string(payload)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, strings.NewReader(body))
	if err != nil {
		return ClickResult{}, err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", Sign(strings.TrimSpace(cfg.SigningSecret.Value()), ts, []byte(body)))
	resp, err := cfg.Client.Do(req)
	if err != nil {
		return ClickResult{}, fmt.Errorf("send the interaction: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return ClickResult{Status: resp.StatusCode, Body: string(bytes.TrimSpace(b))}, nil
}

// Sign is Slack's v0 request signature of body sent at ts (Unix seconds).
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func (f *Fake) channelName(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, cid := range f.channels {
		if cid == id && name != id {
			return strings.TrimPrefix(name, "#")
		}
	}
	return id
}

// serveClick is POST /fake/click: a Click as JSON; the app's answer as JSON.
func (f *Fake) serveClick(w http.ResponseWriter, r *http.Request) {
	var c Click
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		http.Error(w, "click: "+err.Error(), http.StatusBadRequest)
		return
	}
	res, err := f.Click(r.Context(), c)
	switch {
	case errors.Is(err, ErrBadClick):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case errors.Is(err, ErrNoButton):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case errors.Is(err, ErrNoInteractions):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}
