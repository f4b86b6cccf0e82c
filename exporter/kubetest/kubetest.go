// Package kubetest is the Kubernetes API stand-in of both modules' unit tests
// (the bridge imports it): client-go's fake clientset, plus the two things
// the fake leaves out and leader election and the shared state (remediation
// state, Slack message groups) depend on: resourceVersion preconditions
// (optimistic concurrency) and several clients on one store, each of which
// can be cut off (a partitioned replica). The e2e tests use a real
// kube-apiserver instead.
package kubetest

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// ErrPartitioned is what a cut-off client's calls fail with.
var ErrPartitioned = errors.New("kubetest: client partitioned from the API server")

// API is one simulated API server.
type API struct {
	backend *fake.Clientset
	mu      sync.Mutex
	rv      int64
	writes  atomic.Int64
}

// New starts an API server holding objs.
func New(objs ...runtime.Object) *API {
	a := &API{backend: fake.NewClientset(objs...)}
	tr := a.backend.Tracker()
	a.backend.PrependReactor("create", "*", func(act k8stesting.Action) (bool, runtime.Object, error) {
		obj := act.(k8stesting.CreateAction).GetObject().DeepCopyObject()
		m, err := meta.Accessor(obj)
		if err != nil {
			return true, nil, err
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.writes.Add(1)
		a.rv++
		m.SetResourceVersion(strconv.FormatInt(a.rv, 10))
		if err := tr.Create(act.GetResource(), obj, act.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, obj, nil
	})
	a.backend.PrependReactor("update", "*", func(act k8stesting.Action) (bool, runtime.Object, error) {
		obj := act.(k8stesting.UpdateAction).GetObject().DeepCopyObject()
		m, err := meta.Accessor(obj)
		if err != nil {
			return true, nil, err
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.writes.Add(1)
		cur, err := tr.Get(act.GetResource(), act.GetNamespace(), m.GetName())
		if err != nil {
			return true, nil, err
		}
		cm, _ := meta.Accessor(cur)
		if rv := m.GetResourceVersion(); rv != "" && rv != cm.GetResourceVersion() {
			return true, nil, apierrors.NewConflict(act.GetResource().GroupResource(), m.GetName(),
				errors.New("the object has been modified; please apply your changes to the latest version and try again"))
		}
		a.rv++
		m.SetResourceVersion(strconv.FormatInt(a.rv, 10))
		if err := tr.Update(act.GetResource(), obj, act.GetNamespace()); err != nil {
			return true, nil, err
		}
		return true, obj, nil
	})
	a.backend.PrependReactor("delete", "*", func(act k8stesting.Action) (bool, runtime.Object, error) {
		da := act.(k8stesting.DeleteAction)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.writes.Add(1)
		if pre := da.GetDeleteOptions().Preconditions; pre != nil && pre.ResourceVersion != nil {
			cur, err := tr.Get(act.GetResource(), act.GetNamespace(), da.GetName())
			if err != nil {
				return true, nil, err
			}
			cm, _ := meta.Accessor(cur)
			if *pre.ResourceVersion != cm.GetResourceVersion() {
				return true, nil, apierrors.NewConflict(act.GetResource().GroupResource(), da.GetName(),
					errors.New("the ResourceVersion in the precondition does not match"))
			}
		}
		return true, nil, tr.Delete(act.GetResource(), act.GetNamespace(), da.GetName())
	})
	return a
}

// Writes counts create, update and delete calls (accepted or not).
func (a *API) Writes() int64 { return a.writes.Load() }

// Calls counts every request the API received.
func (a *API) Calls() int { return len(a.backend.Actions()) }

// Client is one replica's connection to the API.
type Client struct {
	*fake.Clientset
	cut atomic.Bool
}

// NewClient connects a new client.
func (a *API) NewClient() *Client {
	c := &Client{Clientset: fake.NewClientset()}
	c.PrependReactor("*", "*", func(act k8stesting.Action) (bool, runtime.Object, error) {
		if c.cut.Load() {
			return true, nil, ErrPartitioned
		}
		obj, err := a.backend.Invokes(act, nil)
		return true, obj, err
	})
	return c
}

// Partition cuts the client off the API (true) or reconnects it.
func (c *Client) Partition(cut bool) { c.cut.Store(cut) }
