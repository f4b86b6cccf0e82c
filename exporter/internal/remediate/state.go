package remediate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
)

// stateVersion is the state file's format version. Version 1 kept five
// booleans (paused, pending, inFlight, dryRun, forbiddenLogged) where
// version 2 keeps one phase; version 1 is still read.
const stateVersion = 2

// appState is what the engine remembers about one app. The exported fields
// go to the state file; the rest lives in memory only.
type appState struct {
	Project  string `json:"project"`
	Revision string `json:"revision,omitempty"`
	Phase    Phase  `json:"phase,omitempty"` // "" reads as idle
	// StreakStart is when the current problem streak was first seen; zero
	// while the app has no problem.
	StreakStart time.Time `json:"streakStart,omitzero"`
	// Attempts counts attempts in the current streak; an attempt is recorded
	// (and written to disk) before the sync call is made.
	Attempts int `json:"attempts,omitempty"`
	// NotBefore is the earliest time of the next attempt.
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Errors counts consecutive refused calls (403, 5xx, timeouts): they are
	// not attempts but back off like them.
	Errors int `json:"errors,omitempty"`
	// RequestedAt is when the last attempt was recorded; an operation that
	// started at or after it is ours.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// DryRun: the attempt in PhaseAwaiting was only decided (dry-run mode).
	DryRun bool `json:"dryRun,omitempty"`
	// Resumed: a person asked for one more attempt of the paused app (Engine.Resume); it
	// counts as paused (the metric, so the alert does not flap) until that attempt's outcome.
	Resumed bool `json:"resumed,omitempty"`
	// History, PausedAt and LastReset tell the story (see Story).
	History   []Attempt `json:"history,omitempty"`
	PausedAt  time.Time `json:"pausedAt,omitzero"`
	LastReset *Reset    `json:"lastReset,omitempty"`
	// TerminatedOp is the start of the operation we asked Argo CD to terminate: each
	// operation is terminated once.
	TerminatedOp time.Time `json:"terminatedOp,omitzero"`
	// RefreshFor is the attempt count at which a hard refresh was requested (the refresh
	// precedes attempt RefreshFor+1), RefreshAt when, RefreshDone whether the app has been
	// reconciled since (or the call failed: the attempt goes ahead).
	RefreshFor  int       `json:"refreshFor,omitempty"`
	RefreshAt   time.Time `json:"refreshAt,omitzero"`
	RefreshDone bool      `json:"refreshDone,omitempty"`
	// Actions are what the engine did besides syncs (terminate, ...), newest last.
	Actions []Action `json:"actions,omitempty"`
	// LastHealthy is the last revision seen Synced and Healthy (what a rollback goes back to).
	LastHealthy *HealthyRevision `json:"lastHealthy,omitempty"`
	// Hold: the app was rolled back from a bad revision (see Hold).
	Hold *Hold `json:"hold,omitempty"`
	// RollbackFor is the bad revision the engine last rolled back (or tried to) on its own:
	// one automatic rollback per revision.
	RollbackFor string `json:"rollbackFor,omitempty"`
	// ResetFrom is the revision the current streak failed at, while a new target revision waits
	// for the manifests comparison that decides --remediation.reset-on-new-revision;
	// ResetChecked the last target revision found to render the same manifests.
	ResetFrom    string `json:"resetFrom,omitempty"`
	ResetChecked string `json:"resetChecked,omitempty"`

	namespace, name string
	terminateRetry  time.Time // after a terminate call: not again (for that operation) before
	// running is the start of the operation Running at the last observation (zero when
	// none), runningMsg its message: what a person's Terminate ends.
	running         time.Time
	runningMsg      string
	autoSync        bool      // Argo CD auto-sync at the last observation
	compareRetry    time.Time // a held app's manifests comparison: not again before
	gen             uint64    // last Observe that saw the app in scope
	counted         bool      // its syncs_total series exist
	forbiddenLogged bool      // the 403 warning of this streak was written
}

// appStateV1 is a version 1 entry: the booleans version 2 folds into Phase.
type appStateV1 struct {
	appState
	Paused   bool `json:"paused"`
	Pending  bool `json:"pending"`
	InFlight bool `json:"inFlight"`
}

// phase maps version 1's booleans to a phase.
func (v *appStateV1) phase() Phase {
	switch {
	case v.InFlight:
		return PhaseInFlight
	case v.Pending:
		return PhaseAwaiting
	case v.Paused:
		return PhasePaused
	}
	return v.waiting()
}

// worthKeeping reports whether the entry holds anything a restart must not lose.
func (s *appState) worthKeeping() bool {
	return s.Attempts > 0 || s.Errors > 0 || !s.StreakStart.IsZero() || (s.Phase != PhaseIdle && s.Phase != "") || s.Hold != nil
}

// appKey identifies an app: Application names are unique per namespace. A
// struct key spares Observe a string concatenation per app and poll.
type appKey struct{ namespace, name string }

func (k appKey) String() string { return k.namespace + "/" + k.name }

// stateFile is the JSON document on disk.
type stateFile struct {
	Version int                        `json:"version"`
	Apps    map[string]json.RawMessage `json:"apps"` // key: namespace/name
}

// decodeState parses and checks a state document (version 1 or 2). Any
// error means it is corrupt: the caller starts empty.
func decodeState(data []byte) (map[appKey]*appState, error) {
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if f.Version != 1 && f.Version != stateVersion {
		return nil, fmt.Errorf("unsupported version %d (want 1 or %d)", f.Version, stateVersion)
	}
	apps := make(map[appKey]*appState, len(f.Apps))
	for key, raw := range f.Apps {
		ns, name, ok := strings.Cut(key, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("app key %q is not namespace/name", key)
		}
		if string(raw) == "null" {
			return nil, fmt.Errorf("app %q: null entry", key)
		}
		st := &appState{}
		if f.Version == 1 {
			var v1 appStateV1
			if err := json.Unmarshal(raw, &v1); err != nil {
				return nil, fmt.Errorf("app %q: %w", key, err)
			}
			*st = v1.appState
			st.Phase = v1.phase()
		} else if err := json.Unmarshal(raw, st); err != nil {
			return nil, fmt.Errorf("app %q: %w", key, err)
		}
		switch st.Phase {
		case "":
			st.Phase = PhaseIdle
		case PhaseIdle, PhaseGrace, PhaseDue, PhaseInFlight, PhaseAwaiting, PhasePaused:
		default:
			return nil, fmt.Errorf("app %q: unknown phase %q", key, st.Phase)
		}
		if st.Attempts < 0 || st.Errors < 0 {
			return nil, fmt.Errorf("app %q: negative counter", key)
		}
		st.namespace, st.name = ns, name
		apps[appKey{ns, name}] = st
	}
	return apps, nil
}

// encodeState renders the entries worth keeping.
func encodeState(apps map[appKey]*appState) ([]byte, error) {
	f := struct {
		Version int                  `json:"version"`
		Apps    map[string]*appState `json:"apps"`
	}{Version: stateVersion, Apps: make(map[string]*appState)}
	for key, st := range apps {
		if st.worthKeeping() {
			f.Apps[key.String()] = st
		}
	}
	return json.Marshal(f)
}

// Store keeps the whole remediation state document across restarts: the
// engine encodes and decodes it, a store only holds the bytes (a file here;
// a Kubernetes ConfigMap fits the same two methods).
type Store interface {
	// Load returns the last saved document; nil and no error when there is none.
	Load() ([]byte, error)
	// Save replaces the document atomically: a crash leaves the old or the new one.
	Save(doc []byte) error
}

// FileStore is a Store in one file.
type FileStore struct{ Path string }

// Load reads the file; a missing file is no document.
func (f FileStore) Load() ([]byte, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	return data, nil
}

// Save replaces the file so a crash leaves either the old or the new
// content: a temp file beside it (the only writable place in a read-only
// container), fsync, rename.
func (f FileStore) Save(doc []byte) error {
	if err := renameio.WriteFile(f.Path, doc, 0o600, renameio.WithTempDir(filepath.Dir(f.Path))); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	return nil
}

// loadState reads the state from store. No document is an empty state; an
// unreadable or corrupt one is reported with corrupt=true so the caller can
// log it and replace it.
func loadState(store Store) (apps map[appKey]*appState, corrupt bool, err error) {
	data, err := store.Load()
	if err != nil {
		return map[appKey]*appState{}, true, err
	}
	if data == nil {
		return map[appKey]*appState{}, false, nil
	}
	apps, err = decodeState(data)
	if err != nil {
		return map[appKey]*appState{}, true, fmt.Errorf("remediation state: %w", err)
	}
	return apps, false, nil
}
