#pragma once
// Runs a benchmark's timed phase once per iteration and reports it: the phase's own duration becomes the iteration's
// (manual) time, and `counter` = total phase nanoseconds / total operations, so every row reads "ns per operation"
// whatever batch size an iteration uses. A failing phase (an exception: e.g. thread creation refused) skips the
// benchmark with the reason instead of aborting the run.
#include <cstddef>
#include <exception>

#include <benchmark/benchmark.h>

#include "models/clock.hpp"

namespace tvt::micro {

template <class Phase>
void run_phase(benchmark::State& state, const char* counter, std::size_t operations_per_phase, Phase&& phase) {
  double total_ns = 0;
  double total_operations = 0;
  try {
    for (auto _ : state) {
      const Nanoseconds elapsed = phase();
      state.SetIterationTime(static_cast<double>(elapsed.count()) * 1e-9);
      total_ns += static_cast<double>(elapsed.count());
      total_operations += static_cast<double>(operations_per_phase);
    }
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
    return;
  }
  if (total_operations > 0) state.counters[counter] = total_ns / total_operations;
}

}  // namespace tvt::micro
