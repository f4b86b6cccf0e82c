package argocd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/valyala/fastjson"
)

// EventType is the type of one Watch stream event.
type EventType string

// The event types Argo CD sends, plus the two the reader makes up: a
// keepalive (an SSE comment, proof the stream is alive) and an event whose
// type it does not know (skipped by callers, counted).
const (
	EventAdded     EventType = "ADDED"
	EventModified  EventType = "MODIFIED"
	EventDeleted   EventType = "DELETED"
	EventKeepalive EventType = "KEEPALIVE"
	EventUnknown   EventType = "UNKNOWN"
)

// WatchEvent is one message of GET /api/v1/stream/applications.
type WatchEvent struct {
	Type EventType
	// App is the application's new state (ADDED, MODIFIED) or its last one
	// (DELETED); empty for keepalives and unknown types.
	App App
}

// maxEventSize bounds one event: a whole Application with thousands of
// resources is a few MB; anything far larger is not an event we can use.
const maxEventSize = 32 << 20

// StreamReader splits a Watch body into events. SSE (`data:` lines ended by
// a blank line, `:` comments as keepalives) or JSON lines (one object a line,
// what the server sends without Accept: text/event-stream).
type StreamReader struct {
	br  *bufio.Reader
	sse bool
	buf []byte // the line being assembled
	p   fastjson.Parser
}

// NewStreamReader reads events from r; sse says which framing r uses.
func NewStreamReader(r io.Reader, sse bool) *StreamReader {
	return &StreamReader{br: bufio.NewReaderSize(r, 64<<10), sse: sse}
}

// Next returns the next event. At a clean end between events it returns
// io.EOF; a body cut inside an event gives io.ErrUnexpectedEOF (the partial
// event is dropped, never half-applied); undecodable data gives an error
// wrapping ErrMalformedResponse; an error object the server wrote into the
// stream ({"error":{"http_code":..,"message":..}}), an *APIError.
func (s *StreamReader) Next() (WatchEvent, error) {
	if s.sse {
		return s.nextSSE()
	}
	for {
		line, err := s.line()
		if err != nil {
			return WatchEvent{}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return decodeEvent(&s.p, line)
	}
}

// nextSSE assembles one SSE event: its data lines joined by newlines, sent
// when a blank line follows. Other fields (event:, id:, retry:) carry
// nothing Argo CD uses.
func (s *StreamReader) nextSSE() (WatchEvent, error) {
	var data []byte
	have := false
	for {
		line, err := s.line()
		if err != nil {
			if err == io.EOF && have {
				return WatchEvent{}, io.ErrUnexpectedEOF
			}
			return WatchEvent{}, err
		}
		switch {
		case len(line) == 0:
			if have {
				return decodeEvent(&s.p, data)
			}
		case line[0] == ':':
			if !have {
				return WatchEvent{Type: EventKeepalive}, nil
			}
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			if string(field) != "data" {
				continue
			}
			value = bytes.TrimPrefix(value, []byte(" "))
			if have {
				data = append(data, '\n')
			}
			if len(data)+len(value) > maxEventSize {
				return WatchEvent{}, fmt.Errorf("%w: stream event larger than %d bytes", ErrMalformedResponse, maxEventSize)
			}
			data = append(data, value...)
			have = true
		}
	}
}

// line returns the next line without its line ending (LF or CRLF). It is
// valid until the next call. A last line without a newline is a truncated
// one: io.ErrUnexpectedEOF.
func (s *StreamReader) line() ([]byte, error) {
	s.buf = s.buf[:0]
	for {
		chunk, err := s.br.ReadSlice('\n')
		s.buf = append(s.buf, chunk...)
		if len(s.buf) > maxEventSize {
			return nil, fmt.Errorf("%w: stream line longer than %d bytes", ErrMalformedResponse, maxEventSize)
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(s.buf[:len(s.buf)-1], []byte("\r")), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(s.buf) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

func decodeEvent(p *fastjson.Parser, b []byte) (WatchEvent, error) {
	v, err := p.ParseBytes(b)
	if err != nil {
		return WatchEvent{}, fmt.Errorf("%w: stream event: %v", ErrMalformedResponse, err)
	}
	if e := v.Get("error"); e != nil && e.Type() != fastjson.TypeNull {
		code := e.GetInt("http_code")
		if code < 400 || code > 599 {
			code = 500 // an error object is never a success
		}
		return WatchEvent{}, errorFromBody(code, mustJSON(map[string]string{"message": string(e.GetStringBytes("message"))}), "")
	}
	res := v.Get("result")
	if res == nil || res.Type() != fastjson.TypeObject {
		return WatchEvent{}, fmt.Errorf("%w: stream event without result", ErrMalformedResponse)
	}
	typ := EventType(res.GetStringBytes("type"))
	switch typ {
	case EventAdded, EventModified, EventDeleted:
	default:
		return WatchEvent{Type: EventUnknown}, nil
	}
	app := res.Get("application")
	if app == nil {
		return WatchEvent{}, fmt.Errorf("%w: %s event without application", ErrMalformedResponse, typ)
	}
	a, err := appFromValue(app)
	if err != nil {
		return WatchEvent{}, fmt.Errorf("%w: %s event: %v", ErrMalformedResponse, typ, err)
	}
	if a.Name == "" {
		return WatchEvent{}, fmt.Errorf("%w: %s event without metadata.name", ErrMalformedResponse, typ)
	}
	return WatchEvent{Type: typ, App: a}, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v) // a map of strings always marshals
	return b
}
