package slackfake

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestMrkdwnHTML(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"bold italic strike", "*bold* _it_ ~gone~", "<b>bold</b> <i>it</i> <s>gone</s>"},
		{"no italics inside words", "stuck_app_name and 2*3*4", "stuck_app_name and 2*3*4"},
		{"bold link", "*<https://a.example/x?a=1&amp;b=2|argocd/stuck>*: down", `<b><a href="https://a.example/x?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">argocd/stuck</a></b>: down`},
		{"bare link", "<https://a.example>", `<a href="https://a.example" target="_blank" rel="noopener noreferrer">https://a.example</a>`},
		{"no javascript links", "<javascript:alert(1)|click>", "&lt;javascript:alert(1)|click&gt;"},
		{"escapes", "a &lt;b&gt; &amp; \"q\"", "a &lt;b&gt; &amp; &#34;q&#34;"},
		{"raw html is text", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"label escaped", `<https://a.example|<img src=x onerror=alert(1)>>`, `&lt;https://a.example|&lt;img src=x onerror=alert(1)&gt;&gt;`},
		{"mentions", "<@U0ONCALL1> <#C1|alerts> <!here>", `<span class="mention">@U0ONCALL1</span> <span class="mention">#alerts</span> <span class="mention">@here</span>`},
		{"code keeps markers", "`*not bold*` *bold*", "<code>*not bold*</code> <b>bold</b>"},
		{"preformatted", "before\n```\nline *1*\n```", `before<br><pre class="code">line *1*</pre>`},
		{"lines and quotes", "a\n&gt; quoted\nb", `a<br><span class="quote">quoted</span>b`},
		{"bullets", "• *Failing:* Deployment stuck", "• <b>Failing:</b> Deployment stuck"},
		{"placeholder runes from outside", "\uE0000\uE001", "\uFFFD0\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(mrkdwnHTML(tt.in)); got != tt.want {
				t.Errorf("mrkdwnHTML(%q)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzMrkdwnHTML: whatever the text, the page gets only the tags and attributes mrkdwnHTML
// writes, and links only to http, https or mailto.
func FuzzMrkdwnHTML(f *testing.F) {
	for _, s := range []string{"*a* _b_ <https://x|y>", "<script>", "```<b>```", "<javascript:x|y>", "\"><img src=x>", "<https://x\" onclick=\"y|z>"} {
		f.Add(s)
	}
	tags := map[string]bool{"b": true, "i": true, "s": true, "code": true, "pre": true, "br": true, "span": true, "a": true}
	attrs := map[string]bool{"class": true, "href": true, "target": true, "rel": true}
	f.Fuzz(func(t *testing.T, s string) {
		out := string(mrkdwnHTML(s))
		z := html.NewTokenizer(strings.NewReader(out))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				return
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			if !tags[tok.Data] {
				t.Fatalf("mrkdwnHTML(%q) = %q: tag %s", s, out, tok.Data)
			}
			for _, a := range tok.Attr {
				if !attrs[a.Key] {
					t.Fatalf("mrkdwnHTML(%q) = %q: attribute %s", s, out, a.Key)
				}
				if a.Key == "href" && !strings.HasPrefix(a.Val, "https://") && !strings.HasPrefix(a.Val, "http://") && !strings.HasPrefix(a.Val, "mailto:") {
					t.Fatalf("mrkdwnHTML(%q) = %q: link %s", s, out, a.Val)
				}
			}
		}
	})
}
