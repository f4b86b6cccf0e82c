package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
)

// ErrNoGroup: no live entry for the group (never posted, resolved, or expired).
var ErrNoGroup = errors.New("no message on record for this group")

// GroupID is the short, fixed-size name of an Alertmanager group: Slack
// buttons carry it (a groupKey can be longer than a button value may be),
// and FieldStore looks entries up by it.
func GroupID(groupKey string) string {
	sum := sha256.Sum256([]byte(groupKey))
	return hex.EncodeToString(sum[:12])
}

// FieldStore reads and changes a group's Entry.Fields outside a
// notification (the Slack actions), by GroupID. Every Groups
// implementation is one, so every replica sees what another recorded.
type FieldStore interface {
	// Fields returns the group's Fields; ErrNoGroup without a live entry.
	Fields(ctx context.Context, id string) (map[string]string, error)
	// UpdateFields applies fn to a copy of the group's Fields and stores the
	// result atomically (compare-and-swap where shared); ErrNoGroup without
	// a live entry.
	UpdateFields(ctx context.Context, id string, fn func(map[string]string)) error
}

var _ FieldStore = (*Store)(nil)

// find returns the key of the live entry named id; the map is small (one
// entry per active group), a scan is cheaper than a second index to keep.
func (s *Store) findLocked(id string) (string, bool) {
	for k, e := range s.m {
		if !s.expired(e) && GroupID(k) == id {
			return k, true
		}
	}
	return "", false
}

// Fields implements FieldStore.
func (s *Store) Fields(_ context.Context, id string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.findLocked(id)
	if !ok {
		return nil, ErrNoGroup
	}
	return maps.Clone(s.m[k].Fields), nil
}

// UpdateFields implements FieldStore.
func (s *Store) UpdateFields(_ context.Context, id string, fn func(map[string]string)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.findLocked(id)
	if !ok {
		return ErrNoGroup
	}
	e := s.m[k]
	f := maps.Clone(e.Fields)
	if f == nil {
		f = map[string]string{}
	}
	fn(f)
	e.Fields = f
	s.m[k] = e
	return s.saveLocked()
}
