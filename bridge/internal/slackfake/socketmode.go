package slackfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode (serve the fake with Serve): apps.connections.open hands out ws://…/socket; a
// client that connects gets "hello", then every envelope pushed with SendEnvelope, and its acks
// are delivered by Acks.

// Envelope is one Socket Mode message from Slack.
type Envelope struct {
	EnvelopeID string          `json:"envelope_id"`
	Type       string          `json:"type"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	// AcceptsResponsePayload tells the app it may answer with a payload (interactive: true).
	AcceptsResponsePayload bool `json:"accepts_response_payload"`
}

type socketState struct {
	out      chan Envelope
	acks     chan string
	connects int
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (f *Fake) baseURL() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.base
}

// SendEnvelope queues an envelope for the connected (or next) Socket Mode client.
func (f *Fake) SendEnvelope(e Envelope) {
	f.socketInit()
	f.sock.out <- e
}

// Acks delivers the envelope IDs the client acknowledged, in order.
func (f *Fake) Acks() <-chan string {
	f.socketInit()
	return f.sock.acks
}

// Connects is how many Socket Mode connections were opened.
func (f *Fake) Connects() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sock == nil {
		return 0
	}
	return f.sock.connects
}

func (f *Fake) socketInit() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sock == nil {
		f.sock = &socketState{out: make(chan Envelope, 64), acks: make(chan string, 64)}
	}
}

// serveSocket answers apps.connections.open and the websocket; false for anything else.
func (f *Fake) serveSocket(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/api/apps.connections.open":
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer xapp-") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"ok":false,"error":"not_allowed_token_type"}`))
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(f.baseURL(), "http") + "/socket"})
		return true
	case "/socket":
		f.socketInit()
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return true
		}
		f.mu.Lock()
		f.sock.connects++
		st := f.sock
		f.mu.Unlock()
		f.runSocket(conn, st)
		return true
	}
	return false
}

func (f *Fake) runSocket(conn *websocket.Conn, st *socketState) {
	defer conn.Close()
	_ = conn.WriteJSON(map[string]any{"type": "hello", "num_connections": 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var ack struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if err := conn.ReadJSON(&ack); err != nil {
				return
			}
			if ack.EnvelopeID != "" {
				st.acks <- ack.EnvelopeID
			}
		}
	}()
	ping := time.NewTicker(5 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-done:
			return
		case e := <-st.out:
			if err := conn.WriteJSON(e); err != nil {
				st.out <- e // the next connection gets it
				return
			}
		case <-ping.C:
			_ = conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
		}
	}
}
