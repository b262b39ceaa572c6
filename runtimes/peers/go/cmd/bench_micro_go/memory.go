package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memorySample is what bench/micro/models/memory_probe.hpp samples: this process's resident set (/proc/self/statm)
// and the machine-wide kernel memory outside it (/proc/meminfo KernelStack, PageTables, Slab), in bytes.
type memorySample struct {
	RSS, KernelStack, PageTables, Slab int64
}

func sampleMemory() (memorySample, error) {
	var s memorySample
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return s, err
	}
	fields := strings.Fields(string(statm))
	if len(fields) < 2 {
		return s, fmt.Errorf("unexpected /proc/self/statm %q", statm)
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return s, err
	}
	s.RSS = pages * int64(os.Getpagesize())
	meminfo, err := os.Open("/proc/meminfo")
	if err != nil {
		return s, err
	}
	defer meminfo.Close()
	sc := bufio.NewScanner(meminfo)
	for sc.Scan() {
		f := strings.Fields(sc.Text()) // "KernelStack:   1234 kB"
		if len(f) < 2 {
			continue
		}
		kib, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "KernelStack:":
			s.KernelStack = kib * 1024
		case "PageTables:":
			s.PageTables = kib * 1024
		case "Slab:":
			s.Slab = kib * 1024
		}
	}
	return s, sc.Err()
}

// parkReport is what a child prints: the samples around parking units goroutines, and how long spawning took.
type parkReport struct {
	Before, Parked memorySample
	ElapsedNS      int64
}

// parkInThisProcess parks units goroutines on one shared channel (the gate), samples memory once all are parked,
// then releases them and waits for all to end.
func parkInThisProcess(units int) (parkReport, error) {
	var r parkReport
	var err error
	if r.Before, err = sampleMemory(); err != nil {
		return r, err
	}
	var parked, ended sync.WaitGroup
	gate := make(chan struct{})
	parked.Add(units)
	ended.Add(units)
	start := time.Now()
	for i := 0; i < units; i++ {
		go func() {
			defer ended.Done()
			parked.Done()
			<-gate
		}()
	}
	parked.Wait()
	r.ElapsedNS = int64(time.Since(start))
	if r.Parked, err = sampleMemory(); err != nil {
		return r, err
	}
	close(gate)
	ended.Wait()
	return r, nil
}

// parkedMemory is BM_ParkedMemory: each iteration parks units goroutines in a fresh child process (this executable
// with --park-child), so no sample reuses memory an earlier one freed. Counters as bench/micro/bench_memory.cpp.
func parkedMemory(units int, timeout time.Duration) func(int64) (time.Duration, map[string]float64, error) {
	return func(iters int64) (time.Duration, map[string]float64, error) {
		var elapsed time.Duration
		var delta memorySample
		for i := int64(0); i < iters; i++ {
			r, err := parkInChild(units, timeout)
			if err != nil {
				return 0, nil, err
			}
			elapsed += time.Duration(r.ElapsedNS)
			delta.RSS += r.Parked.RSS - r.Before.RSS
			delta.KernelStack += r.Parked.KernelStack - r.Before.KernelStack
			delta.PageTables += r.Parked.PageTables - r.Before.PageTables
			delta.Slab += r.Parked.Slab - r.Before.Slab
		}
		n := float64(iters) * float64(units)
		per := func(b int64) float64 { return float64(b) / n }
		return elapsed, map[string]float64{
			"rss_per_unit_bytes":          per(delta.RSS),
			"kernel_stack_per_unit_bytes": per(delta.KernelStack),
			"page_tables_per_unit_bytes":  per(delta.PageTables),
			"slab_per_unit_bytes":         per(delta.Slab),
			"total_per_unit_bytes":        per(delta.RSS + delta.KernelStack + delta.PageTables + delta.Slab),
		}, nil
	}
}

func parkInChild(units int, timeout time.Duration) (parkReport, error) {
	var r parkReport
	exe, err := os.Executable()
	if err != nil {
		return r, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "--park-child", strconv.Itoa(units))
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return r, fmt.Errorf("timed out after %v: the goroutines never all parked", timeout)
		}
		return r, fmt.Errorf("child failed (%v): %s", err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return r, fmt.Errorf("child report: %v", err)
	}
	return r, nil
}

// runParkChild is the child side: park, report on stdout as JSON.
func runParkChild(units int) int {
	r, err := parkInThisProcess(units)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
