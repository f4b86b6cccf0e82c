package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/argocd-monitor/argocd-monitor/bridge/internal/render"
)

// Console prints each message readably and appends its Block Kit JSON, one object per line, to
// a file. It behaves like bot mode (it hands out a ts), so the demo shows updates and threads.
type Console struct {
	mu   sync.Mutex
	out  io.Writer
	file io.WriteCloser
	seq  int
}

// consoleRecord is one line of the console file.
type consoleRecord struct {
	Method      string             `json:"method"`
	Channel     string             `json:"channel"`
	TS          string             `json:"ts"`
	ThreadTS    string             `json:"thread_ts,omitempty"`
	Text        string             `json:"text"`
	Blocks      []slack.Block      `json:"blocks,omitempty"`
	Attachments []slack.Attachment `json:"attachments,omitempty"`
}

// NewConsole writes to out and appends to path ("" for none).
func NewConsole(out io.Writer, path string) (*Console, error) {
	c := &Console{out: out}
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open console file: %w", err)
		}
		c.file = f
	}
	return c, nil
}

// Close closes the console file.
func (c *Console) Close() error {
	if c.file == nil {
		return nil
	}
	return c.file.Close()
}

// Post prints a new message.
func (c *Console) Post(_ context.Context, t Target, m *render.Message) (Ref, error) {
	ch := t.Channel
	if ch == "" {
		ch = "#" + t.Route
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ref := Ref{Channel: ch, TS: c.nextTS()}
	return ref, c.write(consoleRecord{Method: MethodPostMessage, Channel: ch, TS: ref.TS, Text: m.Text, Blocks: m.Header, Attachments: m.Attachments()}, "NEW", m)
}

// Update prints the replacement of an earlier message.
func (c *Console) Update(_ context.Context, ref Ref, m *render.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.write(consoleRecord{Method: MethodUpdate, Channel: ref.Channel, TS: ref.TS, Text: m.Text, Blocks: m.Header, Attachments: m.Attachments()}, "UPDATE "+ref.TS, m)
}

// Reply prints a thread reply.
func (c *Console) Reply(_ context.Context, ref Ref, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec := consoleRecord{Method: MethodPostMessage, Channel: ref.Channel, TS: c.nextTS(), ThreadTS: ref.TS, Text: text}
	if err := c.appendJSON(rec); err != nil {
		return err
	}
	_, err := fmt.Fprintf(c.out, "  ↳ thread reply in %s on %s: %s\n\n", ref.Channel, ref.TS, unlink(text))
	return err
}

// ReplyMessage prints a whole message as a thread reply (the Details reply).
func (c *Console) ReplyMessage(_ context.Context, ref Ref, m *render.Message) (Ref, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	reply := Ref{Channel: ref.Channel, TS: c.nextTS()}
	rec := consoleRecord{Method: MethodPostMessage, Channel: ref.Channel, TS: reply.TS, ThreadTS: ref.TS, Text: m.Text, Blocks: m.Header, Attachments: m.Attachments()}
	return reply, c.write(rec, "THREAD REPLY on "+ref.TS, m)
}

// Threads is true: console mode imitates bot mode.
func (c *Console) Threads() bool { return true }

// Methods are the metric labels used.
func (c *Console) Methods() []string { return []string{MethodConsole} }

func (c *Console) method(op) string { return MethodConsole }

func (c *Console) nextTS() string {
	c.seq++
	return fmt.Sprintf("%d.%06d", time.Now().Unix(), c.seq)
}

func (c *Console) appendJSON(rec consoleRecord) error {
	if c.file == nil {
		return nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode console record: %w", err)
	}
	_, err = c.file.Write(append(b, '\n'))
	return err
}

func (c *Console) write(rec consoleRecord, what string, m *render.Message) error {
	if err := c.appendJSON(rec); err != nil {
		return err
	}
	_, err := io.WriteString(c.out, readable(rec.Channel, what, m))
	return err
}

var (
	linkRE = regexp.MustCompile(`<(https?://[^|>]+)\|([^>]+)>`)
	boldRE = regexp.MustCompile(`\*([^*\n]+)\*`)
)

// unlink turns mrkdwn links into "text (url)", drops bold markers and undoes mrkdwn escaping,
// for the terminal.
func unlink(s string) string {
	s = boldRE.ReplaceAllString(linkRE.ReplaceAllString(s, "$2 ($1)"), "$1")
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// readable renders a message for a terminal: header, each section's text and fields, buttons
// as URLs, context last.
func readable(channel, what string, m *render.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "── %s · %s · colour %s ──\n", channel, what, m.Color)
	for _, blk := range append(append([]slack.Block{}, m.Header...), m.Body...) {
		switch blk := blk.(type) {
		case *slack.HeaderBlock:
			fmt.Fprintf(&b, "%s\n", blk.Text.Text)
		case *slack.SectionBlock:
			if blk.Text != nil {
				for _, line := range strings.Split(unlink(blk.Text.Text), "\n") {
					fmt.Fprintf(&b, "  %s\n", line)
				}
			}
			if a := blk.Accessory; a != nil && a.ButtonElement != nil {
				fmt.Fprintf(&b, "    [%s] %s\n", a.ButtonElement.Text.Text, a.ButtonElement.URL)
			}
			var fs []string
			for _, f := range blk.Fields {
				fs = append(fs, strings.ReplaceAll(unlink(f.Text), "\n", ": "))
			}
			if len(fs) > 0 {
				fmt.Fprintf(&b, "    %s\n", strings.Join(fs, " · "))
			}
		case *slack.ActionBlock:
			for _, e := range blk.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					fmt.Fprintf(&b, "    [%s] %s\n", btn.Text.Text, btn.URL)
				}
			}
		case *slack.ContextBlock:
			var items []string
			for _, e := range blk.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					items = append(items, unlink(t.Text))
				}
			}
			fmt.Fprintf(&b, "  (%s)\n", strings.Join(items, " · "))
		}
	}
	b.WriteString("\n")
	return b.String()
}
