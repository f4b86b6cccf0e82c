// Package dedupe makes delivery idempotent: the same notification (groupKey, status and the
// sorted alert fingerprints with their startsAt, notification.Message.Fingerprints) seen again within a window is acknowledged without posting, which
// is what an HA Alertmanager pair sending the same group twice needs. A duplicate that arrives
// while the first copy is still being delivered waits for that outcome instead of racing it.
package dedupe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// Key identifies a notification's content.
func Key(groupKey, status string, sortedFingerprints []string) string {
	h := sha256.New()
	h.Write([]byte(groupKey))
	h.Write([]byte{0})
	h.Write([]byte(status))
	h.Write([]byte{0})
	h.Write([]byte(strings.Join(sortedFingerprints, ",")))
	return hex.EncodeToString(h.Sum(nil))
}

type entry struct {
	done chan struct{} // closed when the delivery finished
	ok   bool
	at   time.Time
}

// Window remembers delivered keys for a duration. Safe for concurrent use; memory is bounded
// by the number of distinct notifications per window.
type Window struct {
	mu     sync.Mutex
	window time.Duration
	m      map[string]*entry
	calls  int
}

// New returns a window; d <= 0 disables deduplication.
func New(d time.Duration) *Window {
	return &Window{window: d, m: map[string]*entry{}}
}

// Begin claims key. It reports dup=true when key was delivered within the window (acknowledge
// without posting). Otherwise the caller delivers and must call finish with the outcome; a
// failed delivery releases the key so a retry posts.
func (w *Window) Begin(ctx context.Context, key string) (dup bool, finish func(ok bool), err error) {
	if w.window <= 0 {
		return false, func(bool) {}, nil
	}
	for {
		w.mu.Lock()
		w.sweepLocked()
		e, found := w.m[key]
		if !found {
			e = &entry{done: make(chan struct{})}
			w.m[key] = e
			w.mu.Unlock()
			return false, w.finisher(key, e), nil
		}
		select {
		case <-e.done:
			if e.ok && time.Since(e.at) <= w.window {
				w.mu.Unlock()
				return true, nil, nil
			}
			delete(w.m, key)
			w.mu.Unlock()
			continue
		default:
		}
		w.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return false, nil, ctx.Err()
		}
	}
}

func (w *Window) finisher(key string, e *entry) func(bool) {
	var once sync.Once
	return func(ok bool) {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			e.ok, e.at = ok, time.Now()
			if !ok && w.m[key] == e {
				delete(w.m, key)
			}
			close(e.done)
		})
	}
}

// sweepLocked drops expired entries every 64 calls, keeping memory bounded without a goroutine.
func (w *Window) sweepLocked() {
	w.calls++
	if w.calls%64 != 0 {
		return
	}
	now := time.Now()
	for k, e := range w.m {
		select {
		case <-e.done:
			if now.Sub(e.at) > w.window {
				delete(w.m, k)
			}
		default:
		}
	}
}
