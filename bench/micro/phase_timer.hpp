#pragma once
// Runs a benchmark's timed phase once per iteration and reports it: the phase's own duration becomes the iteration's
// (manual) time, and `counter` = total phase nanoseconds / total operations, so every row reads "ns per operation"
// whatever batch size an iteration uses. The phase runs once untimed first, so that what the model pools (stacks,
// frames, allocator arenas) is warm: the figures are steady state, as in a running server. A failing phase (an exception: e.g. thread creation refused) skips the
// benchmark with the reason instead of aborting the run.
#include <cstddef>
#include <exception>

#include <benchmark/benchmark.h>

#include "models/clock.hpp"

namespace tvt::micro {

// A watchdog (micro_main.cpp: SIGALRM, no thread) turns a phase that never finishes -- a lost wake-up in a runtime -- into a clear
// message on stderr and exit status 3 after TVT_MICRO_PHASE_TIMEOUT_S seconds (default 120), instead of a run that
// hangs until bench_all's timeout kills it without saying where.
void phase_started(benchmark::State& state);
void phase_finished();

template <class Phase>
void run_phase(benchmark::State& state, const char* counter, std::size_t operations_per_phase, Phase&& phase) {
  double total_ns = 0;
  double total_operations = 0;
  try {
    phase_started(state);
    (void)phase();  // warm-up, untimed
    phase_finished();
    for (auto _ : state) {
      phase_started(state);
      const Nanoseconds elapsed = phase();
      phase_finished();
      state.SetIterationTime(static_cast<double>(elapsed.count()) * 1e-9);
      total_ns += static_cast<double>(elapsed.count());
      total_operations += static_cast<double>(operations_per_phase);
    }
  } catch (const std::exception& error) {
    phase_finished();
    state.SkipWithError(error.what());
    return;
  }
  if (total_operations > 0) state.counters[counter] = total_ns / total_operations;
}

}  // namespace tvt::micro
