package slack

import (
	"sync"
	"time"
)

// Pacer hands out send slots per channel, at most one per interval, so the bridge stays under
// Slack's ~1 message/s/channel instead of collecting 429s.
type Pacer struct {
	mu       sync.Mutex
	interval time.Duration
	next     map[string]time.Time
}

// NewPacer returns a pacer; interval <= 0 turns pacing off.
func NewPacer(interval time.Duration) *Pacer {
	return &Pacer{interval: interval, next: map[string]time.Time{}}
}

// Reserve books the next slot for key and returns how long to wait for it; ok=false (nothing
// booked) when the slot would come after deadline.
func (p *Pacer) Reserve(key string, now, deadline time.Time) (wait time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	slot := now
	if n, found := p.next[key]; found && n.After(now) {
		slot = n
	}
	if slot.After(deadline) {
		return 0, false
	}
	if p.interval > 0 {
		if len(p.next) > 1024 {
			p.sweepLocked(now)
		}
		p.next[key] = slot.Add(p.interval)
	}
	return slot.Sub(now), true
}

// Block keeps key's slots closed until t (Slack told us to wait with Retry-After).
func (p *Pacer) Block(key string, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.next[key]) {
		p.next[key] = t
	}
}

func (p *Pacer) sweepLocked(now time.Time) {
	for k, t := range p.next {
		if !t.After(now) {
			delete(p.next, k)
		}
	}
}
