//go:build e2e

package e2e

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/browser"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/repofile"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

var update = flag.Bool("update", false, "write the channel's screenshot to docs/images/")

// Screenshot is the picture of the demo's channel in README.md and docs/bridge.md.
const Screenshot = "docs/images/slack-channel.png"

// TestChannelInBrowser runs the demo's stack (bot mode against the fake Slack) and looks at the
// fake Slack's page in headless Chromium as a person would: the stuck app's message shows its
// header, the Why and the buttons; clicking "Acknowledge" on the page sends the signed
// interaction to the bridge, and the message is updated in place. With -update it writes the
// channel's screenshot to docs/images/.
func TestChannelInBrowser(t *testing.T) {
	root, err := repofile.FindRootFromWD()
	if err != nil {
		t.Fatal(err)
	}
	// Installing Chromium and building the binaries have their own, generous deadline (a cold
	// run on a loaded machine); the story and the browser get five minutes.
	setup, cancelSetup := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancelSetup()
	if err := browser.Ensure(setup, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	bins, err := stack.Build(setup, root, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sim := stack.DefaultSim
	sim.Apps = 20
	st, err := stack.Start(ctx, stack.Config{
		Root: root, Work: t.TempDir(), Bin: bins, Sim: sim,
		Slack: stack.Slack{BotToken: botToken, Channel: "#argocd-demo"},
		Log:   testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	e := &e2e{t: t, ctx: ctx, st: st, start: time.Now(), root: root}
	defer e.dumpOnFailure()

	// Wait until the stuck app's group has settled (the pause, then Degraded joins; SyncFailed
	// is inhibited): a notification of the group delivered while the click is handled can
	// overwrite the acknowledged message with one rendered before the ack (reported to the lead).
	e.eventually("the stuck app's message holds its pause and its Degraded alert", 90*time.Second, func() (bool, string) {
		for _, m := range e.posts("argocd/stuck") {
			if c := e.latest(m).Content(); strings.Contains(c, paused) && strings.Contains(c, degraded) {
				return true, ""
			}
		}
		return false, "no message with the pause and Degraded yet"
	})

	bctx, stop := browser.New(ctx, t.TempDir(), 1280, 1400)
	defer stop()
	// The stuck app's message on the page: the message whose header names the app (a plain
	// string selector is an XPath or text search).
	msg := `//div[contains(@class,"msg")][.//div[contains(@class,"block-header")][contains(., "argocd/stuck")]]`
	if err := chromedp.Do(bctx, chromedp.Navigate(st.SlackURL+"/"), chromedp.WaitVisible(msg)); err != nil {
		t.Fatalf("the stuck app's message on the page: %v", err)
	}
	header := mustRun(t, bctx, chromedp.Text(msg+`//div[contains(@class,"block-header")]`))
	text := mustRun(t, bctx, chromedp.Text(msg))
	buttons := mustRun(t, bctx, chromedp.Evaluate[[]string](`Array.from(document.evaluate('`+msg+`', document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null)`+
		`.singleNodeValue.querySelectorAll(":scope > .content > .attachment .btn, :scope > .content > .block .btn")).map(b => b.textContent.trim())`))
	t.Logf("header %q, buttons %q", header, buttons)
	for _, want := range []string{"Deployment stuck", "3 of 3"} {
		if !strings.Contains(text, want) {
			t.Errorf("the message lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{"Acknowledge", "Resume auto-sync", "Silence 1h", "Open in Argo CD"} {
		if !slices.Contains(buttons, want) {
			t.Errorf("no %q button among %q", want, buttons)
		}
	}

	// Click Acknowledge as the page's user: the message is edited in place, naming who acked,
	// and its Acknowledge button is gone.
	acked := msg + `[.//*[contains(., "Acked by")]][not(.//button[normalize-space()="Acknowledge"])]`
	if err := chromedp.Do(bctx, chromedp.Click(msg+`//button[normalize-space()="Acknowledge"]`), chromedp.WaitVisible(acked)); err != nil {
		t.Fatalf("click Acknowledge on the page: %v", err)
	}
	text = mustRun(t, bctx, chromedp.Text(msg))
	if !strings.Contains(text, "Acked by @"+stack.ActionsUser) || !strings.Contains(text, "(edited)") {
		t.Errorf("after Acknowledge the message reads:\n%s", text)
	}
	e.threadReply(e.posts("argocd/stuck")[0], "Acknowledge: audit reply in the thread", "acknowledged")

	if !*update {
		return
	}
	// Open the thread, let the edit's highlight and the click's notice fade, take the picture.
	if err := chromedp.Do(bctx, chromedp.Click(msg+`//details[contains(@class,"thread")]/summary`),
		chromedp.Click(`//h1`), // the pointer off the message: no hover shade in the picture
		chromedp.Sleep(4500*time.Millisecond)); err != nil {
		t.Fatalf("open the thread: %v", err)
	}
	png := mustRun(t, bctx, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(root, Screenshot), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", Screenshot, len(png))
}

// mustRun runs one browser action and returns its result.
func mustRun[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
