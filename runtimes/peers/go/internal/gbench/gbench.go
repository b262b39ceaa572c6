// Package gbench runs benchmarks the way Google Benchmark's manual-time mode does and writes its JSON format, so that
// bench_all merges the Go peer's micro figures into micro.json and micro.csv beside the C++ models'.
package gbench

import (
	"math"
	"sort"
	"syscall"
	"time"
)

// Result is one measured repetition: the time the body reported (manual time), the process CPU time around it, the
// iterations, and per-benchmark counters.
type Result struct {
	Iterations int64
	Real       time.Duration
	CPU        time.Duration
	Counters   map[string]float64
	Error      string
}

// Benchmark is one named body. Run executes it iters times and returns the manual time and the counters for them.
type Benchmark struct {
	Name string
	// FixedIterations > 0 runs exactly that many iterations (Google Benchmark's ->Iterations(n)).
	FixedIterations int64
	TimeUnit        string // "ns" or "ms"
	Run             func(iters int64) (time.Duration, map[string]float64, error)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Measure runs b once: with FixedIterations, or growing the iteration count until the manual time reaches minTime.
func Measure(b Benchmark, minTime time.Duration) Result {
	iters := b.FixedIterations
	fixed := iters > 0
	if !fixed {
		iters = 1
	}
	for {
		cpu0 := cpuTime()
		real, counters, err := b.Run(iters)
		cpu := cpuTime() - cpu0
		if err != nil {
			return Result{Iterations: iters, Error: err.Error()}
		}
		if fixed || real >= minTime || iters >= 1e9 {
			return Result{Iterations: iters, Real: real, CPU: cpu, Counters: counters}
		}
		// Aim 40 % past the target, as Google Benchmark does, growing at most tenfold per step.
		next := int64(float64(iters) * 1.4 * float64(minTime) / math.Max(float64(real), 1))
		if next > 10*iters {
			next = 10 * iters
		}
		if next <= iters {
			next = iters + 1
		}
		iters = next
	}
}

// aggregate is one of Google Benchmark's aggregate rows over the repetitions.
func aggregate(kind string, xs []float64) float64 {
	n := float64(len(xs))
	mean := 0.0
	for _, x := range xs {
		mean += x / n
	}
	switch kind {
	case "median":
		s := append([]float64(nil), xs...)
		sort.Float64s(s)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	case "stddev":
		if len(xs) < 2 {
			return 0
		}
		v := 0.0
		for _, x := range xs {
			v += (x - mean) * (x - mean)
		}
		return math.Sqrt(v / (n - 1))
	}
	return mean
}
