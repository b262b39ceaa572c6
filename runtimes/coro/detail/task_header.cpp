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

}  // namespace tvt::coro::detail
