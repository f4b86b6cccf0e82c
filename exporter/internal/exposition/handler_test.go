package exposition

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

// families is a gatherer's worth of everything the direct path must write
// like expfmt, and everything it must leave to expfmt.
func families() []*dto.MetricFamily {
	gauge := dto.MetricType_GAUGE.Enum()
	lp := func(kv ...string) []*dto.LabelPair {
		var out []*dto.LabelPair
		for i := 0; i < len(kv); i += 2 {
			out = append(out, &dto.LabelPair{Name: proto.String(kv[i]), Value: proto.String(kv[i+1])})
		}
		return out
	}
	g := func(v float64, labels ...string) *dto.Metric {
		return &dto.Metric{Label: lp(labels...), Gauge: &dto.Gauge{Value: proto.Float64(v)}}
	}
	var values []*dto.Metric
	for i, v := range []float64{0, math.Copysign(0, -1), 1, -1, 0.5, -2.25, 3, 1e21, 1e-7, 123456789, math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1)} {
		values = append(values, g(v, "i", string(rune('a'+i))))
	}
	return []*dto.MetricFamily{
		{Name: proto.String("a_counter_total"), Help: proto.String("A counter."), Type: dto.MetricType_COUNTER.Enum(),
			Metric: []*dto.Metric{{Label: lp("x", "1"), Counter: &dto.Counter{Value: proto.Float64(7)}}}},
		{Name: proto.String("app_info"), Help: proto.String(`Help with "quotes", a \ and a` + "\nnewline."), Type: gauge,
			Metric: []*dto.Metric{
				g(1, "name", "plain", "namespace", "argocd", "repo", "https://git.example/x.git"),
				g(1, "name", `quo"te`, "namespace", `back\slash`, "repo", "new\nline"),
				g(1, "name", "ünïcödé ✓", "namespace", "", "repo", `\"`+"\n"),
			}},
		{Name: proto.String("gauge_values"), Help: proto.String("Every kind of float."), Type: gauge, Metric: values},
		{Name: proto.String("gauge_no_help"), Type: gauge, Metric: []*dto.Metric{g(2)}},
		{Name: proto.String("gauge_no_labels"), Help: proto.String("Scalar."), Type: gauge, Metric: []*dto.Metric{g(42)}},
		{Name: proto.String("gauge_with_timestamp"), Help: proto.String("Left to expfmt."), Type: gauge,
			Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: proto.Float64(1)}, TimestampMs: proto.Int64(1700000000123)}}},
		{Name: proto.String("gauge_with_unit_seconds"), Help: proto.String("Left to expfmt."), Unit: proto.String("seconds"), Type: gauge,
			Metric: []*dto.Metric{g(1.5)}},
		{Name: proto.String("gauge:colon"), Help: proto.String("Colons are legacy-valid metric names."), Type: gauge,
			Metric: []*dto.Metric{g(1, "a", "b")}},
		{Name: proto.String("gauge_label_colon"), Help: proto.String("Not a legacy label name."), Type: gauge,
			Metric: []*dto.Metric{g(1, "a:b", "c")}},
		{Name: proto.String("gauge_mixed"), Help: proto.String("Direct, then expfmt from the second series on."), Type: gauge,
			Metric: []*dto.Metric{
				g(1, "a", "x"),
				g(2, "a.b", "y"),
				g(3, "a", "z"),
				{Gauge: &dto.Gauge{Value: proto.Float64(4)}, TimestampMs: proto.Int64(1700000000123)},
				g(5, "__name__", "w"),
			}},
		{Name: proto.String("gauge.utf8"), Help: proto.String("Not a legacy name."), Type: gauge,
			Metric: []*dto.Metric{g(1, "label.dot", "v")}},
		{Name: proto.String("h_seconds"), Help: proto.String("A histogram."), Type: dto.MetricType_HISTOGRAM.Enum(),
			Metric: []*dto.Metric{{Histogram: &dto.Histogram{SampleCount: proto.Uint64(2), SampleSum: proto.Float64(0.3),
				Bucket: []*dto.Bucket{{UpperBound: proto.Float64(0.1), CumulativeCount: proto.Uint64(1)}}}}}},
		{Name: proto.String("s_seconds"), Help: proto.String("A summary."), Type: dto.MetricType_SUMMARY.Enum(),
			Metric: []*dto.Metric{{Summary: &dto.Summary{SampleCount: proto.Uint64(2), SampleSum: proto.Float64(0.3),
				Quantile: []*dto.Quantile{{Quantile: proto.Float64(0.5), Value: proto.Float64(0.1)}}}}}},
		{Name: proto.String("u"), Help: proto.String("Untyped."), Type: dto.MetricType_UNTYPED.Enum(),
			Metric: []*dto.Metric{{Untyped: &dto.Untyped{Value: proto.Float64(3)}}}},
	}
}

// TestHandlerMatchesPromhttp: for every format and compression a scraper
// may ask for, the handler answers what promhttp.HandlerFor answers.
func TestHandlerMatchesPromhttp(t *testing.T) {
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return families(), nil })
	ours := Handler(g, nil, Opts{})
	theirs := promhttp.HandlerFor(g, promhttp.HandlerOpts{EnableOpenMetrics: true})
	parity(t, ours, theirs)
}

// TestSourceMatchesPromhttp: a Source's text families, merged with a
// Gatherer's, come out as promhttp serves both gathered together.
func TestSourceMatchesPromhttp(t *testing.T) {
	var reg, src []*dto.MetricFamily
	all := families()
	slices.SortFunc(all, func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	for _, mf := range all {
		switch mf.GetName() {
		case "app_info", "gauge_values", "gauge_no_help", "gauge_no_labels":
			src = append(src, mf)
		default:
			reg = append(reg, mf)
		}
	}
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return reg, nil })
	s := gaugeSource(src)
	parity(t, Handler(g, s, Opts{}), promhttp.HandlerFor(Gatherers(g, s), promhttp.HandlerOpts{EnableOpenMetrics: true}))

	rec := httptest.NewRecorder()
	Handler(s, s, Opts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "exposed twice") {
		t.Errorf("a family from both: %d %q", rec.Code, rec.Body)
	}
}

// gaugeSource is a Source over plain gauge families, sorted by name. Its
// first sample of each family is written as a line, the others as chunks
// kept between requests (one per sample and syntax), so the handler's
// gzip'd answers mix its own deflate output with chunks compressed by an
// earlier request.
type gaugeSource []*dto.MetricFamily

func (s gaugeSource) Gather() ([]*dto.MetricFamily, error) { return s, nil }

var keptChunks sync.Map // "family/i/om" -> *Chunk

func (s gaugeSource) TextFamilies() []TextFamily {
	var out []TextFamily
	for _, mf := range s {
		out = append(out, TextFamily{Name: mf.GetName(), Write: func(w *Writer) error {
			om := w.OpenMetrics()
			if _, err := w.Write(AppendHeader(nil, mf.GetName(), mf.Help, om)); err != nil {
				return err
			}
			for i, m := range mf.Metric {
				line := AppendSample(nil, mf.GetName(), m.Label, m.Gauge.GetValue(), om)
				if i == 0 {
					if _, err := w.Write(line); err != nil {
						return err
					}
					continue
				}
				v, _ := keptChunks.LoadOrStore(fmt.Sprintf("%s/%d/%v", mf.GetName(), i, om), &Chunk{Text: line})
				c := v.(*Chunk)
				if w.Compressed() && c.Compressed() {
					c.Text = nil // kept compressed only, as the collector does
				}
				if !w.Compressed() && c.Text == nil {
					c.Text = line
				}
				if err := w.WriteChunk(c); err != nil {
					return err
				}
			}
			return nil
		}})
	}
	return out
}

// TestCRC32Combine: the combined CRC is the CRC of the concatenation.
func TestCRC32Combine(t *testing.T) {
	texts := []string{"", "a", "hello, ", "world\n", strings.Repeat("argocd_monitor_app_health_status 1\n", 1000)}
	for _, a := range texts {
		for _, b := range texts {
			want := crc32.ChecksumIEEE([]byte(a + b))
			if got := crc32Combine(crc32.ChecksumIEEE([]byte(a)), crc32.ChecksumIEEE([]byte(b)), int64(len(b))); got != want {
				t.Errorf("combine(%d, %d bytes) = %08x, want %08x", len(a), len(b), got, want)
			}
		}
	}
}

func TestGatherers(t *testing.T) {
	a := prometheus.NewRegistry()
	a.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "zz_total", Help: "x"}),
		prometheus.NewCounter(prometheus.CounterOpts{Name: "aa_total", Help: "x"}))
	b := prometheus.NewRegistry()
	b.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "mm_total", Help: "x"}))
	mfs, err := Gatherers(a, b).Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	if strings.Join(names, " ") != "aa_total mm_total zz_total" {
		t.Errorf("families = %v", names)
	}
	if _, err := Gatherers(a, b, a).Gather(); err == nil || !strings.Contains(err.Error(), "exposed twice") {
		t.Errorf("duplicate families: %v", err)
	}
}

// parity asks both handlers for every format and compression a scraper
// may ask for and wants the same answer, byte for byte once decompressed.
func parity(t *testing.T, ours, theirs http.Handler) {
	t.Helper()
	accepts := []string{
		"",
		"*/*",
		"text/plain;version=0.0.4",
		"text/plain;version=1.0.0;escaping=allow-utf-8",
		"text/plain;version=1.0.0;escaping=underscores",
		"application/openmetrics-text;version=1.0.0",
		"application/openmetrics-text;version=0.0.1",
		"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8",
		"application/openmetrics-text;version=1.0.0;escaping=dots",
		"application/openmetrics-text;version=1.0.0;escaping=values",
		"application/openmetrics-text;version=2.0.0",
		"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
		// Prometheus 3's default scrape_protocols.
		"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
	}
	encodings := []string{"", "gzip", "gzip;q=0", "identity;q=1, gzip;q=0.5", "gzip;q=0.5, identity;q=0.1", "*", "br", "gzip;q=bad"}
	for _, accept := range accepts {
		for _, enc := range encodings {
			for _, query := range []string{"", "?name[]=app_info&name[]=h_seconds"} {
				req := httptest.NewRequest("GET", "/metrics"+query, nil)
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				if enc != "" {
					req.Header.Set("Accept-Encoding", enc)
				}
				want, got := httptest.NewRecorder(), httptest.NewRecorder()
				theirs.ServeHTTP(want, req)
				ours.ServeHTTP(got, req)
				name := accept + " | " + enc + " | " + query
				if got.Code != want.Code {
					t.Fatalf("%s: code %d, promhttp %d", name, got.Code, want.Code)
				}
				for _, h := range []string{"Content-Type", "Content-Encoding"} {
					if got.Header().Get(h) != want.Header().Get(h) {
						t.Errorf("%s: %s %q, promhttp %q", name, h, got.Header().Get(h), want.Header().Get(h))
					}
				}
				if g, w := got.Header().Values("Vary"), want.Header().Values("Vary"); strings.Join(g, ",") != strings.Join(w, ",") {
					t.Errorf("%s: Vary %q, promhttp %q", name, g, w)
				}
				if g, w := body(t, got), body(t, want); !bytes.Equal(g, w) {
					t.Errorf("%s: body differs from promhttp's\n--- ours\n%s\n--- promhttp\n%s", name, g, w)
				}
			}
		}
	}
}

func body(t *testing.T, rec *httptest.ResponseRecorder) []byte {
	t.Helper()
	if rec.Header().Get("Content-Encoding") != "gzip" {
		return rec.Body.Bytes()
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestContentCodingIgnoresCase: RFC 9110 content codings are
// case-insensitive; promhttp compares them as written and sends "GZIP"
// askers plain text. That is the one place the handlers differ.
func TestContentCodingIgnoresCase(t *testing.T) {
	for _, enc := range []string{"GZIP", "Gzip;Q=1", "x-custom, gzip"} {
		h := http.Header{"Accept-Encoding": {enc}}
		if !acceptsGzip(h) {
			t.Errorf("Accept-Encoding %q: no gzip", enc)
		}
	}
}

// TestDirectPathStops: which families the direct path takes, and where
// it hands a family over to expfmt.
func TestDirectPathStops(t *testing.T) {
	wantFamily := map[string]bool{"app_info": true, "gauge_values": true, "gauge_no_help": true, "gauge_no_labels": true,
		"gauge:colon": true, "gauge_label_colon": true, "gauge_with_timestamp": true, "gauge_mixed": true}
	wantWritten := map[string]int{"app_info": 3, "gauge_values": 15, "gauge_no_help": 1, "gauge_no_labels": 1, "gauge:colon": 1,
		"gauge_label_colon": 0, "gauge_with_timestamp": 0, "gauge_mixed": 1}
	for _, mf := range families() {
		name := mf.GetName()
		if got := gaugeFamily(mf); got != wantFamily[name] {
			t.Errorf("gaugeFamily(%s) = %v, want %v", name, got, wantFamily[name])
		}
		if !wantFamily[name] {
			continue
		}
		n, err := writeGauges(bufio.NewWriter(io.Discard), mf, false)
		if err != nil || n != wantWritten[name] {
			t.Errorf("writeGauges(%s) = %d, %v; want %d series", name, n, err, wantWritten[name])
		}
	}
	noName := &dto.MetricFamily{Name: proto.String("g"), Type: dto.MetricType_GAUGE.Enum(),
		Metric: []*dto.Metric{{Label: []*dto.LabelPair{{Value: proto.String("v")}}, Gauge: &dto.Gauge{}}}}
	if n, _ := writeGauges(bufio.NewWriter(io.Discard), noName, false); n != 0 {
		t.Error("a label without a name went to the direct path")
	}
	if gaugeFamily(&dto.MetricFamily{Name: proto.String("g"), Type: dto.MetricType_GAUGE.Enum()}) {
		t.Error("an empty family went to the direct path (expfmt refuses it)")
	}
}

func TestGatherErrorIs500AndCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := Handler(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		return nil, errors.New("collector exploded")
	}), nil, Opts{Registry: reg})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "collector exploded") {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	want := `
# HELP promhttp_metric_handler_errors_total Total number of internal errors encountered by the promhttp metric handler.
# TYPE promhttp_metric_handler_errors_total counter
promhttp_metric_handler_errors_total{cause="encoding"} 0
promhttp_metric_handler_errors_total{cause="gathering"} 1
`
	if err := testutilGather(reg, want); err != nil {
		t.Fatal(err)
	}
	// A second handler on the same registry shares the counter, as promhttp's do.
	_ = Handler(prometheus.NewRegistry(), nil, Opts{Registry: reg})
	_ = promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{Registry: reg})
}

func TestConcurrencyLimit(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := Handler(prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		entered <- struct{}{}
		<-release
		return nil, nil
	}), nil, Opts{MaxRequestsInFlight: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/metrics", nil))
	}()
	<-entered
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	close(release)
	<-done
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "Limit of concurrent requests reached (1)") {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
}

// FuzzWriteGauges: any gauge family comes out as expfmt writes it, in
// both syntaxes, whether the direct path writes all of it or hands the
// rest to expfmt.
func FuzzWriteGauges(f *testing.F) {
	f.Add("name", "value", "Help.", 1.0)
	f.Add("le", "a\"b\\c\nd", "quote \" back \\ nl \n", math.Copysign(0, -1))
	f.Add("x_1", "ü", "", 1e21)
	f.Add("a.b", "v", "h", 2.0)
	f.Fuzz(func(t *testing.T, label, value, help string, v float64) {
		mf := &dto.MetricFamily{Name: proto.String("fuzz_gauge"), Help: proto.String(help), Type: dto.MetricType_GAUGE.Enum(),
			Metric: []*dto.Metric{
				{Gauge: &dto.Gauge{Value: proto.Float64(-v)}},
				{Label: []*dto.LabelPair{{Name: proto.String(label), Value: proto.String(value)}}, Gauge: &dto.Gauge{Value: proto.Float64(v)}},
				{Label: []*dto.LabelPair{{Name: proto.String("z"), Value: proto.String(value)}}, Gauge: &dto.Gauge{Value: proto.Float64(v / 3)}},
			}}
		for _, format := range []expfmt.Format{expfmt.NewFormat(expfmt.TypeTextPlain), expfmt.NewFormat(expfmt.TypeOpenMetrics)} {
			var want, got bytes.Buffer
			if err := expfmt.NewEncoder(&want, format).Encode(mf); err != nil {
				return // expfmt refuses it (an empty label name); so does a scrape
			}
			bw := bufio.NewWriter(&got)
			n, err := writeGauges(bw, mf, directSyntax(format) == openMetrics)
			if err == nil && n < len(mf.Metric) {
				err = encodeRest(bw, format, mf, n)
			}
			if err != nil {
				t.Fatal(err)
			}
			_ = bw.Flush()
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%s:\n%q\nexpfmt:\n%q", format, got.Bytes(), want.Bytes())
			}
		}
	})
}
