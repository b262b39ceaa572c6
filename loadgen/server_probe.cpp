#include "loadgen/server_probe.hpp"

#include <signal.h>
#include <sys/prctl.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "loadgen/cpu_time.hpp"
#include "loadgen/json_record.hpp"
#include "loadgen/probe.hpp"
#include "loadgen/wall_clock.hpp"

namespace tvt::loadgen {
namespace {

std::atomic<bool> stop{false};
void on_stop(int) { stop.store(true); }  // lock-free atomic store: async-signal-safe

std::int64_t cpu_ns(const std::vector<int>& pids) {
  std::int64_t total = 0;
  for (const int pid : pids) {
    const auto ns = process_cpu_ns(pid);
    if (!ns) return -1;
    total += *ns;
  }
  return total;
}

void add_server(JsonRecord& json, const std::string& prefix, const ServerSample& s) {
  json.add(prefix + "rss_bytes", s.rss_bytes);
  json.add(prefix + "pss_bytes", s.pss_bytes);
  json.add(prefix + "pte_bytes", s.pte_bytes);
  json.add(prefix + "threads", s.threads);
  json.add(prefix + "fds", s.fds);
  json.add(prefix + "sockets", s.sockets);
}

void add_machine(JsonRecord& json, const std::string& prefix, const MachineSample& m) {
  json.add(prefix + "kernel_stack_bytes", m.kernel_stack_bytes);
  json.add(prefix + "page_tables_bytes", m.page_tables_bytes);
  json.add(prefix + "slab_unreclaimable_bytes", m.slab_unreclaimable_bytes);
  json.add(prefix + "tcp_mem_bytes", m.tcp_mem_bytes);
}

}  // namespace

int run_probe(int argc, char** argv) {
  CLI::App app{"loadgen probe: samples a server on its own host for a fleet run (before, each second, after)"};
  std::vector<int> pids;
  double start_at = 0, warmup_s = 0, duration_s = 10, settle_s = 10;
  std::string json_path, timeline_path;
  app.add_option("--server-pid", pids, "Server process (repeat: several processes count as one server)")->required();
  app.add_option("--start-at", start_at, "The fleet's go instant (Unix seconds); 0 = now")->check(CLI::NonNegativeNumber);
  app.add_option("--warmup", warmup_s, "Seconds between go and the measured window")->check(CLI::NonNegativeNumber);
  app.add_option("--duration,-d", duration_s, "Seconds of the measured window")->check(CLI::NonNegativeNumber);
  app.add_option("--settle", settle_s, "Longest wait after the window for the server's sockets to return to idle")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--json", json_path, "The probe's flat JSON record (atomically; '-' = stdout)")->required();
  app.add_option("--timeline", timeline_path, "Per-second CSV: second,server_rss_bytes,server_fds,server_threads");
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  struct sigaction action{};
  action.sa_handler = on_stop;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);

  // Before any connection: the fleet starts the ranks only once this line is out.
  const ServerSample before = probe_servers(pids);
  const MachineSample machine_before = probe_machine();
  std::printf("probe ready pids=%zu rss=%lld\n", pids.size(), static_cast<long long>(before.rss_bytes));
  std::fflush(stdout);

  if (start_at <= 0) start_at = wall_clock_s();
  const double window_start = start_at + warmup_s, window_end = window_start + duration_s;
  sleep_until_wall(window_start, stop);
  const std::int64_t cpu_start = cpu_ns(pids);
  // One sample in the middle of each second of the window, as the single-host coordinator takes them.
  ServerSample steady = before;
  MachineSample machine_steady = machine_before;
  std::int64_t fds_peak = before.fds;
  std::string timeline = "second,server_rss_bytes,server_fds,server_threads\n";
  for (int second = 0; !stop.load() && window_start + second + 0.5 < window_end; ++second) {
    sleep_until_wall(window_start + second + 0.5, stop);
    steady = probe_servers(pids);
    machine_steady = probe_machine();
    fds_peak = std::max(fds_peak, steady.fds);
    timeline += std::to_string(second) + "," + std::to_string(steady.rss_bytes) + "," + std::to_string(steady.fds) +
                "," + std::to_string(steady.threads) + "\n";
  }
  sleep_until_wall(window_end, stop);
  const std::int64_t cpu_end = cpu_ns(pids);
  // After: the ranks close every connection at the window's end (chat: after its drain); wait for the server's side.
  ServerSample after = probe_servers(pids);
  const double settle_deadline = wall_clock_s() + settle_s;
  while (!stop.load() && after.sockets > before.sockets && wall_clock_s() < settle_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    after = probe_servers(pids);
  }

  JsonRecord json;
  json.add("probe_pids", static_cast<std::int64_t>(pids.size()));
  json.add("server_pid", static_cast<std::int64_t>(pids.front()));
  add_server(json, "before_", before);
  add_server(json, "steady_", steady);
  add_server(json, "after_", after);
  add_machine(json, "machine_before_", machine_before);
  add_machine(json, "machine_steady_", machine_steady);
  json.add("server_fds_peak", fds_peak);
  if (cpu_start >= 0 && cpu_end >= 0) json.add("server_cpu_window_s", static_cast<double>(cpu_end - cpu_start) / 1e9);
  else json.add_null("server_cpu_window_s");
  json.add("server_cpu_s", after.cpu_s >= 0 && before.cpu_s >= 0 ? after.cpu_s - before.cpu_s : -1.0);
  json.add_bool("fd_leak", after.sockets >= 0 && before.sockets >= 0 && after.sockets > before.sockets);
  json.add_bool("interrupted", stop.load());
  bool ok = write_file_atomically(json_path, json.str());
  if (!timeline_path.empty()) ok = write_file_atomically(timeline_path, timeline) && ok;
  if (!ok) std::fprintf(stderr, "loadgen probe: cannot write its outputs\n");
  return ok && after.rss_bytes >= 0 ? 0 : 1;
}

}  // namespace tvt::loadgen
