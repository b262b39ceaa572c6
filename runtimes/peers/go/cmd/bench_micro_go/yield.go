package main

import (
	"runtime"
	"sync"
	"time"
)

// yieldRoundRobin is BM_Yield: units goroutines share yieldsPerIteration runtime.Gosched calls per iteration (200,000
// as in bench/micro/bench_yield.cpp), timed from the moment all are released until the last one ends.
func yieldRoundRobin(units, yieldsPerIteration int) func(int64) (time.Duration, map[string]float64, error) {
	return func(iters int64) (time.Duration, map[string]float64, error) {
		var total time.Duration
		each := yieldsPerIteration / units
		for i := int64(0); i < iters; i++ {
			var ready, done sync.WaitGroup
			gate := make(chan struct{})
			ready.Add(units)
			done.Add(units)
			for u := 0; u < units; u++ {
				go func() {
					defer done.Done()
					ready.Done()
					<-gate
					for y := 0; y < each; y++ {
						runtime.Gosched()
					}
				}()
			}
			ready.Wait()
			start := time.Now()
			close(gate)
			done.Wait()
			total += time.Since(start)
		}
		yields := float64(iters) * float64(each*units)
		return total, map[string]float64{"ns_per_yield": float64(total) / yields}, nil
	}
}
