// bench_micro_switch: what one round trip between two units costs: A wakes B, B wakes A.
// Measures, per model: BM_PingPong/placement:same-thread (both units on one OS thread; threads: two threads pinned to
// one core, futex handoff) and placement:across-threads (two OS threads on two cores) -> ns_per_round_trip, timed
// inside the first unit over 10,000 round trips (threads: 1,000).
// Does not measure: wake-ups through I/O readiness (the reactor), many waiters on one primitive, spawn cost.
// Models without a cross-thread wake-up (the raw floors) have no across-threads row.
#include <string>

#include "micro_main.hpp"
#include "models/all_models.hpp"
#include "phase_timer.hpp"

namespace tvt::micro {

template <class M, Placement placement>
void BM_PingPong(benchmark::State& state, std::size_t round_trips) {
  typename M::Runtime runtime;
  run_phase(state, "ns_per_round_trip", round_trips,
            [&] { return Ops<M>::template ping_pong<placement>(runtime, round_trips); });
}

void register_benchmarks(const MicroOptions& options) {
  AllModels::for_each([&]<class M>() {
    const std::size_t round_trips = options.size(M::name == ThreadsModel::name ? 1'000 : 10'000, 10);
    register_micro(benchmark_name("BM_PingPong", M::name, "placement:same-thread"),
                                 BM_PingPong<M, Placement::same_thread>, round_trips)
        ->UseManualTime();
    if constexpr (M::supports_cross_thread) {
      register_micro(benchmark_name("BM_PingPong", M::name, "placement:across-threads"),
                                   BM_PingPong<M, Placement::across_threads>, round_trips)
          ->UseManualTime();
    }
  });
}

}  // namespace tvt::micro
