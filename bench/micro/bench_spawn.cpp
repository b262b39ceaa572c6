// bench_micro_spawn: what it costs to create a unit of concurrency and wait for it to finish.
// Measures, per model: BM_SpawnJoin = one empty unit spawned and joined, repeated sequentially (ns_per_unit: creation,
// first schedule, completion, join, destruction); BM_SpawnMany = 10,000 empty units spawned, then all joined
// (ns_per_unit; threads: 10,000 threads alive at once).
// Does not measure: units that do work or touch their stack, contention from other cores, a runtime's start-up
// (each phase is timed inside the running model), memory (bench_micro_memory).
#include <string>

#include "micro_main.hpp"
#include "models/all_models.hpp"
#include "phase_timer.hpp"

namespace tvt::micro {

template <class M>
void BM_SpawnJoin(benchmark::State& state, std::size_t units) {
  typename M::Runtime runtime;
  run_phase(state, "ns_per_unit", units, [&] { return Ops<M>::spawn_join_sequential(runtime, units); });
}

template <class M>
void BM_SpawnMany(benchmark::State& state, std::size_t units) {
  typename M::Runtime runtime;
  run_phase(state, "ns_per_unit", units, [&] { return Ops<M>::spawn_all_then_join(runtime, units); });
}

void register_benchmarks(const MicroOptions& options) {
  AllModels::for_each([&]<class M>() {
    const std::size_t sequential = options.size(1'000, 10);
    register_micro(benchmark_name("BM_SpawnJoin", M::name), BM_SpawnJoin<M>, sequential)
        ->UseManualTime();
    const std::size_t many = options.size(10'000, 100);
    register_micro(benchmark_name("BM_SpawnMany", M::name, "units:" + std::to_string(many)),
                                 BM_SpawnMany<M>, many)
        ->UseManualTime();
  });
}

}  // namespace tvt::micro
