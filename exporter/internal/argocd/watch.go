package argocd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// ErrStreamStalled: the Watch stream sent no byte (not even a keepalive)
// for longer than WatchOptions.StallTimeout. A proxy may hold a dead
// connection open; only silence tells.
var ErrStreamStalled = errors.New("watch stream stalled")

// WatchOptions selects the applications a Watch streams. Argo CD's Watch
// applies selector and projects itself (server/application/application.go,
// isApplicationPermitted) and resourceVersion as "not older than, and no
// initial ADDED burst"; `fields` is applied to each event by the HTTP
// gateway and, unlike List's, takes any path.
type WatchOptions struct {
	Selector string
	Projects []string
	// Fields is the projection of each event, paths prefixed "result."
	// (see StreamFields); empty streams whole Applications.
	Fields []string
	// ResourceVersion (a List's) skips the server's initial ADDED event for
	// every app; empty asks for it.
	ResourceVersion string
	// StallTimeout ends the stream with ErrStreamStalled after this long
	// without a byte; 0 means never. Argo CD sends a keepalive every 15 s.
	StallTimeout time.Duration
}

// StreamFields is every event path the exporter reads. The stream's
// projection takes any path, so events carry what List's whitelist cannot
// (conditions, reconciledAt, the operation message) and need no Get.
var StreamFields = []string{
	"result.type",
	"result.application.metadata.name",
	"result.application.metadata.namespace",
	"result.application.metadata.labels",
	"result.application.metadata.annotations",
	"result.application.metadata.deletionTimestamp",
	"result.application.metadata.ownerReferences",
	"result.application.spec.project",
	"result.application.spec.destination",
	"result.application.spec.source.repoURL",
	"result.application.spec.sources",
	"result.application.spec.syncPolicy.automated",
	"result.application.status.health.status",
	"result.application.status.health.lastTransitionTime",
	"result.application.status.sync.status",
	"result.application.status.sync.revision",
	"result.application.status.reconciledAt",
	"result.application.status.conditions",
	"result.application.status.operationState.phase",
	"result.application.status.operationState.message",
	"result.application.status.operationState.startedAt",
	"result.application.status.operationState.finishedAt",
	"result.application.operation.sync",
}

// Stream is an open Watch. Next returns its events; Close ends it.
type Stream struct {
	rd     *StreamReader
	body   io.ReadCloser
	cancel context.CancelFunc
	stall  *stallReader
	// projected: the events carry StreamFields, detail included.
	projected bool
}

// Watch opens GET /api/v1/stream/applications as SSE. The request has no
// overall timeout (the stream lives for hours); connecting and the answer's
// headers are bounded by the client's timeout, silence by StallTimeout.
func (c *Client) Watch(ctx context.Context, opts WatchOptions) (_ *Stream, err error) {
	q := ListOptions{Selector: opts.Selector, Projects: opts.Projects, Fields: opts.Fields}.query()
	if opts.ResourceVersion != "" {
		q.Set("resourceVersion", opts.ResourceVersion)
	}
	ctx, cancel := context.WithCancel(ctx)
	status := 0
	defer func() {
		if c.requests != nil && !errors.Is(err, context.Canceled) {
			c.requests.WithLabelValues("watch", codeLabel(status, err)).Inc()
		}
		if err != nil {
			cancel()
		}
	}()
	// The client's timeout covers the wait for the answer's headers only.
	var timedOut atomic.Bool
	headers := time.AfterFunc(c.timeout, func() { timedOut.Store(true); cancel() })
	resp, rbody, err := c.send(ctx, http.MethodGet, "stream/applications", q, nil, "text/event-stream")
	if !headers.Stop() && err == nil {
		rbody.Close()
		err = context.Canceled
	}
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			status = ae.StatusCode
		}
		if timedOut.Load() {
			err = fmt.Errorf("%w: no answer within %s", context.DeadlineExceeded, c.timeout)
		}
		return nil, fmt.Errorf("watch applications: %w", err)
	}
	status = resp.StatusCode
	sse := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	st := &Stream{body: rbody, cancel: cancel, projected: len(opts.Fields) > 0}
	var body io.Reader = rbody
	if opts.StallTimeout > 0 {
		st.stall = newStallReader(rbody, opts.StallTimeout, cancel)
		body = st.stall
	}
	st.rd = NewStreamReader(body, sse)
	return st, nil
}

// Next returns the next event (keepalives included). Errors: io.EOF when
// the server ended the stream, ErrStreamStalled, an *APIError the server
// wrote into the stream, or a transport or decoding error.
func (s *Stream) Next() (WatchEvent, error) {
	ev, err := s.rd.Next()
	if err != nil {
		if s.stall != nil && s.stall.fired() {
			return WatchEvent{}, ErrStreamStalled
		}
		return WatchEvent{}, fmt.Errorf("watch applications: %w", scrubURL(err))
	}
	// Asked for the detail paths, the event has them: empty means none.
	if s.projected && ev.Type != EventKeepalive {
		ev.App.Detailed = true
	}
	return ev, nil
}

// Close ends the stream; Next then fails.
func (s *Stream) Close() error {
	s.cancel()
	if s.stall != nil {
		s.stall.stop()
	}
	return s.body.Close()
}

// stallReader cancels the request when no byte arrived for d.
type stallReader struct {
	r      io.Reader
	d      time.Duration
	t      *time.Timer
	stalls atomic.Bool
}

func newStallReader(r io.Reader, d time.Duration, cancel context.CancelFunc) *stallReader {
	s := &stallReader{r: r, d: d}
	s.t = time.AfterFunc(d, func() {
		s.stalls.Store(true)
		cancel()
	})
	return s
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 && !s.stalls.Load() {
		s.t.Reset(s.d)
	}
	return n, err
}

func (s *stallReader) fired() bool { return s.stalls.Load() }

func (s *stallReader) stop() { s.t.Stop() }
