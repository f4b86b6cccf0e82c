// Package chart installs the Helm chart deploy/helm/argocd-monitor on a real kube-apiserver
// (package kubeapi; no Argo CD needed): server-side dry run of its renders, then helm install,
// upgrade and uninstall. Its test files carry the build tag `e2ereal` and run with
// `make e2e-real`.
package chart
