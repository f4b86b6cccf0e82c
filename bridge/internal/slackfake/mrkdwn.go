package slackfake

import (
	"html"
	"html/template"
	"regexp"
	"strconv"
	"strings"
)

// Slack's mrkdwn, drawn as HTML the way Slack's client shows it: *bold*, _italic_, ~strike~,
// `code`, ```preformatted```, > quotes, links <url|label>, mentions <@U…>, <#C…|name> and
// <!here>, and the three escapes &amp; &lt; &gt;. Everything from the message is escaped; only
// the tags written here reach the page, and links only for http, https and mailto.

// Placeholders stand for links and code spans while the inline formatting runs over the text
// (the private-use runes are removed from the input first).
const (
	phOpen  = '\uE000'
	phClose = '\uE001'
)

var (
	angleRE = regexp.MustCompile(`<([^<>\n]*)>`)
	codeRE  = regexp.MustCompile("`([^`\n]+)`")
	// A marker opens after the start, a space or an opening punctuation and closes before the
	// end, a space or punctuation, as in Slack.
	boldRE   = regexp.MustCompile(`(^|[\s(\[{"';\x{E001}])\*([^*\s](?:[^*\n]*[^*\s])?)\*($|[\s)\]}.,;:!?"'&\x{E000}-])`)
	italicRE = regexp.MustCompile(`(^|[\s(\[{"';>\x{E001}])_([^_\s](?:[^_\n]*[^_\s])?)_($|[\s)\]}.,;:!?"'&<\x{E000}-])`)
	strikeRE = regexp.MustCompile(`(^|[\s(\[{"';>\x{E001}])~([^~\s](?:[^~\n]*[^~\s])?)~($|[\s)\]}.,;:!?"'&<\x{E000}-])`)
	phRE     = regexp.MustCompile("\uE000([0-9]+)\uE001")
)

// mrkdwnHTML draws a mrkdwn text.
func mrkdwnHTML(s string) template.HTML {
	s = strings.NewReplacer(string(phOpen), "\uFFFD", string(phClose), "\uFFFD").Replace(s)
	var b strings.Builder
	for i, part := range strings.Split(s, "```") {
		if i%2 == 1 {
			b.WriteString(`<pre class="code">` + html.EscapeString(slackUnescape(strings.Trim(part, "\n"))) + `</pre>`)
			continue
		}
		b.WriteString(inlineHTML(part))
	}
	return template.HTML(b.String())
}

// plainHTML draws a plain_text object: escaped, line breaks kept.
func plainHTML(s string) template.HTML {
	return template.HTML(strings.ReplaceAll(html.EscapeString(s), "\n", "<br>"))
}

// inlineHTML draws text outside preformatted blocks, line by line for the quotes.
func inlineHTML(s string) string {
	var spans []string
	hold := func(h string) string {
		spans = append(spans, h)
		return string(phOpen) + strconv.Itoa(len(spans)-1) + string(phClose)
	}
	s = angleRE.ReplaceAllStringFunc(s, func(m string) string { return hold(angleHTML(m[1 : len(m)-1])) })
	s = codeRE.ReplaceAllStringFunc(s, func(m string) string {
		return hold(`<code>` + html.EscapeString(slackUnescape(m[1:len(m)-1])) + `</code>`)
	})
	s = html.EscapeString(slackUnescape(s))
	// Each regexp consumes the character around a marker, so two passes catch neighbours.
	for range 2 {
		s = boldRE.ReplaceAllString(s, "$1<b>$2</b>$3")
		s = italicRE.ReplaceAllString(s, "$1<i>$2</i>$3")
		s = strikeRE.ReplaceAllString(s, "$1<s>$2</s>$3")
	}
	s = phRE.ReplaceAllStringFunc(s, func(m string) string {
		i, _ := strconv.Atoi(m[len(string(phOpen)) : len(m)-len(string(phClose))])
		return spans[i]
	})
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, l := range lines {
		if q, ok := strings.CutPrefix(l, "&gt; "); ok {
			b.WriteString(`<span class="quote">` + q + `</span>`)
			continue
		}
		b.WriteString(l)
		if i < len(lines)-1 {
			b.WriteString("<br>")
		}
	}
	return b.String()
}

// angleHTML draws the inside of <…>: a link, a mention or a special mention.
func angleHTML(in string) string {
	target, label, hasLabel := strings.Cut(in, "|")
	label = slackUnescape(label)
	switch {
	case strings.HasPrefix(target, "@"):
		return `<span class="mention">@` + html.EscapeString(orString(label, target[1:])) + `</span>`
	case strings.HasPrefix(target, "#"):
		return `<span class="mention">#` + html.EscapeString(orString(label, target[1:])) + `</span>`
	case strings.HasPrefix(target, "!"):
		name, _, _ := strings.Cut(target[1:], "^")
		return `<span class="mention">@` + html.EscapeString(orString(label, name)) + `</span>`
	}
	href := slackUnescape(target)
	if !hasLabel {
		label = href
	}
	if !safeLink(href) && !strings.HasPrefix(href, "mailto:") {
		return html.EscapeString("<" + slackUnescape(in) + ">")
	}
	return `<a href="` + html.EscapeString(href) + `" target="_blank" rel="noopener noreferrer">` + html.EscapeString(label) + `</a>`
}

// slackUnescape undoes the three escapes Slack asks for in text.
func slackUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
