// The coroutine frame allocator (runtimes/coro/detail/frame_pool.hpp): alignment with and without the 8-byte lead,
// reuse, exact strides, blocks released on another thread, a thread's lists at its exit, large blocks. Drives the
// pool itself (pooled_*), so it runs the same under sanitizers, where Task frames bypass the pool.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "coro/block_on.hpp"
#include "coro/detail/frame_pool.hpp"
#include "coro/spawn.hpp"
#include "coro/thread_pool.hpp"
#include "coro/yield_now.hpp"

namespace {

using namespace tvt::coro::detail;

std::uintptr_t addr(void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// Runs `f` on a fresh thread: its lists start empty, so what it allocates is carved or taken from the depot.
template <class F>
void on_fresh_thread(F f) {
  std::thread t(f);
  t.join();
}

TEST(FramePool, BlocksAreAlignedForTheFrameAfterTheirLead) {
  for (const std::size_t bytes : {24u, 200u, 360u, 1000u, 4096u}) {
    void* even = frame_pool::pooled_allocate(bytes, false);
    void* odd = frame_pool::pooled_allocate(bytes, true);
    EXPECT_EQ(addr(even) % 16, 0u) << bytes;
    EXPECT_EQ((addr(odd) + 8) % 16, 0u) << bytes;
    std::memset(even, 0xab, bytes);
    std::memset(odd, 0xcd, bytes);
    frame_pool::pooled_release(even);
    frame_pool::pooled_release(odd);
  }
}

TEST(FramePool, CarvesAtTheRoundedSizeAndReusesTheLastReleased) {
  on_fresh_thread([] {
    std::vector<void*> blocks;
    for (int i = 0; i < 100; ++i) blocks.push_back(frame_pool::pooled_allocate(184, true));  // class 192
    std::vector<std::uintptr_t> sorted;
    for (void* b : blocks) sorted.push_back(addr(b));
    std::sort(sorted.begin(), sorted.end());
    std::size_t exact = 0;
    for (std::size_t i = 1; i < sorted.size(); ++i) {
      EXPECT_GE(sorted[i] - sorted[i - 1], 192u);  // never overlapping
      exact += sorted[i] - sorted[i - 1] == 192;
    }
    EXPECT_GE(exact, 90u);  // packed at the stride, no header between blocks (a slab boundary may break the run)
    for (void* b : blocks) std::memset(b, 0x5a, 184);
    void* last = blocks.back();
    frame_pool::pooled_release(last);
    EXPECT_EQ(frame_pool::pooled_allocate(180, true), last);  // same class: the warm block again
    for (void* b : blocks) frame_pool::pooled_release(b);
  });
}

TEST(FramePool, BlocksReleasedOnAnotherThreadAreReusedNotHoarded) {
  constexpr std::size_t n = 1000;
  std::vector<void*> blocks;
  on_fresh_thread([&] {
    for (std::size_t i = 0; i < n; ++i) blocks.push_back(frame_pool::pooled_allocate(520, false));
  });
  const auto slabs_allocated = frame_pool::stats().slabs;
  const auto depot_before = frame_pool::stats().depot_blocks;
  on_fresh_thread([&] {
    for (void* b : blocks) frame_pool::pooled_release(b);
    // The releasing thread keeps at most cache_blocks; the rest went to the depot.
    EXPECT_GE(frame_pool::stats().depot_blocks, depot_before + n - frame_pool::cache_blocks);
  });
  // Its exit gave the rest: every block is in the depot, and a third thread reuses them without new slabs.
  EXPECT_EQ(frame_pool::stats().depot_blocks, depot_before + n);
  on_fresh_thread([&] {
    std::set<void*> again;
    for (std::size_t i = 0; i < n; ++i) again.insert(frame_pool::pooled_allocate(520, false));
    EXPECT_EQ(again, std::set<void*>(blocks.begin(), blocks.end()));
    EXPECT_EQ(frame_pool::stats().slabs, slabs_allocated);
    for (void* b : again) frame_pool::pooled_release(b);
  });
}

TEST(FramePool, LargeBlocksGetTheirOwnMapping) {
  void* big = frame_pool::pooled_allocate(100'000, true);
  EXPECT_EQ((addr(big) + 8) % 16, 0u);
  std::memset(big, 1, 100'000);
  const auto slabs = frame_pool::stats().slabs;
  frame_pool::pooled_release(big);
  EXPECT_EQ(frame_pool::stats().slabs, slabs);
}

tvt::coro::Task<int> child(int x) { co_return x + 1; }
tvt::coro::Task<int> parent() { co_return co_await child(1) + co_await tvt::coro::spawn_local(child(2)); }

TEST(FramePool, TaskFramesComeFromThePoolUnlessSanitized) {
  const auto slabs = frame_pool::stats().slabs;
  on_fresh_thread([] { EXPECT_EQ(tvt::coro::block_on(parent()), 5); });
  if (frame_pool::bypassed)
    EXPECT_EQ(frame_pool::stats().slabs, slabs);
  else
    EXPECT_GT(frame_pool::stats().slabs, slabs);
}

#if defined(__SANITIZE_ADDRESS__)
// Under ASan frames bypass the pool, so a use of a freed frame is still a report (a pooled block would be reused
// silently).
TEST(FramePoolDeathTest, AsanStillSeesAUseOfAFreedFrame) {
  EXPECT_DEATH(
      {
        auto frame = child(1).release();
        void* address = frame.address();
        frame.destroy();
        [[maybe_unused]] volatile char byte = *static_cast<volatile char*>(address);
      },
      "heap-use-after-free");
}
#endif

// A fork while another thread holds the pool's lock (it spills and refills all the time here) must leave the child a
// usable pool: each child allocates from a class nobody used (a new slab: the lock) and must exit, not hang.
TEST(FramePool, AChildForkedWhileAnotherThreadUsesThePoolCanAllocate) {
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    std::vector<void*> blocks;
    while (!stop.load(std::memory_order_relaxed)) {
      for (int i = 0; i < 200; ++i) blocks.push_back(frame_pool::pooled_allocate(72, false));
      for (void* b : blocks) frame_pool::pooled_release(b);
      blocks.clear();
    }
  });
  int hung = 0;
  for (int i = 0; i < 40; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::alarm(5);  // a child stuck on the lock dies of SIGALRM
      void* b = frame_pool::pooled_allocate(3000 + 16 * static_cast<std::size_t>(i % 4), true);
      frame_pool::pooled_release(b);
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    hung += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  stop = true;
  churn.join();
  EXPECT_EQ(hung, 0);
}

// A Task<void>'s result shares the header's resume-point word (task.hpp, result_in_header): it must be made when
// the coroutine returns, whether the task was spawned (the word held the resume point) or awaited.
tvt::coro::Task<void> parks_then_throws() {
  co_await tvt::coro::yield_now();
  throw std::runtime_error("from a spawned void task");
}
tvt::coro::Task<void> parks_then_returns(int& ran) {
  co_await tvt::coro::yield_now();
  ++ran;
}

TEST(TaskVoidResult, ReachesTheJoinerOfASpawnedTaskOnBothExecutors) {
  int ran = 0;
  auto main_task = [](int& r) -> tvt::coro::Task<int> {
    auto bad = tvt::coro::spawn_local(parks_then_throws());
    auto good = tvt::coro::spawn_local(parks_then_returns(r));
    co_await good;  // no exception: the result word was made empty, not left as the resume point
    try {
      co_await bad;
    } catch (const std::runtime_error&) {
      co_return 1;
    }
    co_return 0;
  };
  EXPECT_EQ(tvt::coro::block_on(main_task(ran)), 1);
  EXPECT_EQ(ran, 1);

  tvt::coro::ThreadPool pool(2);
  auto pool_task = [](tvt::coro::ThreadPool& p, int& r) -> tvt::coro::Task<int> {
    auto good = p.spawn(parks_then_returns(r));
    auto bad = p.spawn(parks_then_throws());
    co_await good;
    try {
      co_await bad;
    } catch (const std::runtime_error&) {
      co_return 1;
    }
    co_return 0;
  };
  EXPECT_EQ(tvt::coro::block_on(pool_task(pool, ran)), 1);
  EXPECT_EQ(ran, 2);
}

TEST(TaskVoidResult, AnAwaitedVoidTaskRethrows) {
  auto main_task = []() -> tvt::coro::Task<int> {
    try {
      co_await parks_then_throws();
    } catch (const std::runtime_error&) {
      co_return 1;
    }
    co_return 0;
  };
  EXPECT_EQ(tvt::coro::block_on(main_task()), 1);
}

}  // namespace
