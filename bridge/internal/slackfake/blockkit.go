package slackfake

import (
	"encoding/json"
	"html/template"
	"regexp"
	"strconv"
	"strings"
)

// Block Kit as the page draws it: the blocks Slack's client shows (header, section with text,
// fields and a button accessory, context, actions, divider, image as its alt text) and the
// legacy attachment fields (colour bar, pretext, title, text, fields). Any other block is drawn
// as a visible "unsupported" note rather than dropped.

// kText is a text object.
type kText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func (t *kText) html() template.HTML {
	if t == nil {
		return ""
	}
	if t.Type == "mrkdwn" {
		return mrkdwnHTML(t.Text)
	}
	return plainHTML(t.Text)
}

// kElement is an interactive element or a context element (a text object or an image).
type kElement struct {
	Type     string          `json:"type"`
	Text     json.RawMessage `json:"text"` // a text object (buttons) or a string (context text)
	ActionID string          `json:"action_id"`
	Value    string          `json:"value"`
	URL      string          `json:"url"`
	Style    string          `json:"style"`
	AltText  string          `json:"alt_text"`
}

// label is a button's text.
func (e kElement) label() string {
	var t kText
	if json.Unmarshal(e.Text, &t) == nil {
		return t.Text
	}
	return ""
}

type kBlock struct {
	Type      string     `json:"type"`
	BlockID   string     `json:"block_id"`
	Text      *kText     `json:"text"`
	Fields    []kText    `json:"fields"`
	Elements  []kElement `json:"elements"`
	Accessory *kElement  `json:"accessory"`
	AltText   string     `json:"alt_text"`
}

type kField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

type kAttachment struct {
	Color     string   `json:"color"`
	Pretext   string   `json:"pretext"`
	Title     string   `json:"title"`
	TitleLink string   `json:"title_link"`
	Text      string   `json:"text"`
	Fields    []kField `json:"fields"`
	Footer    string   `json:"footer"`
	Blocks    []kBlock `json:"blocks"`
}

func decodeBlocks(s string) []kBlock {
	var bs []kBlock
	if s != "" {
		_ = json.Unmarshal([]byte(s), &bs)
	}
	return bs
}

func decodeAttachments(s string) []kAttachment {
	var as []kAttachment
	if s != "" {
		_ = json.Unmarshal([]byte(s), &as)
	}
	return as
}

// buttonView is a button: a link (URL) or an interactive button that the page sends as a
// block_actions interaction.
type buttonView struct {
	Text     string
	URL      string
	ActionID string
	Style    string // "primary", "danger" or ""
}

type blockView struct {
	Type        string
	Text        template.HTML
	Fields      []template.HTML
	Items       []template.HTML // context elements
	Buttons     []buttonView    // actions elements
	Accessory   *buttonView
	Unsupported string
}

type attachmentView struct {
	Color   string
	Pretext template.HTML
	Title   template.HTML
	Text    template.HTML
	Fields  []template.HTML
	Footer  template.HTML
	Blocks  []blockView
}

func button(e kElement) buttonView {
	b := buttonView{Text: e.label(), ActionID: e.ActionID}
	if e.Style == "primary" || e.Style == "danger" {
		b.Style = e.Style
	}
	if safeLink(e.URL) {
		b.URL = e.URL
	}
	return b
}

func safeLink(u string) bool {
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}

func blockViews(bs []kBlock) []blockView {
	out := make([]blockView, 0, len(bs))
	for _, b := range bs {
		v := blockView{Type: b.Type}
		switch b.Type {
		case "header":
			v.Text = b.Text.html()
		case "section":
			v.Text = b.Text.html()
			for _, f := range b.Fields {
				v.Fields = append(v.Fields, f.html())
			}
			if b.Accessory != nil && b.Accessory.Type == "button" {
				acc := button(*b.Accessory)
				v.Accessory = &acc
			}
		case "context":
			for _, e := range b.Elements {
				switch e.Type {
				case "mrkdwn", "plain_text":
					var s string
					_ = json.Unmarshal(e.Text, &s)
					t := kText{Type: e.Type, Text: s}
					v.Items = append(v.Items, t.html())
				case "image":
					v.Items = append(v.Items, plainHTML("["+e.AltText+"]"))
				}
			}
		case "actions":
			for _, e := range b.Elements {
				if e.Type == "button" {
					v.Buttons = append(v.Buttons, button(e))
				} else {
					v.Unsupported += e.Type + " "
				}
			}
		case "divider":
		case "image":
			v.Text = plainHTML("[image: " + b.AltText + "]")
		default:
			v.Type, v.Unsupported = "unsupported", b.Type
		}
		out = append(out, v)
	}
	return out
}

var hexColorRE = regexp.MustCompile(`^#?[0-9a-fA-F]{6}$|^#?[0-9a-fA-F]{3}$`)

// barColor is an attachment's colour bar as CSS: a hex colour or Slack's three names.
func barColor(c string) string {
	switch c {
	case "good":
		return "#2EB67D"
	case "warning":
		return "#ECB22E"
	case "danger":
		return "#E01E5A"
	}
	if hexColorRE.MatchString(c) {
		return "#" + strings.TrimPrefix(c, "#")
	}
	return "#DDDDDD"
}

func attachmentViews(as []kAttachment) []attachmentView {
	out := make([]attachmentView, 0, len(as))
	for _, a := range as {
		v := attachmentView{Color: barColor(a.Color), Pretext: mrkdwnHTML(a.Pretext), Text: mrkdwnHTML(a.Text), Footer: plainHTML(a.Footer), Blocks: blockViews(a.Blocks)}
		if a.Title != "" {
			t := "*" + a.Title + "*"
			if safeLink(a.TitleLink) {
				t = "*<" + a.TitleLink + "|" + a.Title + ">*"
			}
			v.Title = mrkdwnHTML(t)
		}
		for _, f := range a.Fields {
			v.Fields = append(v.Fields, mrkdwnHTML("*"+f.Title+"*\n"+f.Value))
		}
		out = append(out, v)
	}
	return out
}

// findButton returns the button actionID of a message, its block's ID, and whether it is in
// an attachment (container "message_attachment", 1-based index) or the top-level blocks.
func findButton(m *message, actionID string) (el kElement, blockID string, attachment int, ok bool) {
	search := func(bs []kBlock) (kElement, string, bool) {
		for i, b := range bs {
			id := b.BlockID
			if id == "" {
				id = "b" + strconv.Itoa(i) // Slack makes one up
			}
			if b.Accessory != nil && b.Accessory.Type == "button" && b.Accessory.ActionID == actionID {
				return *b.Accessory, id, true
			}
			if b.Type != "actions" {
				continue
			}
			for _, e := range b.Elements {
				if e.Type == "button" && e.ActionID == actionID {
					return e, id, true
				}
			}
		}
		return kElement{}, "", false
	}
	if e, id, ok := search(decodeBlocks(m.Blocks)); ok {
		return e, id, 0, true
	}
	for i, a := range decodeAttachments(m.Attach) {
		if e, id, ok := search(a.Blocks); ok {
			return e, id, i + 1, true
		}
	}
	return kElement{}, "", 0, false
}
