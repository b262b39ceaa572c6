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
namespace {

thread_local TaskHeader* running_task = nullptr;

}  // namespace

TaskHeader* current_task() noexcept { return running_task; }
void set_current_task(TaskHeader* task) noexcept { running_task = task; }

TaskHeader& require_current_task(const char* what) {
  if (running_task == nullptr)
    throw std::logic_error(std::string("coro: ") + what + " used outside a task (inside block_on/spawn only)");
  return *running_task;
}

bool TaskHeader::interrupted() const noexcept {
  if (is_cancelled()) return true;
  for (const TimeoutScope* s = timeouts_; s != nullptr; s = s->outer)
    if (s->expired.load(std::memory_order_acquire)) return true;
  return false;
}

void throw_if_interrupted(TaskHeader& task) {
  if (task.is_cancelled()) throw TaskCancelled();
  const TimeoutScope* outermost_expired = nullptr;
  for (const TimeoutScope* s = task.timeouts_; s != nullptr; s = s->outer)
    if (s->expired.load(std::memory_order_acquire)) outermost_expired = s;
  if (outermost_expired != nullptr) throw TimeoutInterrupt{outermost_expired};
}

void destroy_task_locals(TaskHeader& task) noexcept {
  delete task.locals_;
  task.locals_ = nullptr;
}

void run_task(TaskHeader& task) noexcept {
  // SCHEDULED -> RUNNING (SCHEDULED is set and RUNNING clear, so one add does both). acq_rel: acquire what the
  // waker published; release is for the symmetric case of the next wake.
  task.state().fetch_add(TaskHeader::running - TaskHeader::scheduled, std::memory_order_acq_rel);
  TaskHeader* const outer = running_task;
  running_task = &task;
  const bool resume = task.poll_fn_ == nullptr || task.poll_fn_(task.poll_leaf_, task);
  if (resume) {
    task.poll_fn_ = nullptr;
    task.resume_point_.resume();  // runs until the task parks again or finishes
  }
  running_task = outer;

  std::uint32_t s = task.state().load(std::memory_order_acquire);
  for (;;) {
    if (s & TaskHeader::complete) {
      task.executor_->retire(task);
      task.release();  // the task's own reference; the JoinHandle may still hold one
      return;
    }
    std::uint32_t next = s & ~(TaskHeader::running | TaskHeader::notified);
    if (s & TaskHeader::notified) next |= TaskHeader::scheduled;
    // acq_rel: release publishes the fields this runner wrote (resume point, poll) to the next runner.
    if (task.state().compare_exchange_weak(s, next, std::memory_order_acq_rel, std::memory_order_acquire)) {
      if (s & TaskHeader::notified) task.executor_->schedule(task);
      return;
    }
  }
}

}  // namespace tvt::coro::detail
