package argocd_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd/argocdtest"
)

// TestErrorMessagesAreBounded: a huge or non-JSON error body (a proxy's HTML
// page) gives a short, valid-UTF-8 message.
func TestErrorMessagesAreBounded(t *testing.T) {
	srv := argocdtest.NewServer(testToken, allFixtures()...)
	defer srv.Close()
	srv.SetFaults(argocdtest.Fault{Status: 502, Message: strings.Repeat("é", 1000)})
	cl, _ := newClient(t, srv.URL, time.Minute)
	_, err := cl.List(context.Background(), argocd.ListOptions{})
	if err == nil || len(err.Error()) > 400 || !utf8.ValidString(err.Error()) || !argocd.IsRetryable(err) {
		t.Fatalf("err = %q (%d bytes)", err, len(err.Error()))
	}
}
