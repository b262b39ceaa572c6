#include "loadgen/capacity.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "loadgen/probe.hpp"

namespace tvt::loadgen {
namespace {

constexpr std::uint32_t fd_margin = 64;               // stdio, epoll, pipes, /proc reads
constexpr std::uint32_t port_margin = 1000;           // ports other programs on the machine may be using
constexpr std::int64_t server_idle_fds_estimate = 16;  // listener, stdio, epoll, ...
constexpr std::uint64_t sparse_port_share = 4;         // a source address uses at most 1/4 of the port range

std::uint32_t ceil_div(std::uint64_t a, std::uint64_t b) { return static_cast<std::uint32_t>((a + b - 1) / b); }

}  // namespace

CapacityPlan plan_capacity(const Options& options, bool loopback_targets) {
  CapacityPlan plan;
  const std::uint64_t n = rank_slots(options).size();  // this rank's share
  const std::uint64_t targets = std::max<std::size_t>(options.targets.size(), 1);

  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  const std::uint64_t soft = limit.rlim_cur == RLIM_INFINITY ? 1'000'000 : limit.rlim_cur;
  plan.per_process_budget = options.max_fds_per_process != 0
                                ? options.max_fds_per_process
                                : static_cast<std::uint32_t>(std::max<std::uint64_t>(soft, 2 * fd_margin) - fd_margin);
  plan.processes = options.worker ? 1 : ceil_div(n, plan.per_process_budget);

  // Ports: each (source, destination) pair has the ephemeral range to itself (connect() picks the port per 4-tuple).
  std::int64_t port_low = 32768, port_high = 60999;
  {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    in >> port_low >> port_high;
  }
  const std::uint64_t ports = static_cast<std::uint64_t>(std::max<std::int64_t>(port_high - port_low + 1, 1));
  const std::uint64_t usable_ports = ports > 2 * port_margin ? ports - port_margin : ports;
  const std::uint64_t per_target = ceil_div(n, targets);
  if (options.source_addresses > 0) {
    plan.source_addresses = options.source_addresses;
  } else if (per_target > usable_ports) {
    if (loopback_targets) {
      // A quarter of the range per source address, not all of it: connect() searches for a free port from an
      // offset, even ports first, so a nearly full range costs every connect a scan of thousands of ports (a
      // 40,000-connection ramp at 40,000/s over 2 sources had 8,918 time out; over 8 sources all were ready in 2.2 s).
      plan.source_addresses = ceil_div(per_target, std::max<std::uint64_t>(usable_ports / sparse_port_share, 1));
    } else {
      plan.warnings.push_back("cannot hold " + std::to_string(n) + " connections: " + std::to_string(per_target) +
                              " per target exceeds the ephemeral port range (" + std::to_string(ports) +
                              " ports) and non-loopback targets get no extra source addresses");
    }
  }
  if (plan.source_addresses > 0) plan.slots_per_source = ceil_div(per_target, plan.source_addresses);

  if (options.server_pid > 0) {
    // The sampled server is one of the targets; it holds its share of the connections.
    if (const auto server_limit = probe_server_file_limit(options.server_pid)) {
      if (static_cast<std::int64_t>(per_target) > *server_limit - server_idle_fds_estimate)
        plan.warnings.push_back("cannot hold " + std::to_string(per_target) + " connections on server pid " +
                                std::to_string(options.server_pid) + ": its open-file limit is " +
                                std::to_string(*server_limit));
    }
    const auto pid_max = probe_sysctl("/proc/sys/kernel/pid_max");
    const auto threads_max = probe_sysctl("/proc/sys/kernel/threads-max");
    const std::int64_t thread_cap = std::min(pid_max.value_or(INT64_MAX), threads_max.value_or(INT64_MAX));
    if (static_cast<std::int64_t>(n) > thread_cap * 9 / 10)
      plan.warnings.push_back("if the server runs a thread per connection, it cannot hold " + std::to_string(n) +
                              " connections here: pid_max=" + std::to_string(pid_max.value_or(-1)) +
                              ", threads-max=" + std::to_string(threads_max.value_or(-1)) +
                              " (every thread of the machine counts)");
  }
  return plan;
}

}  // namespace tvt::loadgen
