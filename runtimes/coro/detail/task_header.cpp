// The runner and the interruption rules shared by every executor; the state machine is documented in
// task_header.hpp.
#include "coro/detail/task_header.hpp"

#include <stdexcept>
#include <string>

#include "coro/cancelled.hpp"
#include "coro/detail/spawned_task.hpp"
#include "coro/detail/timeout_scope.hpp"
#include "coro/task_local.hpp"

namespace tvt::coro::detail {

bool yielded(void*, TaskHeader&) noexcept { return true; }

void throw_outside_task(const char* what) {
  throw std::logic_error(std::string("coro: ") + what + " used outside a task (inside block_on/spawn only)");
}

bool TaskHeader::timeout_expired() const noexcept {
  for (const TimeoutScope* s = timeouts_; s != nullptr; s = s->outer)
    if (s->expired.load(std::memory_order_acquire)) return true;
  return false;
}

void throw_interrupted(TaskHeader& task) {
  if (task.is_cancelled()) throw TaskCancelled();
  const TimeoutScope* outermost_expired = nullptr;
  for (const TimeoutScope* s = task.timeouts_; s != nullptr; s = s->outer)
    if (s->expired.load(std::memory_order_acquire)) outermost_expired = s;
  if (outermost_expired != nullptr) throw TimeoutInterrupt{outermost_expired};
  throw TaskCancelled();  // unreachable: called after interrupted() said yes, and both causes are terminal
}

void destroy_task_locals_slow(TaskHeader& task) noexcept {
  delete task.locals_;
  task.locals_ = nullptr;
}

bool run_task(TaskHeader& task) noexcept {
  // SCHEDULED -> RUNNING (SCHEDULED is set and RUNNING clear, so one add does both). acq_rel: acquire what the
  // waker published; release is for the symmetric case of the next wake. A yielded task holds RUNNING already:
  // only runners set or clear that bit, and this one received the task through its queue, so a relaxed load
  // tells the two apart.
  if ((task.state().load(std::memory_order_relaxed) & TaskHeader::running) == 0)
    task.state().fetch_add(TaskHeader::running - TaskHeader::scheduled, std::memory_order_acq_rel);
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
    if (task.state().compare_exchange_weak(s, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      if (s & TaskHeader::notified) task.executor_->schedule(task);
      return false;
    }
  }
}

}  // namespace tvt::coro::detail
