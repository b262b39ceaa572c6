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

  // The pool block_on is running on this thread, or nullptr. Inline: the channel's hand-off asks on every send.
  static LocalPool* current() noexcept { return current_; }

  // Owner thread. Takes ownership of `task` (SCHEDULED set by the caller) and queues it. Inline: every spawn_local.
  void adopt(TaskHeader& task) noexcept {
    owned_.insert(task);
    queue_.push_back(task);
  }
  // Owner thread. Runs tasks until `root` is complete; sleeps in the reactor when none is runnable (never spins).
  // One loop with run_task inlined: a switch between two local tasks makes no call but the coroutine's resume.
  // `root` must be a task of this pool (it completes only by running here).
  void run_until_complete(const TaskHeader& root);

  reactor::Reactor& reactor() noexcept { return reactor_; }

  void schedule(TaskHeader& task) noexcept override;
  void retire(TaskHeader& task) noexcept override;

  // Owner thread: `task`, one of ours, is parked at a leaf whose operation the caller has just completed for it (a
  // value handed into its awaiter: its poll could only say "done"). Queues it to resume without calling that poll:
  // no virtual schedule, no poll call (the same-thread hand-off, issue 18.3). False, having done nothing, when the
  // task is not simply parked (SCHEDULED, RUNNING or COMPLETE already): the caller then wakes it the usual way.
  bool schedule_completed(TaskHeader& task) noexcept {
    std::uint32_t s = task.state().load(std::memory_order_relaxed);
    if (s & (TaskHeader::scheduled | TaskHeader::running | TaskHeader::complete)) return false;
    // As wake()'s idle -> SCHEDULED: a plain store while the process has one thread, else a CAS (other threads may
    // wake our tasks through the inbox).
    if (process_single_threaded()) [[likely]]
      task.state().store(s | TaskHeader::scheduled, std::memory_order_relaxed);
    else if (!task.state().compare_exchange_strong(s, s | TaskHeader::scheduled, std::memory_order_acq_rel,
                                                   std::memory_order_relaxed))
      return false;
    // Runner-owned, but no runner holds the task (it is not RUNNING), and its only runner is this thread.
    task.poll_fn_ = nullptr;
    queue_.push_back(task);
    return true;
  }

 private:
  Ran run_popped(TaskHeader& task, TaskHeader* outer) noexcept;
  void poll_io_and_inbox();
  void wait_for_work(std::chrono::milliseconds sleep_limit);  // the inbox, else one sleep in the reactor

  static constexpr unsigned tasks_between_io_polls = 61;  // a busy pool still looks at I/O and timers

  reactor::Reactor reactor_;
  reactor::Reactor::ScopedCurrent reactor_scope_;
  static inline thread_local LocalPool* current_ = nullptr;  // constant-initialised: no TLS wrapper call
  LocalPool* previous_;
  TaskQueue queue_;
  TaskInbox inbox_;
  OwnedTasks owned_;
};

// spawn_local's error outside block_on. Out of line: building the exception inline made every spawn save registers.
[[noreturn, gnu::cold]] void throw_spawn_local_outside_block_on();

// The waker of a task whose leaf's operation it has just completed for it: true if the task was queued on this
// thread's local pool to resume without its poll (LocalPool::schedule_completed). False, having done nothing: the
// caller wakes it and publishes the completion for the poll as usual.
inline bool wake_completed_here(TaskHeader& task) noexcept {
  LocalPool* const pool = LocalPool::current();  // a parked task always has an executor: null never matches
  return task.executor_ == pool && pool->schedule_completed(task);
}

}  // namespace tvt::coro::detail
