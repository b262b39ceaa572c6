// The channel's same-thread hand-off (issue 18.3, LocalPool::schedule_completed): a value sent to a receiver parked
// on the sender's own local pool is handed into its awaiter and the receiver is queued to resume without its poll.
// These tests hold the fast path to what the usual wake + poll would do: every value arrives, in order, once; a
// cancel that comes after the hand-off (or a wake that came before it) does not lose the value; and the same holds
// while other threads exist (the state change is then a CAS) and for a receiver on another thread (no fast path).
// A hand-off that forgot to clear the receiver's poll would leave it parked forever: the ctest timeout catches it.
#include <sys/single_threaded.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "coro/block_on.hpp"
#include "coro/channel.hpp"
#include "coro/join_handle.hpp"
#include "coro/spawn.hpp"
#include "coro/thread_pool.hpp"
#include "coro/yield_now.hpp"

namespace {

using namespace tvt::coro;

constexpr int round_trips = 10'000;

// Answers each value with value + 1 until its channel closes; returns how many it answered.
Task<int> echo_plus_one(Receiver<int> in, Sender<int> out) {
  int answered = 0;
  while (auto v = co_await in.recv()) {
    int reply = *v + 1;
    EXPECT_TRUE(out.try_send(reply));  // capacity 1 and the other side waits for each reply: never full
    ++answered;
  }
  co_return answered;
}

// Ping-pong between the root and one echo task (started by `start`) through try_send (the hand-off) and recv (the
// parked receiver).
template <class Start>
Task<bool> ping_pong(Start start, int trips) {
  auto [to_echo, echo_in] = channel<int>(1);
  auto [echo_out, replies] = channel<int>(1);
  JoinHandle<int> echo = start(echo_plus_one(std::move(echo_in), std::move(echo_out)));
  bool in_order = true;
  for (int i = 0; i < trips; ++i) {
    int v = 2 * i;
    EXPECT_TRUE(to_echo.try_send(v));
    const std::optional<int> reply = co_await replies.recv();
    in_order = in_order && reply == 2 * i + 1;
  }
  { auto closing = std::move(to_echo); }  // the echo's recv returns nullopt: it ends
  const int answered = co_await echo;
  co_return in_order && answered == trips;
}

Task<bool> ping_pong_locally() {
  return ping_pong([](Task<int> echo) { return spawn_local(std::move(echo)); }, round_trips);
}

TEST(CoroHandOff, SameThreadPingPongDeliversEveryValueInOrder) {
  ASSERT_NE(__libc_single_threaded, 0) << "the one-thread path is what this test is about";
  EXPECT_TRUE(block_on(ping_pong_locally()));
}

TEST(CoroHandOff, SameThreadPingPongWhileOtherThreadsExist) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread idle([&] {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return done; });
  });
  ASSERT_EQ(__libc_single_threaded, 0);  // now every state change of the hand-off is a CAS
  EXPECT_TRUE(block_on(ping_pong_locally()));
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_one();
  idle.join();
}

// Parks on recv and stores what it returned in `received`, then awaits once more: that second await is where a
// cancellation must arrive (the task never returns).
Task<int> receive_then_await_again(Receiver<int> in, int& received) {
  const std::optional<int> v = co_await in.recv();
  received = v.value_or(-2);
  co_await yield_now();  // the cancellation point after the value
  co_return -3;          // not reached: the task was cancelled
}

// A local receiver parks on recv; the root hands it a value and cancels it, in the order `cancel_first` says. The
// value is the receiver's either way (its recv returns it), the cancellation stops it at its next suspension point.
Task<bool> hand_off_and_cancel(bool cancel_first) {
  auto [tx, rx] = channel<int>(1);
  int received = 0;
  JoinHandle<int> receiver = spawn_local(receive_then_await_again(std::move(rx), received));
  co_await yield_now();                 // the receiver parks on recv
  if (cancel_first) receiver.cancel();  // SCHEDULED (not run yet: this task keeps running)
  int v = 7;
  EXPECT_TRUE(tx.try_send(v));
  if (!cancel_first) receiver.cancel();
  try {
    co_await receiver;
  } catch (const TaskCancelled&) {
    co_return received == 7;
  }
  co_return false;
}

// A cancel right after the hand-off (the receiver queued to resume without a poll) -- as with the usual wake and poll.
TEST(CoroHandOff, ACancelAfterTheHandOffKeepsTheValue) { EXPECT_TRUE(block_on(hand_off_and_cancel(false))); }

// A wake before the hand-off (here a cancel: the receiver is SCHEDULED already) takes the usual path, where the poll
// sees the value handed over.
TEST(CoroHandOff, AWakeBeforeTheHandOffKeepsTheValue) { EXPECT_TRUE(block_on(hand_off_and_cancel(true))); }

// A receiver on a pool worker, the sender a local task: not the sender's pool, so the usual wake (and poll).
TEST(CoroHandOff, AReceiverOnAnotherThreadIsWokenAsUsual) {
  ThreadPool pool(1);
  EXPECT_TRUE(block_on(ping_pong([&pool](Task<int> echo) { return pool.spawn(std::move(echo)); }, 1000)));
}

}  // namespace
