// bench_micro_memory: what one parked unit costs in memory: N units each waiting on one shared gate (a channel).
// Measures, per model and N in {10,000, 100,000, 1,000,000}: rss_per_unit_bytes = (RSS with N parked - RSS before) / N,
// and the machine-wide kernel deltas from /proc/meminfo per unit (kernel_stack_, page_tables_, slab_per_unit_bytes;
// real for threads, noise for user-space models), total_per_unit_bytes = RSS + kernel parts. Each sample runs in a
// fresh forked child, so no repetition reuses memory an earlier one freed. The iteration time is the time to spawn
// and park all N.
// Limits: threads run 10,000 and the largest count this machine allows at registration time (pid_max, threads-max,
// vm.max_map_count, less 2,048 of headroom for everyone else), stated in the label; stackful models stop at 100,000
// (1,000,000 stacks would touch gigabytes).
// Does not measure: memory of units that hold buffers or deep stacks, allocator fragmentation over time, and kernel
// memory of anything but the units themselves (sockets are loadgen's business).
#include <sys/wait.h>
#include <csignal>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "micro_main.hpp"
#include "models/all_models.hpp"

namespace tvt::micro {

namespace {

unsigned phase_timeout_s() {
  const char* limit = std::getenv("TVT_MICRO_PHASE_TIMEOUT_S");
  const int seconds = limit != nullptr ? std::atoi(limit) : 0;
  return seconds > 0 ? static_cast<unsigned>(seconds) : 120;
}

struct ChildReport {
  bool ok = false;
  MemorySample before, parked;
  long long elapsed_ns = 0;
  char error[256] = {};
};

template <class M>
ChildReport park_in_child(std::size_t units) {
  int fds[2];
  ChildReport report;
  if (pipe(fds) != 0) {
    std::snprintf(report.error, sizeof report.error, "pipe: %s", std::strerror(errno));
    return report;
  }
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    std::signal(SIGALRM, SIG_DFL);  // not the phase watchdog's handler: the parent reads a SIGALRM death as a hang
    alarm(phase_timeout_s());  // a hung runtime (lost wake-up) dies by SIGALRM and is reported, not waited for
    ChildReport result;
    try {
      typename M::Runtime runtime;
      result.elapsed_ns = Ops<M>::park(runtime, units, result.before, result.parked).count();
      result.ok = true;
    } catch (const std::exception& error) {
      std::snprintf(result.error, sizeof result.error, "%s", error.what());
    }
    const ssize_t written = write(fds[1], &result, sizeof result);
    _exit(written == static_cast<ssize_t>(sizeof result) ? 0 : 1);
  }
  close(fds[1]);
  if (child < 0) {
    close(fds[0]);
    std::snprintf(report.error, sizeof report.error, "fork: %s", std::strerror(errno));
    return report;
  }
  const ssize_t got = read(fds[0], &report, sizeof report);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (got != static_cast<ssize_t>(sizeof report)) {
    report = {};
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
      std::snprintf(report.error, sizeof report.error, "timed out after %u s: the units never all parked and "
                    "woke (a hang: lost wake-up?)", phase_timeout_s());
    } else {
      std::snprintf(report.error, sizeof report.error, "child died (status %d)", status);
    }
  }
  return report;
}

}  // namespace

template <class M>
void BM_ParkedMemory(benchmark::State& state, std::size_t units, std::string label) {
  if (!label.empty()) state.SetLabel(label);
  // A size that failed once (a hang times out after minutes) fails the remaining repetitions at once.
  static std::map<std::size_t, std::string> failed_sizes;
  if (auto failed = failed_sizes.find(units); failed != failed_sizes.end()) {
    state.SkipWithError(failed->second.c_str());
    return;
  }
  MemorySample total_delta;
  for (auto _ : state) {
    const ChildReport report = park_in_child<M>(units);
    if (!report.ok) {
      failed_sizes[units] = report.error;
      state.SkipWithError(report.error);
      return;
    }
    state.SetIterationTime(static_cast<double>(report.elapsed_ns) * 1e-9);
    const MemorySample delta = report.parked - report.before;
    total_delta.rss_bytes += delta.rss_bytes;
    total_delta.kernel_stack_bytes += delta.kernel_stack_bytes;
    total_delta.page_tables_bytes += delta.page_tables_bytes;
    total_delta.slab_bytes += delta.slab_bytes;
  }
  const double samples = static_cast<double>(state.iterations()) * static_cast<double>(units);
  const auto per_unit = [&](std::int64_t bytes) { return static_cast<double>(bytes) / samples; };
  state.counters["rss_per_unit_bytes"] = per_unit(total_delta.rss_bytes);
  state.counters["kernel_stack_per_unit_bytes"] = per_unit(total_delta.kernel_stack_bytes);
  state.counters["page_tables_per_unit_bytes"] = per_unit(total_delta.page_tables_bytes);
  state.counters["slab_per_unit_bytes"] = per_unit(total_delta.slab_bytes);
  state.counters["total_per_unit_bytes"] =
      per_unit(total_delta.rss_bytes + total_delta.kernel_stack_bytes + total_delta.page_tables_bytes +
               total_delta.slab_bytes);
}

void register_benchmarks(const MicroOptions& options) {
  AllModels::for_each([&]<class M>() {
    std::vector<std::pair<std::size_t, std::string>> sizes;
    for (std::size_t units : {options.size(10'000, 100), options.size(100'000, 200), options.size(1'000'000, 300)}) {
      if (units <= M::max_parked_units) sizes.emplace_back(units, "");
    }
    if constexpr (M::name == ThreadsModel::name) {
      if (!options.smoke) {
        const std::size_t largest = threads_available(2048);
        if (largest > M::max_parked_units) {
          sizes.emplace_back(largest, "largest this machine allowed at registration (pid_max, threads-max, "
                                      "vm.max_map_count, less 2,048 headroom)");
        }
      }
    }
    for (auto& [units, label] : sizes) {
      register_micro(
          benchmark_name("BM_ParkedMemory", M::name, "units:" + std::to_string(units)), BM_ParkedMemory<M>,
          units, label)
          ->UseManualTime()
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
  });
}

}  // namespace tvt::micro
