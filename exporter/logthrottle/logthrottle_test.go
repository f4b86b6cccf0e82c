package logthrottle

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// clock is an injected clock the test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	if s == "" {
		return nil
	}
	out := strings.Split(s, "\n")
	for i, l := range out {
		out[i] = l[strings.Index(l, "level="):] // drop the time
	}
	return out
}

func TestFirstThenOncePerIntervalWithCount(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), 10*time.Second, c.now)
	steps := []struct {
		advance time.Duration
		msg     string
		n       int // calls
	}{
		{0, "request refused", 1},                // written
		{time.Second, "request refused", 500},    // held back
		{0, "other refusal", 2},                  // its own budget: the first written
		{9 * time.Second, "request refused", 1},  // 10 s after the first: written, 500 held back
		{5 * time.Second, "request refused", 3},  // held back
		{20 * time.Second, "request refused", 1}, // written, 3 held back
		{20 * time.Second, "request refused", 1}, // written, none held back
	}
	for _, st := range steps {
		c.t = c.t.Add(st.advance)
		for range st.n {
			l.Warn(st.msg, "remote", "192.0.2.1:1234")
		}
	}
	want := []string{
		`level=WARN msg="request refused" remote=192.0.2.1:1234`,
		`level=WARN msg="other refusal" remote=192.0.2.1:1234`,
		`level=WARN msg="request refused" remote=192.0.2.1:1234 suppressed=500`,
		`level=WARN msg="request refused" remote=192.0.2.1:1234 suppressed=3`,
		`level=WARN msg="request refused" remote=192.0.2.1:1234`,
	}
	got := lines(&buf)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A flood from many goroutines on testing/synctest's clock: a minute of it writes one line per
// interval, however many requests there were.
func TestFloodOnFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var buf bytes.Buffer
		l := New(slog.New(slog.NewTextHandler(&lockedWriter{&mu, &buf}, nil)), 0, nil)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 600 { // 100 ms apart: 60 s
					l.Warn("interaction refused")
					time.Sleep(100 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if got := len(lines(&buf)); got != 6 {
			t.Errorf("%d lines in a minute of 4800 refusals, want 6 (one per 10 s):\n%s", got, buf.String())
		}
	})
}

func TestDisabledLevelCostsNothing(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError})), 0, nil)
	l.Warn("x")
	l.Error("y")
	if got := lines(&buf); len(got) != 1 || !strings.Contains(got[0], "msg=y") {
		t.Errorf("log %q", got)
	}
	if len(l.lines) != 1 {
		t.Errorf("%d messages tracked, want 1 (the disabled one not)", len(l.lines))
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
