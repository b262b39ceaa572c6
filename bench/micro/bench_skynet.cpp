// bench_micro_skynet: the skynet benchmark on one thread: a 10-ary tree of units, 1,000,000 leaves (1,111,111 units),
// each leaf returns its number and each node spawns its ten children, joins them and returns their sum.
// Measures, per model: total time per tree (the iteration time) and ns_per_unit = time / units in the tree; the sum is
// checked. Stackful models run 100,000 leaves (111,111 stacks alive at once) and threads 10,000 leaves (11,111
// threads; pid_max is 32,768); the row's label says so.
// Does not measure: multi-core speed-up, work that touches memory, a runtime's start-up.
#include <algorithm>
#include <cstdint>
#include <string>

#include "micro_main.hpp"
#include "models/all_models.hpp"
#include "phase_timer.hpp"

namespace tvt::micro {

namespace {
std::size_t units_in_tree(std::size_t leaves) {
  std::size_t units = 0;
  for (std::size_t level = leaves; level >= 1; level /= 10) units += level;
  return units;
}
}  // namespace

template <class M>
void BM_Skynet(benchmark::State& state, std::size_t leaves, std::size_t asked_leaves) {
  if (leaves < asked_leaves) {
    state.SetLabel("limited to " + std::to_string(leaves) + " of " + std::to_string(asked_leaves) +
                   " leaves: the whole tree is alive at once and more " + std::string(M::name) +
                   " units would not fit this machine");
  }
  std::uint64_t sum = 0;
  typename M::Runtime runtime;
  run_phase(state, "ns_per_unit", units_in_tree(leaves), [&] { return Ops<M>::skynet(runtime, leaves, sum); });
  const std::uint64_t expected = static_cast<std::uint64_t>(leaves) * (leaves - 1) / 2;
  if (sum != expected) state.SkipWithError("wrong skynet sum");
}

void register_benchmarks(const MicroOptions& options) {
  const std::size_t full_leaves = options.size(1'000'000, 100);
  AllModels::for_each([&]<class M>() {
    const std::size_t leaves = std::min(full_leaves, M::max_skynet_leaves);
    auto* bench = register_micro(
        benchmark_name("BM_Skynet", M::name, "leaves:" + std::to_string(leaves)), BM_Skynet<M>, leaves, full_leaves);
    bench->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
  });
}
}  // namespace tvt::micro
