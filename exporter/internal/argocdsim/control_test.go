package argocdsim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
)

func TestDecodeControl(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    ControlState
		wantErr string
	}{
		{name: "health and sync", body: `{"health":"Healthy","sync":"Synced"}`, want: ControlState{Health: ptr(argocd.HealthHealthy), Sync: ptr(argocd.SyncSynced)}},
		{name: "flags", body: `{"syncWindow":true,"syncDenied":false,"deleting":true}`, want: ControlState{SyncWindow: ptr(true), SyncDenied: ptr(false), Deleting: ptr(true)}},
		{name: "outcome and revision", body: `{"onSync":"fail","revision":"abc123"}`, want: ControlState{OnSync: ptr(OutcomeFail), Revision: ptr("abc123")}},
		{name: "empty object", body: `{}`, wantErr: "empty state"},
		{name: "unknown key", body: `{"healthy":true}`, wantErr: `unknown field "healthy"`},
		{name: "bad health", body: `{"health":"healthy"}`, wantErr: `health "healthy"`},
		{name: "bad sync", body: `{"sync":"InSync"}`, wantErr: `sync "InSync"`},
		{name: "bad outcome", body: `{"onSync":"explode"}`, wantErr: `onSync "explode"`},
		{name: "bad revision", body: `{"revision":"HEAD"}`, wantErr: `revision "HEAD"`},
		{name: "empty revision", body: `{"revision":""}`, wantErr: `revision ""`},
		{name: "wrong type", body: `{"deleting":"yes"}`, wantErr: "cannot unmarshal"},
		{name: "trailing data", body: `{"deleting":true} {"x":1}`, wantErr: "trailing data"},
		{name: "not JSON", body: `health=Healthy`, wantErr: "decode state"},
		{name: "too large", body: `{"revision":"` + strings.Repeat("a", maxControlBody) + `"}`, wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeControl(strings.NewReader(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzDecodeControl: never panics; whatever it accepts is valid and survives a round trip.
func FuzzDecodeControl(f *testing.F) {
	for _, s := range []string{`{"health":"Healthy","sync":"Synced"}`, `{"onSync":"keep"}`, `{"revision":"00ff"}`, `{}`, `[`, `{"deleting":true}{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cs, err := DecodeControl(bytes.NewReader(body))
		if err != nil {
			return
		}
		if err := cs.validate(); err != nil {
			t.Fatalf("accepted an invalid state: %v", err)
		}
		b, err := json.Marshal(cs)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeControl(bytes.NewReader(b))
		if err != nil || !reflect.DeepEqual(again, cs) {
			t.Fatalf("round trip: %v %+v != %+v", err, again, cs)
		}
	})
}
