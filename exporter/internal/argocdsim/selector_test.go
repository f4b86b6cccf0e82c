package argocdsim

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestSelector: List and Watch filter by `selector` as Argo CD does (k8s.io/apimachinery labels).
func TestSelector(t *testing.T) {
	labels := map[string]string{"team": "shop", "tier": "web", "env": "prod"}
	tests := []struct {
		sel     string
		want    bool
		wantErr bool
	}{
		{sel: "", want: true},
		{sel: "team=shop", want: true},
		{sel: "team==shop", want: true},
		{sel: "team=payments", want: false},
		{sel: "team!=payments", want: true},
		{sel: "missing!=x", want: true},
		{sel: "team=shop,tier=web", want: true},
		{sel: "team=shop,tier=db", want: false},
		{sel: "tier in (web, db)", want: true},
		{sel: "tier notin (web,db)", want: false},
		{sel: "missing in (a)", want: false},
		{sel: "env", want: true},
		{sel: "!env", want: false},
		{sel: "!missing", want: true},
		{sel: "team in (shop),env", want: true},
		{sel: "a==b=c", wantErr: true},
		{sel: "team=shop,", wantErr: true},
		{sel: "tier in web", wantErr: true},
		{sel: "=x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			f, err := parseFilter(httptest.NewRequest("GET", "/api/v1/applications?selector="+url.QueryEscape(tt.sel), nil))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parsed %q", tt.sel)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.matches(&app{labels: labels}); got != tt.want {
				t.Fatalf("matches = %v, want %v", got, tt.want)
			}
		})
	}
}
