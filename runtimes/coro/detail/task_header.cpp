// The runner and the interruption rules shared by every executor; the state machine is documented in
// task_header.hpp.
#include "coro/detail/task_header.hpp"

#include <new>
#include <stdexcept>
#include <string>

#include "coro/cancelled.hpp"
#include "coro/detail/spawned_task.hpp"
#include "coro/detail/task_extras.hpp"
#include "coro/detail/timeout_scope.hpp"

namespace tvt::coro::detail {

bool yielded(void*, TaskHeader&) noexcept { return true; }

void throw_outside_task(const char* what) {
  throw std::logic_error(std::string("coro: ") + what + " used outside a task (inside block_on/spawn only)");
}

bool TaskHeader::interrupted_slow() const noexcept {
  if (is_cancelled()) return true;
  for (const TimeoutScope* s = extras_ != nullptr ? extras_->timeouts : nullptr; s != nullptr; s = s->outer)
    if (s->expired.load(std::memory_order_acquire)) return true;
  return false;
}

void throw_interrupted(TaskHeader& task) {
  if (task.is_cancelled()) throw TaskCancelled();
  const TimeoutScope* outermost_expired = nullptr;
  for (const TimeoutScope* s = task.extras_ != nullptr ? task.extras_->timeouts : nullptr; s != nullptr; s = s->outer)
    if (s->expired.load(std::memory_order_acquire)) outermost_expired = s;
  if (outermost_expired != nullptr) throw TimeoutInterrupt{outermost_expired};
  throw TaskCancelled();  // unreachable: called after interrupted() said yes, and both causes are terminal
}

[[gnu::noinline, gnu::cold]] void throw_if_interrupted_slow(TaskHeader& task) { throw_if_interrupted(task); }

void frame_done(void* frame_address) noexcept {
  auto* self = std::launder(reinterpret_cast<SpawnedTaskBase*>(static_cast<char*>(frame_address) - spawned_offset));
  std::coroutine_handle<>::from_address(frame_address).destroy();  // operator delete keeps the block (the marker)
  destroy_extras(*self);
  self->poll_fn_ = nullptr;  // not `yielded` (run_task.hpp): the resume that ends here ends with the coroutine
  Rmw::fetch_or(self->state(), TaskHeader::complete, std::memory_order_acq_rel);  // acq_rel: read after resume()
  self->join_.complete();
}

void destroy_extras_slow(TaskHeader& task) noexcept {
  delete task.extras_;
  task.extras_ = nullptr;
}

}  // namespace tvt::coro::detail
