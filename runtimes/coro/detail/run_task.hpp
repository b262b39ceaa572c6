#pragma once
// The runner's step, shared by the local pool and the thread pool: inline, and templated on the executor so that
// each executor's run loop has no call between popping a task and resuming its coroutine, and none (no virtual
// one either) to retire or requeue it. The state machine it drives is in task_header.hpp.
#include <atomic>

#include "coro/detail/task_header.hpp"

namespace tvt::coro::detail {

// What became of a task its runner ran once.
enum class Ran {
  parked,     // waits for a wake (or was requeued through executor.schedule: it was NOTIFIED meanwhile)
  yielded,    // yield_now: still RUNNING; the caller pushes it at the back of its own queue
  completed,  // finished: retired and its own reference released (the pointer may dangle now)
};

// Runs `task` (popped from a queue of `executor`, its executor: SCHEDULED, or RUNNING after a yield) once: its
// leaf's poll, then the coroutine if that says so. `outer` is the caller's running task (read once by its loop),
// put back when the task finishes or goes back to its executor. A task that parks or yields (the common ends) is
// left as the running task: only the next run_task follows on those paths, and the caller's loop puts `outer` back
// itself before anything else (an I/O poll, a sleep, a return): one thread-local store per task less.
template <class E>
[[nodiscard]] inline Ran run_task(TaskHeader& task, E& executor, TaskHeader* const outer) noexcept {
  running_task = &task;
  // A yielded task holds RUNNING already (only runners set or clear that bit, and this one received the task
  // through its queue, so a relaxed load tells the two apart): it resumes where it yielded, with no poll and no
  // state change. Its `yielded` mark stays: however the resume ends, it writes poll_fn_ (a leaf parks with its
  // poll, a yield marks it again, frame_done clears it), so no store is needed here or after a poll.
  if (const std::uint32_t s = task.state().load(std::memory_order_relaxed); s & TaskHeader::running) {
    task.resume_point_.resume();  // runs until the task parks again, yields or finishes
  } else {
    // SCHEDULED -> RUNNING (SCHEDULED is set and RUNNING clear, so one add does both). acq_rel: acquire what the
    // waker published; release is for the symmetric case of the next wake.
    if (process_single_threaded()) [[likely]]  // nothing can race this thread: the add as a plain store
      task.state().store(s + (TaskHeader::running - TaskHeader::scheduled), std::memory_order_relaxed);
    else
      task.state().fetch_add(TaskHeader::running - TaskHeader::scheduled, std::memory_order_acq_rel);
    // No poll function: the first run, or the leaf's operation was completed for it (schedule_completed).
    if (const PollFn poll = task.poll_fn_; poll == nullptr || poll(task.poll_leaf_, task))
      task.resume_point_.resume();
  }
  // Parked by yield_now (a finished task parks nowhere: frame_done cleared its poll_fn_). It keeps the mark while
  // queued.
  if (task.poll_fn_ == &yielded) return Ran::yielded;

  std::uint32_t s = task.state().load(std::memory_order_acquire);
  // The common end: parked, not woken meanwhile -> drop RUNNING. acq_rel: release publishes the fields this runner
  // wrote (resume point, poll) to the next runner.
  if ((s & (TaskHeader::complete | TaskHeader::notified)) == 0) [[likely]] {
    if (process_single_threaded()) [[likely]] {  // nothing can race this thread: one load (above) and one store
      task.state().store(s & ~TaskHeader::running, std::memory_order_relaxed);
      return Ran::parked;
    }
    if (task.state().compare_exchange_strong(s, s & ~TaskHeader::running, std::memory_order_acq_rel,
                                             std::memory_order_acquire))
      return Ran::parked;
  }
  running_task = outer;  // before anything that may run other code: the task's result may be destroyed below
  if (s & TaskHeader::complete) {  // terminal: nobody else changes the state any more
    executor.E::retire(task);
    task.release();  // the task's own reference; the JoinHandle may still hold one
    return Ran::completed;
  }
  // Woken while running (NOTIFIED; or a wake or cancel raced the exchange above): drop RUNNING, and a NOTIFIED task
  // becomes SCHEDULED (bit 4 -> bit 1) and goes back to its executor.
  static_assert(TaskHeader::notified >> 2 == TaskHeader::scheduled);
  while (!Rmw::compare_exchange(task.state(), s,
                                (s & ~(TaskHeader::running | TaskHeader::notified)) | ((s & TaskHeader::notified) >> 2),
                                std::memory_order_acq_rel, std::memory_order_acquire)) {
  }
  if (s & TaskHeader::notified) executor.E::schedule(task);
  return Ran::parked;
}

}  // namespace tvt::coro::detail
