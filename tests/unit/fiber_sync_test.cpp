// Fiber mutex, condition variable and channel, contended across workers.
#include "fiber/channel.hpp"  // first: the headers are self-contained
#include "fiber/condition_variable.hpp"
#include "fiber/mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "fiber/detail/spinlock.hpp"
#include "fiber/scheduler.hpp"
#include "fiber/spawn.hpp"
#include "fiber/this_fiber.hpp"

namespace {

using namespace std::chrono_literals;
namespace fiber = tvt::fiber;

class FiberSync : public ::testing::TestWithParam<unsigned> {
 protected:
  fiber::Scheduler scheduler{{.workers = GetParam()}};
};

TEST_P(FiberSync, MutexExcludesAcrossWorkers) {
  fiber::Mutex mutex;
  long counter = 0;  // deliberately not atomic: the mutex is what protects it
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  scheduler.block_on([&] {
    std::vector<fiber::JoinHandle<void>> hs;
    for (int f = 0; f < 16; ++f)
      hs.push_back(fiber::spawn([&] {
        for (int i = 0; i < 500; ++i) {
          std::lock_guard lock(mutex);
          if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
          ++counter;
          if (i % 7 == 0) fiber::this_fiber::yield();  // park while holding it: others must queue
          inside.fetch_sub(1);
        }
      }));
    for (auto& h : hs) h.join();
  });
  EXPECT_EQ(counter, 16 * 500);
  EXPECT_EQ(overlaps.load(), 0);
}

TEST_P(FiberSync, TryLockFailsWhileHeld) {
  scheduler.block_on([] {
    fiber::Mutex mutex;
    mutex.lock();
    EXPECT_FALSE(mutex.try_lock());
    mutex.unlock();
    EXPECT_TRUE(mutex.try_lock());
    mutex.unlock();
  });
}

TEST_P(FiberSync, ConditionVariableHandsOffWork) {
  fiber::Mutex mutex;
  fiber::ConditionVariable cv;
  std::vector<int> queue;
  bool done = false;
  long consumed = 0;
  scheduler.block_on([&] {
    std::vector<fiber::JoinHandle<void>> consumers;
    for (int c = 0; c < 4; ++c)
      consumers.push_back(fiber::spawn([&] {
        std::unique_lock lock(mutex);
        for (;;) {
          cv.wait(lock, [&] { return !queue.empty() || done; });
          if (queue.empty()) return;
          consumed += queue.back();
          queue.pop_back();
        }
      }));
    for (int i = 1; i <= 1000; ++i) {
      {
        std::lock_guard lock(mutex);
        queue.push_back(i);
      }
      cv.notify_one();
      if (i % 10 == 0) fiber::this_fiber::yield();
    }
    {
      std::lock_guard lock(mutex);
      done = true;
    }
    cv.notify_all();
    for (auto& c : consumers) c.join();
  });
  EXPECT_EQ(consumed, 1000L * 1001 / 2);
}

TEST_P(FiberSync, ConditionVariableWaitForTimesOut) {
  scheduler.block_on([] {
    fiber::Mutex mutex;
    fiber::ConditionVariable cv;
    std::unique_lock lock(mutex);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(cv.wait_for(lock, 20ms), std::cv_status::timeout);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
    EXPECT_TRUE(lock.owns_lock());
  });
}

TEST_P(FiberSync, ConditionVariableWaitForIsNotified) {
  scheduler.block_on([] {
    fiber::Mutex mutex;
    fiber::ConditionVariable cv;
    bool ready = false;
    auto notifier = fiber::spawn([&] {
      fiber::this_fiber::sleep_for(5ms);
      std::lock_guard lock(mutex);
      ready = true;
      cv.notify_one();
    });
    std::unique_lock lock(mutex);
    EXPECT_EQ(cv.wait_for(lock, 10s), std::cv_status::no_timeout);
    EXPECT_TRUE(ready);
    lock.unlock();
    notifier.join();
  });
}

TEST_P(FiberSync, ChannelDeliversEveryItemOnceAcrossWorkers) {
  constexpr int producers = 4, consumers = 4, per_producer = 2000;
  fiber::Channel<int> channel(8);
  std::atomic<long> sum{0};
  std::atomic<int> received{0};
  scheduler.block_on([&] {
    std::vector<fiber::JoinHandle<void>> ps, cs;
    for (int c = 0; c < consumers; ++c)
      cs.push_back(fiber::spawn([&] {
        while (auto v = channel.receive()) {
          sum.fetch_add(*v);
          received.fetch_add(1);
        }
      }));
    for (int p = 0; p < producers; ++p)
      ps.push_back(fiber::spawn([&, p] {
        for (int i = 1; i <= per_producer; ++i) EXPECT_TRUE(channel.send(p * per_producer + i));
      }));
    for (auto& h : ps) h.join();
    channel.close();
    for (auto& h : cs) h.join();
  });
  const long n = producers * per_producer;
  EXPECT_EQ(received.load(), n);
  EXPECT_EQ(sum.load(), n * (n + 1) / 2);
}

TEST_P(FiberSync, ClosedChannelRefusesSendsAndDrains) {
  scheduler.block_on([] {
    fiber::Channel<std::string> channel(2);
    EXPECT_TRUE(channel.send("a"));
    channel.close();
    EXPECT_FALSE(channel.send("b"));
    EXPECT_EQ(channel.receive(), std::optional<std::string>("a"));
    EXPECT_EQ(channel.receive(), std::nullopt);
  });
}

TEST_P(FiberSync, CloseWakesParkedReceivers) {
  scheduler.block_on([] {
    fiber::Channel<int> channel(1);
    std::vector<fiber::JoinHandle<bool>> receivers;
    for (int i = 0; i < 10; ++i) receivers.push_back(fiber::spawn([&] { return channel.receive().has_value(); }));
    fiber::this_fiber::sleep_for(5ms);
    channel.close();
    for (auto& r : receivers) EXPECT_FALSE(r.join());
  });
}

// A send to a parked receiver hands the value over without the ring: parked receivers get the values in the order
// they parked, and try_send succeeds for each of them although the ring (capacity 1) could hold only one. One worker:
// a yield then runs each new receiver up to its park before the next is spawned.
TEST(FiberChannel, SendHandsOffToParkedReceiversInOrder) {
  fiber::Scheduler scheduler{{.workers = 1}};
  scheduler.block_on([] {
    fiber::Channel<int> channel(1);
    std::vector<fiber::JoinHandle<int>> receivers;
    for (int i = 0; i < 3; ++i) {
      receivers.push_back(fiber::spawn([&] { return channel.receive().value_or(-1); }));
      fiber::this_fiber::yield();
    }
    for (int v = 10; v < 13; ++v) {
      int value = v;
      EXPECT_TRUE(channel.try_send(value));
    }
    int extra = 99;
    EXPECT_TRUE(channel.try_send(extra));   // the ring's one slot
    EXPECT_FALSE(channel.try_send(extra));  // full, nobody waiting
    channel.close();  // a receiver left without a value returns -1 instead of hanging the test
    for (int i = 0; i < 3; ++i) EXPECT_EQ(receivers[i].join(), 10 + i);
    EXPECT_EQ(channel.receive(), std::optional<int>(99));  // closed, still drained
    EXPECT_EQ(channel.receive(), std::nullopt);
  });
}

// While the process has one thread, Spinlock::lock() is a plain store. A lock taken that way must still exclude a
// thread started while it is held: the thread sees it held (pthread_create publishes the store) until unlock().
// ctest runs each test in a process of its own, so this one starts with one thread.
TEST(FiberSpinlock, LockTakenWithOneThreadExcludesAThreadStartedLater) {
  if (!tvt::fiber::detail::process_single_threaded()) GTEST_SKIP() << "needs a process that has one thread";
  tvt::fiber::detail::Spinlock lock;
  lock.lock();
  std::atomic<bool> trying{false}, acquired{false};
  std::thread other([&] {
    trying.store(true);
    lock.lock();
    acquired.store(true);
    lock.unlock();
  });
  EXPECT_FALSE(tvt::fiber::detail::process_single_threaded());
  while (!trying.load()) std::this_thread::yield();
  std::this_thread::sleep_for(20ms);  // a chance to take the lock wrongly; never a false failure
  EXPECT_FALSE(acquired.load());
  lock.unlock();
  other.join();
  EXPECT_TRUE(acquired.load());
}

// The one-thread path is the one a one-worker scheduler takes: it starts no thread.
TEST(FiberSpinlock, OneWorkerSchedulerStartsNoThread) {
  if (!tvt::fiber::detail::process_single_threaded()) GTEST_SKIP() << "needs a process that has one thread";
  fiber::Scheduler scheduler{{.workers = 1}};
  bool single = false;
  scheduler.block_on([&] { single = tvt::fiber::detail::process_single_threaded(); });
  EXPECT_TRUE(single);
}

INSTANTIATE_TEST_SUITE_P(Workers, FiberSync, ::testing::Values(1u, 2u),
                         [](const auto& param_info) { return std::to_string(param_info.param) + "_workers"; });

}  // namespace
