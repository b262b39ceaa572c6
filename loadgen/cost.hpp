#pragma once
// What one unit of work cost, from what was measured over the window: CPU time of both sides and the server's
// kernel-event counts, divided by the operations completed in the same window. Pure functions of the measurements,
// so the arithmetic is tested apart from the measuring.
#include <cstdint>
#include <optional>
#include <string_view>

#include "loadgen/perf_counter.hpp"

namespace tvt::loadgen {

// Everything measured over one window [start_ns, end_ns) of CLOCK_MONOTONIC.
struct CostWindow {
  std::int64_t start_ns = 0, end_ns = 0;
  std::optional<std::int64_t> server_cpu_ns;  // over the window: end reading minus start reading
  std::optional<std::int64_t> client_cpu_ns;
  std::int64_t client_spin_ns = 0;            // of that, polling for a due send (--spin-us): busy by choice, not work
  int server_cpus = 1;                        // CPUs each side may use: its "100 % busy"
  int client_cpus = 1;
  std::optional<PerfCounts> counts;
};

struct Cost {
  std::optional<double> server_cpu_us_per_op;
  std::optional<double> server_cpu_util;  // cores busy (1.0 = one core all the time)
  std::optional<double> client_cpu_util;
  std::string_view bound;                 // "client", "server", "neither", or "" when a side was not measured
  std::optional<double> syscalls_per_op, ctx_switches_per_op, waits_per_op;
};

// A side is the bound when it kept at least this share of the CPUs it may use busy.
inline constexpr double bound_busy_share = 0.9;

// `ops`: requests completed, chat deliveries, or accepted connections (storm) in the window.
Cost derive_cost(const CostWindow& window, std::int64_t ops);
// Which side was saturated, from each side's busy share of its CPUs; the busier one when both are.
std::string_view classify_bound(double server_busy_share, double client_busy_share);

}  // namespace tvt::loadgen
