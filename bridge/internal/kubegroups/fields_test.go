package kubegroups

import (
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/util/retry"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/state"
	"github.com/argocd-monitor/argocd-monitor/exporter/kubetest"
)

func ack(user string) func(map[string]string) {
	return func(f map[string]string) { f["actions"] = user }
}

// An ack recorded through replica a is what replica b's next claim of the
// group carries, so b's update of the message shows it.
func TestFieldsSharedAcrossReplicas(t *testing.T) {
	api := kubetest.New()
	a, b := newStore(t, api, "a"), newStore(t, api, "b")
	id := state.GroupID("g")
	if err := a.UpdateFields(t.Context(), id, ack("U1")); !errors.Is(err, state.ErrNoGroup) {
		t.Fatalf("before any message: %v, want ErrNoGroup", err)
	}
	if err := begin(t, a, "g", "firing-1").Done(t.Context(), state.Entry{Channel: "C1", TS: "1.1"}, false); err != nil {
		t.Fatal(err)
	}
	if err := a.UpdateFields(t.Context(), id, ack("U1")); err != nil {
		t.Fatal(err)
	}
	if f, err := b.Fields(t.Context(), id); err != nil || f["actions"] != "U1" {
		t.Fatalf("b reads %v %v", f, err)
	}
	cb := begin(t, b, "g", "firing-2")
	if !cb.Found || cb.Entry.Fields["actions"] != "U1" || cb.Entry.TS != "1.1" {
		t.Fatalf("b's claim = %+v, want the message with a's ack", cb)
	}
	if err := cb.Done(t.Context(), cb.Entry, false); err != nil {
		t.Fatal(err)
	}
	if f, _ := a.Fields(t.Context(), id); f["actions"] != "U1" {
		t.Errorf("b's delivery lost the ack: %v", f)
	}
	for _, forged := range []string{"", "../x", "ZZ" + id[2:]} {
		if _, err := a.Fields(t.Context(), forged); !errors.Is(err, state.ErrNoGroup) {
			t.Errorf("Fields(%q) = %v, want ErrNoGroup", forged, err)
		}
	}
}

// An ack landing while another replica delivers (its claim's write meets a
// conflict) is kept by that write, and the write still succeeds.
func TestAckDuringDeliveryKept(t *testing.T) {
	api := kubetest.New()
	a, b := newStore(t, api, "a"), newStore(t, api, "b")
	id := state.GroupID("g")
	if err := begin(t, a, "g", "firing-1").Done(t.Context(), state.Entry{Channel: "C1", TS: "1.1"}, false); err != nil {
		t.Fatal(err)
	}
	cb := begin(t, b, "g", "firing-2") // b is updating the message
	if err := a.UpdateFields(t.Context(), id, ack("U2")); err != nil {
		t.Fatal(err)
	}
	if err := cb.Done(t.Context(), cb.Entry, false); err != nil {
		t.Fatalf("b's delivery record failed on the ack's write: %v", err)
	}
	f, err := a.Fields(t.Context(), id)
	if err != nil || f["actions"] != "U2" {
		t.Fatalf("after b's delivery: %v %v, want U2's ack", f, err)
	}
	// b's claim is done: a's next one is a normal update, not a wait.
	if c := begin(t, a, "g", "firing-3"); !c.Found || c.Duplicate {
		t.Errorf("a's next claim = %+v", c)
	}
}

// A record that keeps changing under every write (a hot group, or a misbehaving writer) makes
// UpdateFields give up after client-go's conflict backoff with the conflict, not spin for ever.
func TestUpdateFieldsGivesUpOnEndlessConflicts(t *testing.T) {
	api := kubetest.New()
	a := newStore(t, api, "a")
	if err := begin(t, a, "g", "firing-1").Done(t.Context(), state.Entry{Channel: "C1", TS: "1.1"}, false); err != nil {
		t.Fatal(err)
	}
	c := api.NewClient()
	updates := 0
	c.PrependReactor("update", "configmaps", func(act k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "x", errors.New("changed"))
	})
	hot, err := New(Config{Client: c, Namespace: ns, Identity: "hot", ClaimTimeout: 30 * time.Second, ResolvedWindow: time.Hour, TTL: 168 * time.Hour, DedupeWindow: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	err = hot.UpdateFields(t.Context(), state.GroupID("g"), ack("U1"))
	if !apierrors.IsConflict(err) {
		t.Fatalf("UpdateFields = %v, want the conflict after the retries", err)
	}
	if updates != retry.DefaultRetry.Steps {
		t.Errorf("%d updates, want %d (client-go's DefaultRetry)", updates, retry.DefaultRetry.Steps)
	}
}
