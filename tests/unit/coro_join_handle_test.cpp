// JoinHandle (and BlockingHandle) are awaited at most once, as Rust's `.await` consumes a JoinHandle: a second await
// is a std::logic_error, never a read of a result already moved out.
#include "coro/join_handle.hpp"  // first: the public header is self-contained

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "coro/block_on.hpp"
#include "coro/spawn.hpp"
#include "coro/spawn_blocking.hpp"
#include "coro/yield_now.hpp"

namespace {

using namespace tvt::coro;

Task<std::string> greeting() { co_return std::string(100, 'g'); }  // heap-allocated: a stale read would show

TEST(CoroJoinHandle, ASecondAwaitIsALogicError) {
  auto main_task = []() -> Task<std::string> {
    auto h = spawn_local(greeting());
    EXPECT_TRUE(h.valid());
    const std::string first = co_await h;
    try {
      co_await h;
    } catch (const std::logic_error& e) {
      co_return first + " / " + e.what();
    }
    co_return "second await returned";
  };
  const auto seen = block_on(main_task());
  EXPECT_EQ(seen.substr(0, 100), std::string(100, 'g'));
  EXPECT_NE(seen.find("awaited twice"), std::string::npos) << seen;
}

TEST(CoroJoinHandle, AwaitingADetachedOrMovedFromHandleIsALogicError) {
  auto main_task = []() -> Task<int> {
    int errors = 0;
    auto detached = spawn_local(greeting());
    detached.detach();
    try {
      co_await detached;
    } catch (const std::logic_error&) {
      ++errors;
    }
    auto moved_from = spawn_local(greeting());
    auto owner = std::move(moved_from);
    try {
      co_await std::move(moved_from);
    } catch (const std::logic_error&) {
      ++errors;
    }
    co_await owner;
    co_return errors;
  };
  EXPECT_EQ(block_on(main_task()), 2);
}

TEST(CoroJoinHandle, ABlockingHandleToo) {
  auto main_task = []() -> Task<bool> {
    auto job = spawn_blocking([] { return 6 * 7; });
    EXPECT_EQ(co_await job, 42);
    try {
      co_await job;
    } catch (const std::logic_error&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(block_on(main_task()));
}

}  // namespace
