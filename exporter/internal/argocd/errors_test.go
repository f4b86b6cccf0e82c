package argocd_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
)

// TestErrorMessagesAreBounded: a huge or non-JSON error body (a proxy's HTML
// page) gives a short, valid-UTF-8 message.
func TestErrorMessagesAreBounded(t *testing.T) {
	srv := argocdsim.NewServer(testToken, allFixtures()...)
	defer srv.Close()
	srv.SetFaults(argocdsim.Fault{Status: 502, Message: strings.Repeat("é", 1000)})
	cl, _ := newClient(t, srv.URL, time.Minute)
	_, err := cl.List(context.Background(), argocd.ListOptions{})
	if err == nil || len(err.Error()) > 400 || !utf8.ValidString(err.Error()) || !argocd.IsRetryable(err) {
		t.Fatalf("err = %q (%d bytes)", err, len(err.Error()))
	}
}
