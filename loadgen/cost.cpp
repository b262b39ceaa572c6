#include "loadgen/cost.hpp"

#include <algorithm>

namespace tvt::loadgen {

std::string_view classify_bound(double server_busy_share, double client_busy_share) {
  const bool server = server_busy_share >= bound_busy_share, client = client_busy_share >= bound_busy_share;
  if (server && client) return server_busy_share >= client_busy_share ? "server" : "client";
  if (server) return "server";
  if (client) return "client";
  return "neither";
}

Cost derive_cost(const CostWindow& w, std::int64_t ops) {
  Cost cost;
  const double window_ns = static_cast<double>(w.end_ns - w.start_ns);
  if (window_ns <= 0) return cost;
  const auto per_op = [ops](double total) -> std::optional<double> {
    if (ops <= 0) return std::nullopt;
    return total / static_cast<double>(ops);
  };
  if (w.server_cpu_ns) {
    cost.server_cpu_util = static_cast<double>(*w.server_cpu_ns) / window_ns;
    cost.server_cpu_us_per_op = per_op(static_cast<double>(*w.server_cpu_ns) / 1000.0);
  }
  // The client's busy share leaves out its spinning, so that `bound` says "client" only when its work saturates it.
  if (w.client_cpu_ns)
    cost.client_cpu_util = static_cast<double>(std::max<std::int64_t>(0, *w.client_cpu_ns - w.client_spin_ns)) / window_ns;
  if (cost.server_cpu_util && cost.client_cpu_util)
    cost.bound = classify_bound(*cost.server_cpu_util / std::max(1, w.server_cpus),
                                *cost.client_cpu_util / std::max(1, w.client_cpus));
  if (w.counts) {
    cost.syscalls_per_op = per_op(static_cast<double>(w.counts->syscalls));
    cost.ctx_switches_per_op = per_op(static_cast<double>(w.counts->context_switches));
    cost.waits_per_op = per_op(static_cast<double>(w.counts->waits));
  }
  return cost;
}

}  // namespace tvt::loadgen
