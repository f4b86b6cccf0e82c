// Command realargocd-build builds what `make e2e-real` runs once, before the test starts (so the
// test's own timeout covers the test, not a cold build): etcd, redis and git from Debian when
// missing, kube-apiserver (tools/kube-apiserver) and Argo CD (tools/internal/realargocd) into
// tools/.cache/bin, skipped when the cached binaries match the pins. See docs/testing.md.
//
//	GOWORK=off go -C tools run ./cmd/realargocd-build
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/kubeapi"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/realargocd"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "realargocd-build:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	root, err := repofile.FindRootFromWD()
	if err != nil {
		return err
	}
	kube, err := kubeapi.Build(ctx, root, os.Stdout)
	if err != nil {
		return err
	}
	argo, err := realargocd.Build(ctx, root, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Printf("kube-apiserver %s: %s\nargocd %s: %s\n", kubeapi.Version, kube, realargocd.Version, argo.Bin)
	return nil
}
