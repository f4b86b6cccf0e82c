// Package e2ereal holds the end-to-end and conformance tests against a real Argo CD (package
// realargocd) on a real kube-apiserver (package kubeapi). Its test files carry the build tag
// `e2ereal` and run with `make e2e-real`; `go test ./...` compiles the package without them.
package e2ereal
