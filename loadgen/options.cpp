#include "loadgen/options.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <map>

namespace tvt::loadgen {

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::closed: return "closed";
    case Mode::open: return "open";
    case Mode::idle: return "idle";
    case Mode::storm: return "storm";
  }
  return "?";
}

SlotRange rank_slots(const Options& o) {
  const std::uint32_t share = o.connections / o.ranks, extra = o.connections % o.ranks;
  const std::uint32_t begin = o.rank * share + std::min(o.rank, extra);
  return {begin, begin + share + (o.rank < extra ? 1 : 0)};
}

std::optional<int> parse_options(int argc, char** argv, Options& o) {
  CLI::App app{"tasks-vs-threads load generator: verified request/reply load, latency histograms, server memory"};
  std::map<std::string, Workload> workloads;
  for (const Workload w : protocol::all_workloads) workloads.emplace(protocol::name(w), w);
  const std::map<std::string, Mode> modes{
      {"closed", Mode::closed}, {"open", Mode::open}, {"idle", Mode::idle}, {"storm", Mode::storm}};
  app.add_option("--target", o.targets, "HOST:PORT of a server (repeat to spread connections over several)")
      ->required();
  app.add_option("--workload", o.workload, "http, echo, chat or compute")
      ->transform(CLI::CheckedTransformer(workloads, CLI::ignore_case));
  app.add_option("--mode", o.mode, "closed (default), open (constant --rate), idle (hold), storm (connect burst)")
      ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case));
  app.add_option("--connections,-c", o.connections, "Connections, all targets together")
      ->check(CLI::Range(1u, 10'000'000u))
      ->capture_default_str();
  app.add_option("--duration,-d", o.duration_s, "Seconds of measurement")->check(CLI::Range(0.0, 86400.0));
  app.add_option("--warmup", o.warmup_s, "Seconds of load before measuring")->check(CLI::Range(0.0, 3600.0));
  app.add_option("--threads,-t", o.threads, "Event-loop threads, all worker processes together")
      ->check(CLI::Range(1u, 1024u));
  app.add_option("--rate", o.rate, "open loop: requests/s; chat: messages/s (all connections together)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--server-pid", o.server_pid, "Sample this process from /proc (memory, threads, CPU, fds)");
  app.add_option("--json", o.json_path, "Write the flat JSON record here (atomically; '-' = stdout)");
  app.add_option("--timeline", o.timeline_path, "Per-second CSV: second,requests,errors,p50_us,p99_us,server_rss_bytes");
  app.add_option("--hdr-log", o.hdr_log_path, "HdrHistogram interval log (V2 compressed, one line per second)");
  app.add_option("--hold", o.hold_s, "idle: seconds to hold the connections (default: --duration)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--steps", o.steps,
                 "idle: grow to each of these counts in turn, holding what is open, one JSON Lines record per step "
                 "in --json (ascending; the last is --connections)")
      ->delimiter(',');
  app.add_flag("--step-gate", o.step_gate, "--steps: each step after the first waits for SIGUSR1");
  app.add_option("--ramp-rate", o.ramp_rate, "New connections per second (0 = as fast as possible)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--think-time-ms", o.think_time_ms, "closed loop: pause between a reply and the next request")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--groups", o.groups, "chat: number of groups (connection i joins group i mod G)")
      ->check(CLI::Range(1u, 1'000'000u));
  app.add_option("--drain", o.drain_s,
                 "After the window, the longest wait for replies still out (each also within --timeout-ms; "
                 "unanswered then: a timeout) or, chat, for deliveries in flight (s)")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--drain-quiet-ms", o.drain_quiet_ms,
                 "chat: the drain also ends after this long without a delivery (raise it on lossy links: TCP's "
                 "retransmission timeout is at least 200 ms)")
      ->check(CLI::Range(1.0, 60'000.0));
  app.add_option("--compute-small-kib", o.compute_small_kib, "compute: KiB of work in a small request")
      ->check(CLI::Range(0u, 65536u));
  app.add_option("--compute-large-kib", o.compute_large_kib, "compute: KiB of work in a large request")
      ->check(CLI::Range(0u, 65536u));
  app.add_option("--compute-large-fraction", o.compute_large_fraction, "compute: share of large requests")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--timeout-ms", o.timeout_ms, "A reply or connect slower than this is an error")
      ->check(CLI::PositiveNumber);
  app.add_option("--connect-timeout", o.connect_timeout_s, "Seconds to establish every connection before starting")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-fds-per-process", o.max_fds_per_process,
                 "Connections per process before more worker processes are used (0 = from RLIMIT_NOFILE)");
  app.add_option("--source-addresses", o.source_addresses,
                 "Spread connections over 127.0.0.1..127.0.0.N (0 = only when the port range requires)");
  app.add_flag("--quiet,-q", o.quiet, "No progress lines on stderr");
  const std::map<std::string, Arrivals> arrivals{{"uniform", Arrivals::uniform}, {"poisson", Arrivals::poisson}};
  app.add_option("--arrivals", o.arrivals, "open loop and chat: uniform (evenly spaced) or poisson (seeded schedule)")
      ->transform(CLI::CheckedTransformer(arrivals, CLI::ignore_case));
  app.add_option("--seed", o.seed, "poisson: the schedule's seed (same seed, same schedule)");
  app.add_option("--late-threshold-us", o.late_threshold_us, "A send leaving later than this behind schedule is late")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--spin-us", o.spin_us,
                 "open loop and chat: poll instead of sleeping when the next send is due within this (0 = always sleep)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--server-cgroup", o.server_cgroup,
                 "Read the server's CPU time from this cgroup directory (cpuacct.usage or cpu.stat)");
  app.add_option("--perf", o.perf_path,
                 "perf executable for the server's syscall, context-switch and wait counts ('' = do not count)");
  app.add_option("--rank", o.rank, "fleet: this load generator's index, 0..ranks-1");
  app.add_option("--ranks", o.ranks, "fleet: load generators sharing --connections and --rate")
      ->check(CLI::Range(1u, 100'000u));
  app.add_option("--start-at", o.start_at, "fleet: go at this absolute time (Unix seconds; ranks begin together)")
      ->check(CLI::NonNegativeNumber);
  auto* worker = app.add_flag("--worker-internal", o.worker)->group("");
  app.add_option("--worker-slot-begin", o.slot_begin)->group("")->needs(worker);
  app.add_option("--worker-slot-end", o.slot_end)->group("")->needs(worker);
  app.add_option("--worker-threads", o.worker_threads)->group("")->needs(worker);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if ((o.mode == Mode::open || o.workload == Workload::chat) && o.rate <= 0) {
    std::fprintf(stderr, "loadgen: --mode open and --workload chat need --rate > 0\n");
    return 2;
  }
  if (o.rank >= o.ranks || o.ranks > o.connections) {
    std::fprintf(stderr, "loadgen: want --rank < --ranks <= --connections\n");
    return 2;
  }
  if (o.mode == Mode::idle && o.hold_s > 0) o.duration_s = o.hold_s;
  if (!o.steps.empty()) {
    if (o.mode != Mode::idle || o.ranks > 1 || !std::is_sorted(o.steps.begin(), o.steps.end()) ||
        std::adjacent_find(o.steps.begin(), o.steps.end()) != o.steps.end() || o.steps.front() == 0 ||
        o.steps.back() != o.connections || o.json_path == "-") {
      std::fprintf(stderr, "loadgen: --steps wants --mode idle, one rank, --json to a file, and strictly ascending "
                           "counts ending at --connections\n");
      return 2;
    }
  } else if (o.step_gate) {
    std::fprintf(stderr, "loadgen: --step-gate needs --steps\n");
    return 2;
  }
  if (o.worker && o.worker_threads > 0) o.threads = o.worker_threads;
  if (o.worker && (o.slot_end <= o.slot_begin || o.slot_end > o.connections)) {
    std::fprintf(stderr, "loadgen: bad worker slot range\n");
    return 2;
  }
  return std::nullopt;
}

std::uint32_t ramp_share(const Options& options, std::uint32_t total_connections, std::uint32_t slot) {
  std::uint32_t previous = 0;
  for (const std::uint32_t step : options.steps) {
    if (slot < step) return step - previous;
    previous = step;
  }
  return total_connections;
}

}  // namespace tvt::loadgen
