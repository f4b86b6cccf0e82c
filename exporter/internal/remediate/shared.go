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
// store: a replica that does not lead keeps no state and exports none; one
// that starts leading (or whose last write failed) reads the shared state
// first. It reports whether Observe may decide.
func (e *Engine) takeTurn(ctx context.Context) bool {
	_, leading := e.leadingUntil()
	e.mu.Lock()
	switch {
	case !leading && e.leading:
		e.leading = false
		for key, st := range e.apps {
			e.metrics.forget(st)
			delete(e.apps, key)
		}
		e.mu.Unlock()
		e.log.Info("remediation stands by: this replica does not lead")
		return false
	case !leading:
		e.mu.Unlock()
		return false
	case !e.leading:
		e.leading, e.reload = true, true
		e.log.Info("remediation active: this replica leads")
	}
	reload := e.reload && e.store != nil
	e.mu.Unlock()
	if !reload {
		return true
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	data, err := e.store.Load(lctx)
	if err != nil {
		e.log.Error("read remediation state; no syncs until it can be read", "store", e.store, "err", err)
		return false
	}
	apps := map[appKey]*appState{}
	corrupt := false
	if data != nil {
		if apps, err = decodeState(data); err != nil {
			e.log.Error("remediation state unusable, starting empty and replacing it", "store", e.store, "err", err)
			apps, corrupt = map[appKey]*appState{}, true
		}
	}
	for _, st := range apps {
		st.InFlight = false // as after a crash: the attempt stays counted
	}
	e.mu.Lock()
	for _, st := range e.apps {
		e.metrics.forget(st)
	}
	e.apps, e.reload = apps, false
	e.mu.Unlock()
	e.log.Debug("remediation state read", "store", e.store, "apps", len(apps))
	if corrupt {
		if err := e.persist(); err != nil {
			e.log.Error("replace remediation state", "store", e.store, "err", err)
			return false
		}
	}
	return true
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
