package kubestate

import (
	"errors"
	"strings"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/exporter/kubetest"
)

func newStore(t *testing.T, c *kubetest.Client, max int) *ConfigMap {
	t.Helper()
	s, err := New(Config{Client: c, Namespace: "argocd-monitor", Name: "argocd-exporter-remediation", MaxBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadSaveAndConflicts(t *testing.T) {
	api := kubetest.New()
	a, b := newStore(t, api.NewClient(), 0), newStore(t, api.NewClient(), 0)

	if data, err := a.Load(); err != nil || data != nil {
		t.Fatalf("Load of a missing ConfigMap = %q, %v; want nil, nil", data, err)
	}
	if _, err := b.Load(); err != nil {
		t.Fatal(err)
	}
	if err := a.Save([]byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	// b read before a created it: its create is refused.
	if err := b.Save([]byte(`{"v":"b"}`)); !errors.Is(err, ErrConflict) {
		t.Fatalf("b.Save over an unread create: %v, want ErrConflict", err)
	}
	if data, err := b.Load(); err != nil || string(data) != `{"v":1}` {
		t.Fatalf("b.Load = %q, %v", data, err)
	}
	if err := b.Save([]byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	// a's version is stale now.
	if err := a.Save([]byte(`{"v":"a"}`)); !errors.Is(err, ErrConflict) {
		t.Fatalf("a.Save over an unread update: %v, want ErrConflict", err)
	}
	if data, _ := a.Load(); string(data) != `{"v":2}` {
		t.Fatalf("state = %q, want b's", data)
	}
	if err := a.Save([]byte(`{"v":3}`)); err != nil {
		t.Fatal(err)
	}
}

func TestSizeLimit(t *testing.T) {
	api := kubetest.New()
	s := newStore(t, api.NewClient(), 10)
	if _, err := s.Load(); err != nil {
		t.Fatal(err)
	}
	err := s.Save([]byte(strings.Repeat("x", 11)))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "11 bytes, limit 10") {
		t.Fatalf("err = %v", err)
	}
	if api.Writes() != 0 {
		t.Errorf("%d writes reached the API", api.Writes())
	}
}

func TestPartitionedSaveFails(t *testing.T) {
	api := kubetest.New()
	c := api.NewClient()
	s := newStore(t, c, 0)
	if _, err := s.Load(); err != nil {
		t.Fatal(err)
	}
	c.Partition(true)
	if err := s.Save([]byte(`{}`)); !errors.Is(err, kubetest.ErrPartitioned) {
		t.Fatalf("err = %v", err)
	}
}
