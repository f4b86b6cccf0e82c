package exposition

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func testutilGather(g prometheus.Gatherer, want string) error {
	return testutil.GatherAndCompare(g, strings.NewReader(want), "promhttp_metric_handler_errors_total")
}
