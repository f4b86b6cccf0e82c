// Package state remembers, per Alertmanager group, which Slack message (channel, ts) the bridge
// posted, so a later notification for the group updates that message and replies in its thread.
// The map optionally survives restarts in a JSON file written atomically; entries expire.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/renameio/v2"
)

// Entry is one posted message.
type Entry struct {
	Channel string    `json:"channel"`
	TS      string    `json:"ts"`
	Updated time.Time `json:"updated"`
	// Fields carry what else the bridge learns about the group (acks and
	// silences from Slack actions), kept with the message.
	Fields map[string]string `json:"fields,omitempty"`
}

// Store maps groupKey to Entry. Safe for concurrent use.
type Store struct {
	mu   sync.Mutex
	path string
	ttl  time.Duration
	m    map[string]Entry
}

type fileFormat struct {
	Version int              `json:"version"`
	Entries map[string]Entry `json:"entries"`
}

// Open loads path (if it exists; "" keeps the map in memory only) and drops expired entries.
func Open(path string, ttl time.Duration) (*Store, error) {
	s := &Store{path: path, ttl: ttl, m: map[string]Entry{}}
	if path == "" {
		return s, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("read state: %w", err)
	}
	var f fileFormat
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt (move it away to start fresh): %w", path, err)
	}
	for k, e := range f.Entries {
		s.m[k] = e
	}
	s.expireLocked()
	return s, nil
}

// Get returns the live entry for key.
func (s *Store) Get(key string) (Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if ok && s.expired(e) {
		return Entry{}, false
	}
	return e, ok
}

// Put records e for key and persists the map.
func (s *Store) Put(key string, e Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Updated = time.Now()
	s.m[key] = e
	s.expireLocked()
	return s.saveLocked()
}

// Delete forgets key and persists the map.
func (s *Store) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[key]; !ok {
		return nil
	}
	delete(s.m, key)
	return s.saveLocked()
}

func (s *Store) expired(e Entry) bool { return s.ttl > 0 && time.Since(e.Updated) > s.ttl }

func (s *Store) expireLocked() {
	for k, e := range s.m {
		if s.expired(e) {
			delete(s.m, k)
		}
	}
}

// saveLocked writes a temp file beside the target, fsyncs it and renames it over the target:
// a crash leaves either the old or the new map, never a torn file.
func (s *Store) saveLocked() error {
	if s.path == "" {
		return nil
	}
	data, err := json.Marshal(fileFormat{Version: 1, Entries: s.m})
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := renameio.WriteFile(s.path, data, 0o600, renameio.WithTempDir(filepath.Dir(s.path))); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
