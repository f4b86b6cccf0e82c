//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/argocd-monitor/argocd-monitor/tools/internal/demo"
	"github.com/argocd-monitor/argocd-monitor/tools/internal/stack"
)

// TestDemoStory runs `make demo`'s stack and narrator (ports chosen at run time) until the whole
// story is told, as `cmd/demo -exit-when-done` does: every chapter's milestones, the remedies
// chapter's included (a stuck sync terminated, a bad commit rolled back and held until a fix).
// The narration goes to the test log.
func TestDemoStory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, bins := rootAndBins(ctx, t)
	cfg := demo.StackConfig(root, t.TempDir(), bins, 20)
	cfg.Log = testWriter{t}
	st, err := stack.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	var story strings.Builder
	n := demo.NewNarrator(st, &story)
	defer func() { t.Logf("the story as told:\n%s", story.String()) }()
	// The demo's own default timeout is 3 minutes; a busy machine gets more here.
	deadline := time.Now().Add(4 * time.Minute)
	for !n.Done() {
		if name := st.Exited(); name != "" {
			t.Fatalf("%s exited; see %s", name, st.LogPath(name))
		}
		if time.Now().After(deadline) {
			t.Fatalf("story incomplete, missing: %v", n.Missing())
		}
		if err := n.Step(ctx); err != nil {
			t.Logf("narrator: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, want := range []string{
		"✔ " + demo.HookApp + ": the exporter terminated the stuck sync",
		"✔ " + demo.RollbackApp + ": the exporter rolled back from " + "bad0c0f",
		"holding until the app's own manifests change",
		"✔ Slack: " + demo.RollbackApp + "'s message says it was rolled back and is held",
		"✔ " + demo.RollbackApp + ": the fix to its own manifests ended the hold",
	} {
		if !strings.Contains(story.String(), want) {
			t.Errorf("the story does not tell %q", want)
		}
	}
}
