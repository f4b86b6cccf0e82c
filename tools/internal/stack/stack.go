// Package stack runs argocd-monitor's whole stack on 127.0.0.1 for `make demo` and the
// end-to-end test: the Argo CD simulator, the exporter, the Slack bridge, a real Prometheus with
// the generated rules and a real Alertmanager routed to the bridge. It builds the binaries,
// picks free ports, renders deploy/local's config files, waits for readiness, and stops every
// process group on Stop.
package stack

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/proc"
)

// DefaultParams is the alert rules' params file (short `for` durations) the stack generates its
// rules from, relative to the repository root.
const DefaultParams = "tools/testdata/e2e-params.yaml"

// Config says how to run the stack.
type Config struct {
	Root   string   // repository root
	Work   string   // logs, configs, tokens and data; created, previous data removed
	Bin    Binaries // from Build
	Params string   // alert params file relative to Root; default DefaultParams
	// SimPort is the simulator's port when free (0 or taken: any free port). The demo asks for
	// 8080, the argocdURL of DefaultParams, so the links in the alerts' descriptions work.
	SimPort int
	// SlackPort is the fake Slack's port when free (bot mode; 0 or taken: any free port). The
	// demo asks for 8081, so its channel page keeps its address from run to run.
	SlackPort int

	// ArgoCD, when set, is a real Argo CD the exporter watches instead of the simulator
	// (the real-Argo-CD e2e); the simulator is not started then.
	ArgoCD *ExternalArgoCD

	Slack       Slack
	Sim         SimTimings
	Remediation RemediationTimings
	// StateSets is the exporter's --metrics.state-sets (empty: its default, full).
	StateSets string

	Log io.Writer // progress lines; nil: discarded
}

// Slack selects the bridge's delivery mode.
type Slack struct {
	// Console prints each message to the bridge's log and appends its Block Kit JSON to
	// Stack.ConsoleFile.
	Console bool
	// BotToken, without Console, runs the bridge in bot mode against the slack-fake binary
	// (Stack.SlackURL), which accepts this token (written to a file for both). Its page at
	// SlackURL shows the channels; its buttons, and Click, send signed interactions to the bridge.
	BotToken string
	// Deadline is the bridge's --slack.deadline; zero keeps its default.
	Deadline time.Duration
	// Channel is the default channel.
	Channel string
}

// ExternalArgoCD is an Argo CD API the stack does not run.
type ExternalArgoCD struct {
	URL   string // API base, e.g. http://127.0.0.1:PORT
	Token string // the exporter's API token (written to a file for it)
}

// SimTimings scale the simulator's story.
type SimTimings struct {
	DegradeAfter, SyncPickup, SyncDuration time.Duration
	Apps                                   int // filler apps
	// Fleets are the simulator's --fleet flags (DESTINATION=APPS[:Application]).
	Fleets []string
	// NoScenario serves only the filler and fleet apps (--no-scenario).
	NoScenario bool
}

// RemediationTimings are the exporter's poll and remediation timers.
type RemediationTimings struct {
	Poll, Grace, Backoff, MaxBackoff time.Duration
	// TerminateAfter is --remediation.terminate-after; zero leaves it off.
	TerminateAfter time.Duration
	// Rollback is --remediation.rollback (off, offer, auto); empty keeps the exporter's default.
	Rollback string
	// Mode is --remediation.mode; "" keeps the exporter's default (on).
	Mode string
}

// Defaults for a story that completes in about a minute: the stuck app's three syncs run at
// grace, +backoff, +2*backoff, each taking pickup+duration. The exporter watches the stream: the
// poll interval matters only while it is down, and is long so that the end-to-end test shows
// events, not polls, driving remediation.
var (
	DefaultSim         = SimTimings{DegradeAfter: 20 * time.Second, SyncPickup: 500 * time.Millisecond, SyncDuration: 2 * time.Second}
	DefaultRemediation = RemediationTimings{Poll: 30 * time.Second, Grace: 3 * time.Second, Backoff: 2 * time.Second, MaxBackoff: 4 * time.Second}
)

// Stack is a running stack.
type Stack struct {
	// ArgoCDURL is the Argo CD API the exporter watches: the simulator's SimURL, or
	// Config.ArgoCD's URL.
	ArgoCDURL string
	// SimURL is empty when Config.ArgoCD is set.
	SimURL, ExporterURL, BridgeURL, PrometheusURL, AlertmanagerURL string
	// SlackURL is the fake Slack's base URL (bot mode only); its channels page is at SlackURL/.
	SlackURL string
	// Work is the directory of the logs, rendered configs and data.
	Work string
	// APITokenFile holds the exporter's read API token (--api.token-file).
	APITokenFile string
	// ConsoleFile is the bridge's JSON-lines file of Block Kit messages (console mode).
	ConsoleFile string
	// ConsoleText is the bridge's stdout: each Slack message printed readably (console mode).
	ConsoleText string
	// SigningSecret is the bridge's; the fake Slack signs the clicks with it (Click).
	SigningSecret string

	procs []*proc.Proc
	// ready is each process's readiness URL, for restarts.
	ready map[string]string
}

// Names of the processes, also their log file names (<name>.log in Work).
const (
	ProcSim          = "argocd-sim"
	ProcExporter     = "argocd-exporter"
	ProcBridge       = "slack-bridge"
	ProcSlack        = "slack-fake"
	ProcPrometheus   = "prometheus"
	ProcAlertmanager = "alertmanager"
)

// LogPath returns the log file of a process.
func (s *Stack) LogPath(name string) string { return filepath.Join(s.Work, name+".log") }

// Start starts the stack and waits until every process is ready. On error it stops what it
// started.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Params == "" {
		cfg.Params = DefaultParams
	}
	if cfg.Sim.DegradeAfter == 0 && cfg.Sim.SyncPickup == 0 && cfg.Sim.SyncDuration == 0 && cfg.Sim.Apps == 0 && len(cfg.Sim.Fleets) == 0 && !cfg.Sim.NoScenario {
		cfg.Sim = DefaultSim
	}
	if cfg.Remediation == (RemediationTimings{}) {
		cfg.Remediation = DefaultRemediation
	}
	if cfg.Slack.Channel == "" {
		cfg.Slack.Channel = "#argocd-alerts"
	}
	if cfg.Slack.Console == (cfg.Slack.BotToken != "") {
		return nil, errors.New("stack: choose the bridge's console mode or a bot token (bot mode against the fake Slack)")
	}
	work, err := filepath.Abs(cfg.Work)
	if err != nil {
		return nil, err
	}
	s := &Stack{Work: work, APITokenFile: filepath.Join(work, "api-token"), ConsoleFile: filepath.Join(work, "slack-messages.jsonl"), ConsoleText: filepath.Join(work, "slack-console.txt")}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if err := s.prepare(); err != nil {
		return nil, err
	}
	ports := make([]int, 6)
	for i := range ports {
		if ports[i], err = proc.FreePort(); err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
	}
	if cfg.SimPort != 0 && proc.PortFree(cfg.SimPort) {
		ports[0] = cfg.SimPort
	}
	if cfg.SlackPort != 0 && proc.PortFree(cfg.SlackPort) {
		ports[5] = cfg.SlackPort
	}
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	simAddr, exporterAddr, bridgeAddr, promAddr, amAddr := addr(ports[0]), addr(ports[1]), addr(ports[2]), addr(ports[3]), addr(ports[4])
	s.SimURL, s.ExporterURL, s.BridgeURL = "http://"+simAddr, "http://"+exporterAddr, "http://"+bridgeAddr
	s.PrometheusURL, s.AlertmanagerURL = "http://"+promAddr, "http://"+amAddr
	slackAddr := addr(ports[5])

	// Secrets as files, never argv.
	argocdToken := filepath.Join(work, "argocd-token")
	bridgeToken := filepath.Join(work, "bridge-token")
	if err := os.WriteFile(bridgeToken, []byte(randomHex(24)+"\n"), 0o600); err != nil {
		return nil, err
	}
	// The exporter's read API token, which the bridge sends to learn each app's "why".
	apiToken := s.APITokenFile
	if err := os.WriteFile(apiToken, []byte(randomHex(24)+"\n"), 0o600); err != nil {
		return nil, err
	}
	// The Slack buttons: a signing secret for clicks, the exporter's write token, who may resume.
	s.SigningSecret = randomHex(16)
	signingSecret, writeToken, bridgeConfig := filepath.Join(work, "slack-signing-secret"), filepath.Join(work, "exporter-write-token"), filepath.Join(work, "bridge-config.yaml")
	for file, content := range map[string]string{signingSecret: s.SigningSecret + "\n", writeToken: randomHex(24) + "\n", bridgeConfig: actionsConfig} {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			return nil, err
		}
	}

	fmt.Fprintln(cfg.Log, "generating alert rules from", cfg.Params)
	genDir := filepath.Join(work, "generated")
	rulesDir := filepath.Join(genDir, "alerts")
	gen := exec.CommandContext(ctx, "go", "-C", filepath.Join(cfg.Root, "tools"), "run", "./cmd/generate",
		"-root", cfg.Root, "-params", cfg.Params, "-out", genDir)
	gen.Env = append(os.Environ(), "GOWORK=off")
	if err := proc.Run(gen); err != nil {
		return nil, err
	}
	promCfg := filepath.Join(work, "prometheus.yml")
	if err := render(filepath.Join(cfg.Root, PrometheusConfig), promCfg, prometheusReplacements(exporterAddr, bridgeAddr, amAddr, rulesDir)); err != nil {
		return nil, err
	}
	amCfg := filepath.Join(work, "alertmanager.yml")
	if err := render(filepath.Join(cfg.Root, AlertmanagerConfig), amCfg, alertmanagerReplacements(s.BridgeURL, bridgeToken)); err != nil {
		return nil, err
	}

	s.ArgoCDURL = s.SimURL
	if cfg.ArgoCD != nil {
		s.SimURL, s.ArgoCDURL = "", cfg.ArgoCD.URL
		if err := os.WriteFile(argocdToken, []byte(cfg.ArgoCD.Token+"\n"), 0o600); err != nil {
			return nil, err
		}
	} else if err := s.startSim(ctx, cfg.Bin.Sim, cfg.Sim, simAddr, argocdToken); err != nil {
		return nil, err
	}

	bridgeArgs := []string{
		"--web.listen-address=" + bridgeAddr, "--webhook.token-file=" + bridgeToken,
		"--links.argocd-url=" + s.ArgoCDURL, "--links.grafana-url=http://127.0.0.1:3000",
		"--slack.channel=" + cfg.Slack.Channel, "--slack.per-channel-interval=0",
		"--state.file=" + filepath.Join(work, "bridge-state.json"),
		"--enrich.exporter-url=" + s.ExporterURL, "--enrich.token-file=" + apiToken,
		"--config.file=" + bridgeConfig, "--slack.signing-secret-file=" + signingSecret,
		"--alertmanager.url=" + s.AlertmanagerURL,
		"--actions.exporter-url=" + s.ExporterURL, "--actions.exporter-token-file=" + writeToken,
	}
	bridgeStdout := ""
	if cfg.Slack.Console {
		bridgeStdout = s.ConsoleText
		bridgeArgs = append(bridgeArgs, "--slack.console", "--slack.console-file="+s.ConsoleFile)
	} else {
		botToken := filepath.Join(work, "slack-bot-token")
		if err := os.WriteFile(botToken, []byte(cfg.Slack.BotToken+"\n"), 0o600); err != nil {
			return nil, err
		}
		s.SlackURL = "http://" + slackAddr
		// The page's buttons click as ActionsUser, who may retry and resume.
		if err := s.start(ctx, ProcSlack, cfg.Bin.SlackFake, s.SlackURL+"/-/ready", "",
			"--web.listen-address="+slackAddr, "--auth.token-file="+botToken,
			"--interactions.url="+s.BridgeURL+"/slack/interactions", "--interactions.signing-secret-file="+signingSecret,
			"--interactions.user="+ActionsUser); err != nil {
			return nil, err
		}
		bridgeArgs = append(bridgeArgs, "--slack.api-url="+s.SlackURL+"/api/", "--slack.bot-token-file="+botToken)
	}
	if cfg.Slack.Deadline > 0 {
		// The enrichment budget may take at most half the deadline.
		bridgeArgs = append(bridgeArgs, "--slack.deadline="+cfg.Slack.Deadline.String(), "--enrich.budget="+(cfg.Slack.Deadline/2).String())
	}

	rem := cfg.Remediation
	steps := []struct {
		name, bin, ready, stdout string
		args                     []string
	}{
		{ProcExporter, cfg.Bin.Exporter, s.ExporterURL + "/-/ready", "", []string{
			"--argocd.api=" + s.ArgoCDURL, "--argocd.token-file=" + argocdToken,
			"--argocd.poll-interval=" + rem.Poll.String(), "--argocd.timeout=5s",
			"--web.listen-address=" + exporterAddr,
			"--remediation.grace=" + rem.Grace.String(), "--remediation.backoff=" + rem.Backoff.String(),
			"--remediation.max-backoff=" + rem.MaxBackoff.String(),
			"--remediation.state-file=" + filepath.Join(work, "remediation-state.json"),
			// The story runs in seconds, not minutes: a short cache so a resolved group's
			// message sees what fixed it.
			"--api.token-file=" + apiToken, "--api.cache-ttl=1s",
			"--api.write-token-file=" + writeToken,
			"--remediation.terminate-after=" + rem.TerminateAfter.String(),
			"--metrics.state-sets=" + cmp.Or(cfg.StateSets, "full"),
		}},
		{ProcBridge, cfg.Bin.Bridge, s.BridgeURL + "/-/ready", bridgeStdout, bridgeArgs},
		{ProcAlertmanager, cfg.Bin.Alertmanager, s.AlertmanagerURL + "/-/ready", "", []string{
			"--config.file=" + amCfg, "--storage.path=" + filepath.Join(work, "alertmanager-data"),
			"--web.listen-address=" + amAddr, "--web.external-url=" + s.AlertmanagerURL,
			"--cluster.listen-address=", // no gossip port: a single local instance
		}},
		{ProcPrometheus, cfg.Bin.Prometheus, s.PrometheusURL + "/-/ready", "", []string{
			"--config.file=" + promCfg, "--storage.tsdb.path=" + filepath.Join(work, "prometheus-data"),
			"--web.listen-address=" + promAddr, "--web.external-url=" + s.PrometheusURL,
			"--rules.alert.resend-delay=1s",
		}},
	}
	if rem.Rollback != "" {
		steps[0].args = append(steps[0].args, "--remediation.rollback="+rem.Rollback)
	}
	if rem.Mode != "" {
		steps[0].args = append(steps[0].args, "--remediation.mode="+rem.Mode)
	}
	for _, st := range steps {
		if err := s.start(ctx, st.name, st.bin, st.ready, st.stdout, st.args...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Stack) startSim(ctx context.Context, bin string, sim SimTimings, addr, tokenFile string) error {
	args := []string{"--web.listen-address=" + addr, "--auth.token-file=" + tokenFile, "--apps=" + strconv.Itoa(sim.Apps),
		"--scenario.degrade-after=" + sim.DegradeAfter.String(), "--scenario.sync-pickup=" + sim.SyncPickup.String(),
		"--scenario.sync-duration=" + sim.SyncDuration.String()}
	for _, f := range sim.Fleets {
		args = append(args, "--fleet="+f)
	}
	if sim.NoScenario {
		args = append(args, "--no-scenario")
	}
	return s.start(ctx, ProcSim, bin, s.SimURL+"/api/version", "", args...)
}

// prepare creates the work directory and removes the data of a previous run.
func (s *Stack) prepare() error {
	if err := os.MkdirAll(filepath.Join(s.Work, "rules"), 0o755); err != nil {
		return err
	}
	for _, stale := range []string{"prometheus-data", "alertmanager-data", "remediation-state.json", "bridge-state.json", "bridge-state-actions.json", "slack-messages.jsonl", "slack-console.txt", "argocd-token"} {
		if err := os.RemoveAll(filepath.Join(s.Work, stale)); err != nil {
			return err
		}
	}
	return nil
}

func (s *Stack) start(ctx context.Context, name, bin, readyURL, stdoutPath string, args ...string) error {
	p, err := proc.Start(proc.Config{Name: name, Bin: bin, Args: args, LogPath: s.LogPath(name), StdoutPath: stdoutPath})
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	if s.ready == nil {
		s.ready = map[string]string{}
	}
	s.ready[name] = readyURL
	return p.WaitReady(ctx, readyURL, 60*time.Second)
}

// Restart stops one process (SIGTERM, as a rollout would) and starts it again with the same
// arguments, its log continued, and waits until it is ready.
func (s *Stack) Restart(ctx context.Context, name string) error {
	for i, p := range s.procs {
		if p.Name != name {
			continue
		}
		p.Stop(10 * time.Second)
		q, err := p.Restart()
		if err != nil {
			return err
		}
		s.procs[i] = q
		return q.WaitReady(ctx, s.ready[name], 60*time.Second)
	}
	return fmt.Errorf("restart %s: no such process", name)
}

// Exited returns the name of a process that has ended, or "" while all run.
func (s *Stack) Exited() string {
	for _, p := range s.procs {
		if p.Exited() {
			return p.Name
		}
	}
	return ""
}

// Stop stops every process (SIGTERM to each process group, SIGKILL after 5s), last started
// first, so Prometheus does not log scrape errors for the exporter going away.
func (s *Stack) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].Stop(5 * time.Second)
	}
	s.procs = nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
