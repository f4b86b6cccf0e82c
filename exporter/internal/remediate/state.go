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

// stateVersion is the state file's format version.
const stateVersion = 1

// appState is what the engine remembers about one app. The exported fields
// go to the state file; the rest lives in memory only.
type appState struct {
	Project  string `json:"project"`
	Revision string `json:"revision,omitempty"`
	// StreakStart is when the current problem streak was first seen; zero
	// while the app has no problem.
	StreakStart time.Time `json:"streakStart,omitzero"`
	// Attempts counts attempts in the current streak; an attempt is recorded
	// (and written to disk) before the sync call is made.
	Attempts int  `json:"attempts,omitempty"`
	Paused   bool `json:"paused,omitempty"`
	// Resumed: a person asked for one more attempt of the paused app (Resume); it stays Paused
	// (the alert keeps firing) until that attempt's outcome.
	Resumed bool `json:"resumed,omitempty"`
	// NotBefore is the earliest time of the next attempt.
	NotBefore time.Time `json:"notBefore,omitzero"`
	// Errors counts consecutive refused calls (403, 5xx, timeouts): they are
	// not attempts but back off like them.
	Errors int `json:"errors,omitempty"`
	// Pending: the last attempt's outcome has not been read yet.
	Pending bool `json:"pending,omitempty"`
	// RequestedAt is when the last attempt was recorded; an operation that
	// started at or after it is ours.
	RequestedAt time.Time `json:"requestedAt,omitzero"`
	// InFlight: the attempt is recorded but Argo CD has not answered. Found
	// at load, it means we crashed mid-call, and the attempt stays counted.
	InFlight bool `json:"inFlight,omitempty"`
	// DryRun: the last attempt was only decided (dry-run mode).
	DryRun          bool `json:"dryRun,omitempty"`
	ForbiddenLogged bool `json:"forbiddenLogged,omitempty"`

	namespace, name string
	gen             uint64 // last Observe that saw the app in scope
	counted         bool   // its syncs_total series exist
}

// worthKeeping reports whether the entry holds anything a restart must not lose.
func (s *appState) worthKeeping() bool {
	return s.Attempts > 0 || s.Paused || s.Errors > 0 || s.Pending || s.InFlight || !s.StreakStart.IsZero()
}

// appKey identifies an app: Application names are unique per namespace. A
// struct key spares Observe a string concatenation per app and poll.
type appKey struct{ namespace, name string }

func (k appKey) String() string { return k.namespace + "/" + k.name }

// stateFile is the JSON document on disk.
type stateFile struct {
	Version int                  `json:"version"`
	Apps    map[string]*appState `json:"apps"` // key: namespace/name
}

// decodeState parses and checks a state file. Any error means the file is
// corrupt: the caller starts empty.
func decodeState(data []byte) (map[appKey]*appState, error) {
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if f.Version != stateVersion {
		return nil, fmt.Errorf("unsupported version %d (want %d)", f.Version, stateVersion)
	}
	apps := make(map[appKey]*appState, len(f.Apps))
	for key, st := range f.Apps {
		ns, name, ok := strings.Cut(key, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("app key %q is not namespace/name", key)
		}
		if st == nil {
			return nil, fmt.Errorf("app %q: null entry", key)
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
	f := stateFile{Version: stateVersion, Apps: make(map[string]*appState)}
	for key, st := range apps {
		if st.worthKeeping() {
			f.Apps[key.String()] = st
		}
	}
	return json.Marshal(f)
}

// loadState reads the state file. A missing file is an empty state; an
// unreadable or corrupt one is reported with corrupt=true so the caller can
// log it and replace it.
func loadState(path string) (apps map[appKey]*appState, corrupt bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[appKey]*appState{}, false, nil
	}
	if err != nil {
		return map[appKey]*appState{}, true, fmt.Errorf("read state file: %w", err)
	}
	apps, err = decodeState(data)
	if err != nil {
		return map[appKey]*appState{}, true, fmt.Errorf("state file %s: %w", path, err)
	}
	return apps, false, nil
}

// writeFileAtomic replaces path with data so a crash leaves either the old or
// the new content: a temp file beside it (the only writable place in a
// read-only container), fsync, rename.
func writeFileAtomic(path string, data []byte) error {
	if err := renameio.WriteFile(path, data, 0o600, renameio.WithTempDir(filepath.Dir(path))); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	return nil
}
