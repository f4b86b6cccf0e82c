package remediate

import (
	"context"
	"errors"
	"time"
)

// Store keeps the state document where every replica can read it (a
// ConfigMap). Save must fail when another writer saved since this store's
// last Load or Save: the engine then reads again before it decides, so each
// sync call follows a write that counted it over the latest count.
type Store interface {
	// Load returns the document, nil when there is none.
	Load(ctx context.Context) ([]byte, error)
	Save(ctx context.Context, data []byte) error
}

// Leadership says whether this replica may remediate now, and by when any
// sync call it starts must be over (the earliest another replica can lead).
type Leadership interface {
	Leading() (until time.Time, ok bool)
}

// storeTimeout bounds one read or write of the shared state.
const storeTimeout = 10 * time.Second

// errNotLeading ends a sync call that waited for a slot past our leadership.
var errNotLeading = errors.New("not leading")

// leadingUntil is Leadership.Leading; without an election, always.
func (e *Engine) leadingUntil() (time.Time, bool) {
	if e.leader == nil {
		return time.Time{}, true
	}
	return e.leader.Leading()
}

// takeTurn runs at the start of each Observe with a leader or a shared
// store. A replica that does not lead decides nothing; with a shared store it
// exports the stored state read-only, so the remediation series (and the
// alerts on them) stay put through a handover. One that starts leading (or
// whose last write failed) reads the shared state before deciding. It
// reports whether Observe may decide.
func (e *Engine) takeTurn(ctx context.Context) bool {
	_, leading := e.leadingUntil()
	e.mu.Lock()
	was := e.leading
	e.leading = leading
	if leading && !was {
		e.reload = true
	}
	reload := e.reload && e.store != nil
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
		} else if apps, _, err := e.read(ctx); err != nil {
			e.log.Debug("read remediation state", "store", e.store, "err", err)
		} else {
			e.install(apps)
		}
		return false
	}
	if !reload {
		return true
	}
	apps, corrupt, err := e.read(ctx)
	if err != nil {
		e.log.Error("read remediation state; no syncs until it can be read", "store", e.store, "err", err)
		return false
	}
	e.install(apps)
	e.mu.Lock()
	e.reload = false
	e.mu.Unlock()
	if corrupt {
		if err := e.persist(); err != nil {
			e.log.Error("replace remediation state", "store", e.store, "err", err)
			return false
		}
	}
	return true
}

// read loads the shared state. A document that does not decode is corrupt:
// an empty state, which a leader writes over.
func (e *Engine) read(ctx context.Context) (apps map[appKey]*appState, corrupt bool, err error) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	data, err := e.store.Load(lctx)
	if err != nil {
		return nil, false, err
	}
	apps = map[appKey]*appState{}
	if data != nil {
		if apps, err = decodeState(data); err != nil {
			e.log.Error("remediation state unusable, starting empty and replacing it", "store", e.store, "err", err)
			apps, corrupt = map[appKey]*appState{}, true
		}
	}
	for _, st := range apps {
		st.InFlight = false // as after a crash: the attempt stays counted
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

// persistShared writes the state to the shared store, only while leading.
// A failed write means our copy may be stale: the next Observe reads again.
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
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := e.store.Save(ctx, data); err != nil {
		e.mu.Lock()
		e.reload = true
		e.mu.Unlock()
		return err
	}
	return nil
}
