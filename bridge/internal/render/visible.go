package render

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Visible counts the characters a person reads in blocks as Slack draws them: header, section
// text and fields, context text, button labels; mrkdwn counted without its markup (a link
// shows its label, *bold* and `code` their text, &amp; one character), line breaks not counted.
// TopBudget is in these characters.
func Visible(blocks ...slack.Block) int {
	n := 0
	for _, b := range blocks {
		eachText(b, func(t *slack.TextBlockObject) {
			if t.Type == slack.MarkdownType {
				n += visibleMrkdwn(t.Text)
			} else {
				n += utf8.RuneCountInString(strings.ReplaceAll(t.Text, "\n", ""))
			}
		})
	}
	return n
}

var (
	linkRE   = regexp.MustCompile(`<([^<>|]*)\|([^<>]*)>`)
	bareRE   = regexp.MustCompile(`<([^<>]*)>`)
	markupRE = strings.NewReplacer("*", "", "`", "", "\n", "", "&amp;", "&", "&lt;", "<", "&gt;", ">")
)

// visibleMrkdwn counts what a person reads of a mrkdwn text.
func visibleMrkdwn(s string) int {
	s = linkRE.ReplaceAllString(s, "$2")
	s = bareRE.ReplaceAllString(s, "$1")
	return utf8.RuneCountInString(markupRE.Replace(s))
}
