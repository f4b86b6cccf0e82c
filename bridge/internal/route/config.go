// Package route owns the bridge's YAML configuration: routes chosen by Alertmanager-style label
// matchers (first match wins, then the default route), each naming a Slack channel or a webhook
// URL file, with optional title/text/fields overrides in Alertmanager's template language.
package route

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/alertmanager/template"
	"go.yaml.in/yaml/v3"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/actions"
	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// DefaultName is the default route's name when the config gives none.
const DefaultName = "default"

// Config is the YAML file.
type Config struct {
	// Templates are file globs (relative to the config file) parsed after Alertmanager's
	// default.tmpl, so routes can call {{ template "name" . }}.
	Templates    []string `yaml:"templates"`
	Routes       []*Route `yaml:"routes"`
	DefaultRoute *Route   `yaml:"default_route"`
	// Actions says who may use the bot-mode buttons (docs/bridge.md).
	Actions actions.Policy `yaml:"actions"`
}

// Route sends matching notifications to one destination.
type Route struct {
	Name     string   `yaml:"name"`
	Matchers []string `yaml:"matchers"`
	// Channel is the bot-mode channel (name or ID); empty uses --slack.channel.
	Channel string `yaml:"channel"`
	// WebhookURLFile holds the webhook-mode URL (a secret, so never inline); empty uses
	// --slack.webhook-url.
	WebhookURLFile string          `yaml:"webhook_url_file"`
	Title          string          `yaml:"title"`
	Text           string          `yaml:"text"`
	Fields         []FieldTemplate `yaml:"fields"`

	matchers   labels.Matchers
	webhookURL *secret.File
	line       int
}

// FieldTemplate is one title/value pair shown as a Slack section field.
type FieldTemplate struct {
	Title string `yaml:"title"`
	Value string `yaml:"value"`
}

// WebhookURL is the URL in WebhookURLFile ("" when unset), read again when the file changes.
// Never log it.
func (r *Route) WebhookURL() string {
	if r.webhookURL == nil {
		return ""
	}
	return r.webhookURL.Value()
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Load reads and validates the config file; path "" gives the built-in default (one default
// route, no overrides).
func Load(path string) (*Router, error) {
	if path == "" {
		return newRouter(&Config{}, "")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	r, err := Parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return r, nil
}

// Parse decodes the YAML strictly (unknown keys are errors naming key and line) and validates
// routes, matchers, templates and webhook URL files (relative paths resolve against dir).
func Parse(data []byte, dir string) (*Router, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one YAML document")
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	routeLines, defaultLine := lines(&root)
	for i, r := range cfg.Routes {
		if r == nil {
			return nil, fmt.Errorf("routes[%d]: empty route", i)
		}
		if i < len(routeLines) {
			r.line = routeLines[i]
		}
	}
	if cfg.DefaultRoute != nil {
		cfg.DefaultRoute.line = defaultLine
	}
	if err := cfg.Actions.Validate(); err != nil {
		return nil, err
	}
	return newRouter(&cfg, dir)
}

// lines finds where each route starts, so validation errors can name a line.
func lines(root *yaml.Node) (routes []int, def int) {
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, 0
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch m.Content[i].Value {
		case "routes":
			for _, n := range m.Content[i+1].Content {
				routes = append(routes, n.Line)
			}
		case "default_route":
			def = m.Content[i+1].Line
		}
	}
	return routes, def
}

func (r *Route) where(i int) string {
	if i < 0 {
		return fmt.Sprintf("default_route (line %d)", r.line)
	}
	return fmt.Sprintf("routes[%d] %q (line %d)", i, r.Name, r.line)
}

func (r *Route) prepare(i int, dir string, tmpl *template.Template) error {
	if !nameRE.MatchString(r.Name) {
		return fmt.Errorf("%s: name must be 1-64 characters of [A-Za-z0-9_.-] (it is a metric label)", r.where(i))
	}
	if i >= 0 && len(r.Matchers) == 0 {
		return fmt.Errorf("%s: needs at least one matcher (only default_route matches everything)", r.where(i))
	}
	if i < 0 && len(r.Matchers) > 0 {
		return fmt.Errorf("%s: the default route takes no matchers", r.where(i))
	}
	for _, s := range r.Matchers {
		m, err := labels.ParseMatcher(s)
		if err != nil {
			return fmt.Errorf("%s: matcher %q: %w", r.where(i), s, err)
		}
		r.matchers = append(r.matchers, m)
	}
	if strings.HasPrefix(r.Channel, "http") {
		return fmt.Errorf("%s: channel looks like a URL; webhook URLs go in webhook_url_file", r.where(i))
	}
	if r.WebhookURLFile != "" {
		p := r.WebhookURLFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		f, err := secret.ReadFile(p, secret.URL, nil)
		if err != nil {
			return fmt.Errorf("%s: webhook_url_file: %w", r.where(i), err)
		}
		r.webhookURL = f
	}
	if len(r.Fields) > 10 {
		return fmt.Errorf("%s: at most 10 fields (Slack's limit)", r.where(i))
	}
	// Execute every template once against sample data: a template that cannot parse or run fails
	// at start-up rather than when the first alert arrives.
	for what, text := range r.templates() {
		if _, err := tmpl.ExecuteTextString(text, sampleTemplateData()); err != nil {
			return fmt.Errorf("%s: %s template: %w", r.where(i), what, err)
		}
	}
	return nil
}

func (r *Route) templates() map[string]string {
	out := map[string]string{}
	if r.Title != "" {
		out["title"] = r.Title
	}
	if r.Text != "" {
		out["text"] = r.Text
	}
	for i, f := range r.Fields {
		out[fmt.Sprintf("fields[%d].title", i)] = f.Title
		out[fmt.Sprintf("fields[%d].value", i)] = f.Value
	}
	return out
}
