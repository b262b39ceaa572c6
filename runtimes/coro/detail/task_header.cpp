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

namespace {

// What follows the frame's destruction: COMPLETE, then the joiner's wake. Only tail calls (join_slot.hpp).
[[gnu::always_inline]] inline void complete_destroyed(SpawnedTaskBase& self) noexcept {
  self.poll_fn_ = nullptr;  // not `yielded` (run_task.hpp): the resume that ends here ends with the coroutine
  Rmw::fetch_or(self.state(), TaskHeader::complete, std::memory_order_acq_rel);  // acq_rel: read after resume()
  self.join_.complete();
}

[[gnu::noinline]] void complete_destroyed_with_extras(SpawnedTaskBase& self) noexcept {
  destroy_extras_slow(self);
  complete_destroyed(self);
}

}  // namespace

// The task is the one thing live across the frame's destroy call, and everything after it is inline or a tail call
// (the extras block a call of its own): a completion saves one register.
void frame_done(SpawnedTaskBase& self) noexcept {
  // The frame's address from the task's (not the other way): one of the two, not both, is kept across the call.
  std::coroutine_handle<>::from_address(reinterpret_cast<char*>(&self) + spawned_offset).destroy();  // the block stays
  // The extras go after the frame (a parameter's destructor may still use a task local).
  if (self.extras_ != nullptr) [[unlikely]]
    return complete_destroyed_with_extras(self);
  complete_destroyed(self);
}

void destroy_extras_slow(TaskHeader& task) noexcept {
  delete task.extras_;
  task.extras_ = nullptr;
}

}  // namespace tvt::coro::detail
