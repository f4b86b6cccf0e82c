// Package kubestate keeps the remediation state in one ConfigMap, so every
// exporter replica shares it and a new leader continues where the old one
// stopped. Writes are compare-and-swap on the ConfigMap's resourceVersion:
// a replica that saves over a version it has not read gets ErrConflict and
// must read again before it decides anything.
package kubestate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// DataKey is the ConfigMap key holding the state document.
const DataKey = "state.json"

// DefaultMaxBytes bounds the document: half of the 1 MiB an object may take
// in etcd, about 2,000 apps with a streak at once (docs/remediation.md).
const DefaultMaxBytes = 512 << 10

// ErrConflict: another replica wrote the state since this one last read it.
var ErrConflict = errors.New("remediation state changed by another replica")

// ErrTooLarge: the document is over the limit and was not written.
var ErrTooLarge = errors.New("remediation state over the size limit")

// Config names the ConfigMap.
type Config struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	// MaxBytes bounds the document (DefaultMaxBytes when 0).
	MaxBytes int
}

// ConfigMap is the store. Load and Save are serialised by the caller.
type ConfigMap struct {
	cfg Config

	mu sync.Mutex
	// rv is the resourceVersion last read or written; "" when the
	// ConfigMap did not exist then.
	rv string
}

// New returns the store; nothing is read until Load.
func New(cfg Config) (*ConfigMap, error) {
	if cfg.Namespace == "" || cfg.Name == "" {
		return nil, errors.New("remediation state ConfigMap: namespace and name are required")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	return &ConfigMap{cfg: cfg}, nil
}

func (s *ConfigMap) String() string { return "configmap " + s.cfg.Namespace + "/" + s.cfg.Name }

// timeout bounds one read or write: the engine's Store has no context.
const timeout = 10 * time.Second

// Load returns the stored document, nil when there is none yet.
func (s *ConfigMap) Load() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cm, err := s.cfg.Client.CoreV1().ConfigMaps(s.cfg.Namespace).Get(ctx, s.cfg.Name, metav1.GetOptions{})
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case apierrors.IsNotFound(err):
		s.rv = ""
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", s, err)
	}
	s.rv = cm.ResourceVersion
	if d, ok := cm.Data[DataKey]; ok {
		return []byte(d), nil
	}
	return nil, nil
}

// Save replaces the document if nobody wrote it since our last Load or Save.
func (s *ConfigMap) Save(data []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if len(data) > s.cfg.MaxBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), s.cfg.MaxBytes)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       s.cfg.Namespace,
			Name:            s.cfg.Name,
			ResourceVersion: s.rv,
			Labels:          map[string]string{"app.kubernetes.io/name": "argocd-exporter", "app.kubernetes.io/component": "remediation-state"},
		},
		Data: map[string]string{DataKey: string(data)},
	}
	api := s.cfg.Client.CoreV1().ConfigMaps(s.cfg.Namespace)
	var out *corev1.ConfigMap
	var err error
	if s.rv == "" {
		out, err = api.Create(ctx, cm, metav1.CreateOptions{})
	} else {
		out, err = api.Update(ctx, cm, metav1.UpdateOptions{})
	}
	switch {
	case apierrors.IsAlreadyExists(err), apierrors.IsConflict(err), apierrors.IsNotFound(err):
		return fmt.Errorf("write %s: %w", s, ErrConflict)
	case err != nil:
		return fmt.Errorf("write %s: %w", s, err)
	}
	s.rv = out.ResourceVersion
	return nil
}
