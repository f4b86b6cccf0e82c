// Package measure samples what the benchmarks report beside ns/op: the
// peak of live heap objects while something runs, and the process's CPU
// time. One piece for every package's benchmarks.
package measure

import (
	"runtime/metrics"
	"syscall"
	"time"
)

// CPU is the process's user plus system CPU time so far.
func CPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const heapObjects = "/memory/classes/heap/objects:bytes"

// Heap is the bytes of live heap objects now (runtime/metrics: no
// stop-the-world, unlike runtime.ReadMemStats).
func Heap() uint64 {
	s := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// PeakHeap samples Heap every millisecond until Stop.
type PeakHeap struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

// StartPeakHeap starts sampling.
func StartPeakHeap() *PeakHeap {
	p := &PeakHeap{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tk := time.NewTicker(time.Millisecond)
		defer tk.Stop()
		for {
			p.peak = max(p.peak, Heap())
			select {
			case <-p.stop:
				return
			case <-tk.C:
			}
		}
	}()
	return p
}

// Stop ends the sampling and returns the peak seen.
func (p *PeakHeap) Stop() uint64 {
	close(p.stop)
	<-p.done
	return p.peak
}
