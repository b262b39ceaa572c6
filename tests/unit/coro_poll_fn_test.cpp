// poll_fn (coro/poll_fn.hpp): futures written by hand against the executor's public extension point. Pending, a
// wake from another thread, Ready; the number of polls; wakes during a poll; errors; cancellation and timeout of a
// future that never completes; awaiting a completed one again.
#include "coro/poll_fn.hpp"  // first: the public header is self-contained

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include <gtest/gtest.h>

#include "coro/block_on.hpp"
#include "coro/cancelled.hpp"
#include "coro/spawn.hpp"
#include "coro/thread_pool.hpp"
#include "coro/timeout.hpp"
#include "coro/yield_now.hpp"

namespace {

using namespace std::chrono_literals;
using namespace tvt::coro;

// A value another thread delivers: the shape of every leaf (a socket, a timer, a channel).
struct Delivery {
  std::mutex mutex;
  bool done = false;
  int value = 0;
  Waker waker;          // set by the poll that returned Pending
  bool waker_set = false;
  int polls = 0;

  auto future() {
    return poll_fn([this](Context& cx) -> Poll<int> {
      std::lock_guard lock(mutex);
      ++polls;
      if (done) return value;
      waker = cx.waker();
      waker_set = true;
      return pending;
    });
  }
  // From another thread: waits until a poll said Pending, then completes and wakes.
  void deliver_after_first_pending(int v) {
    for (;;) {
      std::lock_guard lock(mutex);
      if (!waker_set) continue;
      done = true;
      value = v;
      waker.wake();
      return;
    }
  }
};

TEST(CoroPollFn, PendingThenWakeThenReady) {
  Delivery d;
  std::thread producer([&] { d.deliver_after_first_pending(42); });
  const int got = block_on([](Delivery& dd) -> Task<int> { co_return co_await dd.future(); }(d));
  producer.join();
  EXPECT_EQ(got, 42);
  EXPECT_EQ(d.polls, 2);  // Pending, then (after the one wake) Ready: no busy polling
}

TEST(CoroPollFn, OnThePoolWokenFromOutside) {
  ThreadPool pool(2);
  Delivery d;
  auto h = pool.spawn([](Delivery& dd) -> Task<int> { co_return co_await dd.future() + 1; }(d));
  std::thread producer([&] { d.deliver_after_first_pending(1); });
  EXPECT_EQ(block_on([](JoinHandle<int> hh) -> Task<int> { co_return co_await hh; }(std::move(h))), 2);
  producer.join();
}

TEST(CoroPollFn, AWakeDuringThePollPollsAgain) {
  const int polls = block_on([]() -> Task<int> {
    int n = 0;
    co_await poll_fn([&](Context& cx) {
      if (++n == 4) return true;
      cx.waker().wake();  // "ready to make progress right away": the runner requeues the task
      return false;
    });
    co_return n;
  }());
  EXPECT_EQ(polls, 4);
}

TEST(CoroPollFn, AnExceptionComesOutOfTheAwait) {
  auto main_task = []() -> Task<std::string> {
    int n = 0;
    try {
      co_await poll_fn([&](Context& cx) -> Poll<int> {
        if (++n == 2) throw std::runtime_error("second poll failed");
        cx.waker().wake();
        return pending;
      });
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(block_on(main_task()), "second poll failed");
}

TEST(CoroPollFn, CancellingAPendingFutureStopsItsPollsAndItsWakerStaysHarmless) {
  Waker kept;
  int polls = 0;
  auto main_task = [](Waker& keep, int& n) -> Task<bool> {
    auto h = spawn_local([](Waker& k, int& count) -> Task<int> {
      co_return co_await poll_fn([&](Context& cx) -> Poll<int> {
        ++count;
        k = cx.waker();
        return pending;  // never ready
      });
    }(keep, n));
    co_await yield_now();  // let it poll and park
    h.cancel();
    try {
      co_await h;
    } catch (const TaskCancelled&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(block_on(main_task(kept, polls)));
  EXPECT_EQ(polls, 1);  // the cancel's wake did not poll it again
  kept.wake();          // the task is gone; the Waker still holds its header: a no-op
}

TEST(CoroPollFn, ATimeoutStopsAFutureThatNeverCompletes) {
  auto main_task = []() -> Task<bool> {
    try {
      co_await timeout(20ms, []() -> Task<void> {
        co_await poll_fn([](Context&) { return false; });  // Pending without a wake: only the timeout ends it
      }());
    } catch (const std::system_error& e) {
      co_return e.code() == std::errc::timed_out;
    }
    co_return false;
  };
  EXPECT_TRUE(block_on(main_task()));
}

TEST(CoroPollFn, AwaitingACompletedFutureAgainIsALogicError) {
  auto main_task = []() -> Task<bool> {
    auto ready_now = poll_fn([](Context&) -> Poll<int> { return 1; });
    EXPECT_EQ(co_await ready_now, 1);
    try {
      co_await ready_now;
    } catch (const std::logic_error&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(block_on(main_task()));
}

}  // namespace
