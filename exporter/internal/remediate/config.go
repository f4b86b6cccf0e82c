package remediate

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

// Modes of remediation.
const (
	ModeOn     = "on"      // sync drifted apps
	ModeDryRun = "dry-run" // decide and count, never call sync
	ModeOff    = "off"     // do nothing
)

// Hard refresh policies (Config.HardRefresh).
const (
	HardRefreshOnError = "on-error" // before attempt 2+, when the last failure looks like stale manifests
	HardRefreshAlways  = "always"   // before every attempt 2+
	HardRefreshOff     = "off"
)

// Config is what the engine needs; the exporter's cmd/ maps its
// --remediation.* flags onto it.
type Config struct {
	Mode string // ModeOn, ModeDryRun or ModeOff
	// Grace is how long a problem must persist before the first sync.
	Grace time.Duration
	// Backoff is the wait after the first attempt; it doubles after each
	// attempt up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// MaxAttempts is the number of accepted syncs per problem streak before
	// remediation pauses for the app.
	MaxAttempts int
	Prune       bool // send prune=true with syncs
	// IncludeAutomated also remediates apps with Argo CD auto-sync enabled.
	IncludeAutomated bool
	// Selector (=, ==, !=, in, notin, key, !key) and Project limit which
	// watched apps are remediated.
	Selector string
	Project  []string
	// ResetOnNewRevision gives an app fresh attempts (and unpauses it) when
	// its target revision changes.
	ResetOnNewRevision bool
	MaxConcurrent      int     // sync requests in flight at once
	RateLimit          float64 // sync requests per second across all apps (0: unlimited)
	RateBurst          int
	// StateFile keeps attempts and pauses across restarts (empty: memory only).
	StateFile string
	// TerminateAfter, when positive, terminates an in-scope app's operation that has been
	// Running longer than this (a hook that never finishes); our own attempt then counts as
	// failed. 0 leaves running operations alone.
	TerminateAfter time.Duration
	// HardRefresh: HardRefreshOnError, HardRefreshAlways or HardRefreshOff ("" reads as
	// on-error). Before attempt 2 and later the engine asks Argo CD for a hard refresh and syncs
	// once the app has been reconciled since (or MaxBackoff has passed).
	HardRefresh string
	// StopOnPermanent pauses after the first attempt that fails for a cause a retry cannot fix
	// (Permanent: invalid manifest, immutable field, admission denied, forbidden, missing kind).
	StopOnPermanent bool
	// Rollback: RollbackOff, RollbackOffer or RollbackAuto ("" reads as offer). When
	// remediation pauses on a revision that never became healthy and an earlier revision was
	// seen Synced and Healthy, offer names the rollback in the story; auto rolls back itself
	// (never for apps with Argo CD auto-sync) and holds the app.
	Rollback string

	// compareManifests: the engine can read manifests (a Manifester), so a hold ends when they
	// change. Set by New.
	compareManifests bool
}

// FieldError is a Config field with a bad value; Field is the Go field
// name, so a caller can name its own flag or key for it.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Validate checks c; the error joins one *FieldError per bad field.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	switch c.Mode {
	case ModeOn, ModeDryRun, ModeOff:
	default:
		bad("Mode", "%q is not one of on, dry-run, off", c.Mode)
	}
	if c.Grace < 0 {
		bad("Grace", "must not be negative, got %s", c.Grace)
	}
	if c.Backoff <= 0 {
		bad("Backoff", "must be positive, got %s", c.Backoff)
	}
	if c.Backoff > c.MaxBackoff {
		bad("MaxBackoff", "%s is below the backoff %s", c.MaxBackoff, c.Backoff)
	}
	if c.MaxAttempts < 1 {
		bad("MaxAttempts", "must be at least 1, got %d", c.MaxAttempts)
	}
	if c.MaxConcurrent < 1 {
		bad("MaxConcurrent", "must be at least 1, got %d", c.MaxConcurrent)
	}
	if c.RateLimit < 0 {
		bad("RateLimit", "must not be negative, got %g", c.RateLimit)
	}
	if c.RateLimit > 0 && c.RateBurst < 1 {
		bad("RateBurst", "must be at least 1, got %d", c.RateBurst)
	}
	switch c.HardRefresh {
	case "", HardRefreshOnError, HardRefreshAlways, HardRefreshOff:
	default:
		bad("HardRefresh", "%q is not one of on-error, always, off", c.HardRefresh)
	}
	switch c.Rollback {
	case "", RollbackOff, RollbackOffer, RollbackAuto:
	default:
		bad("Rollback", "%q is not one of off, offer, auto", c.Rollback)
	}
	if c.TerminateAfter < 0 {
		bad("TerminateAfter", "must not be negative, got %s", c.TerminateAfter)
	}
	if _, err := labels.Parse(c.Selector); err != nil {
		errs = append(errs, &FieldError{Field: "Selector", Err: err})
	}
	return errors.Join(errs...)
}

// backoffFor is the wait after the n-th attempt (n >= 1): backoff * 2^(n-1),
// capped at max-backoff.
func (c *Config) backoffFor(n int) time.Duration {
	d := c.Backoff
	for i := 1; i < n && d < c.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.MaxBackoff)
}
