package exposition

import (
	"bufio"
	"math"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
)

// writeGauges writes a family gaugeFamily accepted in the text format
// (0.0.4 and 1.0.0 are the same for such names) or in OpenMetrics 1.0,
// byte for byte as expfmt.MetricFamilyToText and MetricFamilyToOpenMetrics
// do. Each line is appended to bw's free buffer: no copy, no allocation.
// It stops before the first series it cannot write that way (a timestamp,
// a label name that needs quoting, no gauge value) and says how many it
// wrote; the caller has expfmt write the rest.
func writeGauges(bw *bufio.Writer, mf *dto.MetricFamily, om bool) (int, error) {
	if _, err := bw.Write(AppendHeader(bw.AvailableBuffer(), mf.GetName(), mf.Help, om)); err != nil {
		return 0, err
	}
	// Series of a family share their label name strings: check each once.
	var checked [16]*string
	nChecked := 0
	name := mf.GetName()
	for i, m := range mf.Metric {
		if m.Gauge == nil || m.TimestampMs != nil {
			return i, nil
		}
	labels:
		for _, lp := range m.Label {
			for _, c := range checked[:nChecked] {
				if lp.Name == c {
					continue labels
				}
			}
			if lp.Name == nil || !model.LegacyValidation.IsValidLabelName(*lp.Name) || *lp.Name == model.MetricNameLabel {
				return i, nil
			}
			if nChecked < len(checked) {
				checked[nChecked] = lp.Name
				nChecked++
			}
		}
		if _, err := bw.Write(AppendSample(bw.AvailableBuffer(), name, m.Label, m.Gauge.GetValue(), om)); err != nil {
			return i, err
		}
	}
	return len(mf.Metric), nil
}

// AppendHeader appends a gauge family's HELP (when help is set) and TYPE
// lines as expfmt writes them. The name must be a legacy metric name.
func AppendHeader(b []byte, name string, help *string, om bool) []byte {
	if help != nil {
		b = append(b, "# HELP "...)
		b = append(b, name...)
		b = append(b, ' ')
		b = appendEscaped(b, *help, om) // text escapes no quotes in HELP
		b = append(b, '\n')
	}
	b = append(b, "# TYPE "...)
	b = append(b, name...)
	return append(b, " gauge\n"...)
}

// AppendSample appends a gauge sample line as expfmt writes it. The metric
// and label names must be legacy names; label values may be anything.
func AppendSample(b []byte, name string, labels []*dto.LabelPair, v float64, om bool) []byte {
	b = append(b, name...)
	for i, lp := range labels {
		if i == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = append(b, lp.GetName()...)
		b = append(b, '=', '"')
		b = appendEscaped(b, lp.GetValue(), true)
		b = append(b, '"')
	}
	if len(labels) > 0 {
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendValue(b, v, om)
	return append(b, '\n')
}

// appendEscaped escapes '\' and newline, and '"' when quotes is set.
func appendEscaped(b []byte, s string, quotes bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch c := s[i]; {
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '"' && quotes:
			esc = `\"`
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// appendValue formats f as expfmt's writeFloat (text) and
// writeOpenMetricsFloat (OpenMetrics, where integers get ".0") do.
func appendValue(b []byte, f float64, om bool) []byte {
	switch {
	case f == 0 && om: // also -0, as expfmt compares
		return append(b, "0.0"...)
	case f == 0:
		return append(b, '0')
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'g', -1, 64)
	if om && !hasAny(b[n:], 'e', '.') {
		b = append(b, '.', '0')
	}
	return b
}

func hasAny(b []byte, x, y byte) bool {
	for _, c := range b {
		if c == x || c == y {
			return true
		}
	}
	return false
}
