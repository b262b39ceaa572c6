package main

import (
	"sync"
	"time"
)

// spawnJoin is BM_SpawnJoin: spawn one empty goroutine and wait for it, 1,000 in a row per iteration
// (bench/micro/bench_spawn.cpp). ns_per_unit = time / spawns.
func spawnJoin(iters int64) (time.Duration, map[string]float64, error) {
	const perIteration = 1000
	var wg sync.WaitGroup
	start := time.Now()
	for i := int64(0); i < iters*perIteration; i++ {
		wg.Add(1)
		go wg.Done()
		wg.Wait()
	}
	elapsed := time.Since(start)
	return elapsed, map[string]float64{"ns_per_unit": float64(elapsed) / float64(iters*perIteration)}, nil
}
