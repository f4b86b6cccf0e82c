package interact

import (
	"testing"
	"time"
)

// BenchmarkRequestURL is the work before Slack gets its answer (which must come within 3 s):
// read, verify the signature, decode the payload, hand the click off.
func BenchmarkRequestURL(b *testing.B) {
	r := New(Config{SigningSecret: inline(signingKey), Handler: &recorder{}})
	body := form(payload("silence_1h", "g=abc"))
	ts := time.Now().Unix()
	sig := sign(signingKey, ts, body)
	b.ReportAllocs()
	for b.Loop() {
		if w := post(r, body, ts, sig); w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
	r.Wait()
}
