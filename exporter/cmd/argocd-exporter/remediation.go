package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/leader"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/remediate"
)

// RemediationFlags are the --remediation.* flags, mapped onto
// remediate.Config.
type RemediationFlags struct {
	Mode               string        `name:"mode" enum:"on,dry-run,off" default:"on" env:"REMEDIATION_MODE" help:"on: sync drifted apps; dry-run: decide and count but never call sync; off: do nothing (${enum})."`
	Grace              time.Duration `name:"grace" default:"2m" env:"REMEDIATION_GRACE" help:"How long a problem must persist before the first sync."`
	Backoff            time.Duration `name:"backoff" default:"1m" env:"REMEDIATION_BACKOFF" help:"Wait after the first attempt; doubles after each attempt."`
	MaxBackoff         time.Duration `name:"max-backoff" default:"10m" env:"REMEDIATION_MAX_BACKOFF" help:"Cap of the doubling backoff."`
	MaxAttempts        int           `name:"max-attempts" default:"3" env:"REMEDIATION_MAX_ATTEMPTS" help:"Accepted syncs per problem streak before remediation pauses for the app."`
	Prune              bool          `name:"prune" env:"REMEDIATION_PRUNE" help:"Send prune=true with remediation syncs."`
	IncludeAutomated   bool          `name:"include-automated" env:"REMEDIATION_INCLUDE_AUTOMATED" help:"Also remediate apps with Argo CD auto-sync enabled (Argo CD retries those itself)."`
	Selector           string        `name:"selector" env:"REMEDIATION_SELECTOR" help:"Label selector (=, ==, !=, in, notin, key, !key) limiting which watched apps are remediated."`
	Project            []string      `name:"project" env:"REMEDIATION_PROJECT" help:"Only remediate apps of these projects (repeatable)."`
	ResetOnNewRevision bool          `name:"reset-on-new-revision" default:"true" negatable:"" env:"REMEDIATION_RESET_ON_NEW_REVISION" help:"Give an app fresh attempts (and unpause it) when its target revision changes its rendered manifests."`
	MaxConcurrent      int           `name:"max-concurrent" default:"5" env:"REMEDIATION_MAX_CONCURRENT" help:"Sync requests in flight at once."`
	RateLimit          float64       `name:"rate-limit" default:"1" env:"REMEDIATION_RATE_LIMIT" help:"Sync requests per second across all apps (0: unlimited)."`
	RateBurst          int           `name:"rate-burst" default:"5" env:"REMEDIATION_RATE_BURST" help:"Sync requests allowed at once above the rate limit."`
	StateFile          string        `name:"state-file" env:"REMEDIATION_STATE_FILE" help:"JSON file keeping attempts and pauses across restarts (empty: memory only; set it in production)."`
	HardRefresh        string        `name:"hard-refresh" enum:"on-error,always,off" default:"on-error" env:"REMEDIATION_HARD_REFRESH" help:"Ask Argo CD for a hard refresh before attempt 2 and later: on-error (when the last failure looks like stale or unresolvable manifests), always, off (${enum})."`
	StopOnPermanent    bool          `name:"stop-on-permanent" env:"REMEDIATION_STOP_ON_PERMANENT" help:"Pause after the first attempt that fails for a cause a retry cannot fix (invalid manifest, immutable field, admission denied, forbidden, missing kind)."`
	Rollback           string        `name:"rollback" enum:"off,offer,auto" default:"offer" env:"REMEDIATION_ROLLBACK" help:"When remediation pauses on a revision that never became healthy and an earlier revision was seen Synced and Healthy: offer the rollback in the story (offer), roll back and hold the app (auto), or neither (off) (${enum}). Never for apps with Argo CD auto-sync."`
	TerminateAfter     time.Duration `name:"terminate-after" default:"0s" env:"REMEDIATION_TERMINATE_AFTER" help:"Terminate an in-scope app's operation that has been Running longer than this (a hook that never finishes); it counts as a failed attempt (0: never)."`
}

func (f *RemediationFlags) config() remediate.Config {
	return remediate.Config{
		Mode: f.Mode, Grace: f.Grace, Backoff: f.Backoff, MaxBackoff: f.MaxBackoff, MaxAttempts: f.MaxAttempts,
		Prune: f.Prune, IncludeAutomated: f.IncludeAutomated, Selector: f.Selector, Project: f.Project,
		ResetOnNewRevision: f.ResetOnNewRevision, MaxConcurrent: f.MaxConcurrent,
		RateLimit: f.RateLimit, RateBurst: f.RateBurst, StateFile: f.StateFile,
		TerminateAfter: f.TerminateAfter, HardRefresh: f.HardRefresh, StopOnPermanent: f.StopOnPermanent,
		Rollback: f.Rollback,
	}
}

// remediationFlag names the flag of each remediate.Config field.
var remediationFlag = map[string]string{
	"Mode": "mode", "Grace": "grace", "Backoff": "backoff", "MaxBackoff": "max-backoff", "MaxAttempts": "max-attempts",
	"Selector": "selector", "MaxConcurrent": "max-concurrent", "RateLimit": "rate-limit", "RateBurst": "rate-burst",
	"TerminateAfter": "terminate-after", "HardRefresh": "hard-refresh", "Rollback": "rollback",
}

// Validate checks the flags after kong parsed them: one line naming every
// bad flag.
func (f *RemediationFlags) Validate() error {
	cfg := f.config()
	return flagErrors(cfg.Validate())
}

// leaderFlag names the flag of each leader.Config field.
var leaderFlag = map[string]string{
	"Namespace": "leader-elect-resource-namespace", "Name": "leader-elect-resource-name", "Identity": "leader-elect-identity",
	"LeaseDuration": "leader-elect-lease-duration", "RenewDeadline": "leader-elect-renew-deadline", "RetryPeriod": "leader-elect-retry-period",
}

// flagErrors rewrites the field errors of remediate and leader as flag errors, on one line.
func flagErrors(err error) error {
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		var fe *remediate.FieldError
		var le *leader.FieldError
		switch {
		case errors.As(e, &fe) && remediationFlag[fe.Field] != "":
			msgs[i] = fmt.Sprintf("--remediation.%s: %v", remediationFlag[fe.Field], fe.Err)
		case errors.As(e, &le) && leaderFlag[le.Field] != "":
			msgs[i] = fmt.Sprintf("--%s: %v", leaderFlag[le.Field], le.Err)
		default:
			msgs[i] = e.Error()
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}
