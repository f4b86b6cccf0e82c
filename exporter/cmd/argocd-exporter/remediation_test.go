package main

import (
	"strings"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
)

func TestRemediationFlagsAndEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("REMEDIATION_MAX_ATTEMPTS", "5")
	t.Setenv("REMEDIATION_STATE_FILE", "/var/lib/argocd-monitor/state.json")
	cli, err := parse([]string{"--argocd.api=http://argocd",
		"--remediation.mode=dry-run", "--remediation.grace=30s", "--remediation.backoff=2m", "--remediation.max-backoff=1h",
		"--remediation.prune", "--remediation.include-automated", "--remediation.selector=team in (a,b)",
		"--remediation.project=default", "--remediation.project=payments", "--no-remediation.reset-on-new-revision",
		"--remediation.max-concurrent=2", "--remediation.rate-limit=0.5", "--remediation.rate-burst=1"})
	if err != nil {
		t.Fatal(err)
	}
	got := cli.Remediation.config()
	if got.Mode != remediate.ModeDryRun || got.Grace != 30*time.Second || got.Backoff != 2*time.Minute || got.MaxBackoff != time.Hour ||
		!got.Prune || !got.IncludeAutomated || got.Selector != "team in (a,b)" || strings.Join(got.Project, ",") != "default,payments" ||
		got.ResetOnNewRevision || got.MaxConcurrent != 2 || got.RateLimit != 0.5 || got.RateBurst != 1 ||
		got.MaxAttempts != 5 || got.StateFile != "/var/lib/argocd-monitor/state.json" {
		t.Fatalf("parsed %+v", got)
	}
}

func TestRemediationValidationNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--remediation.mode=maybe"}, "--remediation.mode"},
		{[]string{"--remediation.max-attempts=0"}, "--remediation.max-attempts"},
		{[]string{"--remediation.backoff=20m"}, "--remediation.max-backoff"},
		{[]string{"--remediation.backoff=0s"}, "--remediation.backoff"},
		{[]string{"--remediation.grace=-1s"}, "--remediation.grace"},
		{[]string{"--remediation.max-concurrent=0"}, "--remediation.max-concurrent"},
		{[]string{"--remediation.rate-limit=-1"}, "--remediation.rate-limit"},
		{[]string{"--remediation.rate-burst=0"}, "--remediation.rate-burst"},
		{[]string{"--remediation.selector=team in (a"}, "--remediation.selector"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			clearEnv(t)
			_, err := parse(append([]string{"--argocd.api=http://argocd"}, tc.args...))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line naming %s", err, tc.want)
			}
		})
	}
	// Two bad flags: both named on one line.
	clearEnv(t)
	_, err := parse([]string{"--argocd.api=http://argocd", "--remediation.grace=-1s", "--remediation.max-attempts=0"})
	if err == nil || !strings.Contains(err.Error(), "--remediation.grace") || !strings.Contains(err.Error(), "--remediation.max-attempts") {
		t.Fatalf("err = %v", err)
	}
}
