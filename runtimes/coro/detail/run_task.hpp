#pragma once
// The runner's step, shared by the local pool and the thread pool: inline, so that each executor's run loop has no
// call between popping a task and resuming its coroutine. The state machine it drives is in task_header.hpp.
#include <atomic>

#include "coro/detail/task_header.hpp"

namespace tvt::coro::detail {

// Runs `task` (popped from a queue: SCHEDULED, or RUNNING after a yield) once: its leaf's poll, then the coroutine
// if that says so. Afterwards the task is parked, requeued (NOTIFIED) or complete (then retired and its task
// reference released) -- or it yielded: then run_task returns true, the task still holds RUNNING, and the caller
// must push it at the back of its own run queue.
[[nodiscard]] inline bool run_task(TaskHeader& task) noexcept {
  // SCHEDULED -> RUNNING (SCHEDULED is set and RUNNING clear, so one add does both). acq_rel: acquire what the
  // waker published; release is for the symmetric case of the next wake. A yielded task holds RUNNING already:
  // only runners set or clear that bit, and this one received the task through its queue, so a relaxed load
  // tells the two apart.
  if ((task.state().load(std::memory_order_relaxed) & TaskHeader::running) == 0)
    Rmw::fetch_add(task.state(), TaskHeader::running - TaskHeader::scheduled, std::memory_order_acq_rel);
  TaskHeader* const outer = running_task;
  running_task = &task;
  const PollFn poll = task.poll_fn_;
  if (poll == nullptr || poll == &yielded || poll(task.poll_leaf_, task)) {
    task.poll_fn_ = nullptr;
    task.resume_point_.resume();  // runs until the task parks again, yields or finishes
  }
  running_task = outer;
  // Parked by yield_now (a finished task parks nowhere: its poll_fn_ is still the nullptr written above).
  if (task.poll_fn_ == &yielded) return true;

  std::uint32_t s = task.state().load(std::memory_order_acquire);
  for (;;) {
    if (s & TaskHeader::complete) {
      task.executor_->retire(task);
      task.release();  // the task's own reference; the JoinHandle may still hold one
      return false;
    }
    std::uint32_t next = s & ~(TaskHeader::running | TaskHeader::notified);
    if (s & TaskHeader::notified) next |= TaskHeader::scheduled;
    // acq_rel: release publishes the fields this runner wrote (resume point, poll) to the next runner.
    if (Rmw::compare_exchange(task.state(), s, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      if (s & TaskHeader::notified) task.executor_->schedule(task);
      return false;
    }
  }
}

}  // namespace tvt::coro::detail
