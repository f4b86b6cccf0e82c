package argocdsim

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServerServesItemsAndFaults: exact documents (two apps of one name in
// two namespaces), the request log, and the faults.
func TestServerServesItemsAndFaults(t *testing.T) {
	srv := NewServer(testToken, Fixture(OperationRunning), Fixture(OperationSucceeded))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/api/v1/applications/my-app?appNamespace=fake-argocd-ns"); code != 200 || !strings.Contains(body, `"phase":"Succeeded"`) {
		t.Errorf("Get fake-argocd-ns/my-app = %d %s", code, body)
	}
	if code, body := get("/api/v1/applications/my-app"); code != 200 || !strings.Contains(body, `"phase":"Running"`) {
		t.Errorf("Get argocd/my-app = %d %s", code, body)
	}
	srv.SetFaults(Fault{Endpoint: "list", Status: 503, Message: "unavailable"})
	if code, _ := get("/api/v1/applications"); code != 503 {
		t.Errorf("List with a 503 fault = %d", code)
	}
	srv.SetFaults(Fault{Truncate: true})
	if _, body := get("/api/v1/applications"); strings.HasSuffix(body, "]}") {
		t.Errorf("truncated List ends whole: %s", body[len(body)-20:])
	}
	srv.SetFaults()
	if n := srv.Count("list"); n != 2 {
		t.Errorf("Count(list) = %d, want 2", n)
	}
	if n := srv.Count("get"); n != 2 {
		t.Errorf("Count(get) = %d, want 2", n)
	}
}

// TestFaultsControlAPI: PUT /sim/faults sets the faults a running simulator's API answers
// with (the chaos soak's 5xx and timeouts), [] clears them; bad bodies are refused.
func TestFaultsControlAPI(t *testing.T) {
	srv := NewServer(testToken, Fixture(OperationRunning))
	defer srv.Close()
	put := func(body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/sim/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	list := func() int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/applications", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(`[{"endpoint":"list","status":503,"message":"unavailable","delay":"1ms"}]`); code != 204 {
		t.Fatalf("PUT faults: %d", code)
	}
	if code := list(); code != 503 {
		t.Errorf("List with a 503 fault = %d", code)
	}
	if code := put(`[]`); code != 204 {
		t.Fatalf("PUT no faults: %d", code)
	}
	if code := list(); code != 200 {
		t.Errorf("List without faults = %d", code)
	}
	for _, bad := range []string{`[{"endpoint":"lists"}]`, `[{"status":200}]`, `[{"delay":"soon"}]`, `[{"stalls":true}]`, `{}`} {
		if code := put(bad); code != 400 {
			t.Errorf("PUT %s = %d, want 400", bad, code)
		}
	}
}
