// Slide: "spawn runs tasks on a pool; use task-local storage" -- under spawn a task may resume on another worker
// thread after any await, so a thread_local it set before the await is not the one it reads after: it sees the new
// worker's own copy. TaskLocal (async-std's task_local!) belongs to the task and travels with it.
// A probe task on a two-worker pool sets both to 42, then waits for pings until it wakes up on the other worker.
//   task_local
#include <chrono>
#include <cstdio>
#include <thread>
#include <utility>

#include "coro/block_on.hpp"
#include "coro/channel.hpp"
#include "coro/sleep.hpp"
#include "coro/task_local.hpp"
#include "coro/thread_pool.hpp"

using namespace tvt::coro;
using namespace std::chrono_literals;

namespace {

thread_local int thread_value = 0;
TaskLocal<int> task_value;

struct Seen {
  bool migrated = false;
  int awaits = 0;
  int task_value_after = 0;
  int thread_value_after = 0;
};

Task<Seen> probe(Receiver<int> pings) {
  task_value.set(42);
  thread_value = 42;
  const auto first_worker = std::this_thread::get_id();
  Seen seen;
  while (co_await pings.recv()) {  // each wake comes from outside the pool, so it lands on the workers in turn
    ++seen.awaits;
    if (std::this_thread::get_id() != first_worker) {
      seen.migrated = true;
      seen.task_value_after = task_value.get();
      seen.thread_value_after = thread_value;
      break;
    }
  }
  co_return seen;
}

Task<Seen> ping_until_it_moves(ThreadPool& pool) {
  auto [tx, rx] = channel<int>(1);
  auto handle = pool.spawn(probe(std::move(rx)));
  for (int i = 0; i < 1000 && !handle.is_finished(); ++i) {
    co_await tx.send(i);
    co_await sleep(1ms);  // let the probe park again before the next wake
  }
  { auto close = std::move(tx); }  // a probe that never moved sees the channel close and returns
  co_return co_await handle;
}

}  // namespace

int main() {
  ThreadPool pool(2);
  const Seen seen = block_on(ping_until_it_moves(pool));
  if (!seen.migrated) {
    std::printf("the probe never resumed on the other worker (one core busy elsewhere?)\n");
    return 1;
  }
  std::printf("before the awaits, on worker A: task_local = 42, thread_local = 42\n");
  std::printf("after %d await(s), on worker B:  task_local = %d (it moved with the task), thread_local = %d "
              "(worker B's own copy)\n",
              seen.awaits, seen.task_value_after, seen.thread_value_after);
  return seen.task_value_after == 42 && seen.thread_value_after != 42 ? 0 : 1;
}
