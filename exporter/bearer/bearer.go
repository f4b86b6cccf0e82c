// Package bearer owns argocd-monitor's one Bearer token rule (RFC 9110 §11.4, RFC 6750 §2.1):
// the credentials "Bearer <token68>", the scheme matched case-insensitively, one or more spaces
// before the token, the token compared in constant time. Every server endpoint that takes a
// token checks it here (the exporter's read API and write API, the Slack bridge's /webhook, which
// imports this package), and the bridge's clients that send one (to the exporter) are built here
// too, so `bearer  tok`, `BEARER tok` and `Bearer tok` mean the same everywhere.
package bearer

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/argocd-monitor/argocd-monitor/exporter/secret"
)

// scheme is the authentication scheme, compared case-insensitively (RFC 9110 §11.1).
const scheme = "bearer"

// Parse returns the token of an Authorization header value that uses the Bearer scheme:
// "Bearer", one or more spaces, a token68. Leading and trailing whitespace of the field value
// is ignored (it is not part of a field value); anything else fails.
func Parse(header string) (token string, ok bool) {
	h := strings.Trim(header, " \t")
	if len(h) <= len(scheme) || !strings.EqualFold(h[:len(scheme)], scheme) || h[len(scheme)] != ' ' {
		return "", false
	}
	token = strings.TrimLeft(h[len(scheme):], " ")
	if !isToken68(token) {
		return "", false
	}
	return token, true
}

// isToken68 reports whether s is a token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
// "/" ) *"=".
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/':
		default:
			return false
		}
	}
	return true
}

// ErrNotToken68 is CheckToken's error.
var ErrNotToken68 = errors.New("not usable as a Bearer token (RFC 6750: letters, digits and -._~+/, then optional trailing =)")

// CheckToken is the check (secret.ReadFile, secret.Open) for a configured token that is sent or
// expected as a Bearer token: a token that is no token68 could never pass Check.
func CheckToken(v string) error {
	if !isToken68(v) {
		return ErrNotToken68
	}
	return nil
}

// Verdict is what Check found.
type Verdict int

// Verdicts. Each endpoint maps them onto its answers (401, 403) and metric results.
const (
	// Valid: the request carries the expected token.
	Valid Verdict = iota
	// Missing: no Authorization header, another scheme, or no token68 after "Bearer".
	Missing
	// Wrong: a well-formed Bearer token that is not the expected one.
	Wrong
	// Unset: there is no expected token (nil Source or empty value): everything is refused.
	Unset
)

// Check compares the request's Bearer token with want's current value in constant time (of the
// tokens' SHA-256 sums, so not even the length leaks).
func Check(r *http.Request, want secret.Source) Verdict {
	got, ok := Parse(r.Header.Get("Authorization"))
	if !ok {
		return Missing
	}
	var w string
	if want != nil {
		w = want.Value()
	}
	if w == "" {
		return Unset
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(w))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return Wrong
	}
	return Valid
}

// Challenge sets the WWW-Authenticate header of a 401 answer (RFC 6750 §3).
func Challenge(w http.ResponseWriter, realm string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
}
