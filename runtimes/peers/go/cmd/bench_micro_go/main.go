// Command bench_micro_go measures what one goroutine costs, with the questions and names of bench/micro
// (BM_SpawnJoin, BM_Yield, BM_ParkedMemory, model:go = GOMAXPROCS 1, model:go-mt = one P per core), and writes
// Google Benchmark's JSON format so that bench_all merges it into micro.json and micro.csv.
//
// Flags (Google Benchmark's spelling): --benchmark_out=FILE, --benchmark_out_format=json, --benchmark_format=
// console|json, --benchmark_filter=REGEX, --benchmark_min_time=SECONDS, --benchmark_repetitions=N; and --smoke
// (tiny sizes, for ctest). Memory is sampled in a fresh child process per repetition.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"tvt/peers/go/internal/gbench"
)

type model struct {
	name  string
	procs int
}

func main() {
	var (
		out, outFormat, format, filter, minTimeText string
		repetitions, parkChild                      int
		smoke                                       bool
	)
	flag.StringVar(&out, "benchmark_out", "", "write the JSON report to this file")
	flag.StringVar(&outFormat, "benchmark_out_format", "json", "json only")
	flag.StringVar(&format, "benchmark_format", "console", "stdout format: console or json")
	flag.StringVar(&filter, "benchmark_filter", "", "run only benchmarks whose name matches this regular expression")
	flag.StringVar(&minTimeText, "benchmark_min_time", "0.2", "seconds of manual time per repetition (e.g. 0.05 or 0.05s)")
	flag.IntVar(&repetitions, "benchmark_repetitions", 1, "repetitions of each benchmark")
	flag.BoolVar(&smoke, "smoke", false, "tiny sizes, one pass each (ctest)")
	flag.IntVar(&parkChild, "park-child", 0, "internal: park this many goroutines and report memory as JSON")
	flag.Parse()
	if parkChild > 0 {
		os.Exit(runParkChild(parkChild))
	}
	minSeconds, err := strconv.ParseFloat(strings.TrimSuffix(minTimeText, "s"), 64)
	if err != nil || minSeconds < 0 || repetitions < 1 || outFormat != "json" {
		fmt.Fprintln(os.Stderr, "bench_micro_go: bad --benchmark_min_time, --benchmark_repetitions or --benchmark_out_format")
		os.Exit(2)
	}
	match, err := regexp.Compile(filter)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench_micro_go: --benchmark_filter: %v\n", err)
		os.Exit(2)
	}

	report := gbench.NewReport()
	minTime := time.Duration(minSeconds * float64(time.Second))
	failed := false
	for i, b := range benchmarks(smoke) {
		if !match.MatchString(b.bench.Name) {
			continue
		}
		runtime.GOMAXPROCS(b.procs)
		results := make([]gbench.Result, repetitions)
		for r := range results {
			results[r] = gbench.Measure(b.bench, minTime)
			failed = failed || results[r].Error != ""
		}
		report.Add(i, b.bench, results)
	}
	if format == "json" {
		report.Write(os.Stdout)
	} else {
		report.Console(os.Stdout)
	}
	if out != "" {
		if err := report.WriteFile(out); err != nil {
			fmt.Fprintf(os.Stderr, "bench_micro_go: %v\n", err)
			os.Exit(1)
		}
	}
	if failed {
		os.Exit(1)
	}
}

type entry struct {
	bench gbench.Benchmark
	procs int
}

func benchmarks(smoke bool) []entry {
	size := func(full, small int) int {
		if smoke {
			return small
		}
		return full
	}
	timeout := 120 * time.Second
	if s, err := strconv.Atoi(os.Getenv("TVT_MICRO_PHASE_TIMEOUT_S")); err == nil && s > 0 {
		timeout = time.Duration(s) * time.Second
	}
	models := []model{{"go", 1}, {"go-mt", runtime.NumCPU()}}
	var list []entry
	for _, m := range models {
		list = append(list, entry{gbench.Benchmark{Name: "BM_SpawnJoin/model:" + m.name, Run: spawnJoin}, m.procs})
	}
	for _, m := range models {
		for _, units := range []int{2, 100, 10000} {
			name := fmt.Sprintf("BM_Yield/model:%s/units:%d", m.name, units)
			list = append(list, entry{gbench.Benchmark{Name: name, Run: yieldRoundRobin(units, size(200_000, 20_000))}, m.procs})
		}
	}
	for _, units := range []int{size(10_000, 100), size(100_000, 200), size(1_000_000, 300)} {
		name := fmt.Sprintf("BM_ParkedMemory/model:go/units:%d/iterations:1", units)
		list = append(list, entry{gbench.Benchmark{Name: name, FixedIterations: 1, TimeUnit: "ms",
			Run: parkedMemory(units, timeout)}, 1})
	}
	return list
}
