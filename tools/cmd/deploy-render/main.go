// Command deploy-render writes deploy/rendered/<overlay>.yaml, the kustomize output of every
// overlay, so reviewers see what a manifest change does and the CLI tests of the exporter and
// the bridge can read the containers' args. Run from the repository root:
//
//	GOWORK=off go -C tools run ./cmd/deploy-render
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/deploycheck"
)

func main() {
	root := flag.String("root", "..", "repository root (the default suits go -C tools run)")
	flag.Parse()
	if err := deploycheck.WriteRendered(*root); err != nil {
		fmt.Fprintln(os.Stderr, "deploy-render:", err)
		os.Exit(1)
	}
}
