package render

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// blockText counts the runes of all text a block carries (what Slack's size checks count).
func blockText(b slack.Block) int {
	n := 0
	eachText(b, func(t *slack.TextBlockObject) { n += utf8.RuneCountInString(t.Text) })
	return n
}

// eachText calls fn with every text object of a block a person reads: a header, a section's
// text, fields and button accessory, a context's texts, the buttons' labels.
func eachText(b slack.Block, fn func(*slack.TextBlockObject)) {
	txt := func(t *slack.TextBlockObject) {
		if t != nil {
			fn(t)
		}
	}
	button := func(e slack.BlockElement) {
		if btn, ok := e.(*slack.ButtonBlockElement); ok {
			txt(btn.Text)
		}
	}
	switch b := b.(type) {
	case *slack.HeaderBlock:
		txt(b.Text)
	case *slack.SectionBlock:
		txt(b.Text)
		for _, f := range b.Fields {
			txt(f)
		}
		if b.Accessory != nil && b.Accessory.ButtonElement != nil {
			button(b.Accessory.ButtonElement)
		}
	case *slack.ContextBlock:
		for _, e := range b.ContextElements.Elements {
			if t, ok := e.(*slack.TextBlockObject); ok {
				txt(t)
			}
		}
	case *slack.ActionBlock:
		for _, e := range b.Elements.ElementSet {
			button(e)
		}
	}
}

// CheckLimits reports the first way m (or its Details reply) breaks Slack's limits (tests and
// fuzzing use it).
func CheckLimits(m *Message) error {
	if m.Details != nil {
		if err := CheckLimits(m.Details); err != nil {
			return fmt.Errorf("details: %w", err)
		}
	}
	if m.Text == "" {
		return errors.New("fallback text empty")
	}
	if utf8.RuneCountInString(m.Text) > MaxFallbackText || !utf8.ValidString(m.Text) {
		return errors.New("fallback text too long or invalid UTF-8")
	}
	all := append(append([]slack.Block{}, m.Header...), m.Body...)
	if len(all) > MaxBlocks {
		return fmt.Errorf("%d blocks > %d", len(all), MaxBlocks)
	}
	total := 0
	for i, b := range all {
		total += blockText(b)
		if err := checkBlock(b); err != nil {
			return fmt.Errorf("block %d: %w", i, err)
		}
	}
	if total > MaxBlockText {
		return fmt.Errorf("block text %d runes > %d", total, MaxBlockText)
	}
	return nil
}

func checkText(t *slack.TextBlockObject, max int, what string) error {
	if t == nil {
		return nil
	}
	if t.Text == "" {
		return fmt.Errorf("%s: empty text", what)
	}
	if !utf8.ValidString(t.Text) {
		return fmt.Errorf("%s: invalid UTF-8", what)
	}
	if n := utf8.RuneCountInString(t.Text); n > max {
		return fmt.Errorf("%s: %d runes > %d", what, n, max)
	}
	return nil
}

func checkBlock(b slack.Block) error {
	switch b := b.(type) {
	case *slack.HeaderBlock:
		if b.Text == nil || b.Text.Type != slack.PlainTextType {
			return errors.New("header needs plain_text")
		}
		return checkText(b.Text, MaxHeader, "header")
	case *slack.SectionBlock:
		if b.Text == nil && len(b.Fields) == 0 {
			return errors.New("section without text or fields")
		}
		if len(b.Fields) > MaxFields {
			return fmt.Errorf("%d fields > %d", len(b.Fields), MaxFields)
		}
		for _, f := range b.Fields {
			if err := checkText(f, MaxField, "field"); err != nil {
				return err
			}
		}
		return checkText(b.Text, MaxSection, "section")
	case *slack.ContextBlock:
		n := len(b.ContextElements.Elements)
		if n == 0 || n > MaxContext {
			return fmt.Errorf("context with %d elements", n)
		}
	case *slack.ActionBlock:
		n := len(b.Elements.ElementSet)
		if n == 0 || n > 25 {
			return fmt.Errorf("actions with %d elements", n)
		}
		for _, e := range b.Elements.ElementSet {
			btn, ok := e.(*slack.ButtonBlockElement)
			if !ok {
				continue
			}
			if err := checkText(btn.Text, MaxButtonText, "button"); err != nil {
				return err
			}
			if btn.ActionID == "" || len(btn.ActionID) > 255 {
				return fmt.Errorf("button %q: bad action_id", btn.Text.Text)
			}
			if btn.URL == "" && (btn.Value == "" || len(btn.Value) > 2000) {
				return fmt.Errorf("button %q: neither URL nor value", btn.Text.Text)
			}
			if btn.URL != "" && (len(btn.URL) > maxURL || safeURL(btn.URL) == "") {
				return fmt.Errorf("button %q: bad URL", btn.Text.Text)
			}
		}
	}
	return nil
}
