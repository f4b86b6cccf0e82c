package remediate

import (
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
)

type testCLI struct {
	Remediation Config `embed:"" prefix:"remediation."`
}

func parseCLI(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	var cli testCLI
	p, err := kong.New(&cli, kong.Name("argocd-exporter"), kong.Exit(func(int) { t.Fatal("kong tried to exit") }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Parse(args)
	return cli.Remediation, err
}

func TestConfigDefaultsMatchFlags(t *testing.T) {
	got, err := parseCLI(t)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	if got.Mode != want.Mode || got.Grace != want.Grace || got.Backoff != want.Backoff || got.MaxBackoff != want.MaxBackoff ||
		got.MaxAttempts != want.MaxAttempts || got.Prune != want.Prune || got.IncludeAutomated != want.IncludeAutomated ||
		got.ResetOnNewRevision != want.ResetOnNewRevision || got.MaxConcurrent != want.MaxConcurrent ||
		got.RateLimit != want.RateLimit || got.RateBurst != want.RateBurst || got.StateFile != "" || got.Selector != "" || len(got.Project) != 0 {
		t.Fatalf("flag defaults %+v differ from DefaultConfig %+v", got, want)
	}
}

func TestConfigFlagsAndEnv(t *testing.T) {
	t.Setenv("REMEDIATION_MAX_ATTEMPTS", "5")
	t.Setenv("REMEDIATION_STATE_FILE", "/var/lib/argocd-monitor/state.json")
	got, err := parseCLI(t,
		"--remediation.mode=dry-run", "--remediation.grace=30s", "--remediation.backoff=2m", "--remediation.max-backoff=1h",
		"--remediation.prune", "--remediation.include-automated", "--remediation.selector=team in (a,b)",
		"--remediation.project=default", "--remediation.project=payments", "--no-remediation.reset-on-new-revision",
		"--remediation.max-concurrent=2", "--remediation.rate-limit=0.5", "--remediation.rate-burst=1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Mode != ModeDryRun || got.Grace != 30*time.Second || got.Backoff != 2*time.Minute || got.MaxBackoff != time.Hour ||
		!got.Prune || !got.IncludeAutomated || got.Selector != "team in (a,b)" || strings.Join(got.Project, ",") != "default,payments" ||
		got.ResetOnNewRevision || got.MaxConcurrent != 2 || got.RateLimit != 0.5 || got.RateBurst != 1 ||
		got.MaxAttempts != 5 || got.StateFile != "/var/lib/argocd-monitor/state.json" {
		t.Fatalf("parsed %+v", got)
	}
}

func TestConfigValidationNamesTheFlag(t *testing.T) {
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
			_, err := parseCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestBackoffDoublesUpToMax(t *testing.T) {
	cfg := DefaultConfig()
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
			s, err := ParseSelector(tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Matches(labels); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSelectorErrors(t *testing.T) {
	for _, sel := range []string{"team in (a", "=x", "a,,b", "team in (a b)", "te am=x", "!", "team=a/b", ",", "team notin ()x"} {
		if _, err := ParseSelector(sel); err == nil {
			t.Errorf("ParseSelector(%q) = nil error, want one", sel)
		}
	}
}
