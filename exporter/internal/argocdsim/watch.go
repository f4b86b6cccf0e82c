package argocdsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Watch event types.
const (
	eventAdded    = "ADDED"
	eventModified = "MODIFIED"
	eventDeleted  = "DELETED"
)

// subscriberBuffer bounds the events queued for one Watch client; a client that falls further
// behind is disconnected (it reconnects and gets ADDED for everything, as with Argo CD).
const subscriberBuffer = 1024

type event struct {
	typ  string
	name string
	doc  map[string]any // shared between subscribers: read-only
}

type subscriber struct {
	filter appFilter
	ch     chan event
	gone   chan struct{}
	once   sync.Once
}

func (sub *subscriber) drop() { sub.once.Do(func() { close(sub.gone) }) }

// notifyLocked queues an event for every subscriber whose filter matches the app.
func (s *Sim) notifyLocked(a *app, typ string) {
	if len(s.subs) == 0 {
		return
	}
	ev := event{typ: typ, name: a.name, doc: a.document(true)}
	for sub := range s.subs {
		if !sub.filter.matches(a) {
			continue
		}
		select {
		case sub.ch <- ev:
		default:
			sub.drop()
			delete(s.subs, sub)
		}
	}
}

// handleWatch serves GET /api/v1/stream/applications: ADDED for every matching app, then
// MODIFIED and DELETED as they happen; SSE when the client accepts text/event-stream, else one
// JSON object per line. An event whose bytes equal the previous one for that app is dropped.
func (s *Sim) handleWatch(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilter(r)
	if err != nil {
		writeError(w, codeUnknown, err.Error())
		return
	}
	fs := parseFields(r.URL.Query().Get("fields"))
	sse := r.Header.Get("Accept") == "text/event-stream"

	sub := &subscriber{filter: f, ch: make(chan event, subscriberBuffer), gone: make(chan struct{})}
	s.mu.Lock()
	s.advanceLocked(time.Now())
	var names []string
	for _, name := range s.names {
		if f.matches(s.apps[name]) {
			names = append(names, name)
		}
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}()

	if sse {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Content-Type-Options", "nosniff")
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()

	last := make(map[string][]byte)
	send := func(ev event) bool {
		b, err := json.Marshal(streamEvent(ev, fs))
		if err != nil {
			return false
		}
		if prev, ok := last[ev.name]; ok && bytes.Equal(prev, b) {
			return true
		}
		last[ev.name] = b
		if sse {
			b = append(append([]byte("data: "), b...), " \n\n"...)
		} else {
			b = append(b, '\n')
		}
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}

	// ADDED for every app that matched when the client connected; changes meanwhile are queued.
	for _, name := range names {
		s.mu.Lock()
		a := s.apps[name]
		var doc map[string]any
		if a != nil {
			doc = a.document(true)
		}
		s.mu.Unlock()
		if doc != nil && !send(event{typ: eventAdded, name: name, doc: doc}) {
			return
		}
	}

	var keepalive <-chan time.Time
	if sse {
		t := time.NewTicker(s.cfg.KeepAlive)
		defer t.Stop()
		keepalive = t.C
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.gone:
			return // too slow: the client reconnects
		case <-keepalive:
			if _, err := w.Write([]byte(":\n")); err != nil || rc.Flush() != nil {
				return
			}
		case ev := <-sub.ch:
			if !send(ev) {
				return
			}
		}
	}
}

func streamEvent(ev event, fs fieldSelection) any {
	var out any = map[string]any{"result": map[string]any{"type": ev.typ, "application": ev.doc}}
	if fs.active() {
		out = projectStream("", out, fs)
	}
	return out
}
