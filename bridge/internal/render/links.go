package render

import (
	"net/url"
	"sort"
	"strings"
)

// maxURL is Slack's limit for a button URL.
const maxURL = 3000

// safeURL returns s when it is an absolute http(s) URL Slack will accept, else "".
func safeURL(s string) string {
	if s == "" || len(s) > maxURL {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

// argoCDAppURL is Argo CD's app-in-any-namespace URL form.
func argoCDAppURL(base, namespace, name string) string {
	if base == "" || namespace == "" || name == "" {
		return ""
	}
	return safeURL(strings.TrimRight(base, "/") + "/applications/" + url.PathEscape(namespace) + "/" + url.PathEscape(name))
}

// dashboardURL accepts an absolute dashboard_url annotation, or a path joined to the Grafana URL.
func dashboardURL(annotation, grafana string) string {
	if strings.HasPrefix(annotation, "/") && grafana != "" {
		return safeURL(strings.TrimRight(grafana, "/") + annotation)
	}
	return safeURL(annotation)
}

// volatileLabels describe the app's current state; a silence should outlive a state change.
var volatileLabels = map[string]bool{"health_status": true, "sync_status": true, "phase": true}

// IdentifyingLabels are the labels a silence of the alert matches on: all but the volatile
// state labels (the Silence link and the Silence buttons both use them).
func IdentifyingLabels(labels map[string]string) map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		if !volatileLabels[k] {
			out[k] = v
		}
	}
	return out
}

// silenceURL opens Alertmanager's new-silence form pre-filled with the alert's identifying
// labels.
func silenceURL(externalURL string, labels map[string]string) string {
	if safeURL(externalURL) == "" || len(labels) == 0 {
		return ""
	}
	labels = IdentifyingLabels(labels)
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(matcherValueEscaper.Replace(labels[k]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return safeURL(strings.TrimRight(externalURL, "/") + "/#/silences/new?filter=" + url.QueryEscape(b.String()))
}

var matcherValueEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// unquoteReceiver undoes the regexp quoting Alertmanager applies to the receiver name.
func unquoteReceiver(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	esc := false
	for _, r := range s {
		if r == '\\' && !esc {
			esc = true
			continue
		}
		esc = false
		b.WriteRune(r)
	}
	return b.String()
}
