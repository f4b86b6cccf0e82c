// Package leader elects one exporter replica to remediate, through a
// coordination.k8s.io Lease and client-go's leaderelection. Besides who leads,
// it answers the question remediation needs before every sync call: may this
// replica still act, and until when at the latest (docs/remediation.md).
package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Config says which Lease to contend for and how. Durations follow
// kube-controller-manager's --leader-elect-* flags.
type Config struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	// Identity names this replica in the Lease (the pod name in Kubernetes).
	Identity      string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	Logger        *slog.Logger
	// Now is the clock of the Leading check (time.Now when nil).
	Now func() time.Time
}

// FieldError is a Config field with a value leader election cannot work with.
type FieldError struct {
	Field string // the Config field's name
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

// Validate checks the durations the way leaderelection does, and the one
// constraint this package adds; each error is a *FieldError.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if c.Namespace == "" {
		bad("Namespace", "required (in a pod, the namespace is read from the service account)")
	}
	if c.Name == "" {
		bad("Name", "required")
	}
	if c.Identity == "" {
		bad("Identity", "empty (set POD_NAME or the hostname)")
	}
	if c.LeaseDuration < time.Second {
		bad("LeaseDuration", "at least 1s (the Lease counts whole seconds), got %s", c.LeaseDuration)
	}
	if c.RenewDeadline >= c.LeaseDuration {
		bad("RenewDeadline", "%s must be shorter than the lease duration %s", c.RenewDeadline, c.LeaseDuration)
	}
	if float64(c.RenewDeadline) <= leaderelection.JitterFactor*float64(c.RetryPeriod) {
		bad("RenewDeadline", "%s must be longer than %.1f x the retry period %s", c.RenewDeadline, leaderelection.JitterFactor, c.RetryPeriod)
	}
	if c.RetryPeriod <= 0 {
		bad("RetryPeriod", "must be positive")
	}
	return errors.Join(errs...)
}

// Elector takes part in the election until its context ends. It is the
// prometheus.Collector of argocd_monitor_leader.
type Elector struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	lock resourcelock.Interface

	mu sync.Mutex
	// renewedAt is when the last successful write of the Lease naming us
	// as holder was sent; zero while we do not hold it.
	renewedAt time.Time

	desc *prometheus.Desc
}

// New builds an elector; Run takes part in the election.
func New(cfg Config) (*Elector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Elector{
		cfg:  cfg,
		log:  cfg.Logger,
		now:  cfg.Now,
		desc: Solo().(soloCollector).desc,
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.lock = &recordingLock{
		Interface: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
			Client:     cfg.Client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
		},
		e: e,
	}
	return e, nil
}

// Leading reports whether this replica may start a remediation action now,
// and the time by which any action it starts must be over: the earliest
// moment another replica can take the Lease.
//
// A replica may act only within RenewDeadline of sending its last successful
// renewal. Another replica can take the Lease only by writing it over the
// version that carries that renewal, which it must first have read, and only
// once it has seen the record unchanged for LeaseDuration: no earlier than
// LeaseDuration after our renewal was sent. RenewDeadline < LeaseDuration
// leaves the difference for clock-rate drift and the call on its way.
func (e *Elector) Leading() (until time.Time, ok bool) {
	e.mu.Lock()
	renewed := e.renewedAt
	e.mu.Unlock()
	if renewed.IsZero() {
		return time.Time{}, false
	}
	return renewed.Add(e.cfg.LeaseDuration), e.now().Before(renewed.Add(e.cfg.RenewDeadline))
}

// Run contends for the Lease until ctx ends; a replica that loses the Lease
// goes back to contending. On return the Lease is released, so a rolling
// update hands over without waiting for it to expire.
func (e *Elector) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            e.lock,
			LeaseDuration:   e.cfg.LeaseDuration,
			RenewDeadline:   e.cfg.RenewDeadline,
			RetryPeriod:     e.cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            e.cfg.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) {
					e.log.Info("leader election: leading, remediation active", "lease", e.cfg.Namespace+"/"+e.cfg.Name, "identity", e.cfg.Identity)
				},
				OnStoppedLeading: func() {
					e.forget()
					e.log.Info("leader election: not leading, remediation stands by", "lease", e.cfg.Namespace+"/"+e.cfg.Name)
				},
				OnNewLeader: func(id string) {
					if id != e.cfg.Identity {
						e.log.Info("leader election: another replica leads", "leader", id)
					}
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx)
	}
	return nil
}

func (e *Elector) forget() {
	e.mu.Lock()
	e.renewedAt = time.Time{}
	e.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (e *Elector) Describe(ch chan<- *prometheus.Desc) { ch <- e.desc }

// Collect implements prometheus.Collector.
func (e *Elector) Collect(ch chan<- prometheus.Metric) {
	v := 0.0
	if _, ok := e.Leading(); ok {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(e.desc, prometheus.GaugeValue, v)
}

// recordingLock notes when each successful write naming us as holder was
// sent: Leading counts from there, not from when the answer came back.
type recordingLock struct {
	resourcelock.Interface
	e *Elector
}

func (l *recordingLock) Create(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	sent := l.e.now()
	err := l.Interface.Create(ctx, rec)
	l.note(rec, sent, err)
	return err
}

func (l *recordingLock) Update(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	sent := l.e.now()
	err := l.Interface.Update(ctx, rec)
	l.note(rec, sent, err)
	return err
}

func (l *recordingLock) note(rec resourcelock.LeaderElectionRecord, sent time.Time, err error) {
	l.e.mu.Lock()
	defer l.e.mu.Unlock()
	switch {
	case err != nil:
		// A failed renewal keeps the last good one: Leading runs out by itself.
	case rec.HolderIdentity == l.e.cfg.Identity:
		l.e.renewedAt = sent
	default: // released
		l.e.renewedAt = time.Time{}
	}
}

// Solo is argocd_monitor_leader for an exporter without election: it always
// remediates.
func Solo() prometheus.Collector {
	return soloCollector{prometheus.NewDesc("argocd_monitor_leader",
		"1 while this replica holds the leader Lease and may remediate, 0 otherwise.", nil, nil)}
}

type soloCollector struct{ desc *prometheus.Desc }

func (c soloCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c soloCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1)
}
