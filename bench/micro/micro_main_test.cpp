// Tests of the shared micro main's phase watchdog (ctest: micro_watchdog_*), not a benchmark.
// - BM_PhaseIsSingleThreaded: while a phase runs the process has one thread, so a model's single-threaded fast
//   paths (runtimes/coro/detail/one_thread.hpp) are what it measures; a watchdog thread would make this row fail.
// - BM_PhaseHangs: a phase that never finishes must end the process with the watchdog's message and exit 3.
#include <sys/single_threaded.h>
#include <unistd.h>

#include "micro_main.hpp"
#include "phase_timer.hpp"

namespace tvt::micro {

void register_benchmarks(const MicroOptions&) {
  register_micro("BM_PhaseIsSingleThreaded", [](benchmark::State& state) {
    bool single = true;
    run_phase(state, "ns_per_phase", 1, [&] {
      single = single && __libc_single_threaded != 0;
      return Nanoseconds{1};
    });
    if (!single) state.SkipWithError("a second thread ran during the phase (the watchdog must not be a thread)");
  })->UseManualTime()->Iterations(3)->Repetitions(1);
  register_micro("BM_PhaseHangs", [](benchmark::State& state) {
    run_phase(state, "ns_per_phase", 1, [] {
      for (;;) pause();  // the hang: only the watchdog's signal ends it
      return Nanoseconds{0};
    });
  })->UseManualTime()->Iterations(1)->Repetitions(1);
}

}  // namespace tvt::micro
