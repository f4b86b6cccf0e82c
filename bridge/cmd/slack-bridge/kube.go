package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/kubegroups"
)

// serviceAccountNamespace is where Kubernetes tells a pod its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// kubeGroups builds the shared group state of --state.kubernetes.
func kubeGroups(cli *CLI, logger *slog.Logger) (*kubegroups.Store, error) {
	var cfg *rest.Config
	var err error
	if cli.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", cli.Kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig: %w", err)
	}
	cfg.UserAgent = "slack-bridge"
	cfg.Timeout = 5 * time.Second // a few calls must fit in one delivery deadline
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig: %w", err)
	}
	klog.SetSlogLogger(logger) // client-go logs through klog: into our logger
	ns := cli.State.Namespace
	if ns == "" {
		b, err := os.ReadFile(serviceAccountNamespace)
		if err != nil {
			return nil, errors.New("--state.namespace: required outside a pod")
		}
		ns = strings.TrimSpace(string(b))
	}
	id := cli.State.Identity
	if id == "" {
		if id, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("--state.identity: %w", err)
		}
	}
	return kubegroups.New(kubegroups.Config{
		Client: client, Namespace: ns, Identity: id,
		// A claim outlives any delivery (deadline plus the drain margin).
		ClaimTimeout:   2*cli.Slack.Deadline + 5*time.Second,
		ResolvedWindow: cli.State.ResolvedWindow,
		TTL:            cli.State.TTL,
		DedupeWindow:   cli.Dedupe.Window,
		Logger:         logger,
	})
}
