package actions

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
)

// Mark is who did something and when.
type Mark struct {
	User string    `json:"user"`
	At   time.Time `json:"at"`
}

// Silence is the group's silence made from Slack.
type Silence struct {
	Mark
	Until time.Time `json:"until"`
	IDs   []string  `json:"ids"`
}

// Remediation is the last retry or resume asked from Slack.
type Remediation struct {
	Mark
	Kind Kind   `json:"kind"`
	App  string `json:"app"`
}

// State is what people did on one group's message.
type State struct {
	Ack         *Mark        `json:"ack,omitempty"`
	Silence     *Silence     `json:"silence,omitempty"`
	Remediation *Remediation `json:"remediation,omitempty"`
	Updated     time.Time    `json:"updated"`
}

// Status is how the message shows s at now.
func (s State) Status(now time.Time) render.Status {
	var st render.Status
	if s.Ack != nil {
		st.Acked = true
		st.Lines = append(st.Lines, "👀 Acked by <@"+s.Ack.User+"> at "+clock(s.Ack.At))
	}
	if s.Silence != nil && now.Before(s.Silence.Until) {
		st.Silenced = true
		until := clock(s.Silence.Until)
		if s.Silence.Until.UTC().YearDay() != now.UTC().YearDay() {
			until = s.Silence.Until.UTC().Format("Jan 2 15:04 UTC")
		}
		st.Lines = append(st.Lines, "🔕 Silenced by <@"+s.Silence.User+"> until "+until)
	}
	if r := s.Remediation; r != nil {
		verb := "Remediation resumed"
		if r.Kind == KindRetry {
			verb = "Sync retried"
		}
		st.Lines = append(st.Lines, "🔁 "+verb+" by <@"+r.User+"> at "+clock(r.At)+" ("+r.App+")")
	}
	return st
}

// clock is "14:00 UTC".
func clock(t time.Time) string {
	return t.UTC().Format("15:04 UTC")
}

// Store keeps State per group (render.GroupID). The bridge keeps it in a local file beside its
// message state for now; shared state for several bridge replicas replaces this
// implementation, not the interface.
type Store interface {
	Get(group string) State
	// Update changes the group's state under the store's lock.
	Update(group string, fn func(*State)) error
}

// MemoryStore is a Store in memory, optionally kept in a JSON file written atomically; states
// untouched for ttl are forgotten.
type MemoryStore struct {
	mu   sync.Mutex
	ttl  time.Duration
	now  func() time.Time
	m    map[string]State
	path string
}

type storeFile struct {
	Version int              `json:"version"`
	Groups  map[string]State `json:"groups"`
}

// OpenStore loads path (if it exists; "" keeps the states in memory only).
func OpenStore(path string, ttl time.Duration, now func() time.Time) (*MemoryStore, error) {
	s := NewMemoryStore(ttl, now)
	s.path = path
	if path == "" {
		return s, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("read action state: %w", err)
	}
	var f storeFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("action state file %s is corrupt (move it away to start fresh): %w", path, err)
	}
	for k, st := range f.Groups {
		s.m[k] = st
	}
	return s, nil
}

// NewMemoryStore returns an empty store.
func NewMemoryStore(ttl time.Duration, now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{ttl: ttl, now: now, m: map[string]State{}}
}

// Get returns the group's state (zero when none).
func (s *MemoryStore) Get(group string) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[group]
}

// Update applies fn to the group's state.
func (s *MemoryStore) Update(group string, fn func(*State)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, st := range s.m {
		if s.ttl > 0 && now.Sub(st.Updated) > s.ttl {
			delete(s.m, k)
		}
	}
	st := s.m[group]
	fn(&st)
	st.Updated = now
	s.m[group] = st
	if s.path == "" {
		return nil
	}
	data, err := json.Marshal(storeFile{Version: 1, Groups: s.m})
	if err != nil {
		return fmt.Errorf("encode action state: %w", err)
	}
	if err := renameio.WriteFile(s.path, data, 0o600, renameio.WithTempDir(filepath.Dir(s.path))); err != nil {
		return fmt.Errorf("write action state: %w", err)
	}
	return nil
}
