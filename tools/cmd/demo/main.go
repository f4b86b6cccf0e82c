// Command demo runs argocd-monitor's whole stack on 127.0.0.1 (`make demo`) and tells its story
// in the terminal; Ctrl-C stops every process. See docs/demo.md.
//
//	GOWORK=off go -C tools run ./cmd/demo [-work DIR] [-exit-when-done] [-timeout 3m]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/demo"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	work := fs.String("work", ".demo", "directory for logs, configs and data (relative to the repository root)")
	exitWhenDone := fs.Bool("exit-when-done", false, "stop the stack and exit once the story is complete (CI smoke run)")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up when the story is not complete after this long")
	apps := fs.Int("apps", 20, "healthy filler apps besides the scenario apps (at least 3: the remedies chapter uses two)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *apps < demo.MinApps {
		return fmt.Errorf("-apps %d: the story needs at least %d filler apps", *apps, demo.MinApps)
	}
	root, err := repofile.FindRootFromWD()
	if err != nil {
		return err
	}
	bins, err := stack.Build(ctx, root, os.Stdout)
	if err != nil {
		return err
	}
	workDir := *work
	if !filepath.IsAbs(workDir) {
		workDir = filepath.Join(root, workDir)
	}
	fmt.Println("starting the stack on 127.0.0.1 (logs in", workDir+")")
	cfg := demo.StackConfig(root, workDir, bins, *apps)
	cfg.SimPort, cfg.SlackPort, cfg.Log = 8080, 8081, os.Stdout
	st, err := stack.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("stopping every process")
		st.Stop()
	}()
	printURLs(st)

	n := demo.NewNarrator(st, os.Stdout)
	deadline := time.After(*timeout)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	told := false
	for {
		select {
		case <-ctx.Done():
			return nil // Ctrl-C: the deferred Stop ends every process group
		case <-deadline:
			if !told {
				return fmt.Errorf("story incomplete after %s, missing: %v (see the logs in %s)", *timeout, n.Missing(), workDir)
			}
		case <-tick.C:
		}
		if name := st.Exited(); name != "" {
			return fmt.Errorf("%s exited; see %s", name, st.LogPath(name))
		}
		if err := n.Step(ctx); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Println("(narrator:", err, ")")
		}
		if n.Done() && !told {
			told = true
			fmt.Printf("\nThe story is complete. See the channel, and try its buttons, at %s/\n", st.SlackURL)
			if *exitWhenDone {
				return nil
			}
			fmt.Printf("The stack keeps running. Repair the stuck app and watch the alert resolve:\n"+
				"  curl -X POST %s/sim/apps/stuck/state -d '{\"health\":\"Healthy\",\"sync\":\"Synced\"}'\n"+
				"Ctrl-C stops everything.\n", st.SimURL)
		}
	}
}

func printURLs(st *stack.Stack) {
	fmt.Printf(`
  Slack (fake)       %[7]s/  <- open in a browser: the channel as Slack draws it; its buttons work
  Argo CD simulator  %[1]s/api/v1/applications (Bearer token in %[6]s/argocd-token); scenario state %[1]s/sim/apps
  exporter metrics   %[2]s/metrics
  Slack bridge       %[3]s/metrics (bot mode against the fake Slack; every request at %[7]s/fake/requests)
  Prometheus         %[4]s/api/v1/alerts  (API only: built without the web UI assets)
  Alertmanager       %[5]s

`, st.SimURL, st.ExporterURL, st.BridgeURL, st.PrometheusURL, st.AlertmanagerURL, st.Work, st.SlackURL)
}
