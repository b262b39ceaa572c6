#pragma once
// The pool of local tasks that block_on polls on its own thread (async-std's spawn_local pool).
//
// Invariants
// - Owner: the thread that made the pool (inside block_on). Only it runs tasks, spawns (spawn_local), touches
//   `queue_` and `owned_`, and polls `reactor_`.
// - Other threads only schedule: wakes from them go to `inbox_` (lock-free MPSC) followed by reactor_.notify(), which
//   ends or prevents the owner's sleep in epoll_wait. The owner drains the inbox before deciding to sleep and,
//   while busy, with each I/O poll (every `tasks_between_io_polls` tasks).
// - Shutdown (destructor): every task still owned is cancelled and run until it has unwound (bounded in time), then
//   the reactor, which must have no registrations left, is destroyed.
#include <chrono>

#include "coro/detail/run_task.hpp"
#include "coro/detail/task_header.hpp"
#include "coro/detail/task_queue.hpp"
#include "reactor/reactor.hpp"

namespace tvt::coro::detail {

class LocalPool final : public Executor {
 public:
  LocalPool();  // becomes the thread's current pool and makes its reactor current
  LocalPool(const LocalPool&) = delete;
  LocalPool& operator=(const LocalPool&) = delete;
  ~LocalPool();

  // The pool block_on is running on this thread, or nullptr.
  static LocalPool* current() noexcept;

  // Owner thread. Takes ownership of `task` (SCHEDULED set by the caller) and queues it.
  void adopt(TaskHeader& task) noexcept;
  // Owner thread. Runs tasks until `root` is complete; sleeps in the reactor when none is runnable (never spins).
  // One loop with run_task inlined: a switch between two local tasks makes no call but the coroutine's resume.
  // `root` must be a task of this pool (it completes only by running here).
  void run_until_complete(const TaskHeader& root);

  reactor::Reactor& reactor() noexcept { return reactor_; }
  std::size_t task_count() const noexcept { return owned_.size(); }

  void schedule(TaskHeader& task) noexcept override;
  void retire(TaskHeader& task) noexcept override;

 private:
  Ran run_popped(TaskHeader& task) noexcept;
  void poll_io_and_inbox();
  void wait_for_work(std::chrono::milliseconds sleep_limit);  // the inbox, else one sleep in the reactor

  static constexpr unsigned tasks_between_io_polls = 61;  // a busy pool still looks at I/O and timers

  reactor::Reactor reactor_;
  reactor::Reactor::ScopedCurrent reactor_scope_;
  LocalPool* previous_;
  TaskQueue queue_;
  TaskInbox inbox_;
  OwnedTasks owned_;
};

}  // namespace tvt::coro::detail
