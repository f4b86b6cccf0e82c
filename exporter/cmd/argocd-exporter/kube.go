package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/kubestate"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/leader"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
)

// KubeFlags are the Kubernetes-style flags of running several replicas:
// leader election (kube-controller-manager's names) and the shared
// remediation state.
type KubeFlags struct {
	Kubeconfig        string        `name:"kubeconfig" env:"KUBECONFIG" placeholder:"PATH" help:"kubeconfig for the Kubernetes API outside a cluster (default: the pod's service account)."`
	LeaderElect       bool          `name:"leader-elect" env:"LEADER_ELECT" help:"Elect one replica, through a coordination.k8s.io Lease, to remediate; every replica polls and exports."`
	LeaseDuration     time.Duration `name:"leader-elect-lease-duration" env:"LEADER_ELECT_LEASE_DURATION" default:"15s" help:"How long a replica waits after the last renewal it saw before it takes the Lease."`
	RenewDeadline     time.Duration `name:"leader-elect-renew-deadline" env:"LEADER_ELECT_RENEW_DEADLINE" default:"10s" help:"How long the leader keeps trying to renew before it steps down; it stops remediating then, before anyone can take over."`
	RetryPeriod       time.Duration `name:"leader-elect-retry-period" env:"LEADER_ELECT_RETRY_PERIOD" default:"2s" help:"Interval between attempts to take or renew the Lease."`
	ResourceNamespace string        `name:"leader-elect-resource-namespace" env:"LEADER_ELECT_RESOURCE_NAMESPACE" placeholder:"NAMESPACE" help:"Namespace of the Lease and the state ConfigMap (default: the pod's namespace)."`
	Identity          string        `name:"leader-elect-identity" env:"POD_NAME" placeholder:"NAME" help:"This replica's name in the Lease (default: the host name, which is the pod name in Kubernetes)."`
	ResourceName      string        `name:"leader-elect-resource-name" env:"LEADER_ELECT_RESOURCE_NAME" default:"argocd-exporter" help:"Name of the Lease."`
	StateConfigMap    string        `name:"remediation.state-configmap" env:"REMEDIATION_STATE_CONFIGMAP" placeholder:"NAME" help:"ConfigMap keeping the remediation state, shared by every replica (instead of --remediation.state-file); required with --leader-elect."`
}

// serviceAccountNamespace is where Kubernetes tells a pod its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// kube is what KubeFlags build: nil members when unused.
type kube struct {
	elector *leader.Elector
	store   *kubestate.ConfigMap
}

func (f KubeFlags) build(cli *CLI, logger *slog.Logger) (kube, error) {
	if !f.LeaderElect && f.StateConfigMap == "" {
		return kube{}, nil
	}
	if f.StateConfigMap != "" && cli.Remediation.StateFile != "" {
		return kube{}, errors.New("--remediation.state-configmap and --remediation.state-file: give one, not both")
	}
	if f.LeaderElect && f.StateConfigMap == "" && cli.Remediation.Mode != "off" {
		return kube{}, errors.New("--leader-elect: needs --remediation.state-configmap, so a new leader continues the streaks of the old one")
	}
	client, err := kubeClient(f.Kubeconfig)
	if err != nil {
		return kube{}, err
	}
	// client-go logs (leader election's among them) through klog: into our logger.
	klog.SetSlogLogger(logger)
	ns := f.ResourceNamespace
	if ns == "" {
		b, err := os.ReadFile(serviceAccountNamespace)
		if err != nil {
			return kube{}, errors.New("--leader-elect-resource-namespace: required outside a pod")
		}
		ns = strings.TrimSpace(string(b))
	}
	var k kube
	if f.StateConfigMap != "" {
		if k.store, err = kubestate.New(kubestate.Config{Client: client, Namespace: ns, Name: f.StateConfigMap}); err != nil {
			return kube{}, err
		}
	}
	if f.LeaderElect {
		id := f.Identity
		if id == "" {
			if id, err = os.Hostname(); err != nil {
				return kube{}, fmt.Errorf("--leader-elect-identity: %w", err)
			}
		}
		k.elector, err = leader.New(leader.Config{Client: client, Namespace: ns, Name: f.ResourceName, Identity: id,
			LeaseDuration: f.LeaseDuration, RenewDeadline: f.RenewDeadline, RetryPeriod: f.RetryPeriod, Logger: logger})
		if err != nil {
			return kube{}, flagErrors(err)
		}
	}
	return k, nil
}

func kubeClient(kubeconfig string) (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig: %w", err)
	}
	cfg.UserAgent = "argocd-exporter"
	// A hung request must not eat the renew deadline.
	cfg.Timeout = 5 * time.Second
	return kubernetes.NewForConfig(cfg)
}

// options hands the engine what it uses, as nil interfaces when unused.
func (k kube) options(logger *slog.Logger) remediate.Options {
	opts := remediate.Options{Logger: logger}
	if k.store != nil {
		opts.Store = k.store
	}
	switch {
	case k.elector != nil:
		opts.Leader = k.elector
	case k.store != nil:
		// One replica on the shared store: it always leads, but reads the
		// store like a leader (a failed read is no reason to replace it).
		opts.Leader = soloLeader{}
	}
	return opts
}

type soloLeader struct{}

func (soloLeader) Leading() (time.Time, bool) { return time.Time{}, true }

// collector is argocd_monitor_leader.
func (k kube) collector() prometheus.Collector {
	if k.elector != nil {
		return k.elector
	}
	return leader.Solo()
}
