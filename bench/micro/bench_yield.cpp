// bench_micro_yield: what handing the CPU to the next ready unit costs, with 2, 100 and 10,000 units taking turns.
// Measures, per model: BM_Yield/units:N -> ns_per_yield over 200,000 yields in all (200,000 / N each); the units are
// spawned parked on a gate first, so spawning is not timed (opening the gate is, once per unit).
// Does not measure: fairness or turn order (threads: sched_yield(2) promises none), yields under I/O load.
// Growing N shows what a bigger ready queue costs: cache misses on frames and stacks rather than the switch itself.
#include <algorithm>
#include <string>

#include "micro_main.hpp"
#include "models/all_models.hpp"
#include "phase_timer.hpp"

namespace tvt::micro {

template <class M>
void BM_Yield(benchmark::State& state, std::size_t units, std::size_t yields_each) {
  typename M::Runtime runtime;
  run_phase(state, "ns_per_yield", units * yields_each,
            [&] { return Ops<M>::yield_ring(runtime, units, yields_each); });
}

void register_benchmarks(const MicroOptions& options) {
  const std::size_t total_yields = options.size(200'000, 200);
  AllModels::for_each([&]<class M>() {
    for (std::size_t units : {std::size_t{2}, std::size_t{100}, options.size(10'000, 20)}) {
      const std::size_t yields_each = std::max<std::size_t>(1, total_yields / units);
      register_micro(benchmark_name("BM_Yield", M::name, "units:" + std::to_string(units)),
                                   BM_Yield<M>, units, yields_each)
          ->UseManualTime();
    }
  });
}

}  // namespace tvt::micro
