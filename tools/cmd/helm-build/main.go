// Command helm-build builds the pinned Helm v4 CLI (tools/helm) into tools/.cache/bin before the
// chart tests run (so their timeouts cover the tests, not a cold build); skipped when the cached
// binary matches the pins.
//
//	GOWORK=off go -C tools run ./cmd/helm-build
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/helmchart"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := repofile.FindRootFromWD()
	if err == nil {
		var bin string
		if bin, err = helmchart.Build(ctx, root, os.Stdout); err == nil {
			fmt.Printf("helm %s: %s\n", helmchart.Version, bin)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helm-build:", err)
		os.Exit(1)
	}
}
