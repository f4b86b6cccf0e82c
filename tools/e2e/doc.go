// Package e2e is argocd-monitor's end-to-end test: the real Prometheus and Alertmanager, the
// exporter, the Slack bridge (bot mode, against a fake Slack Web API) and the Argo CD simulator,
// all on 127.0.0.1 (tools/internal/stack). Its test files carry the build tag `e2e`: `make e2e`
// runs them (`go test -tags e2e ./e2e/...`), `go test ./...` in the tools module leaves them out.
package e2e
