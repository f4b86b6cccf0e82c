// Package kubegroups shares the bridge's alert-group state among replicas
// through the Kubernetes API: one small ConfigMap per active group. Creating
// it, or overwriting it at the resourceVersion just read, is the claim on
// the group for one notification; a replica that loses the race waits for
// the winner's message instead of posting its own. Records expire a window
// after their group resolved, or after a TTL without notifications.
package kubegroups

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
)

// Labels on every group ConfigMap; the sweep lists by them.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelComponent = "app.kubernetes.io/component"
	nameValue      = "slack-bridge"
	componentValue = "group-state"
	namePrefix     = "slack-bridge-group-"
	keyGroup       = "groupKey"
	keyRecord      = "record"
)

// Config says where the records live and how long they matter.
type Config struct {
	Client    kubernetes.Interface
	Namespace string
	// Identity names this replica in claims (the pod name).
	Identity string
	// ClaimTimeout: a claim older than this is abandoned (its replica
	// died mid-delivery) and may be taken over. Longer than a delivery.
	ClaimTimeout time.Duration
	// ResolvedWindow keeps a resolved group's record, so a late copy of the
	// resolved notification is recognised as a duplicate.
	ResolvedWindow time.Duration
	// DedupeWindow: the same notification delivered (by any replica)
	// this recently is a duplicate; later, it is a repeat (Alertmanager's
	// repeat_interval) and updates the message again. 0 turns it off.
	DedupeWindow time.Duration
	// TTL forgets a firing group without notifications for this long.
	TTL time.Duration
	// PollInterval is how often a waiting replica looks at another's claim.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Store implements state.Groups.
type Store struct {
	cfg Config
	log *slog.Logger
}

var _ state.Groups = (*Store)(nil)

// New checks cfg and returns the store.
func New(cfg Config) (*Store, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("group state: no Kubernetes client")
	case cfg.Namespace == "":
		return nil, errors.New("group state: namespace required")
	case cfg.Identity == "":
		return nil, errors.New("group state: identity required (set POD_NAME or the hostname)")
	case cfg.ClaimTimeout <= 0 || cfg.ResolvedWindow <= 0 || cfg.TTL <= 0:
		return nil, errors.New("group state: claim timeout, resolved window and TTL must be positive")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{cfg: cfg, log: log}, nil
}

// phase of the notification a record was last claimed for.
type phase string

const (
	phaseSending phase = "sending"
	phaseSent    phase = "sent"
	phaseFailed  phase = "failed"
)

// record is the ConfigMap's "record" value.
type record struct {
	Channel   string            `json:"channel,omitempty"`
	TS        string            `json:"ts,omitempty"`
	DetailsTS string            `json:"detailsTS,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`
	// Notification is the dedupe key of the last claimed notification.
	Notification string    `json:"notification"`
	Phase        phase     `json:"phase"`
	Holder       string    `json:"holder"`
	Updated      time.Time `json:"updated"`
	Resolved     time.Time `json:"resolved,omitzero"`
	// ResolvedAlerts are the alert instances the resolving notification
	// resolved (up to state.MaxResolvedInstances; none beyond).
	ResolvedAlerts []state.Instance `json:"resolvedAlerts,omitempty"`
	// Claim names the claim (random), written before any Slack call: bot
	// mode marks its post with it.
	Claim string `json:"claim,omitempty"`
	// Unrecorded are the claims of replicas that died mid-delivery with no
	// message recorded (their post may have reached Slack), the oldest made
	// at UnrecordedSince; kept until a message is recorded.
	Unrecorded      []string  `json:"unrecorded,omitempty"`
	UnrecordedSince time.Time `json:"unrecordedSince,omitzero"`
	// group is the ConfigMap's groupKey, not part of the record.
	group string
}

// decodeRecord reads a record written by any replica (or edited by hand).
// An unreadable one counts as expired: the next claim replaces it.
func decodeRecord(data string) (record, error) {
	var r record
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return record{}, fmt.Errorf("decode group record: %w", err)
	}
	switch r.Phase {
	case phaseSending, phaseSent, phaseFailed:
	default:
		return record{}, fmt.Errorf("decode group record: unknown phase %q", r.Phase)
	}
	return r, nil
}

// Name is the ConfigMap holding groupKey's record: group keys are long and
// free-form, object names are not.
func Name(groupKey string) string {
	return namePrefix + state.GroupID(groupKey)
}

func (s *Store) expired(r record, now time.Time) bool {
	if !r.Resolved.IsZero() {
		return now.Sub(r.Resolved) > s.cfg.ResolvedWindow
	}
	return now.Sub(r.Updated) > s.cfg.TTL
}

// Begin implements state.Groups. It costs one read when the notification
// was delivered already, else a read and a write, plus a read per
// PollInterval while another replica holds the group. A lost race (another
// replica created or changed the record between our read and our write) is
// retried with client-go's conflict backoff.
func (s *Store) Begin(ctx context.Context, groupKey, key string, alerts []state.Instance) (*state.Claim, error) {
	for {
		var claim *state.Claim
		var holder string
		err := retry.OnError(retry.DefaultRetry, lostRace, func() (err error) {
			claim, holder, err = s.tryClaim(ctx, groupKey, key, alerts)
			return err
		})
		if err != nil || holder == "" {
			return claim, err
		}
		if err := sleep(ctx, s.cfg.PollInterval); err != nil {
			return nil, fmt.Errorf("group held by %s: %w", holder, err)
		}
	}
}

// lostRace: the record was created, changed or deleted by another replica
// between our read and our write.
func lostRace(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err)
}

// tryClaim reads the group's record once and claims it with one write; it
// returns the holder instead when another replica's claim is in progress.
func (s *Store) tryClaim(ctx context.Context, groupKey, key string, alerts []state.Instance) (*state.Claim, string, error) {
	api := s.cfg.Client.CoreV1().ConfigMaps(s.cfg.Namespace)
	name := Name(groupKey)
	now := time.Now()
	mine := record{Notification: key, Phase: phaseSending, Holder: s.cfg.Identity, Updated: now, Claim: newClaimID()}
	cm, err := api.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		created, err := api.Create(ctx, s.object(groupKey, name, "", mine), metav1.CreateOptions{})
		if err != nil {
			return nil, "", fmt.Errorf("claim group: %w", err)
		}
		return s.claim(groupKey, created.ResourceVersion, mine, false), "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read group state: %w", err)
	}
	cur, err := decodeRecord(cm.Data[keyRecord])
	if err != nil {
		s.log.Warn("group state unreadable, replacing it", "configmap", name, "err", err)
	}
	live := err == nil && !s.expired(cur, now)
	switch {
	case live && cur.Notification == key && cur.Phase == phaseSent && now.Sub(cur.Updated) <= s.cfg.DedupeWindow:
		return &state.Claim{Duplicate: true}, "", nil
	case live && cur.Phase == phaseSent && !cur.Resolved.IsZero() && state.Stale(cur.ResolvedAlerts, alerts):
		// A peer Alertmanager's late copy (firing, or resolving fewer
		// alerts) of what resolved: no
		// claim, so the resolved record stays as it is.
		return &state.Claim{Stale: true}, "", nil
	case live && cur.Phase == phaseSending && now.Sub(cur.Updated) < s.cfg.ClaimTimeout:
		return nil, cur.Holder, nil
	case live && cur.Phase == phaseSending:
		s.log.Warn("taking over an abandoned claim", "configmap", name, "holder", cur.Holder, "since", cur.Updated)
	}
	found := live && cur.TS != "" && cur.Resolved.IsZero()
	if found {
		mine.Channel, mine.TS, mine.DetailsTS, mine.Fields = cur.Channel, cur.TS, cur.DetailsTS, cur.Fields
	}
	if live && !found {
		mine.Unrecorded, mine.UnrecordedSince = unrecorded(cur)
	}
	updated, err := api.Update(ctx, s.object(groupKey, name, cm.ResourceVersion, mine), metav1.UpdateOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("claim group: %w", err)
	}
	return s.claim(groupKey, updated.ResourceVersion, mine, found), "", nil
}

// maxUnrecorded bounds the claims a record remembers as unrecorded.
const maxUnrecorded = 8

// unrecorded is what a new claim on cur (no message recorded) inherits:
// cur's unrecorded claims, plus cur's own when its replica died holding it
// (abandoned in phase sending). A failed claim passes on what it inherited:
// its delivery may have failed looking for their post.
func unrecorded(cur record) ([]string, time.Time) {
	ids, since := cur.Unrecorded, cur.UnrecordedSince
	if cur.Phase == phaseSending && cur.Claim != "" {
		ids = append(slices.Clone(ids), cur.Claim)
		if since.IsZero() || cur.Updated.Before(since) {
			since = cur.Updated
		}
	}
	if len(ids) > maxUnrecorded {
		ids = ids[len(ids)-maxUnrecorded:]
	}
	return ids, since
}

// newClaimID is 16 random hex digits.
func newClaimID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// claim hands out the claim written at rv.
func (s *Store) claim(groupKey, rv string, mine record, found bool) *state.Claim {
	e := state.Entry{Channel: mine.Channel, TS: mine.TS, DetailsTS: mine.DetailsTS, Updated: mine.Updated, Fields: mine.Fields}
	withIDs := func(c *state.Claim) *state.Claim {
		c.ID, c.Unrecorded, c.UnrecordedSince = mine.Claim, mine.Unrecorded, mine.UnrecordedSince
		return c
	}
	finish := func(ctx context.Context, r record) error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		api := s.cfg.Client.CoreV1().ConfigMaps(s.cfg.Namespace)
		name, rv := Name(groupKey), rv
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			_, err := api.Update(ctx, s.object(groupKey, name, rv, r), metav1.UpdateOptions{})
			if !apierrors.IsConflict(err) {
				if err != nil {
					return fmt.Errorf("record group state: %w", err)
				}
				return nil
			}
			// A Slack action changed the Fields meanwhile (UpdateFields):
			// keep them, as long as the claim is still ours.
			cm, gerr := api.Get(ctx, name, metav1.GetOptions{})
			if gerr != nil {
				return fmt.Errorf("record group state: %w", gerr)
			}
			cur, derr := decodeRecord(cm.Data[keyRecord])
			if derr != nil || cur.Holder != mine.Holder || cur.Notification != mine.Notification || cur.Phase != phaseSending {
				return errors.New("record group state: the claim was taken over meanwhile")
			}
			r.Fields, rv = cur.Fields, cm.ResourceVersion
			return fmt.Errorf("record group state: %w", err) // the conflict: try again
		})
	}
	return withIDs(state.NewClaim(e, found, func(ctx context.Context, e state.Entry, resolved bool) error {
		r := mine
		r.Channel, r.TS, r.DetailsTS, r.Fields = e.Channel, e.TS, e.DetailsTS, e.Fields
		r.Phase, r.Updated = phaseSent, time.Now()
		r.Unrecorded, r.UnrecordedSince = nil, time.Time{} // a message is recorded now
		if resolved {
			r.Resolved = r.Updated
			r.ResolvedAlerts = state.BoundInstances(e.ResolvedAlerts)
		}
		return finish(ctx, r)
	}, func(ctx context.Context) {
		r := mine
		r.Phase, r.Updated = phaseFailed, time.Now()
		if err := finish(ctx, r); err != nil {
			s.log.Warn("release group claim", "group_key", groupKey, "err", err)
		}
	}))
}

func (s *Store) object(groupKey, name, rv string, r record) *corev1.ConfigMap {
	data, _ := json.Marshal(r) // plain strings, times and a map: cannot fail
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       s.cfg.Namespace,
			ResourceVersion: rv,
			Labels:          map[string]string{LabelName: nameValue, LabelComponent: componentValue},
		},
		Data: map[string]string{keyGroup: groupKey, keyRecord: string(data)},
	}
}

// Sweep deletes expired records: one list, and one delete per expired group.
// A record changed since the list is left for the next sweep.
func (s *Store) Sweep(ctx context.Context) (deleted int, err error) {
	api := s.cfg.Client.CoreV1().ConfigMaps(s.cfg.Namespace)
	list, err := api.List(ctx, metav1.ListOptions{LabelSelector: LabelName + "=" + nameValue + "," + LabelComponent + "=" + componentValue})
	if err != nil {
		return 0, fmt.Errorf("list group state: %w", err)
	}
	now := time.Now()
	for i := range list.Items {
		cm := &list.Items[i]
		if r, err := decodeRecord(cm.Data[keyRecord]); err == nil && !s.expired(r, now) {
			continue
		}
		rv := cm.ResourceVersion
		err := api.Delete(ctx, cm.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		switch {
		case err == nil:
			deleted++
		case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		default:
			return deleted, fmt.Errorf("delete group state %s: %w", cm.Name, err)
		}
	}
	return deleted, nil
}

// Run sweeps every interval until ctx ends. Every replica sweeps; the
// preconditions make a double delete harmless.
func (s *Store) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if n, err := s.Sweep(ctx); err != nil {
			s.log.Warn("sweep group state", "err", err)
		} else if n > 0 {
			s.log.Debug("group state swept", "deleted", n)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
