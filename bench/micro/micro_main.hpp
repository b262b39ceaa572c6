#pragma once
// The shared main of every bench_micro_* executable. Each benchmark file defines `register_benchmarks`; main parses
// `--smoke` (shrink every size so that ctest runs each body once in well under a second), then hands the rest of the
// command line to Google Benchmark with this suite's defaults in front (a flag given later wins):
//   --benchmark_repetitions=9 --benchmark_report_aggregates_only=true --benchmark_min_time=0.2
#include <cstddef>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

namespace tvt::micro {

struct MicroOptions {
  bool smoke = false;

  // `full` normally, `small` under --smoke.
  std::size_t size(std::size_t full, std::size_t small) const { return smoke ? small : full; }
};

void register_benchmarks(const MicroOptions& options);

// "BM_<what>/model:<name>[/<more>]", the suite's naming.
std::string benchmark_name(const char* what, std::string_view model, const std::string& more = {});

// Which benchmark runs now (for the hang watchdog's message; Google Benchmark 1.7's State has no name accessor).
void set_current_benchmark(const std::string& name);
const std::string& current_benchmark();

// benchmark::RegisterBenchmark, recording the name for the watchdog.
template <class Fn, class... Args>
benchmark::internal::Benchmark* register_micro(const std::string& name, Fn fn, Args... args) {
  return benchmark::RegisterBenchmark(name.c_str(), [name, fn, args...](benchmark::State& state) {
    set_current_benchmark(name);
    fn(state, args...);
  });
}

}  // namespace tvt::micro
