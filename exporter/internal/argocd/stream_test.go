package argocd_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
)

// streamEvent is one event on one line, as the server writes it.
func streamEvent(typ string, app []byte) string {
	var c bytes.Buffer
	if err := json.Compact(&c, app); err != nil {
		panic(err)
	}
	return `{"result":{"type":"` + typ + `","application":` + c.String() + `}}`
}

func TestStreamReader(t *testing.T) {
	app := argocdsim.Fixture(argocdsim.DegradedOutOfSync) // argocd/my-app-4
	ev := streamEvent("MODIFIED", app)
	small := `{"result":{"type":"DELETED","application":{"metadata":{"name":"gone","namespace":"argocd"}}}}`
	type want struct {
		typ  argocd.EventType
		name string
	}
	for _, tc := range []struct {
		name string
		sse  bool
		body string
		want []want
		err  func(error) bool // the error after the events; nil means io.EOF
	}{
		{name: "sse", sse: true, body: "data: " + ev + "\n\ndata: " + small + " \n\n",
			want: []want{{argocd.EventModified, "my-app-4"}, {argocd.EventDeleted, "gone"}}},
		{name: "sse keepalives and other fields", sse: true, body: ":\n\n: ping\nevent: message\nid: 7\nretry: 10\ndata: " + small + "\n\n:\n",
			want: []want{{argocd.EventKeepalive, ""}, {argocd.EventKeepalive, ""}, {argocd.EventDeleted, "gone"}, {argocd.EventKeepalive, ""}}},
		{name: "sse crlf", sse: true, body: "data: " + small + "\r\n\r\n", want: []want{{argocd.EventDeleted, "gone"}}},
		{name: "sse data split over lines", sse: true,
			body: "data: {\"result\":{\"type\":\"ADDED\",\ndata: \"application\":{\"metadata\":{\"name\":\"x\"}}}}\n\n",
			want: []want{{argocd.EventAdded, "x"}}},
		{name: "json lines", body: ev + "\n\n" + small + "\n", want: []want{{argocd.EventModified, "my-app-4"}, {argocd.EventDeleted, "gone"}}},
		{name: "unknown type is skippable", body: `{"result":{"type":"BOOKMARK","application":{}}}` + "\n" + small + "\n",
			want: []want{{argocd.EventUnknown, ""}, {argocd.EventDeleted, "gone"}}},
		{name: "empty body", body: ``},
		{name: "sse truncated event", sse: true, body: "data: " + small + "\n\ndata: " + ev[:200],
			want: []want{{argocd.EventDeleted, "gone"}}, err: isErr(io.ErrUnexpectedEOF)},
		{name: "sse event without its blank line", sse: true, body: "data: " + small + "\n",
			err: isErr(io.ErrUnexpectedEOF)},
		{name: "json lines truncated", body: small + "\n" + ev[:300], want: []want{{argocd.EventDeleted, "gone"}}, err: isErr(io.ErrUnexpectedEOF)},
		{name: "not json", body: "<html>\n", err: isErr(argocd.ErrMalformedResponse)},
		{name: "no result", body: "{}\n", err: isErr(argocd.ErrMalformedResponse)},
		{name: "event without a name", body: `{"result":{"type":"ADDED","application":{"metadata":{}}}}` + "\n", err: isErr(argocd.ErrMalformedResponse)},
		{name: "server error object", sse: true,
			body: `data: {"error":{"grpc_code":16,"http_code":401,"message":"invalid session: token has expired","http_status":"Unauthorized"}}` + "\n\n",
			err:  argocd.IsUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd := argocd.NewStreamReader(strings.NewReader(tc.body), tc.sse)
			var got []want
			var err error
			for {
				var ev argocd.WatchEvent
				ev, err = rd.Next()
				if err != nil {
					break
				}
				got = append(got, want{ev.Type, ev.App.Name})
			}
			if len(got) != len(tc.want) {
				t.Fatalf("events %v, want %v (err %v)", got, tc.want, err)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("event %d: %v, want %v", i, got[i], tc.want[i])
				}
			}
			check := tc.err
			if check == nil {
				check = isErr(io.EOF)
			}
			if !check(err) {
				t.Errorf("final error %v", err)
			}
		})
	}
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func TestStreamEventDecodesLikeList(t *testing.T) {
	for _, fx := range argocdsim.AllFixtures {
		b := argocdsim.Fixture(fx)
		rd := argocd.NewStreamReader(strings.NewReader("data: "+streamEvent("ADDED", b)+"\n\n"), true)
		ev, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		apps, err := argocd.DecodeList(bytes.NewReader(listOf(b)))
		if err != nil {
			t.Fatal(err)
		}
		if a, b := ev.App.Key(), apps[0].Key(); a != b || ev.App.Health != apps[0].Health || ev.App.Sync != apps[0].Sync {
			t.Errorf("%s: stream %+v, list %+v", fx, ev.App, apps[0])
		}
	}
}

// FuzzStreamReader: no input panics or loops, every event it yields of a
// known type names an app, and the reader always ends with an error.
func FuzzStreamReader(f *testing.F) {
	small := `{"result":{"type":"DELETED","application":{"metadata":{"name":"gone"}}}}`
	f.Add([]byte("data: "+streamEvent("ADDED", argocdsim.Fixture(argocdsim.OperationRunning))+"\n\n:\n"), true)
	f.Add([]byte(small+"\n"+small), false)
	f.Add([]byte(":\r\n\r\ndata: {\n\n"), true)
	f.Add([]byte(`{"error":{"http_code":503,"message":"x"}}`+"\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, sse bool) {
		rd := argocd.NewStreamReader(bytes.NewReader(b), sse)
		for i := 0; ; i++ {
			if i > len(b)+1 {
				t.Fatal("more events than bytes")
			}
			ev, err := rd.Next()
			if err != nil {
				return
			}
			switch ev.Type {
			case argocd.EventAdded, argocd.EventModified, argocd.EventDeleted:
				if ev.App.Name == "" {
					t.Fatal("event without a name")
				}
			case argocd.EventKeepalive, argocd.EventUnknown:
			default:
				t.Fatalf("type %q", ev.Type)
			}
		}
	})
}
