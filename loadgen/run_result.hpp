#pragma once
// What a run measured, in a form that merges exactly: counters add (a few take the min or max), histograms add
// index by index, per-second intervals add by index. An engine thread, a worker process and the whole run all
// produce one; the process that prints merges them. Worker processes ship theirs as text over a pipe.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loadgen/histogram.hpp"

namespace tvt::loadgen {

enum class HistKind : std::uint8_t {
  main,         // every request (open loop: corrected, from the intended send), or chat delivery latency
  uncorrected,  // open loop: from the actual send
  small,        // compute: small requests
  large,        // compute: large requests
  send_gaps,    // open loop / chat: gaps between one connection's consecutive sends (schedule.hpp's gap units)
};
inline constexpr std::size_t hist_kind_count = 5;

struct Counters {
  std::int64_t requests = 0;  // completed in the measured window (chat: messages posted in it)
  std::int64_t errors_connect = 0, errors_reset = 0, errors_timeout = 0, errors_bad_reply = 0, errors_closed = 0;
  std::int64_t established = 0;          // connections ready (connected, and primed or joined) at the start barrier
  std::int64_t open_at_end = 0;          // connections still open when the measured window ended
  std::int64_t unanswered_at_end = 0;    // of errors_timeout: connects/requests still unanswered when the run ended
  std::int64_t scheduled_sends = 0;      // open loop / chat: sends due in the measured window
  std::int64_t dropped_sends = 0;        // of those, not sent in the window
  std::int64_t posts_blocked = 0;        // chat: of those, skipped because the previous post was still unsent
  std::int64_t late_sends = 0;           // sends due or leaving in the window, more than --late-threshold-us late
  std::int64_t worst_lateness_ns = 0;    // max over workers
  std::int64_t chat_sent = 0;            // every message posted (warmup included)
  std::int64_t chat_expected = 0;        // sum over posted messages of the group's size
  std::int64_t deliveries = 0;           // every message received
  std::int64_t deliveries_in_window = 0;
  std::int64_t duplicated = 0;
  std::int64_t dropped_by_policy = 0;    // sum of the server's DROPPED n notices
  std::int64_t connect_start_ns = 0;     // min over workers (CLOCK_MONOTONIC, system-wide)
  std::int64_t all_ready_ns = 0;         // max over workers
  std::int64_t spin_ns = 0;              // open loop / chat: time in the window spent in empty polls for a due send

  std::int64_t errors() const {
    return errors_connect + errors_reset + errors_timeout + errors_bad_reply + errors_closed;
  }
};

struct IntervalCounts {
  std::int64_t requests = 0;
  std::int64_t errors = 0;
};

struct RunResult {
  Counters counters;
  // [kind][second of the measured window]; a kind the mode does not use stays empty.
  std::array<std::vector<Histogram>, hist_kind_count> intervals;
  std::vector<IntervalCounts> interval_counts;

  void merge(const RunResult& other);
  Histogram total(HistKind kind) const;
  const std::vector<Histogram>& of(HistKind kind) const { return intervals[static_cast<std::size_t>(kind)]; }

  // One line per counter and per non-empty interval histogram; `parse` reads exactly that (nullopt if malformed).
  std::string serialize() const;
  static std::optional<RunResult> parse(std::string_view text);
};

}  // namespace tvt::loadgen
