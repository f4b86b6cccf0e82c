// Package argocdtest is an httptest fake of the Argo CD API (List, Get, Sync)
// serving real Application fixtures, with fault injection, for the tests of
// every package that talks to Argo CD. It honours List's `fields` projection
// and its whitelist through the simulator's projection (argocdsim.ProjectListItem),
// unless told to ignore it.
package argocdtest

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
)

//go:embed testdata/*.json
var fixtures embed.FS

// Fixture names (files in testdata/, taken from argo-cd's own test data).
const (
	AutomatedWithOperation = "app-automated-with-operation.json"       // argocd/my-app-2, Synced Healthy, operation set
	DegradedOutOfSync      = "app-degraded-outofsync-conditions.json"  // argocd/my-app-4, 3 conditions
	OperationRunning       = "app-operation-running.json"              // argocd/my-app, Progressing, phase Running
	OperationSucceeded     = "app-operation-succeeded-syncresult.json" // fake-argocd-ns/my-app, phase Succeeded
)

// AllFixtures lists every fixture name.
var AllFixtures = []string{AutomatedWithOperation, DegradedOutOfSync, OperationRunning, OperationSucceeded}

// Fixture returns a fixture's bytes; it panics on an unknown name (a test bug).
func Fixture(name string) []byte {
	b, err := fixtures.ReadFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	return b
}

// Patch returns item with the dotted paths in set replaced (a nil value
// deletes the key), e.g. {"status.health.status": "Degraded"}.
func Patch(item []byte, set map[string]any) []byte {
	var m map[string]any
	if err := json.Unmarshal(item, &m); err != nil {
		panic(err)
	}
	for p, v := range set {
		setPath(m, strings.Split(p, "."), v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// Fault makes the server misbehave on the endpoints it names.
type Fault struct {
	Endpoint string        // "list", "get", "sync"; "" for all
	Status   int           // answer this status with an Argo CD error body
	Message  string        // error message for Status
	Truncate bool          // answer 200 with the body cut in half
	Delay    time.Duration // wait this long (or until the client gives up) first
	Body     string        // answer 200 with this body instead
}

// Request is one request the server received.
type Request struct {
	Method, Path, ContentType, Authorization string
	Query                                    url.Values
	Body                                     string
}

// SyncFunc decides a sync's answer; status 0 or 200 accepts it.
type SyncFunc func(name string, body map[string]any) (status int, message string)

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server

	mu           sync.Mutex
	token        string
	items        [][]byte
	faults       []Fault
	ignoreFields bool
	requests     []Request
	syncFn       SyncFunc
}

// NewServer starts a fake serving items; token "" accepts any bearer.
// Close it when done.
func NewServer(token string, items ...[]byte) *Server {
	s := &Server{token: token, items: items}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) locked(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// SetItems replaces the applications served.
func (s *Server) SetItems(items ...[]byte) { s.locked(func() { s.items = items }) }

// SetToken changes the bearer token the server accepts.
func (s *Server) SetToken(t string) { s.locked(func() { s.token = t }) }

// SetFaults replaces the active faults (none: behave).
func (s *Server) SetFaults(f ...Fault) { s.locked(func() { s.faults = f }) }

// IgnoreFields makes List answer whole objects whatever `fields` asks
// (an older or proxied Argo CD).
func (s *Server) IgnoreFields(ignore bool) { s.locked(func() { s.ignoreFields = ignore }) }

// OnSync sets how sync requests are answered (default: accept).
func (s *Server) OnSync(f SyncFunc) { s.locked(func() { s.syncFn = f }) }

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests hit an endpoint ("list", "get", "sync").
func (s *Server) Count(endpoint string) int {
	n := 0
	for _, r := range s.Requests() {
		if endpointOf(r.Method, r.Path) == endpoint {
			n++
		}
	}
	return n
}

func endpointOf(method, p string) string {
	switch {
	case p == "/api/v1/applications":
		return "list"
	case method == http.MethodPost && strings.HasSuffix(p, "/sync"):
		return "sync"
	case strings.HasPrefix(p, "/api/v1/applications/"):
		return "get"
	}
	return ""
}

func writeError(w http.ResponseWriter, status int, msg string) {
	codes := map[int]int{400: 9, 401: 16, 403: 7, 404: 5, 415: 3, 500: 13, 503: 14, 504: 4}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": msg, "code": codes[status], "message": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ep := endpointOf(r.Method, r.URL.Path)
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
		Authorization: r.Header.Get("Authorization"), Query: r.URL.Query(), Body: string(body),
	})
	token, items, ignore, syncFn := s.token, s.items, s.ignoreFields, s.syncFn
	var fault *Fault
	for i := range s.faults {
		if s.faults[i].Endpoint == "" || s.faults[i].Endpoint == ep {
			f := s.faults[i]
			fault = &f
			break
		}
	}
	s.mu.Unlock()

	if fault != nil && fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			return
		}
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || strings.Count(auth, ".") != 2 {
		writeError(w, http.StatusUnauthorized, "no session information")
		return
	}
	if token != "" && auth != "Bearer "+token {
		writeError(w, http.StatusUnauthorized, "invalid session: token signature is invalid")
		return
	}
	if r.Method != http.MethodGet && r.Header.Get("Content-Type") != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Invalid content type")
		return
	}
	if fault != nil {
		switch {
		case fault.Status != 0:
			writeError(w, fault.Status, fault.Message)
			return
		case fault.Body != "":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, fault.Body)
			return
		}
	}
	var out []byte
	switch ep {
	case "list":
		out = listBody(items, r.URL.Query(), ignore)
	case "get":
		name := path.Base(r.URL.Path)
		item := find(items, name, r.URL.Query().Get("appNamespace"))
		if item == nil {
			if r.URL.Query().Get("project") != "" {
				writeError(w, http.StatusNotFound, fmt.Sprintf("applications.argoproj.io %q not found", name))
			} else {
				writeError(w, http.StatusForbidden, "permission denied")
			}
			return
		}
		out = item
	case "sync":
		name := path.Base(path.Dir(r.URL.Path))
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, "invalid body")
			return
		}
		ns, _ := req["appNamespace"].(string)
		item := find(items, name, ns)
		if item == nil {
			writeError(w, http.StatusNotFound, fmt.Sprintf("applications.argoproj.io %q not found", name))
			return
		}
		if syncFn != nil {
			if st, msg := syncFn(name, req); st != 0 && st != http.StatusOK {
				writeError(w, st, msg)
				return
			}
		}
		out = item
	default:
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if fault != nil && fault.Truncate {
		out = out[:len(out)/2]
	}
	_, _ = w.Write(out)
}

func find(items [][]byte, name, ns string) []byte {
	for _, it := range items {
		var m struct {
			Metadata struct{ Name, Namespace string }
		}
		if json.Unmarshal(it, &m) == nil && m.Metadata.Name == name && (ns == "" || m.Metadata.Namespace == ns) {
			return it
		}
	}
	return nil
}

func listBody(items [][]byte, q url.Values, ignoreFields bool) []byte {
	fields := strings.Join(q["fields"], ",")
	var buf bytes.Buffer
	buf.WriteString(`{"metadata":{"resourceVersion":"4242"},"items":[`)
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		if !ignoreFields {
			if projected, err := argocdsim.ProjectListItem(it, fields); err == nil {
				it = projected
			} // an item a test made unparseable is served as it is
		}
		buf.Write(it)
	}
	buf.WriteString("]}")
	return buf.Bytes()
}

// setPath sets m's nested key path to v, creating objects on the way; a nil
// v deletes the key.
func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	if v == nil {
		delete(m, path[len(path)-1])
		return
	}
	m[path[len(path)-1]] = v
}
