#include "loadgen/cost_meter.hpp"

#include <unistd.h>

#include "loadgen/cpu_time.hpp"
#include "loadgen/probe.hpp"

namespace tvt::loadgen {
namespace {
constexpr std::int64_t perf_attach_timeout_ns = 30'000'000'000;  // attaching to 10,000 threads takes seconds
}

void CostMeter::prepare() {
  if (options_.server_pid <= 0) return;
  if (options_.perf_path.empty()) {
    add_note("syscall, context-switch and wait counts off (--perf '')");
    return;
  }
  counting_ = perf_.start(options_.server_pid, options_.perf_path, perf_attach_timeout_ns);
  if (!counting_) add_note("no syscall, context-switch or wait counts: " + perf_.error());
}

std::optional<std::int64_t> CostMeter::server_cpu() const {
  if (options_.server_pid <= 0) return std::nullopt;
  if (!options_.server_cgroup.empty()) return cgroup_cpu_ns(options_.server_cgroup);
  std::int64_t total = 0;  // a sharded server's shards are its children
  for (const int pid : process_tree(options_.server_pid)) {
    const auto ns = process_cpu_ns(pid);
    if (!ns) return std::nullopt;
    total += *ns;
  }
  return total;
}

std::optional<std::int64_t> CostMeter::client_cpu() const {
  auto total = process_cpu_ns(::getpid());
  for (const pid_t pid : client_pids_) {
    const auto worker = process_cpu_ns(pid);
    if (!total || !worker) return std::nullopt;
    *total += *worker;
  }
  return total;
}

void CostMeter::open(std::int64_t now, std::vector<pid_t> client_pids) {
  client_pids_ = std::move(client_pids);
  opened_ = true;
  window_.start_ns = now;
  server_start_ = server_cpu();
  client_start_ = client_cpu();
  if (counting_ && !perf_.enable()) {
    counting_ = false;
    add_note("perf: " + perf_.error());
  }
}

void CostMeter::close(std::int64_t now) {
  if (!is_open()) return;
  closed_ = true;
  window_.end_ns = now;
  const auto server_end = server_cpu(), client_end = client_cpu();
  if (server_start_ && server_end) window_.server_cpu_ns = *server_end - *server_start_;
  else if (options_.server_pid > 0) add_note("server CPU time unreadable (the server exited?)");
  if (client_start_ && client_end) window_.client_cpu_ns = *client_end - *client_start_;
  if (counting_ && !perf_.disable()) {
    counting_ = false;
    add_note("perf: " + perf_.error());
  }
}

CostWindow CostMeter::window() {
  if (counting_) {
    window_.counts = perf_.finish();
    if (!window_.counts) add_note("perf: " + perf_.error());
    counting_ = false;
  }
  return window_;
}

}  // namespace tvt::loadgen
