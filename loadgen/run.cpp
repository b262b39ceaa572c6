#include "loadgen/run.hpp"

#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loadgen/cost.hpp"
#include "loadgen/cost_meter.hpp"
#include "loadgen/cpu_time.hpp"
#include "loadgen/hdr_log.hpp"
#include "loadgen/json_record.hpp"
#include "loadgen/memory_keys.hpp"
#include "loadgen/probe.hpp"
#include "loadgen/wall_clock.hpp"

namespace tvt::loadgen {
namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;
constexpr auto poll_interval = std::chrono::milliseconds(5);
// How long the server gets to close its sockets: 2 s, plus 10 us a connection (a sharded server closing a million
// connections on two busy cores needs more than 2 s: 250,000 were 59,475 short after 2 s).
std::int64_t fd_settle_budget_ns(std::int64_t connections) { return 2 * ns_per_s + connections * 10'000; }
constexpr double rate_tolerance = 0.05;                    // open loop, chat: achieved more than 5 % off --rate
constexpr double max_start_skew_s = 0.1;                   // fleet: a rank that says go later than this lags

struct TimedSample {
  std::int64_t at_ns;
  ServerSample server;
  MachineSample machine;
};

// Sleeps until `until` (CLOCK_MONOTONIC) or for at most `longest`, whichever is first; precise to microseconds
// (the coordinator sets its timer slack to 1 ns), so the cost window's edges are read when they are due.
void sleep_until(std::int64_t until, std::chrono::nanoseconds longest) {
  const std::int64_t deadline = std::min(until, monotonic_ns() + static_cast<std::int64_t>(longest.count()));
  timespec ts{static_cast<time_t>(deadline / ns_per_s), static_cast<long>(deadline % ns_per_s)};
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

void add_percentiles(JsonRecord& json, const std::string& prefix, const Histogram& h, bool with_mean) {
  const bool any = h.count() > 0;
  auto add = [&](const std::string& key, std::int64_t v) {
    if (any) json.add(prefix + key, v);
    else json.add_null(prefix + key);
  };
  add("p50_us", h.percentile(50));
  add("p90_us", h.percentile(90));
  add("p99_us", h.percentile(99));
  add("p999_us", h.percentile(99.9));
  add("max_us", h.max());
  if (with_mean) {
    if (any) json.add(prefix + "mean_us", h.mean());
    else json.add_null(prefix + "mean_us");
  }
}

// Step 1, sample: everything observed during the run, before any of it is interpreted.
struct RunSamples {
  ServerSample server_before;
  MachineSample machine_before;
  std::int64_t established = 0;
  std::vector<TimedSample> samples;  // the first is "all connected, no load"; then one per second of the window
  std::int64_t fds_peak = -1;
  double go_wall_s = 0;
  std::int64_t window_start = 0, window_end = 0;
  double ready_wall_s = 0;           // when every connection of this rank was ready
  RunResult result;
  std::string driver_error;
  ServerSample server_after;         // after every connection closed and the server's sockets settled
  bool interrupted = false;
  CostWindow cost;                   // the measured window (storm: the connect burst)
  std::string cost_note;             // why a cost figure is missing
};

// Step 2's output: what the run's figures say, derived from the samples alone.
struct Derived {
  std::string status, reason;
  double rps = 0;
  double achieved_rate = 0;
  std::int64_t lost = 0;
  bool fd_leak = false;
  JsonRecord json;
};

// Runs the driver from connect to close and samples around it; nullopt when the driver could not start.
std::optional<RunSamples> sample_run(const Options& o, Driver& driver, const std::atomic<bool>& stop_requested) {
  const bool sampling = o.server_pid > 0;
  RunSamples r;
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  // Before any connection.
  r.server_before = sampling ? probe_server_tree(o.server_pid) : ServerSample{};
  r.machine_before = probe_machine();
  // The cost of the work: over the measured window, or the connect burst in storm mode; idle does no work.
  CostMeter cost(o);
  const bool costing = o.mode != Mode::idle;
  if (costing) cost.prepare();

  const std::int64_t start_ns = monotonic_ns();
  if (!driver.start()) {
    std::fprintf(stderr, "loadgen: %s\n", driver.error().c_str());
    return std::nullopt;
  }
  if (costing && o.mode == Mode::storm) cost.open(start_ns, driver.worker_pids());
  std::int64_t last_progress_ns = start_ns;
  while (!driver.ready()) {
    if (stop_requested.load()) driver.stop();
    std::this_thread::sleep_for(poll_interval);
    const std::int64_t now = monotonic_ns();
    if (!o.quiet && now - last_progress_ns > 2 * ns_per_s) {
      std::fprintf(stderr, "loadgen: connecting... %.0f s\n", static_cast<double>(now - start_ns) / 1e9);
      last_progress_ns = now;
    }
  }
  if (o.mode == Mode::storm) cost.close(monotonic_ns());
  r.established = driver.established();
  // The server's processes, read once: walking /proc/PID/task/*/children is a file per thread (10,000 for threads).
  const std::vector<int> server_pids = sampling ? process_tree(o.server_pid) : std::vector<int>{};
  auto take_sample = [&](std::int64_t at, ProbeDepth depth) {
    TimedSample s{at, sampling ? probe_servers(server_pids, depth) : ServerSample{}, probe_machine()};
    if (depth == ProbeDepth::light && !r.samples.empty()) {
      // What a light sample does not read is what the load does not change: every connection is open before the
      // window and stays open through it, so fds and sockets are the connected sample's; so is PSS (probe.hpp).
      const ServerSample& connected = r.samples.front().server;
      s.server.pss_bytes = connected.pss_bytes;
      s.server.fds = connected.fds;
      s.server.sockets = connected.sockets;
      s.server.fixed_sockets = connected.fixed_sockets;
    }
    r.fds_peak = std::max(r.fds_peak, s.server.fds);
    r.samples.push_back(s);
  };
  take_sample(monotonic_ns(), ProbeDepth::full);  // all connected, no load yet
  // An idle hold measures memory only: it samples everything. A load window is sampled lightly (probe.hpp), so the
  // connected sample must already show every connection: the server accepts after the client's connects complete,
  // so it is taken again until its sockets do (bounded; an fd leak check needs the same wait after the run).
  const ProbeDepth in_window = o.mode == Mode::idle ? ProbeDepth::full : ProbeDepth::light;
  if (sampling && in_window == ProbeDepth::light && r.server_before.sockets >= 0) {
    const std::int64_t deadline = monotonic_ns() + fd_settle_budget_ns(r.established);
    while (r.samples.back().server.sockets >= 0 &&
           r.samples.back().server.sockets < r.server_before.sockets + r.established && monotonic_ns() < deadline &&
           !stop_requested.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      r.samples.pop_back();
      take_sample(monotonic_ns(), ProbeDepth::full);
    }
  }

  r.ready_wall_s = wall_clock_s();
  if (o.start_at > 0) sleep_until_wall(o.start_at, stop_requested);
  const std::int64_t go_ns = monotonic_ns();
  r.go_wall_s = wall_clock_s();
  driver.go(go_ns);
  r.window_start = go_ns + static_cast<std::int64_t>(o.warmup_s * ns_per_s);
  r.window_end = r.window_start + static_cast<std::int64_t>(o.duration_s * ns_per_s);
  // One sample in the middle of each second of the window, for the timeline and the steady-state figures.
  std::int64_t next_sample = r.window_start + ns_per_s / 2;
  bool stopped = false;
  while (!driver.done()) {
    if (stop_requested.load() && !stopped) {
      driver.stop();
      stopped = true;
    }
    std::int64_t now = monotonic_ns();
    if (costing && o.mode != Mode::storm && !cost.was_opened() && now >= r.window_start) {
      cost.open(now, driver.worker_pids());
    }
    if (cost.is_open() && now >= r.window_end) cost.close(now);
    if (now >= next_sample && now < r.window_end) {
      take_sample(now, in_window);
      next_sample += ns_per_s;
    }
    // The next edge of the cost window, if one is ahead, else the next poll.
    now = monotonic_ns();
    std::int64_t edge = now + poll_interval.count() * 1'000'000;
    if (costing && !cost.was_opened()) edge = std::min(edge, r.window_start);
    else if (cost.is_open()) edge = std::min(edge, r.window_end);
    sleep_until(edge, poll_interval);
  }
  cost.close(monotonic_ns());  // interrupted before the window's end: the window is what was measured
  r.result = driver.result();
  r.driver_error = driver.error();

  // After: every connection is closed; give the server a moment to close its ends.
  if (sampling) {
    const std::int64_t deadline = monotonic_ns() + fd_settle_budget_ns(r.established);
    do {
      r.server_after = probe_server_tree(o.server_pid);
      if (r.server_after.sockets <= r.server_before.sockets) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } while (monotonic_ns() < deadline);
  }
  r.interrupted = stop_requested.load();
  r.cost = cost.window();
  r.cost_note = cost.note();
  return r;
}

// The cost and schedule keys (issue 13): CPU per unit of work, the server's kernel-event counts, and whether the
// client kept its send schedule.
void add_cost(JsonRecord& json, const Options& o, const CapacityPlan& plan, const RunSamples& r) {
  const Counters& k = r.result.counters;
  const bool chat = o.workload == Workload::chat;
  const std::int64_t ops = o.mode == Mode::storm ? r.established : chat ? k.deliveries_in_window : k.requests;
  CostWindow window = r.cost;
  window.client_spin_ns = k.spin_ns;
  if (o.server_pid > 0) window.server_cpus = cpus_allowed(o.server_pid).value_or(1);
  const auto engine_threads = static_cast<int>(o.threads * std::max<std::uint32_t>(1, plan.processes));
  window.client_cpus = std::min(cpus_allowed(0).value_or(1), std::max(1, engine_threads));
  const Cost cost = derive_cost(window, ops);
  json.add_optional("server_cpu_us_per_op", cost.server_cpu_us_per_op);
  json.add_optional("server_cpu_util", cost.server_cpu_util);
  json.add_optional("client_cpu_util", cost.client_cpu_util);
  if (cost.bound.empty()) json.add_null("bound");
  else json.add("bound", cost.bound);
  json.add_optional("syscalls_per_op", cost.syscalls_per_op);
  json.add_optional("ctx_switches_per_op", cost.ctx_switches_per_op);
  json.add_optional("waits_per_op", cost.waits_per_op);
  json.add_null("instructions_per_op");  // measured by bench_all's callgrind run, not here
  json.add("cost_note", r.cost_note);
  if (o.mode == Mode::open || chat) {
    json.add("late_sends", k.late_sends);
    json.add("worst_lateness_us", static_cast<double>(k.worst_lateness_ns) / 1000.0);
    json.add("arrivals", arrivals_name(o.arrivals));
    const FitResult fit = exponential_fit(r.result.total(HistKind::send_gaps));
    if (o.arrivals == Arrivals::poisson && fit.p >= 0) json.add("arrivals_fit_p", fit.p);
    else json.add_null("arrivals_fit_p");
  }
}

// Step 2, derive: status, reasons and the JSON record (flat, docs/CONTRACTS.md) from the samples.
Derived derive(const Options& o, const CapacityPlan& plan, const RunSamples& r) {
  Derived d;
  const bool sampling = o.server_pid > 0;
  std::vector<std::string> reasons;  // measured shortfalls only; the plan's warnings are context for them
  if (sampling && r.server_before.rss_bytes < 0)
    reasons.push_back("server pid " + std::to_string(o.server_pid) + " not readable in /proc");
  if (!r.driver_error.empty()) reasons.push_back(r.driver_error);
  const ServerSample& server_before = r.server_before;
  const ServerSample& server_after = r.server_after;
  const MachineSample& machine_before = r.machine_before;
  const std::int64_t established = r.established;
  const RunResult& result = r.result;

  // The steady sample: the last one taken inside the window (the idle hold's end, or late in a load run); the
  // "connected, no load" sample when the window was too short for any.
  const TimedSample& steady = r.samples.back();
  const Counters& k = result.counters;
  const Histogram main = result.total(HistKind::main);
  const double duration_s = o.duration_s;
  const SlotRange slots = rank_slots(o);
  const auto n = static_cast<std::int64_t>(slots.size());  // this rank's share (all of them without --ranks)
  const double rate = o.rate * static_cast<double>(slots.size()) / static_cast<double>(o.connections);
  const bool open_loop = o.mode == Mode::open;
  const bool chat = o.workload == Workload::chat;
  const bool compute = o.workload == Workload::compute;
  const bool fleet = o.ranks > 1;
  // Fleet: how late this rank said go after --start-at (it was still connecting, or its clock is off).
  const double start_skew_s = o.start_at > 0 ? r.go_wall_s - o.start_at : 0;
  if (o.start_at > 0 && start_skew_s > max_start_skew_s)
    reasons.push_back("rank " + std::to_string(o.rank) + " started " +
                      std::to_string(static_cast<std::int64_t>(start_skew_s * 1000)) + " ms after --start-at");

  // Status: failed when nothing worked, degraded for any shortfall, with the reason said.
  std::string& status = d.status;
  status = "ok";
  if (established < n)
    reasons.push_back("established " + std::to_string(established) + " of " + std::to_string(n) + " connections");
  if (k.errors() > 0)
    reasons.push_back(std::to_string(k.errors()) + " errors (connect " + std::to_string(k.errors_connect) +
                      ", reset " + std::to_string(k.errors_reset) + ", timeout " + std::to_string(k.errors_timeout) +
                      ", bad_reply " + std::to_string(k.errors_bad_reply) + ", closed " +
                      std::to_string(k.errors_closed) + ")");
  if (k.unanswered_at_end > 0)
    reasons.push_back(std::to_string(k.unanswered_at_end) +
                      " connects or requests still unanswered when the run ended (counted as timeouts)");
  const double rps = d.rps = duration_s > 0 ? static_cast<double>(k.requests) / duration_s : 0;
  double& achieved_rate = d.achieved_rate;
  if (open_loop || chat) {
    achieved_rate = rps;
    if (achieved_rate < (1 - rate_tolerance) * rate)
      reasons.push_back("rate not reached: " + std::to_string(static_cast<std::int64_t>(achieved_rate)) + "/s of " +
                        std::to_string(static_cast<std::int64_t>(rate)) + "/s");
    else if (achieved_rate > (1 + rate_tolerance) * rate)
      reasons.push_back("rate exceeded: " + std::to_string(static_cast<std::int64_t>(achieved_rate)) + "/s of " +
                        std::to_string(static_cast<std::int64_t>(rate)) + "/s");
    if (k.posts_blocked > 0)
      reasons.push_back(std::to_string(k.posts_blocked) +
                        " chat posts skipped: the previous post was still unsent (the server is not reading)");
    if (k.dropped_sends > k.posts_blocked)
      reasons.push_back(std::to_string(k.dropped_sends - k.posts_blocked) + " sends dropped");
  }
  std::int64_t& lost = d.lost;
  if (chat) {
    lost = std::max<std::int64_t>(0, k.chat_expected - (k.deliveries - k.duplicated) - k.dropped_by_policy);
    // "Lost" cannot tell a dropped message from one still queued in an overloaded server when the drain ends, so
    // the reason says which bound was hit rather than guessing.
    // A rank's members receive other ranks' posts: only the fleet's merge can tell what was lost.
    if (lost > 0 && !fleet)
      reasons.push_back(std::to_string(lost) + " chat messages not delivered within the drain (" +
                        std::to_string(static_cast<std::int64_t>(o.drain_s)) +
                        " s after posting stopped, or " + std::to_string(static_cast<std::int64_t>(o.drain_quiet_ms)) +
                        " ms without a delivery)");
    if (k.duplicated > 0) reasons.push_back(std::to_string(k.duplicated) + " chat messages duplicated");
  }
  bool& fd_leak = d.fd_leak;
  // A leak is a socket the server still holds after every connection closed (other fds may be opened lazily).
  if (sampling && server_after.sockets >= 0 && server_before.sockets >= 0 &&
      server_after.sockets > server_before.sockets) {
    fd_leak = true;
    reasons.push_back("server sockets did not return to idle within " +
                      std::to_string(fd_settle_budget_ns(r.established) / 1'000'000) + " ms: " +
                      std::to_string(server_before.sockets) +
                      " before, " + std::to_string(server_after.sockets) + " after");
  }
  if (r.interrupted) reasons.push_back("interrupted");
  // Failed: nothing worked. Said first, so a failed row never has an empty reason (the counts above say why).
  const bool load_mode = o.mode == Mode::closed || o.mode == Mode::open;
  const bool none_answered = load_mode && !chat && k.requests == 0 && duration_s > 0;
  const bool none_delivered = chat && k.deliveries == 0 && duration_s > 0;
  // A worker process's counts are missing from every figure (its error says which): nothing here can be trusted.
  const bool worker_lost = !r.driver_error.empty();
  if (none_answered) reasons.insert(reasons.begin(), "no request answered in the window");
  if (none_delivered) reasons.insert(reasons.begin(), "no chat message delivered");
  if (!reasons.empty()) {
    status = "degraded";
    // Say which limits were predicted before the run, beside the shortfall they may explain.
    for (const auto& w : plan.warnings) reasons.push_back("limit: " + w);
  }
  if (established == 0 || none_answered || none_delivered || worker_lost) status = "failed";
  std::string& reason = d.reason;
  for (const auto& text : reasons) reason += (reason.empty() ? "" : "; ") + text;

  JsonRecord& json = d.json;
  json.add("workload", protocol::name(o.workload));
  json.add("mode", mode_name(o.mode));
  std::string targets;
  for (const auto& t : o.targets) targets += (targets.empty() ? "" : ",") + t;
  json.add("targets", targets);
  json.add("connections", n);
  json.add("connections_established", established);
  json.add("duration_s", duration_s);
  json.add("warmup_s", o.warmup_s);
  json.add("requests", k.requests);
  json.add("rps", rps);
  add_percentiles(json, "", main, true);
  if (open_loop) {
    add_percentiles(json, "uncorrected_", result.total(HistKind::uncorrected), false);
  }
  if (open_loop || chat) {
    json.add("target_rate", rate);
    json.add("achieved_rate", achieved_rate);
    json.add("dropped_sends", k.dropped_sends);
  }
  if (o.mode == Mode::storm || o.mode == Mode::idle) {
    const double connect_s = static_cast<double>(k.all_ready_ns - k.connect_start_ns) / 1e9;
    json.add("connect_time_s", connect_s);
    json.add("accepts_per_s", connect_s > 0 ? static_cast<double>(established) / connect_s : 0.0);
  }
  json.add("errors", k.errors());
  json.add("errors_connect", k.errors_connect);
  json.add("errors_reset", k.errors_reset);
  json.add("errors_timeout", k.errors_timeout);
  json.add("errors_bad_reply", k.errors_bad_reply);
  json.add("errors_closed", k.errors_closed);
  if (sampling) {
    const ServerSample& s = steady.server;
    const MachineSample& m = steady.machine;
    json.add("server_pid", static_cast<std::int64_t>(o.server_pid));
    json.add("server_rss_before_bytes", server_before.rss_bytes);
    json.add("server_rss_bytes", s.rss_bytes);
    json.add("server_pss_bytes", s.pss_bytes);
    json.add("server_threads", s.threads);
    json.add("server_cpu_s", server_after.cpu_s >= 0 && server_before.cpu_s >= 0
                                 ? server_after.cpu_s - server_before.cpu_s
                                 : s.cpu_s);
    json.add("server_fds_idle", server_before.fds);
    json.add("server_fds_peak", r.fds_peak);
    json.add("server_fds_after", server_after.fds);
    json.add_bool("fd_leak", fd_leak);
    add_memory_per_conn(json, server_before, machine_before, s, m, established);
  }
  if (chat) {
    json.add("deliveries", k.deliveries);
    json.add("deliveries_per_s", duration_s > 0 ? static_cast<double>(k.deliveries_in_window) / duration_s : 0.0);
    json.add("lost", lost);
    json.add("duplicated", k.duplicated);
    json.add("dropped_by_policy", k.dropped_by_policy);
  }
  if (compute) {
    const Histogram small = result.total(HistKind::small), large = result.total(HistKind::large);
    json.add("small_requests", small.count());
    json.add("small_p50_us", small.percentile(50));
    json.add("small_p99_us", small.percentile(99));
    json.add("small_p999_us", small.percentile(99.9));
    json.add("large_requests", large.count());
    json.add("large_p99_us", large.percentile(99));
  }
  add_cost(json, o, plan, r);
  if (fleet || o.start_at > 0) {
    // What the fleet's merge needs beyond the single-host keys (docs/CONTRACTS.md, "loadgen fleet rank keys").
    json.add("rank", static_cast<std::int64_t>(o.rank));
    json.add("ranks", static_cast<std::int64_t>(o.ranks));
    json.add("slot_begin", static_cast<std::int64_t>(slots.begin));
    json.add("slot_end", static_cast<std::int64_t>(slots.end));
    json.add_precise("start_at", o.start_at);
    json.add_precise("ready_wall_s", r.ready_wall_s);
    json.add_precise("go_wall_s", r.go_wall_s);
    json.add("start_skew_ms", start_skew_s * 1000);
    json.add("scheduled_sends", k.scheduled_sends);
    json.add("chat_expected", k.chat_expected);
    json.add("deliveries_in_window", k.deliveries_in_window);
  }
  json.add("status", status);
  json.add("reason", reason);
  return d;
}

// Step 3, write: the JSON record, the timeline and the HdrHistogram log, each atomically; false if any failed.
bool write_outputs(const Options& o, const RunSamples& r, const Derived& d) {
  const RunResult& result = r.result;
  const JsonRecord& json = d.json;
  const double duration_s = o.duration_s;
  bool output_ok = true;
  if (!o.json_path.empty() && !write_file_atomically(o.json_path, json.str())) {
    std::fprintf(stderr, "loadgen: cannot write %s\n", o.json_path.c_str());
    output_ok = false;
  }
  if (!o.timeline_path.empty()) {
    std::string csv = "second,requests,errors,p50_us,p99_us,server_rss_bytes\n";
    for (std::size_t i = 0; i < result.interval_counts.size(); ++i) {
      const Histogram* h = i < result.of(HistKind::main).size() ? &result.of(HistKind::main)[i] : nullptr;
      std::int64_t rss = -1;
      for (const auto& s : r.samples)
        if (s.at_ns >= r.window_start + static_cast<std::int64_t>(i) * ns_per_s &&
            s.at_ns < r.window_start + static_cast<std::int64_t>(i + 1) * ns_per_s)
          rss = s.server.rss_bytes;
      csv += std::to_string(i) + "," + std::to_string(result.interval_counts[i].requests) + "," +
             std::to_string(result.interval_counts[i].errors) + "," +
             (h && h->count() ? std::to_string(h->percentile(50)) : "") + "," +
             (h && h->count() ? std::to_string(h->percentile(99)) : "") + "," + (rss >= 0 ? std::to_string(rss) : "") +
             "\n";
    }
    if (!write_file_atomically(o.timeline_path, csv)) {
      std::fprintf(stderr, "loadgen: cannot write %s\n", o.timeline_path.c_str());
      output_ok = false;
    }
  }
  if (!o.hdr_log_path.empty()) {
    // Written to a temporary name and renamed, like every output, so a reader never sees half a log.
    const std::string tmp = o.hdr_log_path + ".tmp." + std::to_string(::getpid());
    HdrLogWriter writer;
    const double window_start_wall = r.go_wall_s + o.warmup_s;
    bool ok = writer.open(tmp, window_start_wall);
    const auto& intervals = result.of(HistKind::main);
    for (std::size_t i = 0; ok && i < intervals.size(); ++i) {
      const double length = std::min(1.0, duration_s - static_cast<double>(i));
      writer.write_interval(static_cast<double>(i), length > 0 ? length : 1.0, intervals[i]);
    }
    ok = writer.close() && ok && std::rename(tmp.c_str(), o.hdr_log_path.c_str()) == 0;
    if (!ok) {
      std::fprintf(stderr, "loadgen: cannot write %s\n", o.hdr_log_path.c_str());
      output_ok = false;
    }
  }

  return output_ok;
}

// The human summary, wrk-like.
void print_summary(const Options& o, const CapacityPlan& plan, const RunSamples& r, const Derived& d) {
  std::FILE* human = o.json_path == "-" ? stderr : stdout;
  const bool sampling = o.server_pid > 0;
  const Counters& k = r.result.counters;
  const Histogram main = r.result.total(HistKind::main);
  const auto n = static_cast<std::int64_t>(o.connections);
  const std::int64_t established = r.established;
  const double duration_s = o.duration_s;
  const bool open_loop = o.mode == Mode::open;
  const bool chat = o.workload == Workload::chat;
  const TimedSample& steady = r.samples.back();
  std::string targets;
  for (const auto& t : o.targets) targets += (targets.empty() ? "" : ",") + t;
  std::fprintf(human, "loadgen %s/%s: %lld connections (%lld established) to %s, %.1f s (+%.1f s warmup), %u thread%s%s\n",
               std::string(protocol::name(o.workload)).c_str(), std::string(mode_name(o.mode)).c_str(),
               static_cast<long long>(n), static_cast<long long>(established), targets.c_str(), duration_s, o.warmup_s,
               o.threads, o.threads == 1 ? "" : "s",
               plan.processes > 1 ? (", " + std::to_string(plan.processes) + " processes").c_str() : "");
  std::fprintf(human, "  %lld %s in %.2f s, %.1f/s%s\n", static_cast<long long>(k.requests),
               chat ? "messages posted" : "requests", duration_s, d.rps,
               k.errors() == 0 ? ", every reply verified" : "");
  if (main.count() > 0)
    std::fprintf(human, "  latency%s us: p50 %lld  p90 %lld  p99 %lld  p99.9 %lld  max %lld  mean %.1f\n",
                 open_loop ? " (corrected)" : chat ? " (delivery)" : "", static_cast<long long>(main.percentile(50)),
                 static_cast<long long>(main.percentile(90)), static_cast<long long>(main.percentile(99)),
                 static_cast<long long>(main.percentile(99.9)), static_cast<long long>(main.max()), main.mean());
  if (open_loop) {
    const Histogram u = r.result.total(HistKind::uncorrected);
    std::fprintf(human, "  latency (uncorrected) us: p50 %lld  p99 %lld  p99.9 %lld  max %lld; rate %.1f/s of %.1f/s, %lld dropped sends\n",
                 static_cast<long long>(u.percentile(50)), static_cast<long long>(u.percentile(99)),
                 static_cast<long long>(u.percentile(99.9)), static_cast<long long>(u.max()), d.achieved_rate, o.rate,
                 static_cast<long long>(k.dropped_sends));
  }
  if (open_loop || chat)
    std::fprintf(human, "  schedule: %s arrivals, %lld of %lld sends later than %.0f us, worst %.1f us; %.2f s polling "
                 "for due sends (--spin-us)\n",
                 std::string(arrivals_name(o.arrivals)).c_str(), static_cast<long long>(k.late_sends),
                 static_cast<long long>(k.scheduled_sends), o.late_threshold_us,
                 static_cast<double>(k.worst_lateness_ns) / 1000.0, static_cast<double>(k.spin_ns) / 1e9);
  if (!r.cost_note.empty()) std::fprintf(human, "  cost: %s\n", r.cost_note.c_str());
  if (chat)
    std::fprintf(human, "  chat: %lld deliveries, %lld lost, %lld duplicated, %lld dropped by policy\n",
                 static_cast<long long>(k.deliveries), static_cast<long long>(d.lost),
                 static_cast<long long>(k.duplicated), static_cast<long long>(k.dropped_by_policy));
  if (o.mode == Mode::storm || o.mode == Mode::idle)
    std::fprintf(human, "  connect: %.3f s to all ready\n", static_cast<double>(k.all_ready_ns - k.connect_start_ns) / 1e9);
  if (k.errors() > 0)
    std::fprintf(human, "  errors: connect %lld, reset %lld, timeout %lld, bad_reply %lld, closed %lld\n",
                 static_cast<long long>(k.errors_connect), static_cast<long long>(k.errors_reset),
                 static_cast<long long>(k.errors_timeout), static_cast<long long>(k.errors_bad_reply),
                 static_cast<long long>(k.errors_closed));
  if (sampling && established > 0 && steady.server.rss_bytes >= 0)
    std::fprintf(human, "  server: rss %.1f MiB (%+.0f B/conn), %lld threads, fds idle %lld peak %lld after %lld%s\n",
                 static_cast<double>(steady.server.rss_bytes) / 1048576.0,
                 static_cast<double>(steady.server.rss_bytes - r.server_before.rss_bytes) /
                     static_cast<double>(established),
                 static_cast<long long>(steady.server.threads), static_cast<long long>(r.server_before.fds),
                 static_cast<long long>(r.fds_peak), static_cast<long long>(r.server_after.fds),
                 d.fd_leak ? " LEAK" : "");
  std::fprintf(human, "  status: %s%s%s\n", d.status.c_str(), d.reason.empty() ? "" : " - ", d.reason.c_str());
}

}  // namespace

int run_coordinator(const EngineConfig& config, const CapacityPlan& plan, Driver& driver,
                    const std::atomic<bool>& stop_requested) {
  const Options& o = config.options;
  const std::optional<RunSamples> samples = sample_run(o, driver, stop_requested);
  if (!samples) return 1;
  const Derived derived = derive(o, plan, *samples);
  const bool output_ok = write_outputs(o, *samples, derived);
  print_summary(o, plan, *samples, derived);
  return derived.status == "failed" || !output_ok ? 1 : 0;
}

}  // namespace tvt::loadgen
