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
	text := func(t *slack.TextBlockObject) {
		switch {
		case t == nil:
		case t.Type == slack.MarkdownType:
			n += visibleMrkdwn(t.Text)
		default:
			n += utf8.RuneCountInString(strings.ReplaceAll(t.Text, "\n", ""))
		}
	}
	button := func(e slack.BlockElement) {
		if b, ok := e.(*slack.ButtonBlockElement); ok {
			text(b.Text)
		}
	}
	for _, b := range blocks {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			text(b.Text)
		case *slack.SectionBlock:
			text(b.Text)
			for _, f := range b.Fields {
				text(f)
			}
			if b.Accessory != nil && b.Accessory.ButtonElement != nil {
				button(b.Accessory.ButtonElement)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					text(t)
				}
			}
		case *slack.ActionBlock:
			for _, e := range b.Elements.ElementSet {
				button(e)
			}
		}
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
