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
	Channel string `json:"channel"`
	TS      string `json:"ts"`
	// DetailsTS is the message's Details reply in its thread ("" for none).
	DetailsTS string    `json:"details_ts,omitempty"`
	Updated   time.Time `json:"updated"`
	// Fields carry what else the bridge learns about the group (acks and
	// silences from Slack actions), kept with the message.
	Fields map[string]string `json:"fields,omitempty"`
	// ResolvedAlerts: set by the delivery that resolves the group, the
	// instances it resolved (kept apart from the entry, see Claim.Done).
	ResolvedAlerts []Instance `json:"resolved_alerts,omitempty"`
}

// resolvedGroup is what a resolved group leaves behind for a while: the
// alert instances it resolved.
type resolvedGroup struct {
	At     time.Time  `json:"at"`
	Alerts []Instance `json:"alerts,omitempty"`
}

// Store maps groupKey to Entry. Safe for concurrent use.
type Store struct {
	mu   sync.Mutex
	path string
	ttl  time.Duration
	m    map[string]Entry
	// resolved groups, kept for resolvedWindow (DefaultResolvedWindow).
	resolved       map[string]resolvedGroup
	resolvedWindow time.Duration
}

type fileFormat struct {
	Version int              `json:"version"`
	Entries map[string]Entry `json:"entries"`
	// Resolved is absent in files written before it existed.
	Resolved map[string]resolvedGroup `json:"resolved,omitempty"`
}

// Open loads path (if it exists; "" keeps the map in memory only) and drops expired entries.
func Open(path string, ttl time.Duration) (*Store, error) {
	s := &Store{path: path, ttl: ttl, m: map[string]Entry{}, resolved: map[string]resolvedGroup{}, resolvedWindow: DefaultResolvedWindow}
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
	for k, r := range f.Resolved {
		s.resolved[k] = r
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
	e.ResolvedAlerts = nil
	s.m[key] = e
	delete(s.resolved, key) // firing again: a new incident
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

// resolve forgets key's message and keeps the alert instances it resolved
// (up to MaxResolvedInstances) for the resolved window.
func (s *Store) resolve(key string, alerts []Instance) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	if alerts = BoundInstances(alerts); len(alerts) > 0 {
		s.resolved[key] = resolvedGroup{At: time.Now(), Alerts: alerts}
	} else {
		delete(s.resolved, key)
	}
	s.expireLocked()
	return s.saveLocked()
}

// stale: key has no live message, resolved within the window, and every
// instance of the notification is one it resolved.
func (s *Store) stale(key string, firing []Instance) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[key]; ok && !s.expired(e) {
		return false
	}
	r, ok := s.resolved[key]
	return ok && time.Since(r.At) <= s.resolvedWindow && Stale(r.Alerts, firing)
}

func (s *Store) expired(e Entry) bool { return s.ttl > 0 && time.Since(e.Updated) > s.ttl }

func (s *Store) expireLocked() {
	for k, e := range s.m {
		if s.expired(e) {
			delete(s.m, k)
		}
	}
	for k, r := range s.resolved {
		if time.Since(r.At) > s.resolvedWindow {
			delete(s.resolved, k)
		}
	}
}

// saveLocked writes a temp file beside the target, fsyncs it and renames it over the target:
// a crash leaves either the old or the new map, never a torn file.
func (s *Store) saveLocked() error {
	if s.path == "" {
		return nil
	}
	data, err := json.Marshal(fileFormat{Version: 1, Entries: s.m, Resolved: s.resolved})
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := renameio.WriteFile(s.path, data, 0o600, renameio.WithTempDir(filepath.Dir(s.path))); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
