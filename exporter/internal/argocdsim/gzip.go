package argocdsim

import (
	"compress/gzip"
	"net/http"
	"strings"
)

// compressed answers gzip'd to a client that accepts it, as argocd-server
// does by default (--enable-gzip, gorilla's CompressHandler at the default
// level), except the SSE stream (Accept: text/event-stream), which
// argocd-server leaves alone. Config.Gzip turns it on.
func compressed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") == "text/event-stream" || !acceptsGzip(r.Header.Values("Accept-Encoding")) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		gz := gzip.NewWriter(w)
		next.ServeHTTP(&gzipWriter{ResponseWriter: w, gz: gz}, r)
		_ = gz.Close()
	})
}

func acceptsGzip(values []string) bool {
	for _, v := range values {
		for spec := range strings.SplitSeq(v, ",") {
			enc, params, _ := strings.Cut(spec, ";")
			if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(params) != "q=0" {
				return true
			}
		}
	}
	return false
}

// gzipWriter compresses the body; Flush pushes what is compressed so far
// (the JSON-lines stream).
type gzipWriter struct {
	http.ResponseWriter
	gz *gzip.Writer
}

func (g *gzipWriter) WriteHeader(code int) {
	g.Header().Del("Content-Length")
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	g.Header().Del("Content-Length")
	return g.gz.Write(p)
}

func (g *gzipWriter) Flush() {
	_ = g.gz.Flush()
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
