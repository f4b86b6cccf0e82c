package argocdsim

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// LargeItemSize is about what one List item weighs on a real installation,
// where status.resources and status.history dominate.
const LargeItemSize = 12 << 10

// largeTemplates are the four fixtures padded to about LargeItemSize with
// realistic resources, history, conditions and metadata, each split around
// the app's name.
var largeTemplates = func() [][2][]byte {
	var out [][2][]byte
	for fi, name := range AllFixtures {
		var resources []any
		for r := 0; ; r++ {
			resources = append(resources, map[string]any{
				"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "team-payments-prod",
				"name": fmt.Sprintf("payments-api-worker-%02d", r), "status": "Synced",
				"health": map[string]any{"status": "Healthy", "message": "Deployment is available. 3/3 replicas ready."},
			})
			if r >= 34 {
				break
			}
		}
		var history []any
		for h := range 10 {
			history = append(history, map[string]any{
				"id": h, "revision": fmt.Sprintf("%040x", h*7919+fi), "deployedAt": "2026-11-25T10:00:00Z",
				"deployStartedAt": "2026-11-25T09:59:50Z", "initiatedBy": map[string]any{"automated": true},
				"source": map[string]any{"repoURL": "https://github.com/example/platform-deployments.git",
					"path": "apps/payments/overlays/prod", "targetRevision": "main"},
			})
		}
		item := Patch(Fixture(name), map[string]any{
			"metadata.name":                    "@@NAME@@",
			"metadata.uid":                     "6b1f2a9c-0c5e-4d8a-9f4e-3a2b1c0d9e8f",
			"metadata.resourceVersion":         "123456789",
			"metadata.generation":              42,
			"metadata.creationTimestamp":       "2025-06-01T12:00:00Z",
			"metadata.annotations":             map[string]any{"notified.notifications.argoproj.io": `{"on-deployed":"x"}`},
			"status.resources":                 resources,
			"status.history":                   history,
			"status.reconciledAt":              "2026-11-26T01:59:30Z",
			"status.health.lastTransitionTime": "2026-11-20T10:00:00Z",
			"status.sourceType":                "Kustomize",
			"status.summary":                   map[string]any{"images": []any{"registry.example.com/payments/api:1.42.0"}},
		})
		pre, suf, ok := bytes.Cut(item, []byte("@@NAME@@"))
		if !ok {
			panic("no name placeholder")
		}
		out = append(out, [2][]byte{pre, suf})
	}
	return out
}()

// LargeList streams a List answer of n whole Applications (about
// LargeItemSize each, so 10,000 make about 120 MB) without holding it in
// memory: benchmarks measure the decoder's heap, not the body's.
func LargeList(n int) io.Reader {
	return &listReader{n: n}
}

type listReader struct {
	n, i  int
	buf   []byte
	off   int
	state int // 0 header, 1 items, 2 footer, 3 done
}

func (r *listReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
		switch r.state {
		case 0:
			r.buf = append(r.buf, `{"metadata":{"resourceVersion":"987654321"},"items":[`...)
			r.state = 1
		case 1:
			if r.i == r.n {
				r.state = 2
				continue
			}
			if r.i > 0 {
				r.buf = append(r.buf, ',')
			}
			t := largeTemplates[r.i%len(largeTemplates)]
			r.buf = append(r.buf, t[0]...)
			r.buf = append(r.buf, "app-"...)
			r.buf = strconv.AppendInt(r.buf, int64(r.i), 10)
			r.buf = append(r.buf, t[1]...)
			r.i++
		case 2:
			r.buf = append(r.buf, "]}"...)
			r.state = 3
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}
