package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
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
	// Reported: the thread has the resulting sync's outcome (Outcome).
	Reported bool `json:"reported,omitempty"`
}

// State is what people did on one group's message.
type State struct {
	Ack         *Mark        `json:"ack,omitempty"`
	Silence     *Silence     `json:"silence,omitempty"`
	Remediation *Remediation `json:"remediation,omitempty"`
	// Alerts are the identifying labels of the group's firing alerts as last
	// delivered (by any replica): what the buttons may act on.
	Alerts  []map[string]string `json:"alerts,omitempty"`
	Updated time.Time           `json:"updated"`
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

// fieldKey is the Entry.Fields key holding a group's State (JSON).
const fieldKey = "actions"

// Store keeps State per group (render.GroupID) in the group's shared state
// entry (state.FieldStore), beside its message: every bridge replica sees
// what was done on any of them, and a new message for the group starts clean.
type Store struct {
	fields state.FieldStore
	now    func() time.Time
}

// NewStore keeps the states in fs.
func NewStore(fs state.FieldStore, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{fields: fs, now: now}
}

// Get returns the group's state (zero when none, or when it cannot be read:
// the message then shows no status line rather than none at all).
func (s *Store) Get(ctx context.Context, group string) (State, error) {
	f, err := s.fields.Fields(ctx, group)
	if err != nil {
		return State{}, err
	}
	return decodeState(f[fieldKey])
}

// Update applies fn to the group's state atomically.
func (s *Store) Update(ctx context.Context, group string, fn func(*State)) error {
	var ferr error
	err := s.fields.UpdateFields(ctx, group, func(f map[string]string) {
		st, err := decodeState(f[fieldKey])
		if err != nil {
			ferr = err // a broken state is replaced, but said
		}
		fn(&st)
		st.Updated = s.now()
		data, _ := json.Marshal(st) // times, strings: cannot fail
		f[fieldKey] = string(data)
	})
	if err != nil {
		return fmt.Errorf("action state: %w", err)
	}
	return ferr
}

func decodeState(s string) (State, error) {
	var st State
	if s == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return State{}, fmt.Errorf("decode action state: %w", err)
	}
	return st, nil
}
