package bearer

import (
	"context"
	"net/http"

	"github.com/prometheus/common/config"

	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// credentialsRef names the token for the SecretManager.
const credentialsRef = "bearer-token"

// NewClient returns an HTTP client built by prometheus/common/config from hc (TLS, proxy, HTTP/2,
// as the rest of the ecosystem builds them) that sends src's current value as the Bearer token
// of every request, and never follows a redirect: the token would go along to wherever the
// redirect points (the client answers the 3xx instead). hc's Authorization and FollowRedirects
// are set here.
//
// The token goes through a SecretManager rather than Authorization.CredentialsFile: the
// library's file secret fails the request when a re-read fails (mid-rotation), while a
// secret.File keeps the last good value.
func NewClient(name string, src secret.Source, hc config.HTTPClientConfig, opts ...config.HTTPClientOption) (*http.Client, error) {
	hc.Authorization = &config.Authorization{Type: "Bearer", CredentialsRef: credentialsRef}
	hc.FollowRedirects = false
	if err := hc.Validate(); err != nil {
		return nil, err
	}
	return config.NewClientFromConfig(hc, name, append(opts, config.WithSecretManager(SecretManager{src}))...)
}

// SecretManager serves a secret.Source to prometheus/common/config (config.WithSecretManager),
// for clients that need the library's other settings too.
type SecretManager struct{ Source secret.Source }

// Fetch returns the current value, whatever the reference.
func (m SecretManager) Fetch(context.Context, string) (string, error) { return m.Source.Value(), nil }
