// Package browser runs headless Chromium (Debian's chromium, installed by Ensure when missing)
// for the tests that look at a page as a person would, driven from Go with chromedp.
package browser

import (
	"context"
	"io"
	"os"

	"github.com/chromedp/chromedp"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/debpkg"
)

// EmojiFont is the colour emoji font the bridge's messages need to look as in Slack.
const EmojiFont = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"

// Ensure installs chromium and the emoji font from Debian when they are missing.
func Ensure(ctx context.Context, log io.Writer) error {
	return debpkg.Ensure(ctx, log,
		debpkg.Need{Program: "chromium", Package: "chromium"},
		debpkg.Need{File: EmojiFont, Package: "fonts-noto-color-emoji"})
}

// New starts a headless Chromium with a fresh profile in profileDir and returns a chromedp
// context for one tab; cancel stops the browser. The flags keep it off the network: no
// sandbox (it runs as root in CI), no GPU, no QUIC, no first-run, background, component
// update or sync traffic.
func New(ctx context.Context, profileDir string, width, height int) (context.Context, context.CancelFunc) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("chromium"),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(profileDir),
		chromedp.WindowSize(width, height),
		chromedp.CombinedOutput(io.Discard),
	}
	if os.Getenv("BROWSER_LOG") != "" {
		opts = append(opts, chromedp.CombinedOutput(os.Stderr))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tctx, cancelTab := chromedp.NewContext(actx)
	return tctx, func() { cancelTab(); cancelAlloc() }
}
