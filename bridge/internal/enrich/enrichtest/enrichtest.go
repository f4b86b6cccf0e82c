// Package enrichtest is a stand-in for the exporter's read API (/api/v1/apps/{ns}/{name}) in
// the bridge's tests and benchmarks: canned answers, a token, optional latency and status.
package enrichtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apiv1 "github.com/argocd-monitor/argocd-monitor/exporter/api/v1"
)

// Server answers GET /api/v1/apps/{namespace}/{name} for the apps it holds.
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	token   string
	apps    map[string]*apiv1.App
	any     *apiv1.App // answered for any app not in apps; nil: 404
	delay   time.Duration
	status  int
	Calls   atomic.Int64
	encoded map[string][]byte
}

// New starts a server that wants token.
func New(token string) *Server {
	s := &Server{token: token, apps: map[string]*apiv1.App{}, encoded: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/apps/{namespace}/{name}", s.serve)
	s.Server = httptest.NewServer(mux)
	return s
}

// Set holds the answer about one app.
func (s *Server) Set(a *apiv1.App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := a.Namespace + "/" + a.Name
	s.apps[key] = a
	delete(s.encoded, key)
}

// AnswerAny answers a for every app not Set (its namespace and name replaced).
func (s *Server) AnswerAny(a *apiv1.App) {
	s.mu.Lock()
	s.any = a
	s.encoded = map[string][]byte{}
	s.mu.Unlock()
}

// SetDelay makes every answer wait d (or until the caller gives up).
func (s *Server) SetDelay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// SetStatus makes every answer this HTTP status (0: normal answers).
func (s *Server) SetStatus(code int) { s.mu.Lock(); s.status = code; s.mu.Unlock() }

// SetToken changes the token the server wants.
func (s *Server) SetToken(t string) { s.mu.Lock(); s.token = t; s.mu.Unlock() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.Calls.Add(1)
	ns, name := r.PathValue("namespace"), r.PathValue("name")
	key := ns + "/" + name
	s.mu.Lock()
	token, delay, status := s.token, s.delay, s.status
	body := s.encoded[key]
	if body == nil {
		a := s.apps[key]
		if a == nil && s.any != nil {
			c := *s.any
			c.Namespace, c.Name = ns, name
			a = &c
		}
		if a != nil {
			body, _ = json.Marshal(a)
			s.encoded[key] = body
		}
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch {
	case got != token:
		http.Error(w, `{"error":"missing or wrong bearer token"}`, http.StatusUnauthorized)
	case status != 0:
		http.Error(w, `{"error":"scripted"}`, status)
	case body == nil:
		http.Error(w, `{"error":"no such application"}`, http.StatusNotFound)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}
}
