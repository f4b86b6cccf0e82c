package kubegroups

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
)

var _ state.FieldStore = (*Store)(nil)

// validID is what state.GroupID makes; anything else came from a forged button.
var validID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// live reads the group's record named id: one GET.
func (s *Store) live(ctx context.Context, id string) (record, string, error) {
	if !validID.MatchString(id) {
		return record{}, "", state.ErrNoGroup
	}
	cm, err := s.cfg.Client.CoreV1().ConfigMaps(s.cfg.Namespace).Get(ctx, namePrefix+id, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return record{}, "", state.ErrNoGroup
	}
	if err != nil {
		return record{}, "", fmt.Errorf("read group state: %w", err)
	}
	r, err := decodeRecord(cm.Data[keyRecord])
	if err != nil || s.expired(r, time.Now()) || r.TS == "" {
		return record{}, "", state.ErrNoGroup
	}
	r.group = cm.Data[keyGroup]
	return r, cm.ResourceVersion, nil
}

// Fields implements state.FieldStore: one GET.
func (s *Store) Fields(ctx context.Context, id string) (map[string]string, error) {
	r, _, err := s.live(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.Fields, nil
}

// UpdateFields implements state.FieldStore: a GET and an UPDATE at the
// resourceVersion read, again on a conflict (client-go's conflict backoff). The rest of the record (a
// claim in progress included) is left as it is; the claim's own write
// keeps these Fields (see claim).
func (s *Store) UpdateFields(ctx context.Context, id string, fn func(map[string]string)) error {
	api := s.cfg.Client.CoreV1().ConfigMaps(s.cfg.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		r, rv, err := s.live(ctx, id)
		if err != nil {
			return err
		}
		f := maps.Clone(r.Fields)
		if f == nil {
			f = map[string]string{}
		}
		fn(f)
		r.Fields = f
		if _, err := api.Update(ctx, s.object(r.group, namePrefix+id, rv, r), metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("record group state: %w", err)
		}
		return nil
	})
}
