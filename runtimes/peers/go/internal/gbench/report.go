package gbench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Context is Google Benchmark's "context" object (the fields bench_all and summarize.py read).
type Context struct {
	Date             string `json:"date"`
	HostName         string `json:"host_name"`
	Executable       string `json:"executable"`
	NumCPUs          int    `json:"num_cpus"`
	LibraryBuildType string `json:"library_build_type"`
	GoVersion        string `json:"go_version"`
}

// Report is the whole JSON document.
type Report struct {
	Context    Context          `json:"context"`
	Benchmarks []map[string]any `json:"benchmarks"`
}

// NewReport fills the context for this process.
func NewReport() *Report {
	host, _ := os.Hostname()
	exe, _ := os.Executable()
	return &Report{Context: Context{
		Date: time.Now().Format(time.RFC3339), HostName: host, Executable: exe, NumCPUs: runtime.NumCPU(),
		LibraryBuildType: "release", GoVersion: runtime.Version(),
	}}
}

func scale(d time.Duration, unit string) float64 {
	if unit == "ms" {
		return float64(d) / 1e6
	}
	return float64(d)
}

// Add appends the rows of one benchmark: one per repetition, then mean, median and stddev when there are several
// (Google Benchmark's layout; names end in /manual_time as the C++ ones do).
func (r *Report) Add(familyIndex int, b Benchmark, results []Result) {
	name := b.Name + "/manual_time"
	unit := b.TimeUnit
	if unit == "" {
		unit = "ns"
	}
	rows := make([]map[string]any, 0, len(results)+3)
	for i, res := range results {
		row := map[string]any{
			"name": name, "family_index": familyIndex, "per_family_instance_index": 0, "run_name": name,
			"run_type": "iteration", "repetitions": len(results), "repetition_index": i, "threads": 1,
			"iterations": res.Iterations, "time_unit": unit,
			"real_time": scale(res.Real, unit) / float64(max64(res.Iterations, 1)),
			"cpu_time":  scale(res.CPU, unit) / float64(max64(res.Iterations, 1)),
		}
		if res.Error != "" {
			row["error_occurred"] = true
			row["error_message"] = res.Error
		}
		for k, v := range res.Counters {
			row[k] = v
		}
		rows = append(rows, row)
	}
	if len(results) > 1 {
		for _, kind := range []string{"mean", "median", "stddev"} {
			row := map[string]any{
				"name": name + "_" + kind, "family_index": familyIndex, "per_family_instance_index": 0,
				"run_name": name, "run_type": "aggregate", "repetitions": len(results), "threads": 1,
				"aggregate_name": kind, "aggregate_unit": "time", "iterations": len(results), "time_unit": unit,
			}
			for _, field := range numericFields(rows[0]) {
				xs := make([]float64, len(results))
				for i := range results {
					xs[i], _ = rows[i][field].(float64)
				}
				row[field] = aggregate(kind, xs)
			}
			rows = append(rows, row)
		}
	}
	r.Benchmarks = append(r.Benchmarks, rows...)
}

func numericFields(row map[string]any) []string {
	var fields []string
	for k, v := range row {
		if _, ok := v.(float64); ok {
			fields = append(fields, k)
		}
	}
	return fields
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// WriteFile writes the report atomically: a temporary file renamed over path.
func (r *Report) WriteFile(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	if err := r.Write(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Write writes the JSON document.
func (r *Report) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Console prints one line per row, for people.
func (r *Report) Console(w io.Writer) {
	for _, row := range r.Benchmarks {
		fmt.Fprintf(w, "%-60s %14.1f %s %10v", row["name"], row["real_time"], row["time_unit"], row["iterations"])
		for _, k := range []string{"ns_per_unit", "ns_per_yield", "rss_per_unit_bytes", "total_per_unit_bytes"} {
			if v, ok := row[k]; ok {
				fmt.Fprintf(w, " %s=%.1f", k, v)
			}
		}
		if msg, ok := row["error_message"]; ok {
			fmt.Fprintf(w, " ERROR: %v", msg)
		}
		fmt.Fprintln(w)
	}
}
