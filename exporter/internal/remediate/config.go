package remediate

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Modes of --remediation.mode.
const (
	ModeOn     = "on"
	ModeDryRun = "dry-run"
	ModeOff    = "off"
)

// Config holds the --remediation.* flags. The exporter's CLI embeds it with
// `embed:"" prefix:"remediation."`, so the names here carry no prefix.
type Config struct {
	Mode               string        `name:"mode" enum:"on,dry-run,off" default:"on" env:"REMEDIATION_MODE" help:"on: sync drifted apps; dry-run: decide and count but never call sync; off: do nothing (${enum})."`
	Grace              time.Duration `name:"grace" default:"2m" env:"REMEDIATION_GRACE" help:"How long a problem must persist before the first sync."`
	Backoff            time.Duration `name:"backoff" default:"1m" env:"REMEDIATION_BACKOFF" help:"Wait after the first attempt; doubles after each attempt."`
	MaxBackoff         time.Duration `name:"max-backoff" default:"10m" env:"REMEDIATION_MAX_BACKOFF" help:"Cap of the doubling backoff."`
	MaxAttempts        int           `name:"max-attempts" default:"3" env:"REMEDIATION_MAX_ATTEMPTS" help:"Accepted syncs per problem streak before remediation pauses for the app."`
	Prune              bool          `name:"prune" env:"REMEDIATION_PRUNE" help:"Send prune=true with remediation syncs."`
	IncludeAutomated   bool          `name:"include-automated" env:"REMEDIATION_INCLUDE_AUTOMATED" help:"Also remediate apps with Argo CD auto-sync enabled (Argo CD retries those itself)."`
	Selector           string        `name:"selector" env:"REMEDIATION_SELECTOR" help:"Label selector (=, ==, !=, in, notin, key, !key) limiting which watched apps are remediated."`
	Project            []string      `name:"project" env:"REMEDIATION_PROJECT" help:"Only remediate apps of these projects (repeatable)."`
	ResetOnNewRevision bool          `name:"reset-on-new-revision" default:"true" negatable:"" env:"REMEDIATION_RESET_ON_NEW_REVISION" help:"Give an app fresh attempts (and unpause it) when its target revision changes."`
	MaxConcurrent      int           `name:"max-concurrent" default:"5" env:"REMEDIATION_MAX_CONCURRENT" help:"Sync requests in flight at once."`
	RateLimit          float64       `name:"rate-limit" default:"1" env:"REMEDIATION_RATE_LIMIT" help:"Sync requests per second across all apps (0: unlimited)."`
	RateBurst          int           `name:"rate-burst" default:"5" env:"REMEDIATION_RATE_BURST" help:"Sync requests allowed at once above the rate limit."`
	StateFile          string        `name:"state-file" env:"REMEDIATION_STATE_FILE" help:"JSON file keeping attempts and pauses across restarts (empty: memory only; set it in production)."`
}

// DefaultConfig is Config with the flag defaults, for tests and library use.
func DefaultConfig() Config {
	return Config{
		Mode:               ModeOn,
		Grace:              2 * time.Minute,
		Backoff:            time.Minute,
		MaxBackoff:         10 * time.Minute,
		MaxAttempts:        3,
		ResetOnNewRevision: true,
		MaxConcurrent:      5,
		RateLimit:          1,
		RateBurst:          5,
	}
}

// Validate checks the flags; kong calls it after parsing. Errors name the flag.
func (c *Config) Validate() error {
	var errs []error
	switch c.Mode {
	case ModeOn, ModeDryRun, ModeOff:
	default:
		errs = append(errs, fmt.Errorf("--remediation.mode: %q is not one of on, dry-run, off", c.Mode))
	}
	if c.Grace < 0 {
		errs = append(errs, fmt.Errorf("--remediation.grace: must not be negative, got %s", c.Grace))
	}
	if c.Backoff <= 0 {
		errs = append(errs, fmt.Errorf("--remediation.backoff: must be positive, got %s", c.Backoff))
	}
	if c.Backoff > c.MaxBackoff {
		errs = append(errs, fmt.Errorf("--remediation.max-backoff: %s is below --remediation.backoff %s", c.MaxBackoff, c.Backoff))
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("--remediation.max-attempts: must be at least 1, got %d", c.MaxAttempts))
	}
	if c.MaxConcurrent < 1 {
		errs = append(errs, fmt.Errorf("--remediation.max-concurrent: must be at least 1, got %d", c.MaxConcurrent))
	}
	if c.RateLimit < 0 {
		errs = append(errs, fmt.Errorf("--remediation.rate-limit: must not be negative, got %g", c.RateLimit))
	}
	if c.RateLimit > 0 && c.RateBurst < 1 {
		errs = append(errs, fmt.Errorf("--remediation.rate-burst: must be at least 1, got %d", c.RateBurst))
	}
	if _, err := ParseSelector(c.Selector); err != nil {
		errs = append(errs, fmt.Errorf("--remediation.selector: %w", err))
	}
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return errors.New(strings.Join(msgs, "; ")) // one line, every bad flag named
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
