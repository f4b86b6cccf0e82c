package argocd_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocd"
	"github.com/argocd-monitor/argocd-monitor/exporter/internal/argocdsim"
)

func TestDecodeDetailFixture(t *testing.T) {
	d, err := argocd.DecodeDetail(bytes.NewReader(argocdsim.Fixture("app-operation-succeeded-syncresult.json")))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name == "" || d.Operation == nil || d.Operation.Phase != argocd.PhaseSucceeded || len(d.RepoURLs) == 0 {
		t.Errorf("detail %+v", d)
	}
	if len(d.Operation.FailedItems) != 0 {
		t.Errorf("a succeeded sync has failed items: %+v", d.Operation.FailedItems)
	}
}

func TestDecodeMultiSource(t *testing.T) {
	doc := `{"metadata":{"name":"m","namespace":"argocd"},"spec":{"sources":[{"repoURL":"https://a"},{"repoURL":"https://b"}]},
	"status":{"sync":{"status":"Synced","revisions":["r1","r2"]},"operationState":{"phase":"Failed","operation":{"initiatedBy":{"automated":true}},
	"syncResult":{"revisions":["r1","r2"],"resources":[{"kind":"Deployment","name":"x","status":"SyncFailed","message":"boom"},{"kind":"Service","name":"y","status":"Synced"}]}}}}`
	d, err := argocd.DecodeDetail(bytes.NewReader([]byte(doc)))
	if err != nil {
		t.Fatal(err)
	}
	if !d.MultiSource || len(d.Revisions) != 2 || len(d.RepoURLs) != 2 || !d.Operation.Automated || len(d.Operation.FailedItems) != 1 {
		t.Errorf("detail %+v op %+v", d, d.Operation)
	}
}

// FuzzDecodeWhy: the on-demand decoders never panic and fail with ErrMalformedResponse.
func FuzzDecodeWhy(f *testing.F) {
	for _, fx := range argocdsim.AllFixtures {
		f.Add(argocdsim.Fixture(fx))
	}
	f.Add([]byte(`{"nodes":[{"kind":"Pod","name":"p","uid":"u","health":{"status":"Degraded","message":"m"},"parentRefs":[{"uid":"r"}]}]}`))
	f.Add([]byte(`{"items":[{"type":"Warning","reason":"BackOff","lastTimestamp":"2026-01-01T00:00:00Z","involvedObject":{"kind":"Pod"}}]}`))
	f.Add([]byte(`{"author":"a","date":"2026-01-01T00:00:00Z","message":"m"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(err error) {
			if err != nil && !errors.Is(err, argocd.ErrMalformedResponse) {
				t.Fatalf("error not ErrMalformedResponse: %v", err)
			}
		}
		_, err := argocd.DecodeDetail(bytes.NewReader(b))
		check(err)
		_, err = argocd.DecodeTree(bytes.NewReader(b))
		check(err)
		_, err = argocd.DecodeEvents(bytes.NewReader(b))
		check(err)
		_, err = argocd.DecodeRevisionMetadata(bytes.NewReader(b))
		check(err)
	})
}
