package render

import (
	"strings"
	"unicode/utf8"
)

// ellipsis marks every cut, so a reader knows text is missing.
const ellipsis = "…"

// truncate cuts s to at most max runes (ellipsis included), never inside a UTF-8 sequence.
func truncate(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max == 1 {
		return ellipsis
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + ellipsis
		}
		n++
	}
	return s
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes outside text safe inside mrkdwn: Slack reads <...> as links and mentions.
func escape(s string) string { return mrkdwnEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }

// escapeTruncate escapes s and cuts it to max runes without splitting an entity like &amp;.
func escapeTruncate(s string, max int) string { return truncateEscaped(escape(s), max) }

// EscapeTruncate is escapeTruncate for the other packages that post outside text to Slack (the
// Slack actions: answers and errors of Alertmanager and the exporter).
func EscapeTruncate(s string, max int) string { return escapeTruncate(s, max) }

// truncateEscaped cuts already-escaped mrkdwn to max runes without splitting an entity.
func truncateEscaped(e string, max int) string {
	if utf8.RuneCountInString(e) <= max {
		return e
	}
	t := truncate(e, max)
	body := strings.TrimSuffix(t, ellipsis)
	if amp := strings.LastIndexByte(body, '&'); amp >= 0 && !strings.Contains(body[amp:], ";") {
		body = body[:amp]
	}
	return body + ellipsis
}

// plain makes outside text fit a plain_text object on one line.
func plain(s string, max int) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	return truncate(s, max)
}

func runes(s string) int { return utf8.RuneCountInString(s) }
