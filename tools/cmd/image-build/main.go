// Command image-build is `make image`: it builds the Dockerfile as shipped (both stages) with
// podman into its local storage as argocd-monitor:dev, on stand-ins for the two base images
// (tools/internal/image, docs/image.md). podman and runc come from Debian when missing (as root).
//
//	GOWORK=off go -C tools run ./cmd/image-build
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/image"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "image-build:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	root, err := repofile.FindRootFromWD()
	if err != nil {
		return err
	}
	p, err := image.Setup(ctx, root, os.Stdout)
	if err != nil {
		return err
	}
	s, err := p.BuildStandIns(ctx, root, os.Stdout)
	if err != nil {
		return err
	}
	stamp := image.StampOf(ctx, root)
	if err := p.Build(ctx, root, s, stamp, os.Stdout); err != nil {
		return err
	}
	fmt.Printf("%s: version %s, revision %s\n", image.Tag, stamp.Version, stamp.Revision)
	return nil
}
