// Slide: "Future, poll, Pending, Waker -- the pinata model". A future written by hand with poll_fn (coro/poll_fn.hpp),
// the executor's public extension point, exactly as the runtime's own sockets and timers are written: each poll
// either returns Ready(value) or stores the Waker from the Context and returns Pending. A "device" thread stands for
// the kernel: it does its work in two steps and calls wake() after each. Nothing polls in a loop: after Pending the
// task sleeps until a wake, and each wake buys exactly one more poll.
//   hand_written_future
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "coro/block_on.hpp"
#include "coro/poll_fn.hpp"

using namespace tvt::coro;

namespace {

// Shared between the future (polled on the task's thread) and the device thread.
struct Device {
  static constexpr int steps = 2;
  std::mutex mutex;
  std::condition_variable parked;  // the device waits until a poll has stored a waker
  int steps_done = 0;
  int wakers_stored = 0;
  Waker waker;
  int wakes = 0;

  void run() {
    for (int step = 1; step <= steps; ++step) {
      std::unique_lock lock(mutex);
      parked.wait(lock, [&] { return wakers_stored >= step; });  // the task said Pending and left its waker
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the work itself
      lock.lock();
      steps_done = step;
      ++wakes;
      std::printf("  device thread: step %d of %d done -> wake()\n", step, steps);
      std::fflush(stdout);
      waker.wake();  // any thread may wake; the task is queued on its own executor
    }
  }
};

Task<int> read_device(Device& device) {
  int polls = 0;
  const int value = co_await poll_fn([&](Context& cx) -> Poll<int> {
    std::lock_guard lock(device.mutex);
    ++polls;
    if (device.steps_done == Device::steps) {
      std::printf("poll %d: Ready(42)\n", polls);
      return 42;
    }
    device.waker = cx.waker();  // the promise that comes with Pending: someone will wake us
    ++device.wakers_stored;
    device.parked.notify_one();
    std::printf("poll %d: Pending (%d of %d steps done; waker stored)\n", polls, device.steps_done, Device::steps);
    std::fflush(stdout);
    return pending;
  });
  std::printf("the co_await returned %d after %d polls and %d wakes\n", value, polls, device.wakes);
  co_return value;
}

}  // namespace

int main() {
  Device device;
  std::thread device_thread([&] { device.run(); });
  const int value = block_on(read_device(device));  // block_on sleeps in epoll_wait between the polls
  device_thread.join();
  return value == 42 ? 0 : 1;
}
