// Fiber stacks: guard pages that hold at 19,000 stacks, what each guard costs in mappings, the overflow report,
// and the canary fallback. Overflows run in a child process (death tests).
#include "fiber/stack_pool.hpp"  // first: the header is self-contained

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "fiber/channel.hpp"
#include "fiber/detail/fiber_base.hpp"
#include "fiber/detail/worker.hpp"
#include "fiber/scheduler.hpp"
#include "fiber/spawn.hpp"
#include "fiber/this_fiber.hpp"

namespace {

namespace fiber = tvt::fiber;
using Policy = fiber::StackPool::GuardPolicy;

// Mappings of this process that hold any part of `stacks` (guard pages included): what the stacks cost in
// vm.max_map_count, independent of whatever else the process (or a sanitizer's allocator) maps meanwhile.
std::size_t mappings_holding(const std::vector<fiber::Stack>& stacks) {
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;
  for (const auto& s : stacks)
    ranges.emplace_back(reinterpret_cast<std::uintptr_t>(s.limit) - fiber::StackPool::guard_bytes,
                        reinterpret_cast<std::uintptr_t>(s.top()));
  std::sort(ranges.begin(), ranges.end());
  std::ifstream maps("/proc/self/maps");
  std::size_t n = 0;
  for (std::string line; std::getline(maps, line);) {
    const auto dash = line.find('-');
    const auto space = line.find(' ');
    const std::uintptr_t lo = std::stoull(line.substr(0, dash), nullptr, 16);
    const std::uintptr_t hi = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
    // The first range ending after `lo`, if it starts before `hi`, overlaps [lo, hi).
    auto it = std::upper_bound(ranges.begin(), ranges.end(), lo,
                               [](std::uintptr_t v, const auto& r) { return v < r.second; });
    if (it != ranges.end() && it->first < hi) ++n;
  }
  return n;
}

std::vector<fiber::Stack> acquire_n(fiber::StackPool& pool, std::size_t n) {
  std::vector<fiber::Stack> stacks;
  for (std::size_t i = 0; i < n; ++i) stacks.push_back(pool.acquire());
  return stacks;
}

TEST(FiberStackPool, KernelGuardsCostOneMappingPerSlab) {
  fiber::StackPool pool({.policy = Policy::automatic});
  auto stacks = acquire_n(pool, 640);
  if (pool.stats().kernel_guarded == 0) GTEST_SKIP() << "kernel without MADV_GUARD_INSTALL (Linux < 6.13)";
  EXPECT_EQ(pool.stats().kernel_guarded, 640u);
  EXPECT_EQ(pool.stats().slabs, 10u);
  EXPECT_LE(mappings_holding(stacks), 10u);  // one per slab at most (adjacent slabs even merge)
  for (const auto& s : stacks) pool.release(s);
}

TEST(FiberStackPool, MprotectGuardsCostTwoMappingsPerStackEvenInSlabs) {
  std::vector<fiber::Stack> stacks;
  {
    fiber::StackPool pool({.policy = Policy::mprotect_only});
    stacks = acquire_n(pool, 640);
    EXPECT_EQ(pool.stats().mprotect_guarded, 640u);
    const auto held = mappings_holding(stacks);
    EXPECT_GE(held, 2u * 640 - 1);  // guard, stack, guard, stack, ...: the slab is split at every guard
    EXPECT_LE(held, 2u * 640 + 10);
    for (const auto& s : stacks) pool.release(s);
  }
  EXPECT_EQ(mappings_holding(stacks), 0u);  // unmapped with the pool
}

TEST(FiberStackPool, BudgetExhaustionFallsBackToCanariesAndSaysSo) {
  fiber::StackPool pool({.stacks_per_slab = 64, .policy = Policy::mprotect_only, .mprotect_mapping_budget = 20});
  auto stacks = acquire_n(pool, 64);
  EXPECT_EQ(pool.stats().mprotect_guarded, 10u);
  EXPECT_EQ(pool.stats().canary_only, 54u);
  std::size_t canaries = 0;
  for (const auto& s : stacks) {
    if (s.guard == fiber::GuardMode::canary) {
      ++canaries;
      EXPECT_TRUE(fiber::StackPool::canary_intact(s));
    }
  }
  EXPECT_EQ(canaries, 54u);
  for (const auto& s : stacks) pool.release(s);
}

TEST(FiberStackPool, NineteenThousandStacksAreAllGuarded) {
  for (auto policy : {Policy::automatic, Policy::mprotect_only}) {
    fiber::StackPool pool({.policy = policy});
    auto stacks = acquire_n(pool, 19'000);
    const auto st = pool.stats();
    EXPECT_EQ(st.canary_only, 0u) << "policy " << static_cast<int>(policy);
    EXPECT_GE(st.kernel_guarded + st.mprotect_guarded, 19'000u);  // counted per slab of 64
    for (const auto& s : stacks) pool.release(s);
  }
}

TEST(FiberStackPool, ReleasedStacksAreReusedLastInFirstOut) {
  fiber::StackPool pool({});
  const auto a = pool.acquire();
  pool.release(a);
  const auto b = pool.acquire();
  EXPECT_EQ(a.limit, b.limit);
  EXPECT_EQ(pool.stats().stacks_carved, 1u);
  pool.release(b);
}

TEST(FiberStackPool, TrimGivesBackThePagesOfStacksPastTheWarmSet) {
  fiber::StackPool::Options options;
  options.warm_stacks = 2;
  fiber::StackPool pool(options);
  std::vector<fiber::Stack> stacks;
  for (int i = 0; i < 3; ++i) {
    stacks.push_back(pool.acquire());
    stacks.back().top()[-1] = 'x';  // touch the stack's first page, as a running fiber does
  }
  for (const auto& s : stacks) pool.release(s);
  EXPECT_TRUE(pool.has_excess());
  EXPECT_EQ(stacks[0].top()[-1], 'x') << "release alone keeps pages: spawning in a loop must not pay for a trim";
  pool.trim();
  EXPECT_FALSE(pool.has_excess());
  // The stack released longest ago went back to the kernel and reads as zero; the two most recent stay warm.
  EXPECT_EQ(stacks[0].top()[-1], 0);
  EXPECT_EQ(stacks[1].top()[-1], 'x');
  EXPECT_EQ(stacks[2].top()[-1], 'x');
  EXPECT_EQ(pool.stats().stacks_free, 3u);
  // Reuse prefers warm stacks, then cold ones, before carving fresh memory.
  EXPECT_EQ(pool.acquire().limit, stacks[2].limit);
  EXPECT_EQ(pool.acquire().limit, stacks[1].limit);
  EXPECT_EQ(pool.acquire().limit, stacks[0].limit);
  EXPECT_EQ(pool.stats().stacks_carved, 3u);
  for (const auto& s : stacks) pool.release(s);
}

TEST(FiberStacks, NineteenThousandParkedFibersOnGuardedStacks) {
#if defined(TVT_FIBER_TSAN)
  constexpr int parked = 4'000;  // TSan keeps a thread slot per live fiber and stops at 8,128
#else
  constexpr int parked = 19'000;
#endif
  fiber::Scheduler scheduler;
  fiber::Channel<int> gate(1);
  int woke = 0;
  scheduler.block_on([&] {
    for (int i = 0; i < parked; ++i)
      fiber::spawn([&] {
        if (gate.receive()) ++woke;
      }).detach();
    fiber::this_fiber::yield();  // let them all park
    gate.close();
  });
  EXPECT_EQ(woke, 0);
  const auto st = scheduler.stack_pool().stats();
  EXPECT_GE(st.stacks_carved, static_cast<std::size_t>(parked));
  EXPECT_EQ(st.canary_only, 0u);
}

// Deep enough to blow any stack, opaque enough not to be turned into a loop.
[[gnu::noinline]] int recurse(int depth) {
  volatile char frame[512];
  frame[0] = static_cast<char>(depth);
  volatile int opaque = depth;
  if (opaque < 0) return 0;
  return recurse(depth + 1) + frame[0];
}

TEST(FiberStackDeathTest, OverflowHitsTheGuardAndNamesTheFiber) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        fiber::Scheduler scheduler;
        scheduler.block_on([] {
          fiber::spawn([] {}).join();  // fiber 1; the overflowing one is fiber 2
          fiber::spawn([] { return recurse(1); }).join();
        });
      },
      ::testing::KilledBySignal(SIGSEGV), "stack overflow in fiber [0-9]+ \\(guard page hit");
}

TEST(FiberStackDeathTest, SmashedCanaryIsReportedAtTheNextSwitch) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        fiber::Scheduler scheduler({.guard_policy = Policy::canary_only});
        scheduler.block_on([] {
          auto* self = static_cast<fiber::detail::FiberBase*>(fiber::detail::current_context());
          self->stack.limit[3] = 0;  // what an overflow past the stack's low end would do
          fiber::this_fiber::yield();
          std::_Exit(0);  // not a death: the check at the yield, not the one at the fiber's end, must catch it
        });
      },
      "canary smashed");
}

}  // namespace
