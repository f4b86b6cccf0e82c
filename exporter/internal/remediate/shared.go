package remediate

import (
	"errors"
	"time"
)

// Leadership says whether this replica may remediate now, and by when any
// sync call it starts must be over (the earliest another replica can lead).
type Leadership interface {
	Leading() (until time.Time, ok bool)
}

// errNotLeading ends a sync call that waited for a slot past our leadership.
var errNotLeading = errors.New("not leading")

// leadingUntil is Leadership.Leading; without an election, always.
func (e *Engine) leadingUntil() (time.Time, bool) {
	if e.leader == nil {
		return time.Time{}, true
	}
	return e.leader.Leading()
}

// takeTurn runs at the start of each Observe of an engine with a leader,
// whose Store is shared by the replicas. A replica that does not lead decides
// nothing: it exports the stored state read-only, so the remediation series
// (and the alerts on them) stay put through a handover. One that starts
// leading, or whose last write failed, reads the shared state before it
// decides: every sync call then follows a write that counted it over the
// latest count (docs/remediation.md). It reports whether Observe may decide.
func (e *Engine) takeTurn() bool {
	_, leading := e.leadingUntil()
	e.mu.Lock()
	was := e.leading
	e.leading = leading
	if leading && !was {
		e.reload = true
	}
	reload := e.reload
	e.mu.Unlock()
	switch {
	case !leading && was:
		e.log.Info("remediation stands by: this replica does not lead")
	case leading && !was:
		e.log.Info("remediation active: this replica leads")
	}
	if !leading {
		if e.store == nil {
			e.install(map[appKey]*appState{})
		} else if apps, _, err := e.read(); err != nil {
			e.log.Debug("read remediation state", "err", err)
		} else {
			e.install(apps)
		}
		return false
	}
	if !reload || e.store == nil {
		return true
	}
	apps, corrupt, err := e.read()
	if err != nil {
		e.log.Error("read remediation state; no syncs until it can be read", "err", err)
		return false
	}
	e.install(apps)
	e.mu.Lock()
	e.reload = false
	e.mu.Unlock()
	if corrupt {
		if err := e.persist(); err != nil {
			e.log.Error("replace remediation state", "err", err)
			return false
		}
	}
	return true
}

// read loads the shared state. Unlike loadState, a failed read is not a
// corrupt document: nobody may decide on it, and nothing replaces it.
func (e *Engine) read() (apps map[appKey]*appState, corrupt bool, err error) {
	data, err := e.store.Load()
	if err != nil {
		return nil, false, err
	}
	apps = map[appKey]*appState{}
	if data != nil {
		if apps, err = decodeState(data); err != nil {
			e.log.Error("remediation state unusable, starting empty and replacing it", "err", err)
			apps, corrupt = map[appKey]*appState{}, true
		}
	}
	for _, st := range apps {
		// As after a crash: an attempt in flight stays counted.
		e.cfg.transition(st, event{kind: evRestart}, time.Time{})
	}
	return apps, corrupt, nil
}

// install replaces the engine's state (and drops the old apps' counters).
func (e *Engine) install(apps map[appKey]*appState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, st := range e.apps {
		e.metrics.forget(st)
	}
	e.apps = apps
}

// persistShared writes the shared state, only while leading. A failed write
// means our copy may be stale: the next Observe reads again.
func (e *Engine) persistShared() error {
	if _, ok := e.leadingUntil(); !ok {
		return errNotLeading
	}
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	e.mu.Lock()
	data, err := encodeState(e.apps)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	if err := e.store.Save(data); err != nil {
		e.mu.Lock()
		e.reload = true
		e.mu.Unlock()
		return err
	}
	return nil
}
