package state

import (
	"context"
	"time"
)

// Groups is the state of the alert groups a bridge delivers, shared by every
// replica that may receive a group's notifications: the file Store for one
// replica, kubegroups for several.
type Groups interface {
	// Begin claims groupKey for one notification, key naming its content
	// (dedupe.Key); alerts names the alert instances the notification
	// is about (nil for a resolved one). Until the claim is done or aborted,
	// the same group's notifications on other replicas wait for it.
	Begin(ctx context.Context, groupKey, key string, alerts []Instance) (*Claim, error)
	// FieldStore: what the Slack actions record lives in the same entries.
	FieldStore
}

// Claim is one notification's hold on its group.
type Claim struct {
	// Entry is the group's live message when Found: update it.
	Entry Entry
	Found bool
	// Duplicate: this very notification was delivered already (by another
	// replica): acknowledge it without a Slack call. Done and Abort are no-ops.
	Duplicate bool
	// Stale: the group's last notification resolved it, and every alert of
	// this one (firing, or resolved again) is an instance it resolved (a peer
	// Alertmanager's late copy): acknowledge it without a Slack call. The resolved record
	// is left as it was; Done and Abort are no-ops.
	Stale bool
	// ID names this claim where the group state is shared (kubegroups): bot mode marks the
	// message it posts with it (Slack message metadata), so a replica taking the group over
	// after a crash can find the post. "" for the single-replica Store.
	ID string
	// Unrecorded are the IDs of earlier claims on the group whose replica died mid-delivery
	// with no message recorded: Slack may have accepted their post. Bot mode looks for a
	// message marked with one of them, posted since UnrecordedSince, before posting anew.
	Unrecorded      []string
	UnrecordedSince time.Time

	done  func(ctx context.Context, e Entry, resolved bool) error
	abort func(ctx context.Context)
}

// NewClaim is how a Groups implementation hands out a claim.
func NewClaim(e Entry, found bool, done func(ctx context.Context, e Entry, resolved bool) error, abort func(ctx context.Context)) *Claim {
	return &Claim{Entry: e, Found: found, done: done, abort: abort}
}

// Done records the delivered message; a resolved group's message is not
// updated again, a later firing posts a new one. When resolved, the group
// keeps e.ResolvedAlerts (up to MaxResolvedInstances) for a while: a firing
// notification about only those instances is Stale.
func (c *Claim) Done(ctx context.Context, e Entry, resolved bool) error {
	if c.done == nil {
		return nil
	}
	return c.done(ctx, e, resolved)
}

// Abort releases the claim after a failed delivery, so a retry may claim it.
func (c *Claim) Abort(ctx context.Context) {
	if c.abort != nil {
		c.abort(ctx)
	}
}

// Begin implements Groups for one replica: the dedupe window already holds
// duplicates back, so a claim is just the current entry.
func (s *Store) Begin(_ context.Context, groupKey, _ string, alerts []Instance) (*Claim, error) {
	if s.stale(groupKey, alerts) {
		return &Claim{Stale: true}, nil
	}
	e, ok := s.Get(groupKey)
	return NewClaim(e, ok, func(_ context.Context, e Entry, resolved bool) error {
		if resolved {
			return s.resolve(groupKey, e.ResolvedAlerts)
		}
		return s.Put(groupKey, e)
	}, nil), nil
}
