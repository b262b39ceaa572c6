// The engine's wait before a scheduled send: block until spin_ns before the due time, then poll; other wake-ups and
// "no send" (never) leave the plain timeout; nothing overflows near INT64_MAX; no spinning where engine threads
// would share a core.
#include <gtest/gtest.h>

#include <cstdint>

#include "loadgen/schedule.hpp"
#include "loadgen/send_wait.hpp"

namespace {

using namespace tvt::loadgen;

constexpr std::int64_t us = 1000;
constexpr std::int64_t never = ArrivalSchedule::never;

TEST(LoadgenSendWait, BlocksUntilTheSpinWindowThenPolls) {
  // Next send 200 µs away, spin 50 µs: block 150 µs.
  EXPECT_EQ(wait_timeout_ns(1'000 * us, 5'000 * us, 1'200 * us, 50 * us), 150 * us);
  // Inside the window (30 µs away), exactly at its edge, at the due time, and overdue: poll.
  EXPECT_EQ(wait_timeout_ns(1'000 * us, 5'000 * us, 1'030 * us, 50 * us), 0);
  EXPECT_EQ(wait_timeout_ns(1'000 * us, 5'000 * us, 1'050 * us, 50 * us), 0);
  EXPECT_EQ(wait_timeout_ns(1'000 * us, 5'000 * us, 1'000 * us, 50 * us), 0);
  EXPECT_EQ(wait_timeout_ns(1'000 * us, 5'000 * us, 900 * us, 50 * us), 0);
}

TEST(LoadgenSendWait, OtherWakeUpsComeFirst) {
  // A scan due before the spin window starts: block to the scan, not past it.
  EXPECT_EQ(wait_timeout_ns(1'000 * us, 1'100 * us, 1'500 * us, 50 * us), 100 * us);
  // A wake-up already past: poll.
  EXPECT_EQ(wait_timeout_ns(1'000 * us, 900 * us, 1'500 * us, 50 * us), 0);
}

TEST(LoadgenSendWait, NoSendOrNoSpinBlocksToTheWakeUp) {
  EXPECT_EQ(wait_timeout_ns(1'000 * us, 1'300 * us, never, 50 * us), 300 * us);  // no send scheduled
  EXPECT_EQ(wait_timeout_ns(1'000 * us, 1'300 * us, 1'200 * us, 0), 200 * us);  // --spin-us 0: block to the due
  // A huge spin window polls whenever a send is scheduled, but never overflows.
  EXPECT_EQ(wait_timeout_ns(1'000 * us, 1'300 * us, 1'200 * us, never), 0);
}

TEST(LoadgenSendWait, NoSpinWhenEngineThreadsShareACore) {
  EXPECT_EQ(spin_window_ns(50, 1, 1), 50 * us);
  EXPECT_EQ(spin_window_ns(50, 2, 2), 50 * us);
  EXPECT_EQ(spin_window_ns(50, 2, 1), 0);  // two spinning threads on one core
  EXPECT_EQ(spin_window_ns(50, 0, 8), 0);  // a worker process: its siblings may share the cores
  EXPECT_EQ(spin_window_ns(0, 1, 2), 0);
}

}  // namespace
