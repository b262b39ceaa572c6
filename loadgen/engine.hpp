#pragma once
// The connection engine: one epoll event loop per thread, each owning a contiguous share of the connection slots.
//
// Life of a run, as every engine thread sees it:
//   connecting -> (all its slots ready, or the connect deadline passed) -> waits for go -> warmup -> measured
//   window -> [chat: drain] -> closes every connection -> returns its RunResult.
// "Ready" means connected, plus one verified reply in idle and storm modes (the server really accepted and serves
// the connection) or an acknowledged JOIN in chat. The coordinator (the main thread, or the parent of a worker
// process) releases every thread at one `go` instant, after every thread reported ready, so the measured phase starts
// with every connection of every process in place.
//
// Ownership: a thread touches only its own connections, timers and histograms; the only shared state is the
// Coordinator's atomics. No allocation happens on the request path: buffers, timers and histograms are sized before
// the first connect.
#include <atomic>
#include <cstdint>

#include "loadgen/engine_config.hpp"
#include "loadgen/run_result.hpp"

namespace tvt::loadgen {

// Synchronises the engine threads of one process with whoever drives the run. All fields are seq_cst: they change a
// handful of times per run, so there is nothing to gain from weaker orders.
struct Coordinator {
  std::atomic<int> threads_ready{0};
  std::atomic<std::int64_t> established{0};
  std::atomic<std::int64_t> go_ns{0};  // CLOCK_MONOTONIC; 0 until the coordinator says go
  std::atomic<bool> stop{false};       // SIGINT/SIGTERM: finish now, report what was measured
  std::atomic<bool> cut_off{false};    // stop connecting now: what is verified is established, as at the deadline
};

// Runs one engine thread over slots [slot_begin, slot_end) and returns what it measured.
RunResult engine_run(const EngineConfig& config, Coordinator& coordinator, std::uint32_t slot_begin,
                     std::uint32_t slot_end);

std::int64_t monotonic_ns();

}  // namespace tvt::loadgen
