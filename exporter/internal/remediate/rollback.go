package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// Rollback policies (Config.Rollback).
const (
	RollbackOff   = "off"   // never offer or roll back
	RollbackOffer = "offer" // the story offers the rollback; a person decides (the default)
	RollbackAuto  = "auto"  // the engine rolls back itself when remediation pauses
)

// ActionRollback is the action label of a rollback (argocd_monitor_remediation_actions_total).
const ActionRollback = "rollback"

// Rollbacker redeploys a status.history entry of an app and reads that history;
// *argocd.Client implements it. The engine needs one for Config.Rollback auto and
// Engine.Rollback.
type Rollbacker interface {
	Rollback(ctx context.Context, ref argocd.AppRef, id int64) error
	GetDetail(ctx context.Context, name, appNamespace, project string) (argocd.AppDetail, error)
}

// Manifester reads an app's rendered manifests at a revision; *argocd.Client implements it.
// Without one a hold ends only when a person resumes (or the app turns Synced and Healthy).
type Manifester interface {
	Manifests(ctx context.Context, ref argocd.AppRef, revision string) ([]string, error)
}

// jobCompare is the job that compares a held app's manifests at its new target revision with
// the bad revision's (no action: nothing changes in Argo CD).
const jobCompare = "compare_manifests"

// Errors of Rollback, beside those of Resume.
var (
	ErrNoRollbacker      = errors.New("this exporter cannot roll back applications")
	ErrNoHealthyRevision = errors.New("no earlier revision of this app was seen Synced and Healthy")
	ErrAutoSync          = errors.New("the app has Argo CD auto-sync enabled: Argo CD refuses to roll it back")
	errNotInHistory      = errors.New("the last healthy revision is no longer in the app's history")
)

// HealthyRevision is the last revision an app was seen Synced and Healthy at; persisted with
// the state (only for apps whose state is worth keeping: a healthy app relearns it at the
// first poll after a restart).
type HealthyRevision struct {
	Revision string `json:"revision"`
	// Until is the last time the app was seen Synced and Healthy at Revision.
	Until time.Time `json:"until"`
	// HistoryID is the status.history id of Revision's deployment when a snapshot carried it
	// (HasID); the rollback reads the history again anyway, since Argo CD trims it.
	HistoryID int64 `json:"historyId"`
	HasID     bool  `json:"hasId,omitempty"`
}

// Hold is an app rolled back from a bad revision: no remediation sync brings Bad back. It ends
// when the app's manifests at its target differ from Bad's, when a person resumes, or when the
// app turns Synced and Healthy.
type Hold struct {
	Bad string    `json:"bad"` // the revision that never became healthy
	To  string    `json:"to"`  // the revision rolled back to
	At  time.Time `json:"at"`
	By  string    `json:"by,omitempty"` // the person who asked; "" for the engine
	// Checked is the last target revision whose manifests were found equal to Bad's.
	Checked string `json:"checked,omitempty"`
}

// Offer is what the story offers: a rollback to the app's last healthy revision.
type Offer struct {
	Revision     string
	HealthyUntil time.Time
}

// rollbackMode is c.Rollback with "" read as offer.
func (c *Config) rollbackMode() string {
	if c.Rollback == "" {
		return RollbackOffer
	}
	return c.Rollback
}

// rollbackTarget is the revision a rollback would go back to: the last healthy one, when the
// app now targets another revision that never became healthy. Nil when there is none.
func (s *appState) rollbackTarget() *HealthyRevision {
	if s.LastHealthy == nil || s.Revision == "" || s.LastHealthy.Revision == s.Revision {
		return nil
	}
	return s.LastHealthy
}

// sawHealthy remembers the revision of an app seen Synced and Healthy now.
func (s *appState) sawHealthy(o observation, now time.Time) {
	if o.revision == "" {
		return
	}
	if s.LastHealthy == nil || s.LastHealthy.Revision != o.revision {
		s.LastHealthy = &HealthyRevision{Revision: o.revision}
	}
	s.LastHealthy.Until = now
	if o.historyKnown && o.historyRevision == o.revision {
		s.LastHealthy.HistoryID, s.LastHealthy.HasID = o.historyID, true
	}
}

// maybeRollback asks for the automatic rollback of a paused app: once per bad revision, only
// in auto mode, never for an app with Argo CD auto-sync, never while held.
func (c *Config) maybeRollback(st *appState, o observation, fx *effects) {
	if c.rollbackMode() != RollbackAuto || c.Mode != ModeOn || st.Phase != PhasePaused || o.autoSync ||
		st.Hold != nil || st.rollbackTarget() == nil || st.RollbackFor == st.Revision {
		return
	}
	st.RollbackFor = st.Revision
	fx.rollback, fx.dirty = true, true
}

// maybeCompare asks, once per new target revision of a held app, whether its manifests differ
// from the bad revision's: a commit SHA alone says nothing (in a repository shared by many
// apps, every commit changes every app's revision).
// The same comparison decides --remediation.reset-on-new-revision (st.ResetFrom).
func (c *Config) maybeCompare(st *appState, o observation, now time.Time, fx *effects) bool {
	if !c.compareManifests || c.Mode != ModeOn || o.revision == "" || now.Before(st.compareRetry) {
		return false
	}
	switch {
	case st.Hold != nil:
		if o.revision == st.Hold.Bad || o.revision == st.Hold.Checked {
			return false
		}
	case st.ResetFrom != "":
		if o.revision == st.ResetFrom || o.revision == st.ResetChecked {
			return false
		}
	default:
		return false
	}
	st.compareRetry = now.Add(c.Backoff) // one call at a time; the answer may clear it
	fx.compare = true
	return true
}

// compareJob is the manifests comparison the machine asked for.
func (e *Engine) compareJob(a *argocd.App, st *appState) *job {
	bad := st.ResetFrom
	if st.Hold != nil {
		bad = st.Hold.Bad
	}
	return &job{kind: jobCompare, st: st, bad: bad, target: a.Revision, held: st.Hold != nil,
		ref: argocd.AppRef{Name: a.Name, AppNamespace: a.Namespace, Project: a.Project}}
}

// manifestsChanged compares the app's manifests at j.target with those at j.bad.
func (e *Engine) manifestsChanged(ctx context.Context, j job) (bool, error) {
	now, err := e.manifester.Manifests(ctx, j.ref, j.target)
	if err != nil {
		return false, err
	}
	bad, err := e.manifester.Manifests(ctx, j.ref, j.bad)
	if err != nil {
		return false, err
	}
	return !slices.Equal(now, bad), nil
}

// finishCompare ends the hold when the manifests changed: the app gets fresh attempts at its new
// revision. Called with e.mu held.
func (e *Engine) finishCompare(j job, changed bool, err error, now time.Time) {
	st := j.st
	if !j.held {
		e.finishResetCompare(j, changed, err, now)
		return
	}
	if st.Hold == nil || st.Hold.Bad != j.bad {
		return // resumed meanwhile
	}
	switch {
	case err != nil:
		e.log.Warn("remediation hold: manifests could not be compared", "app", st.key(), "revision", j.target, "err", err)
	case !changed:
		st.Hold.Checked = j.target
		st.compareRetry = time.Time{}
		e.log.Info("remediation hold kept: the new revision renders the same manifests", "app", st.key(),
			"revision", j.target, "bad_revision", j.bad)
	default:
		e.log.Info("remediation hold ended: the app's manifests changed", "app", st.key(), "revision", j.target, "bad_revision", j.bad)
		st.noteReset(now, "manifests changed at "+shortRevision(j.target)+" after the rollback from "+shortRevision(j.bad))
		st.reset()
		st.compareRetry = time.Time{}
		e.kick()
	}
}

// finishResetCompare applies --remediation.reset-on-new-revision once the manifests are
// compared: fresh attempts only when the app's own manifests changed. Called with e.mu held.
func (e *Engine) finishResetCompare(j job, changed bool, err error, now time.Time) {
	st := j.st
	switch {
	case st.ResetFrom != j.bad:
		return // reset or healthy meanwhile
	case err != nil:
		e.log.Warn("remediation reset on new revision: manifests could not be compared", "app", st.key(), "revision", j.target, "err", err)
	case st.Phase == PhaseInFlight:
		st.compareRetry = time.Time{} // our call is unanswered: compare again at the next poll
	case !changed:
		st.ResetChecked, st.compareRetry = j.target, time.Time{}
		e.log.Info("remediation kept its count: the new revision renders the same manifests", "app", st.key(),
			"revision", j.target, "failed_revision", j.bad, "attempts", st.Attempts)
	default:
		e.log.Info("remediation reset: the app's manifests changed", "app", st.key(), "revision", j.target,
			"failed_revision", j.bad, "attempts", st.Attempts, "paused", st.Phase == PhasePaused)
		st.noteReset(now, "new target revision "+shortRevision(j.target)+" changed the app's manifests")
		st.reset()
		st.compareRetry = time.Time{}
		e.kick()
	}
}

// rollbackJob is the rollback call the machine asked for.
func (e *Engine) rollbackJob(a *argocd.App, st *appState) *job {
	to := *st.LastHealthy
	e.log.Warn("remediation rolling back to the last healthy revision", "app", st.key(), "bad_revision", st.Revision,
		"revision", to.Revision, "healthy_until", to.Until)
	return &job{kind: ActionRollback, st: st, to: to, bad: st.Revision,
		ref: argocd.AppRef{Name: a.Name, AppNamespace: a.Namespace, Project: a.Project}}
}

// callRollback finds the history id of j.to and rolls back to it.
func (e *Engine) callRollback(ctx context.Context, j job) error {
	id, ok := j.to.HistoryID, j.to.HasID
	d, err := e.rollbacker.GetDetail(ctx, j.ref.Name, j.ref.AppNamespace, j.ref.Project)
	if err != nil && !ok {
		return err
	}
	if err == nil {
		ok = false
		for _, h := range d.History { // newest last: the newest deployment of the revision wins
			if strings.Join(h.Revisions, ",") == j.to.Revision {
				id, ok = h.ID, true
			}
		}
	}
	if !ok {
		return errNotInHistory
	}
	return e.rollbacker.Rollback(ctx, j.ref, id)
}

// finishRollback records Argo CD's answer to a rollback call; accepted, the app is held.
// Called with e.mu held.
func (e *Engine) finishRollback(j job, err error, now time.Time) {
	st := j.st
	ans := classify(err)
	if ans == answerCanceled {
		if j.by == "" {
			st.RollbackFor = "" // not asked: the next poll decides again
		}
		return
	}
	msg := fmt.Sprintf("rolled back from %s to %s (healthy until %s)", shortRevision(j.bad), shortRevision(j.to.Revision),
		j.to.Until.UTC().Format(time.RFC3339))
	if j.by != "" {
		msg += " on request of " + j.by
	}
	a := Action{Kind: ActionRollback, At: now, Result: actionResult(ans), By: j.by, Message: msg}
	if err != nil {
		a.Message = "rollback to " + shortRevision(j.to.Revision) + " failed: " + err.Error()
		e.log.Warn("remediation rollback failed", "app", st.key(), "revision", j.to.Revision, "err", err)
	} else {
		st.Hold = &Hold{Bad: j.bad, To: j.to.Revision, At: now, By: j.by}
		if st.Phase != PhaseInFlight && st.Phase != PhaseAwaiting {
			st.Phase, st.NotBefore = PhasePaused, time.Time{}
			if st.PausedAt.IsZero() {
				st.PausedAt = now
			}
		}
		e.log.Info("remediation rolled back", "app", st.key(), "from", j.bad, "to", j.to.Revision, "by", j.by)
	}
	st.recordAction(a)
	e.metrics.action(ActionRollback, a.Result)
}

// Rollback is a person's "roll back" (Slack, through the write API): it rolls the app back to
// the last revision the engine saw Synced and Healthy, whatever Config.Rollback says (unless
// off), and holds it like an automatic rollback. It returns a one-line summary.
func (e *Engine) Rollback(ctx context.Context, namespace, name, by string) (string, error) {
	if e.cfg.rollbackMode() == RollbackOff {
		return "", ErrRemediationOff
	}
	if err := e.personRequest(e.rollbacker != nil, ErrNoRollbacker); err != nil {
		return "", err
	}
	key := appKey{namespace, name}
	e.mu.Lock()
	st := e.apps[key]
	switch {
	case st == nil:
		e.mu.Unlock()
		return "", ErrNotRemediated
	case st.Phase == PhaseInFlight:
		e.mu.Unlock()
		return "", ErrSyncInFlight
	case st.autoSync:
		e.mu.Unlock()
		return "", ErrAutoSync
	case st.rollbackTarget() == nil:
		e.mu.Unlock()
		return "", ErrNoHealthyRevision
	}
	j := job{kind: ActionRollback, key: key, st: st, by: by, to: *st.LastHealthy, bad: st.Revision,
		ref: argocd.AppRef{Name: name, AppNamespace: namespace, Project: st.Project}}
	e.mu.Unlock()

	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	err := e.callRollback(callCtx, j)
	e.mu.Lock()
	if e.apps[key] == st {
		e.finishRollback(j, err, time.Now())
	}
	e.mu.Unlock()
	if perr := e.persist(); perr != nil && !errors.Is(perr, errNotLeading) {
		e.log.Error("write remediation state file", "path", e.cfg.StateFile, "err", perr)
	}
	if err != nil {
		return "", fmt.Errorf("argo cd refused the rollback: %w", err)
	}
	return fmt.Sprintf("rolled back to %s (healthy until %s); holding until its manifests change", shortRevision(j.to.Revision),
		j.to.Until.UTC().Format(time.RFC3339)), nil
}
