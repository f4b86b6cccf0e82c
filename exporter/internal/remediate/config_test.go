package remediate

import (
	"errors"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

// defaultConfig is Config with the exporter's flag defaults.
func defaultConfig() Config {
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

func TestConfigValidationNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		mutate func(c *Config)
		field  string
	}{
		{func(c *Config) { c.Mode = "maybe" }, "Mode"},
		{func(c *Config) { c.MaxAttempts = 0 }, "MaxAttempts"},
		{func(c *Config) { c.Backoff = 20 * time.Minute }, "MaxBackoff"},
		{func(c *Config) { c.Backoff = 0 }, "Backoff"},
		{func(c *Config) { c.Grace = -time.Second }, "Grace"},
		{func(c *Config) { c.MaxConcurrent = 0 }, "MaxConcurrent"},
		{func(c *Config) { c.RateLimit = -1 }, "RateLimit"},
		{func(c *Config) { c.RateBurst = 0 }, "RateBurst"},
		{func(c *Config) { c.Selector = "team in (a" }, "Selector"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			cfg := defaultConfig()
			tc.mutate(&cfg)
			var fe *FieldError
			if err := cfg.Validate(); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
	cfg := defaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	cfg := defaultConfig()
	var got []time.Duration
	for n := 1; n <= 6; n++ {
		got = append(got, cfg.backoffFor(n))
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("backoffs %v, want %v", got, want)
		}
	}
	cfg.MaxBackoff = time.Duration(1 << 62)
	if d := cfg.backoffFor(1000); d <= 0 {
		t.Fatalf("backoff overflowed to %v", d)
	}
}

func TestSelector(t *testing.T) {
	labels := map[string]string{"team": "payments", "tier": "web", "app.kubernetes.io/part-of": "shop"}
	for _, tc := range []struct {
		sel  string
		want bool
	}{
		{"", true},
		{"team=payments", true},
		{"team==payments", true},
		{"team = payments", true},
		{"team=search", false},
		{"team!=search", true},
		{"team!=payments", false},
		{"absent!=x", true},
		{"team in (search, payments)", true},
		{"team in (search)", false},
		{"absent in (x)", false},
		{"team notin (search)", true},
		{"team notin (payments,search)", false},
		{"absent notin (x)", true},
		{"tier", true},
		{"absent", false},
		{"!absent", true},
		{"!tier", false},
		{"app.kubernetes.io/part-of=shop,team in (payments),!absent", true},
		{"team=payments,tier=db", false},
		{"team=", false},
	} {
		t.Run(tc.sel, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.Selector = tc.sel
			e, err := New(cfg, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			app := &argocd.App{Namespace: "argocd", Name: "a", Project: "default", Labels: labels}
			if got := e.inScope(app); got != tc.want {
				t.Fatalf("in scope = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelectorErrors(t *testing.T) {
	for _, sel := range []string{"team in (a", "=x", "a,,b", "team in (a b)", "te am=x", "!", "team=a/b", ",", "team notin ()x"} {
		cfg := defaultConfig()
		cfg.Selector = sel
		var fe *FieldError
		if err := cfg.Validate(); !errors.As(err, &fe) || fe.Field != "Selector" {
			t.Errorf("Validate() with selector %q = %v, want a Selector error", sel, err)
		}
	}
}
