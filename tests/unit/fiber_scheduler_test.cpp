// The fiber scheduler: switching, join, sleep ordering, migration, stack reuse. Every test runs on one worker and
// on two (the rt_test! idea: one body per runtime flavour).
#include "fiber/scheduler.hpp"  // first: the header is self-contained

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fiber/spawn.hpp"
#include "fiber/spawn_blocking.hpp"
#include "fiber/this_fiber.hpp"

namespace {

using namespace std::chrono_literals;
namespace fiber = tvt::fiber;

class FiberScheduler : public ::testing::TestWithParam<unsigned> {
 protected:
  fiber::Scheduler scheduler{{.workers = GetParam()}};
};

TEST_P(FiberScheduler, BlockOnReturnsTheRootsValue) {
  EXPECT_EQ(scheduler.block_on([] { return std::string("root"); }), "root");
}

TEST_P(FiberScheduler, JoinReturnsValuesAndRethrows) {
  scheduler.block_on([] {
    auto value = fiber::spawn([] { return 6 * 7; });
    auto failure = fiber::spawn([]() -> int { throw std::runtime_error("boom"); });
    EXPECT_EQ(value.join(), 42);
    EXPECT_THROW(failure.join(), std::runtime_error);
  });
}

TEST_P(FiberScheduler, RootExceptionPropagatesFromBlockOn) {
  EXPECT_THROW(scheduler.block_on([] { throw std::logic_error("root failed"); }), std::logic_error);
}

TEST(FiberSchedulerOneWorker, YieldInterleavesFibersInFifoOrder) {
  fiber::Scheduler scheduler;  // order is only defined on one worker
  std::vector<int> order;
  scheduler.block_on([&] {
    auto a = fiber::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        order.push_back(1);
        fiber::this_fiber::yield();
      }
    });
    auto b = fiber::spawn([&] {
      for (int i = 0; i < 3; ++i) {
        order.push_back(2);
        fiber::this_fiber::yield();
      }
    });
    a.join();
    b.join();
  });
  EXPECT_EQ(order, (std::vector<int>{1, 2, 1, 2, 1, 2}));
}

TEST_P(FiberScheduler, JoinAlreadyFinishedFiberDoesNotPark) {
  scheduler.block_on([] {
    auto h = fiber::spawn([] { return 1; });
    while (!h.finished()) fiber::this_fiber::yield();
    EXPECT_EQ(h.join(), 1);
  });
}

TEST_P(FiberScheduler, SleepersWakeInDeadlineOrder) {
  std::mutex m;
  std::vector<int> woke;
  scheduler.block_on([&] {
    std::vector<fiber::JoinHandle<void>> sleepers;
    for (int ms : {60, 20, 40, 0}) {
      sleepers.push_back(fiber::spawn([&, ms] {
        fiber::this_fiber::sleep_for(std::chrono::milliseconds(ms));
        std::lock_guard lock(m);
        woke.push_back(ms);
      }));
    }
    for (auto& s : sleepers) s.join();
  });
  EXPECT_EQ(woke, (std::vector<int>{0, 20, 40, 60}));
}

TEST_P(FiberScheduler, SleepDoesNotBlockTheWorker) {
  std::atomic<int> ticks{0};
  scheduler.block_on([&] {
    auto sleeper = fiber::spawn([] { fiber::this_fiber::sleep_for(30ms); });
    auto worker = fiber::spawn([&] {
      while (!sleeper.finished()) {
        ticks.fetch_add(1);
        fiber::this_fiber::yield();
      }
    });
    worker.join();
    sleeper.join();
  });
  EXPECT_GT(ticks.load(), 1);  // the busy fiber kept running while the other slept
}

TEST_P(FiberScheduler, DetachedFibersFinishBeforeBlockOnReturns) {
  std::atomic<int> finished{0};
  scheduler.block_on([&] {
    for (int i = 0; i < 100; ++i)
      fiber::spawn([&] {
        fiber::this_fiber::sleep_for(1ms);
        finished.fetch_add(1);
      }).detach();
  });
  EXPECT_EQ(finished.load(), 100);
}

TEST_P(FiberScheduler, StacksAreReused) {
  scheduler.block_on([] {
    for (int i = 0; i < 10'000; ++i) fiber::spawn([] { fiber::this_fiber::yield(); }).join();
  });
  // Spawned one at a time, so a handful of stacks serve all 10,000 fibers (one slab's worth at most).
  EXPECT_LE(scheduler.stack_pool().stats().stacks_carved, 64u);
  EXPECT_EQ(scheduler.stack_pool().stats().slabs, 1u);
}

TEST_P(FiberScheduler, ManyFibersAcrossWorkersAllRun) {
  std::atomic<long> sum{0};
  std::mutex m;
  std::set<std::thread::id> threads;
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  auto seen_threads = [&] {
    std::lock_guard lock(m);
    threads.insert(std::this_thread::get_id());
    return threads.size();
  };
  scheduler.block_on([&] {
    std::vector<fiber::JoinHandle<void>> hs;
    for (int i = 1; i <= 2000; ++i)
      hs.push_back(fiber::spawn([&, i] {
        // Keep switching until a second worker has run one of us (bounded), so the check below is not a race
        // against the second thread's start-up.
        for (int k = 0; k < 5 || (seen_threads() < GetParam() && std::chrono::steady_clock::now() < give_up); ++k) {
          seen_threads();
          fiber::this_fiber::yield();
        }
        sum.fetch_add(i);
      }));
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(sum.load(), 2000L * 2001 / 2);
  EXPECT_EQ(threads.size(), GetParam()) << "work sharing never moved a fiber to every worker";
}

TEST_P(FiberScheduler, SpawnBlockingParksOnlyTheFiber) {
  std::atomic<bool> blocking_done{false};
  std::atomic<int> progress_while_blocked{0};
  scheduler.block_on([&] {
    auto blocker = fiber::spawn([&] {
      const int v = fiber::spawn_blocking([] {
        std::this_thread::sleep_for(50ms);
        return 7;
      });
      blocking_done = true;
      return v;
    });
    auto other = fiber::spawn([&] {
      while (!blocking_done) {
        progress_while_blocked.fetch_add(1);
        fiber::this_fiber::sleep_for(1ms);
      }
    });
    EXPECT_EQ(blocker.join(), 7);
    other.join();
  });
  EXPECT_GT(progress_while_blocked.load(), 3);
}

TEST_P(FiberScheduler, SpawnBlockingRethrows) {
  scheduler.block_on(
      [] { EXPECT_THROW(fiber::spawn_blocking([]() -> int { throw std::runtime_error("x"); }), std::runtime_error); });
}

TEST(FiberSchedulerApi, FiberOnlyCallsRefusePlainThreads) {
  EXPECT_THROW(fiber::this_fiber::yield(), std::logic_error);
  EXPECT_FALSE(fiber::this_fiber::on_fiber());
  EXPECT_EQ(fiber::this_fiber::id(), 0u);
}

TEST(FiberSchedulerApi, BlockOnInsideAFiberIsRefused) {
  fiber::Scheduler outer;
  outer.block_on([] {
    fiber::Scheduler inner;
    EXPECT_THROW(inner.block_on([] {}), std::logic_error);
  });
}

TEST(FiberSchedulerApi, SchedulerCanRunTwice) {
  fiber::Scheduler s({.workers = 2});
  EXPECT_EQ(s.block_on([] { return 1; }), 1);
  EXPECT_EQ(s.block_on([] { return fiber::spawn([] { return 2; }).join(); }), 2);
}

INSTANTIATE_TEST_SUITE_P(Workers, FiberScheduler, ::testing::Values(1u, 2u),
                         [](const auto& param_info) { return std::to_string(param_info.param) + "_workers"; });

}  // namespace
