package argocdsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Fault makes the API misbehave on the endpoints it names, for tests of the
// exporter's error handling.
type Fault struct {
	Endpoint string        // "list", "get", "sync", "watch"; "" for all
	Status   int           // answer this HTTP status with an Argo CD error body
	Message  string        // error message for Status
	Truncate bool          // answer with the body cut in half
	Delay    time.Duration // wait this long (or until the client gives up) first
	Body     string        // answer 200 with this body instead
	// Watch stream faults, as proxies and servers produce them:
	Stall    bool   // answer the stream's headers, then nothing until the client leaves
	CutAfter int    // end the answer after this many writes (a proxy cutting a long connection)
	DropApp  string // swallow the stream's events that name this app (a missed event)
}

// Request is one API request the simulator received.
type Request struct {
	At                                       time.Time
	Method, Path, ContentType, Authorization string
	Query                                    url.Values
	Body                                     string
}

// maxRequests bounds the request log of a long-running simulator.
const maxRequests = 10000

// SetFaults replaces the active faults (none: behave). The first fault
// matching a request's endpoint applies.
func (s *Sim) SetFaults(f ...Fault) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults = f
}

// IgnoreFields makes List answer whole items whatever `fields` asks (an
// older or proxied Argo CD).
func (s *Sim) IgnoreFields(ignore bool) { s.ignoreFields.Store(ignore) }

// SetToken changes the Bearer token the simulator accepts (a rotation).
func (s *Sim) SetToken(token string) { s.token.Store(&token) }

// Requests returns the API requests received so far (the last 10,000).
func (s *Sim) Requests() []Request {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Count returns how many requests hit an endpoint ("list", "get", "sync", "watch").
func (s *Sim) Count(endpoint string) int {
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
	case p == "/api/v1/stream/applications":
		return "watch"
	case method == http.MethodPost && strings.HasSuffix(p, "/sync"):
		return "sync"
	case method == http.MethodDelete && strings.HasSuffix(p, "/operation"):
		return "terminate"
	case strings.HasPrefix(p, "/api/v1/applications/"):
		return "get"
	}
	return ""
}

// grpcCode is the gRPC code Argo CD's error body carries for an HTTP status.
func grpcCode(status int) int {
	switch status {
	case http.StatusBadRequest:
		return codeFailedPrecondition
	case http.StatusUnauthorized:
		return codeUnauthenticated
	case http.StatusForbidden:
		return codePermissionDenied
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusServiceUnavailable:
		return 14 // Unavailable
	case http.StatusGatewayTimeout:
		return 4 // DeadlineExceeded
	}
	return 13 // Internal
}

// faulty logs each API request and applies the matching fault.
func (s *Sim) faulty(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		r.Body = io.NopCloser(bytes.NewReader(body))
		ep := endpointOf(r.Method, r.URL.Path)
		s.faultMu.Lock()
		if len(s.requests) == maxRequests {
			s.requests = s.requests[1:]
		}
		s.requests = append(s.requests, Request{
			At: time.Now(), Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
			Authorization: r.Header.Get("Authorization"), Query: r.URL.Query(), Body: string(body),
		})
		var fault *Fault
		for i := range s.faults {
			if s.faults[i].Endpoint == "" || s.faults[i].Endpoint == ep {
				f := s.faults[i]
				fault = &f
				break
			}
		}
		s.faultMu.Unlock()
		if fault == nil {
			next.ServeHTTP(w, r)
			return
		}
		if fault.Delay > 0 {
			t := time.NewTimer(fault.Delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case fault.Status != 0:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fault.Status)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": fault.Message, "code": grpcCode(fault.Status), "message": fault.Message})
		case fault.Body != "":
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, fault.Body)
		case fault.Stall:
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			_ = http.NewResponseController(w).Flush()
			<-r.Context().Done()
		case fault.CutAfter > 0 || fault.DropApp != "":
			next.ServeHTTP(&faultyWriter{ResponseWriter: w, left: fault.CutAfter, drop: fault.DropApp}, r)
		case fault.Truncate:
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			b := rec.Body.Bytes()
			_, _ = w.Write(b[:len(b)/2])
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// faultyWriter cuts an answer after a number of writes and swallows the
// writes (stream events) that name an app.
type faultyWriter struct {
	http.ResponseWriter
	left int
	drop string
}

func (w *faultyWriter) Write(b []byte) (int, error) {
	if w.drop != "" && bytes.Contains(b, []byte(`"name":"`+w.drop+`"`)) {
		return len(b), nil
	}
	if w.left > 0 {
		if w.left--; w.left == 0 {
			return 0, net.ErrClosed
		}
	}
	return w.ResponseWriter.Write(b)
}

func (w *faultyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SetItems replaces every app with the given Application documents, served
// as they are (statuses included) by List, Get and Watch; syncs of them are
// accepted and change nothing. Tests use it to serve exact fixtures.
func (s *Sim) SetItems(items ...[]byte) error {
	apps := make([]*app, 0, len(items))
	for i, it := range items {
		var doc map[string]any
		if err := json.Unmarshal(it, &doc); err != nil {
			return fmt.Errorf("item %d: %w", i, err)
		}
		var m struct {
			Metadata struct {
				Name, Namespace   string
				Labels            map[string]string
				Annotations       map[string]string
				DeletionTimestamp *time.Time
			}
			Spec struct{ Project string }
		}
		if err := json.Unmarshal(it, &m); err != nil || m.Metadata.Name == "" {
			return fmt.Errorf("item %d: not an Application with a name: %v", i, err)
		}
		a := &app{name: m.Metadata.Name, namespace: m.Metadata.Namespace, project: m.Spec.Project,
			labels: m.Metadata.Labels, annotations: m.Metadata.Annotations, raw: doc, base: doc}
		if m.Metadata.DeletionTimestamp != nil {
			a.deleting = *m.Metadata.DeletionTimestamp
		}
		apps = append(apps, a)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps = make(map[string]*app, len(apps))
	s.names = s.names[:0]
	for _, a := range apps {
		s.add(a)
	}
	sort.Strings(s.names)
	return nil
}

// Patch returns item with the dotted paths in set replaced (a nil value
// deletes the key), e.g. {"status.health.status": "Degraded"}. It panics on
// an item that is not a JSON object (a test bug).
func Patch(item []byte, set map[string]any) []byte {
	var m map[string]any
	if err := json.Unmarshal(item, &m); err != nil {
		panic(err)
	}
	for p, v := range set {
		if v == nil {
			deletePath(m, strings.Split(p, "."))
			continue
		}
		setPath(m, p, v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

func deletePath(m map[string]any, path []string) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		m = next
	}
	delete(m, path[len(path)-1])
}

// Server is a simulator on an httptest server, for tests.
type Server struct {
	*Sim
	*httptest.Server
}

// NewServer starts a simulator accepting token and serving exactly items
// (see SetItems); it panics on bad input (a test bug). Close it when done.
func NewServer(token string, items ...[]byte) *Server {
	sim, err := New(Config{Token: token, NoScenario: true})
	if err != nil {
		panic(err)
	}
	if err := sim.SetItems(items...); err != nil {
		panic(err)
	}
	return &Server{Sim: sim, Server: httptest.NewServer(sim.Handler())}
}
