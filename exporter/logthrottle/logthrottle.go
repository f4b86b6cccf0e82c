// Package logthrottle writes a log line that outside requests can cause at will (a refused
// request, a flood of unsigned posts) at most once per interval per message: the first one at
// once, then at most one per interval, carrying how many were held back since
// ("suppressed"=N). The metrics beside such a line still count every request; the log says that
// it happens, and a flood cannot fill the disk or drown the other lines.
//
// Every refusal site of both modules logs through it: the exporter's read and write APIs, and
// the Slack bridge's /webhook and /slack/interactions, which imports this package.
package logthrottle

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultInterval is the interval New takes for 0: at most six lines a minute per message.
const DefaultInterval = 10 * time.Second

// maxMessages bounds the messages tracked (they are constants in the code; this only guards
// against a caller that builds them from input).
const maxMessages = 256

// Logger throttles per message. Safe for concurrent use.
type Logger struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex
	lines map[key]*line
}

type key struct {
	level slog.Level
	msg   string
}

type line struct {
	written    time.Time // when the last line was written
	suppressed int       // lines held back since
}

// New throttles log (nil: nothing is logged) to one line per every (0: DefaultInterval) per
// message; now is the clock (nil: time.Now; testing/synctest fakes it too).
func New(log *slog.Logger, every time.Duration, now func() time.Time) *Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if every <= 0 {
		every = DefaultInterval
	}
	if now == nil {
		now = time.Now
	}
	return &Logger{log: log, every: every, now: now, lines: map[key]*line{}}
}

// Warn logs at warn level, throttled.
func (l *Logger) Warn(msg string, args ...any) { l.Log(slog.LevelWarn, msg, args...) }

// Error logs at error level, throttled.
func (l *Logger) Error(msg string, args ...any) { l.Log(slog.LevelError, msg, args...) }

// Log writes msg with args unless a line with the same level and message was written less than
// the interval ago; the line written next says how many were held back.
func (l *Logger) Log(level slog.Level, msg string, args ...any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	now := l.now()
	k := key{level, msg}
	l.mu.Lock()
	ln := l.lines[k]
	if ln == nil {
		if len(l.lines) >= maxMessages {
			clear(l.lines)
		}
		ln = &line{}
		l.lines[k] = ln
	} else if now.Sub(ln.written) < l.every {
		ln.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := ln.suppressed
	ln.written, ln.suppressed = now, 0
	l.mu.Unlock()
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	l.log.Log(ctx, level, msg, args...)
}
