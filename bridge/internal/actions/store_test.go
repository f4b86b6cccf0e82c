package actions

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreFileSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actions-state.json")
	clock := now
	s, err := OpenStore(path, time.Hour, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update("g1", func(st *State) { st.Ack = &Mark{User: "U1", At: clock} }); err != nil {
		t.Fatal(err)
	}
	again, err := OpenStore(path, time.Hour, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	if st := again.Get("g1"); st.Ack == nil || st.Ack.User != "U1" {
		t.Fatalf("after reopening: %+v", st)
	}
	if lines := again.Get("g1").Status(clock).Lines; len(lines) != 1 || !strings.Contains(lines[0], "Acked by <@U1> at 10:42 UTC") {
		t.Errorf("status %v", lines)
	}
	// Untouched for longer than the TTL: forgotten at the next write.
	clock = clock.Add(2 * time.Hour)
	_ = again.Update("g2", func(st *State) {})
	if st := again.Get("g1"); st.Ack != nil {
		t.Errorf("expired state kept: %+v", st)
	}
	if err := os.WriteFile(path, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(path, time.Hour, nil); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt file: %v", err)
	}
}
