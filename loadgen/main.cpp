// loadgen: verified load against one or more servers, latency histograms, and the server's memory from /proc.
//   loadgen --target 127.0.0.1:8080 --workload http --connections 100 --duration 10 [--json out.json]
//   loadgen merge a.hlog b.hlog
//   loadgen probe --server-pid PID --start-at T --duration D --json probe.json   (fleet: the server's side)
//   loadgen churn --target H:P --rate 1000 --duration 20 --server-pid PID       (connection churn, leaks)
// See README.md for the modes, the JSON record and the memory accounting.
#include <netdb.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "loadgen/capacity.hpp"
#include "loadgen/churn.hpp"
#include "loadgen/driver.hpp"
#include "loadgen/hdr_log.hpp"
#include "loadgen/run.hpp"
#include "loadgen/server_probe.hpp"
#include "loadgen/steps.hpp"

namespace {

using namespace tvt::loadgen;

std::atomic<bool> stop_requested{false};
void on_stop_signal(int) { stop_requested.store(true); }  // lock-free atomic store: async-signal-safe
std::atomic<bool> cut_off_requested{false};
void on_cut_off_signal(int) { cut_off_requested.store(true); }

bool resolve_target(const std::string& text, Target& target) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  const std::string host = text.substr(0, colon), port = text.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) return false;
  std::memcpy(&target.address, found->ai_addr, sizeof target.address);
  ::freeaddrinfo(found);
  target.text = text;
  return true;
}

int merge_logs(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: loadgen merge LOG...\n");
    return 2;
  }
  Histogram merged;
  std::size_t intervals = 0, bad_total = 0;
  for (int i = 2; i < argc; ++i) {
    std::size_t bad = 0;
    const auto log = hdr_log_read(argv[i], bad);
    if (!log) {
      std::fprintf(stderr, "loadgen merge: cannot read %s\n", argv[i]);
      return 1;
    }
    for (const auto& interval : log->intervals)
      if (interval.tag.empty()) {
        merged.add(interval.histogram);
        ++intervals;
      }
    bad_total += bad;
  }
  std::printf("logs %d intervals %zu bad_lines %zu\n", argc - 2, intervals, bad_total);
  std::printf("count %lld\n", static_cast<long long>(merged.count()));
  std::printf("mean_us %.1f\n", merged.mean());
  for (double p : {50.0, 90.0, 99.0, 99.9, 99.99})
    std::printf("p%g_us %lld\n", p, static_cast<long long>(merged.percentile(p)));
  std::printf("max_us %lld\n", static_cast<long long>(merged.max()));
  return bad_total > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "merge") return merge_logs(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "probe") return run_probe(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "churn") return run_churn(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  EngineConfig config;
  Options& options = config.options;
  if (const auto exit_code = parse_options(argc, argv, options)) return *exit_code;

  bool loopback = true;
  for (const auto& text : options.targets) {
    Target target;
    if (!resolve_target(text, target)) {
      std::fprintf(stderr, "loadgen: bad --target '%s' (want HOST:PORT)\n", text.c_str());
      return 2;
    }
    loopback = loopback && (ntohl(target.address.sin_addr.s_addr) >> 24) == 127;
    config.targets.push_back(target);
  }
  config.total_connections = options.connections;
  const CapacityPlan plan = plan_capacity(options, loopback);
  config.source_addresses = plan.source_addresses;
  config.slots_per_source = plan.slots_per_source;
  // A worker too: the parent's stop (SIGTERM) ends its engines with what they measured, not the process outright.
  struct sigaction action{};
  action.sa_handler = on_stop_signal;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  action.sa_handler = on_cut_off_signal;  // stepped idle: end the step's connecting (steps.hpp)
  ::sigaction(SIGUSR2, &action, nullptr);
  if (options.worker) return run_worker(config, stop_requested, cut_off_requested);

  for (const auto& w : plan.warnings) std::fprintf(stderr, "loadgen: %s\n", w.c_str());

  if (!options.steps.empty()) return run_steps(config, plan, std::vector<std::string>(argv, argv + argc), stop_requested,
                                              cut_off_requested);
  std::unique_ptr<Driver> driver;
  const SlotRange slots = rank_slots(options);
  if (plan.processes > 1) {
    if (!options.quiet)
      std::fprintf(stderr, "loadgen: %u connections need %u worker processes (%u connections each at most)\n",
                   slots.size(), plan.processes, plan.per_process_budget);
    driver = std::make_unique<ProcessDriver>(std::vector<std::string>(argv, argv + argc), slots.begin, slots.end,
                                             plan.processes, options.threads);
  } else {
    driver = std::make_unique<ThreadDriver>(config, slots.begin, slots.end, options.threads);
  }
  return run_coordinator(config, plan, *driver, stop_requested);
}
