package actions

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
)

// get is the group's state in a test; no error expected.
func (s *Store) get(t *testing.T) State {
	t.Helper()
	st, err := s.Get(t.Context(), groupID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The acks live in the bridge's state file with the message: a restart keeps both.
func TestStoreLivesInTheGroupState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	gs, err := state.Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(gs, func() time.Time { return now })
	if err := s.Update(t.Context(), groupID, func(st *State) { st.Ack = &Mark{User: alice, At: now} }); !errors.Is(err, state.ErrNoGroup) {
		t.Fatalf("ack without a message = %v, want ErrNoGroup", err)
	}
	if err := gs.Put(groupKey, state.Entry{Channel: "C1", TS: "1.1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(t.Context(), groupID, func(st *State) { st.Ack = &Mark{User: alice, At: now} }); err != nil {
		t.Fatal(err)
	}
	again, err := state.Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := NewStore(again, nil).get(t)
	if st.Ack == nil || st.Ack.User != alice || !st.Ack.At.Equal(now) {
		t.Fatalf("after a restart: %+v", st)
	}
	if e, _ := again.Get(groupKey); e.TS != "1.1" {
		t.Errorf("the message was lost: %+v", e)
	}
}

// A hand-broken state is reported, and the next action replaces it.
func TestStoreCorruptFieldReported(t *testing.T) {
	gs, _ := state.Open("", 0)
	if err := gs.Put(groupKey, state.Entry{Channel: "C1", TS: "1.1", Fields: map[string]string{fieldKey: "{"}}); err != nil {
		t.Fatal(err)
	}
	s := NewStore(gs, nil)
	if _, err := s.Get(t.Context(), groupID); err == nil {
		t.Fatal("corrupt state read without error")
	}
	if err := s.Update(t.Context(), groupID, func(st *State) { st.Ack = &Mark{User: bob} }); err == nil {
		t.Fatal("corrupt state replaced silently")
	}
	if st := s.get(t); st.Ack == nil || st.Ack.User != bob {
		t.Fatalf("state = %+v, want bob's ack", st)
	}
}
