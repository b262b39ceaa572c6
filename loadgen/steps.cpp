#include "loadgen/steps.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "loadgen/driver.hpp"
#include "loadgen/json_record.hpp"
#include "loadgen/memory_keys.hpp"
#include "loadgen/probe.hpp"

namespace tvt::loadgen {
namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;
constexpr auto poll_interval = std::chrono::milliseconds(5);

std::atomic<int> go_aheads{0};
void on_go_ahead(int) { go_aheads.fetch_add(1); }  // lock-free atomic: async-signal-safe

double seconds_since(std::int64_t start_ns) { return static_cast<double>(monotonic_ns() - start_ns) / 1e9; }

// The engine threads, or worker processes, of one step: its own slots, ramped at the full --ramp-rate.
std::unique_ptr<Driver> step_driver(const EngineConfig& config, const CapacityPlan& plan,
                                    const std::vector<std::string>& argv, std::uint32_t begin, std::uint32_t end) {
  const Options& o = config.options;
  if (plan.processes <= 1) return std::make_unique<ThreadDriver>(config, begin, end, o.threads);
  const std::uint32_t budget = std::max<std::uint32_t>(1, plan.per_process_budget);
  const std::uint32_t processes = (end - begin + budget - 1) / budget;
  return std::make_unique<ProcessDriver>(argv, begin, end, processes, std::max(o.threads, processes));
}

}  // namespace

int run_steps(const EngineConfig& config, const CapacityPlan& plan, const std::vector<std::string>& argv,
              const std::atomic<bool>& stop_requested, std::atomic<bool>& cut_off_requested) {
  const Options& o = config.options;
  if (o.step_gate) {
    struct sigaction action{};
    action.sa_handler = on_go_ahead;
    ::sigaction(SIGUSR1, &action, nullptr);
  }
  const bool sampling = o.server_pid > 0;
  const ServerSample server_before = sampling ? probe_server_tree(o.server_pid) : ServerSample{};
  const MachineSample machine_before = probe_machine();
  std::string targets;
  for (const auto& t : o.targets) targets += (targets.empty() ? "" : ",") + t;

  std::vector<std::unique_ptr<Driver>> held;  // every step's driver, open until return (their destructors close)
  std::string records;
  std::int64_t established = 0;
  std::uint32_t previous = 0;
  bool failed = false;
  for (std::size_t k = 0; k < o.steps.size() && !stop_requested.load(); ++k) {
    const std::uint32_t step = o.steps[k];
    if (k > 0 && o.step_gate) {
      if (!o.quiet)
        std::fprintf(stderr, "loadgen: %u held; waiting for SIGUSR1 to grow to %u\n", previous, step);
      while (go_aheads.load() < static_cast<int>(k) && !stop_requested.load()) std::this_thread::sleep_for(poll_interval);
      if (stop_requested.load()) break;
    }
    auto driver = step_driver(config, plan, argv, previous, step);
    const std::int64_t start_ns = monotonic_ns();
    std::string error;
    bool cut = false;
    cut_off_requested.store(false);  // meant for an earlier step
    if (driver->start()) {
      std::int64_t progress_ns = start_ns;
      while (!driver->ready()) {
        if (stop_requested.load()) driver->stop();
        if (cut_off_requested.exchange(false)) {
          driver->cut_off();
          cut = true;
        }
        std::this_thread::sleep_for(poll_interval);
        if (!o.quiet && monotonic_ns() - progress_ns > 2 * ns_per_s) {
          std::fprintf(stderr, "loadgen: growing to %u... %.0f s\n", step, seconds_since(start_ns));
          progress_ns = monotonic_ns();
        }
      }
      established += driver->established();
      driver->go(monotonic_ns());  // its engines hold, silent, until this function returns
    } else {
      error = driver->error();
    }
    const double connect_s = seconds_since(start_ns);
    held.push_back(std::move(driver));

    // The hold: one sample a second, the last one reported (the server settles after the ramp).
    ServerSample server = server_before;
    MachineSample machine = machine_before;
    std::int64_t fds_peak = -1;
    const std::int64_t hold_end = monotonic_ns() + static_cast<std::int64_t>(o.hold_s * ns_per_s);
    do {
      server = sampling ? probe_server_tree(o.server_pid) : ServerSample{};
      machine = probe_machine();
      fds_peak = std::max(fds_peak, server.fds);
      const std::int64_t next = std::min(hold_end, monotonic_ns() + ns_per_s);
      while (monotonic_ns() < next && !stop_requested.load()) std::this_thread::sleep_for(poll_interval);
    } while (monotonic_ns() < hold_end && !stop_requested.load());

    std::string reason = error;
    if (established < step) {
      const char* when = stop_requested.load() ? "when stopped"
                         : cut                 ? "when the step was cut off (SIGUSR2)"
                                               : "within --connect-timeout";
      reason += (reason.empty() ? "" : "; ") + std::string("established ") + std::to_string(established) + " of " +
                std::to_string(step) + " connections (" + std::to_string(step - established) + " not verified " +
                when + ")";
    }
    if (stop_requested.load()) reason += (reason.empty() ? "" : "; ") + std::string("interrupted");
    const std::string status = established == 0 || !error.empty() ? "failed" : reason.empty() ? "ok" : "degraded";
    failed = failed || status == "failed";
    JsonRecord json;
    json.add("workload", protocol::name(o.workload));
    json.add("mode", mode_name(o.mode));
    json.add("targets", targets);
    json.add("connections", static_cast<std::int64_t>(step));
    json.add("connections_established", established);
    json.add("duration_s", o.hold_s);
    json.add("warmup_s", 0.0);
    json.add("requests", std::int64_t{0});
    json.add("rps", 0.0);
    json.add("connect_time_s", connect_s);
    json.add("accepts_per_s", connect_s > 0 ? static_cast<double>(step - previous) / connect_s : 0.0);
    if (sampling) {
      json.add("server_pid", static_cast<std::int64_t>(o.server_pid));
      json.add("server_rss_before_bytes", server_before.rss_bytes);
      json.add("server_rss_bytes", server.rss_bytes);
      json.add("server_pss_bytes", server.pss_bytes);
      json.add("server_threads", server.threads);
      json.add("server_cpu_s", server.cpu_s >= 0 && server_before.cpu_s >= 0 ? server.cpu_s - server_before.cpu_s
                                                                            : server.cpu_s);
      json.add("server_fds_idle", server_before.fds);
      json.add("server_fds_peak", fds_peak);
      add_memory_per_conn(json, server_before, machine_before, server, machine, established);
    }
    json.add("status", status);
    json.add("reason", reason);
    records += json.str();
    if (!write_file_atomically(o.json_path, records)) {
      std::fprintf(stderr, "loadgen: cannot write %s\n", o.json_path.c_str());
      failed = true;
    }
    std::printf("loadgen %s/idle step %zu of %zu: %lld of %u connections held (%u added in %.1f s); server rss "
                "%.1f MiB; status %s%s%s\n",
                std::string(protocol::name(o.workload)).c_str(), k + 1, o.steps.size(), static_cast<long long>(established), step, step - previous, connect_s,
                static_cast<double>(server.rss_bytes) / 1048576.0, status.c_str(), reason.empty() ? "" : " - ",
                reason.c_str());
    std::fflush(stdout);
    if (established < step) break;
    previous = step;
  }
  held.clear();  // every step's connections closed, the latest first
  return failed ? 1 : 0;
}

}  // namespace tvt::loadgen
