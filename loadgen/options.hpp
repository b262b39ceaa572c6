#pragma once
// The command line: what to load, how, and where to write what was measured (docs/CONTRACTS.md, "loadgen executable").
#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "loadgen/schedule.hpp"
#include "protocol/workload.hpp"

namespace tvt::loadgen {

using protocol::Workload;
enum class Mode { closed, open, idle, storm };

struct Options {
  std::vector<std::string> targets;  // HOST:PORT
  Workload workload = Workload::http;
  Mode mode = Mode::closed;
  std::uint32_t connections = 100;
  double duration_s = 10;
  double warmup_s = 0;
  std::uint32_t threads = 1;
  double rate = 0;             // open loop and chat: requests (messages) per second, all connections together
  int server_pid = 0;
  std::string json_path;       // "-" = stdout (the human summary then goes to stderr)
  std::string timeline_path;
  std::string hdr_log_path;
  double hold_s = 0;           // idle: how long to hold (defaults to duration)
  double ramp_rate = 0;        // new connections per second, all workers together (0 = as fast as possible)
  double think_time_ms = 0;
  std::uint32_t groups = 10;   // chat
  double drain_s = 5;          // after the window: the longest wait for replies still out, or chat deliveries
  double drain_quiet_ms = 300; // chat: the drain ends earlier after this long without a delivery
  std::uint32_t compute_small_kib = 1;
  std::uint32_t compute_large_kib = 256;
  double compute_large_fraction = 0.05;
  double timeout_ms = 10'000;  // a reply (or a connect) slower than this is an error
  double connect_timeout_s = 30;
  std::uint32_t max_fds_per_process = 0;  // 0 = from RLIMIT_NOFILE; tests lower it to exercise worker processes
  std::uint32_t source_addresses = 0;     // 0 = as many 127.0.0.x as the ephemeral port range requires
  bool quiet = false;
  // Open loop and chat: the send schedule, and what counts as a late send.
  Arrivals arrivals = Arrivals::uniform;
  std::uint64_t seed = 1;                 // poisson: the schedule's seed
  double late_threshold_us = 50;          // a send that leaves more than this behind its due time is late
  double spin_us = 50;                    // poll instead of blocking when the next send is due within this (send_wait.hpp)
  // Cost of the work: CPU time of both sides and the server's syscall/context-switch/wait counts (with --server-pid).
  std::string server_cgroup;              // read the server's CPU time from this cgroup directory instead of its pid
  std::string perf_path = "/usr/bin/perf";  // "" = do not count syscalls/context switches/waits
  // Fleet (issue 14): this process is rank `rank` of `ranks` load generators sharing one run of `connections`
  // connections and `rate`; it owns a contiguous share of the global slots, so the schedule, chat groups and echo
  // lines are those of one big run. `start_at` (Unix seconds, 0 = now) is the absolute instant every rank says go.
  std::uint32_t rank = 0, ranks = 1;
  double start_at = 0;
  // idle, stepped (issue 21, the c1m profile): grow to each of these counts in turn (ascending; the last is
  // --connections), holding what is open, and write one record per step (steps.hpp). With `step_gate`, each step
  // after the first waits for SIGUSR1 (the caller's go-ahead, e.g. after its memory check).
  std::vector<std::uint32_t> steps;
  bool step_gate = false;

  // Hidden: this process is worker `worker_index` of a parent loadgen and owns global connection slots
  // [slot_begin, slot_end); it talks to the parent over stdin/stdout.
  bool worker = false;
  std::uint32_t slot_begin = 0, slot_end = 0;
  std::uint32_t worker_threads = 0;
};

std::string_view mode_name(Mode m);

// The global connection slots [begin, end) this rank owns: N/ranks each, the first N%ranks one more (none lost).
struct SlotRange {
  std::uint32_t begin = 0, end = 0;
  std::uint32_t size() const { return end - begin; }
};
SlotRange rank_slots(const Options& options);

// Stepped idle: the connections that ramp together with `slot`, i.e. its step's growth (every slot without steps).
std::uint32_t ramp_share(const Options& options, std::uint32_t total_connections, std::uint32_t slot);

// Parses argv; returns the exit code to use when the process should stop now (help: 0, bad arguments: 2).
std::optional<int> parse_options(int argc, char** argv, Options& options);

}  // namespace tvt::loadgen
