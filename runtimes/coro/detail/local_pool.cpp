// LocalPool: invariants in local_pool.hpp.
#include "coro/detail/local_pool.hpp"

#include <cstdio>
#include <stdexcept>

namespace tvt::coro::detail {
namespace {

constexpr auto shutdown_budget = std::chrono::seconds(2);

}  // namespace

LocalPool::LocalPool() : Executor(true), reactor_scope_(reactor_), previous_(current_) { current_ = this; }

LocalPool::~LocalPool() {
  owned_.for_each([](TaskHeader& t) { t.cancel(); });
  const auto deadline = std::chrono::steady_clock::now() + shutdown_budget;
  unsigned until_io_poll = tasks_between_io_polls;
  TaskHeader* const outer = running_task;
  while (!owned_.empty() && std::chrono::steady_clock::now() < deadline) {
    if (TaskHeader* task = queue_.pop_front()) {
      run_popped(*task, outer);
      if (--until_io_poll == 0) {
        running_task = outer;  // run_task left the last task there (run_task.hpp)
        until_io_poll = tasks_between_io_polls;
        poll_io_and_inbox();
      }
    } else {
      running_task = outer;
      until_io_poll = tasks_between_io_polls;
      wait_for_work(std::chrono::milliseconds(10));
    }
  }
  running_task = outer;
  if (!owned_.empty())
    std::fprintf(stderr, "coro: %zu local task(s) ignored cancellation; leaking them\n", owned_.size());
  current_ = previous_;
}

void LocalPool::schedule(TaskHeader& task) noexcept {
  if (current_ == this) {
    queue_.push_back(task);
  } else {
    inbox_.push(task);
    reactor_.notify();  // after the push: the owner re-checks the inbox when its poll returns
  }
}

void throw_spawn_local_outside_block_on() {
  throw std::logic_error(
      "coro::spawn_local called outside block_on: local tasks need the block_on that polls them "
      "(use coro::spawn for the thread pool)");
}

void LocalPool::retire(TaskHeader& task) noexcept { owned_.erase(task); }

// Runs a popped task; a yielded one goes to the back of the queue. Inline: the run loops make no call but the
// coroutine's resume (and a leaf's poll) per task.
inline Ran LocalPool::run_popped(TaskHeader& task, TaskHeader* outer) noexcept {
  const Ran ran = run_task(task, *this, outer);
  if (ran == Ran::yielded) queue_.push_back(task);
  return ran;
}

void LocalPool::run_until_complete(const TaskHeader& root) {
  if (root.is_complete()) return;
  // A countdown in a register rather than a member count: two instructions per task.
  unsigned until_io_poll = tasks_between_io_polls;
  TaskHeader* const outer = running_task;  // block_on is never called inside a task: nullptr, read once
  for (;;) {
    TaskHeader* task = queue_.pop_front();
    if (task == nullptr) [[unlikely]] {
      running_task = outer;  // run_task left the last task there (run_task.hpp)
      until_io_poll = tasks_between_io_polls;
      wait_for_work(std::chrono::milliseconds(-1));
      continue;
    }
    // The root completes only by running here: its completion is seen where it happens, not read every task
    // (run_task put `outer` back then).
    if (run_popped(*task, outer) == Ran::completed && task == &root) return;
    if (--until_io_poll == 0) [[unlikely]] {
      running_task = outer;
      until_io_poll = tasks_between_io_polls;
      poll_io_and_inbox();
    }
  }
}

// A busy pool still looks at I/O, timers and other threads' wakes every `tasks_between_io_polls` tasks (tokio's
// event interval); an idle one at once (wait_for_work). With no fd registered the look makes no syscall (reactor.hpp):
// the inbox is drained here directly, and a pool of pure computation yields at the coroutine's cost.
void LocalPool::poll_io_and_inbox() {
  reactor_.poll(std::chrono::milliseconds(0));
  inbox_.drain_into(queue_);
}

void LocalPool::wait_for_work(std::chrono::milliseconds sleep_limit) {
  inbox_.drain_into(queue_);
  // Nothing runnable: sleep until an fd edge, a timer, or another thread's wake (inbox push + notify).
  if (queue_.empty()) reactor_.poll(sleep_limit);
}

}  // namespace tvt::coro::detail
