package argocd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// scanner cuts JSON values out of a stream without decoding them: it only
// tracks strings and nesting to find where a value ends, so a List's items
// can be handed one by one to the parser (which checks their syntax) and
// the body is never held whole.
type scanner struct {
	r   io.Reader
	buf []byte
	pos int // next unread byte in buf
	err error
}

func newScanner(r io.Reader) *scanner {
	return &scanner{r: r, buf: make([]byte, 0, 256<<10)}
}

// fill reads more of the stream, keeping buf[keep:] (keep <= pos) and
// dropping what is before it. It returns the number of bytes dropped.
func (s *scanner) fill(keep int) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:])
		s.buf = s.buf[:n]
		s.pos -= keep
	}
	if len(s.buf) == cap(s.buf) {
		if cap(s.buf) >= maxAppSize {
			s.err = fmt.Errorf("a value larger than %d bytes", maxAppSize)
			return keep, s.err
		}
		nb := make([]byte, len(s.buf), 2*cap(s.buf))
		copy(nb, s.buf)
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
	s.buf = s.buf[:len(s.buf)+n]
	if err != nil && n == 0 {
		s.err = err
		return keep, err
	}
	return keep, nil
}

// peek returns the next byte that is not white space, without taking it;
// io.EOF at the end of the stream.
func (s *scanner) peek() (byte, error) {
	for {
		for s.pos < len(s.buf) {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return c, nil
			}
		}
		if _, err := s.fill(s.pos); err != nil {
			return 0, err
		}
	}
}

func (s *scanner) skip(n int) { s.pos += n }

// expect takes the next non-space byte, which must be c.
func (s *scanner) expect(c byte) error {
	got, err := s.peek()
	if err != nil {
		return unexpectedEOF(err)
	}
	if got != c {
		return fmt.Errorf("want %q, got %q", c, got)
	}
	s.pos++
	return nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// value returns the bytes of the next JSON value (valid until the next
// call). Its syntax is not checked beyond strings and nesting: the caller
// parses it.
func (s *scanner) value() ([]byte, error) {
	c, err := s.peek()
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	start := s.pos
	i := start // scan position
	depth := 0
	inString := false
	scalar := c != '{' && c != '[' && c != '"'
	for {
		buf := s.buf
	scan:
		for i < len(buf) {
			if inString {
				j := bytes.IndexByte(buf[i:], '"')
				if j < 0 {
					i = len(buf)
					break scan
				}
				i += j
				// Escaped when preceded by an odd number of backslashes.
				k := i - 1
				for k > start && buf[k] == '\\' {
					k--
				}
				i++
				if (i-2-k)%2 == 1 {
					continue
				}
				inString = false
				if depth == 0 {
					break scan
				}
				continue
			}
			switch buf[i] {
			case '"':
				if scalar {
					break scan
				}
				inString = true
			case '{', '[':
				if scalar {
					break scan
				}
				depth++
			case '}', ']':
				if scalar {
					break scan
				}
				depth--
				if depth == 0 {
					i++
					break scan
				}
			case ',', ' ', '\t', '\n', '\r', ':':
				if scalar {
					break scan
				}
			}
			i++
		}
		done := i < len(buf) || (!inString && depth == 0 && !scalar && i > start)
		if done {
			s.pos = i
			return s.buf[start:i], nil
		}
		dropped, err := s.fill(start)
		i -= dropped
		start -= dropped
		if err != nil {
			if errors.Is(err, io.EOF) && scalar && i > start {
				s.pos = i
				return s.buf[start:i], nil
			}
			return nil, unexpectedEOF(err)
		}
	}
}
